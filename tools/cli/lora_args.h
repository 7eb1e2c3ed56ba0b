// LoRA options of `sdfast generate`: `--lora FILE[:SCALE]` and A1111-style `<lora:NAME:SCALE>`
// prompt tags resolved in `--lora-dir`. Only parsing and file look-up; the library reads the files.
#pragma once

#include <string>
#include <vector>

namespace sdfast::cli {

struct LoraRequest {
  std::string file;   // path to the .safetensors file
  double scale = 1.0;
  std::string label;  // how the user named it (FILE or the tag's NAME), for PNG metadata
};

// "FILE" or "FILE:SCALE" (the part after the last ':' when it is a number). Throws
// InvalidArgument for a missing file or a bad scale.
LoraRequest parse_lora_option(const std::string& spec);

// Removes every <lora:NAME> / <lora:NAME:SCALE> tag from `prompt` and adds the LoRAs to `out`
// (NAME.safetensors in `lora_dir`; NAME may not leave the folder). A LoRA named again with the same
// scale is kept once; with another scale it is an error (one model state serves the whole batch).
// Throws InvalidArgument for a malformed tag, a tag without --lora-dir, or a missing file.
std::string take_lora_tags(const std::string& prompt, const std::string& lora_dir, std::vector<LoraRequest>& out);

// Every LoRA of a run: the --lora options, then the tags of `prompts` (removed from them in place).
std::vector<LoraRequest> resolve_loras(const std::vector<std::string>& options, std::vector<std::string>& prompts,
                                       const std::string& lora_dir);

// ", LoRA: name:scale, name:scale (merged)" for the PNG parameters text; "" without LoRAs.
std::string lora_parameters(const std::vector<LoraRequest>& loras, bool merged);

}  // namespace sdfast::cli
