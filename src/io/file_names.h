// File-name rules shared by the model-folder loader: which names stay inside their folder and
// which files are PyTorch pickles (refused).
#pragma once

#include <string>
#include <string_view>

namespace sdfast {

// True when `name` is a plain file name that stays inside its folder: [A-Za-z0-9._-]+, at most
// 255 bytes, not starting with '.' (so neither "." nor "..").
bool is_plain_file_name(const std::string& name);

// True when `name` (a file name or path) ends in a PyTorch pickle extension: .bin, .ckpt, .pt,
// .pth, .pkl, .pickle (case-insensitive).
bool is_pickle_file_name(const std::string& name);

// `s` (a tensor name, a key: text from a file) made safe to print in a message: control bytes
// and DEL become \xNN, and it is cut at `max_bytes` with "...".
std::string printable(std::string_view s, size_t max_bytes = 200);

// Why pickle files are refused and what to do instead (appended to errors).
inline constexpr const char* kPickleRefusal =
    "Pickle checkpoints (.bin, .ckpt, .pt, .pth) can run arbitrary code when they are loaded, so "
    "sdfast does not read them; convert the model to safetensors (for example with diffusers: "
    "pipe.save_pretrained(folder, safe_serialization=True)) and load that.";

}  // namespace sdfast
