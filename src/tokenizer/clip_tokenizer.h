// CLIPTokenizer: CLIP's byte-level BPE tokenizer, built from a Diffusers `tokenizer/` folder.
//
// References: openai/CLIP clip/simple_tokenizer.py (text cleaning, the pre-tokenisation regex,
// bytes_to_unicode, bpe with the '</w>' end-of-word marker) and transformers
// src/transformers/models/clip/tokenization_clip.py (CLIPTokenizer: the special tokens and
// model_max_length from tokenizer_config.json / special_tokens_map.json, padding).
//
// Text pipeline of encode(): the prompt is split on the special tokens of the folder (bos, eos,
// pad, unk, matched verbatim), as transformers does before tokenising; each special becomes its
// id (so SD 2.x's pad token "!" encodes as id 0, exactly as in Diffusers). Every other piece is
// cleaned (NFC, html.unescape twice, whitespace collapsed, lower-cased), pre-tokenised with CLIP's
// regex, turned into byte-level symbols and merged by BPE rank. Read-only after construction:
// one tokenizer may be shared by threads.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sdfast {

// tokenizer_config.json + special_tokens_map.json (the latter wins, as in transformers).
// Defaults are CLIPTokenizer's.
struct ClipTokenizerConfig {
  std::string bos_token = "<|startoftext|>";
  std::string eos_token = "<|endoftext|>";
  std::string pad_token = "<|endoftext|>";
  std::string unk_token = "<|endoftext|>";
  // The sequence length the text encoder takes. Absent, or transformers' "no limit" value
  // (>= 1e18): 77.
  int model_max_length = 77;
  // Where each special token came from, for errors ("special_tokens_map.json", "default").
  std::string bos_source = "default", eos_source = "default", pad_source = "default",
              unk_source = "default";

  // Reads the optional tokenizer_config.json and special_tokens_map.json of `dir`. A token may be
  // a string or an object with "content"; anything else is an error naming file and key.
  static ClipTokenizerConfig load(const std::string& dir);
};

// What the pipeline feeds the text encoder, plus what truncation removed (Diffusers warns with it).
struct ClipTokens {
  // max_length ids: bos, at most max_length - 2 BPE ids, eos, then pad ids.
  std::vector<int32_t> input_ids;
  // bos + every BPE id + eos (padding="longest" for one prompt).
  std::vector<int32_t> untruncated_ids;
  // The BPE ids cut off by truncation, and their decoded text; empty when the prompt fits.
  std::vector<int32_t> removed_ids;
  std::string removed_text;

  bool truncated() const { return !removed_ids.empty(); }
};

class ClipTokenizer {
 public:
  // transformers / openai use only this many merges of merges.txt (49152 - 256 - 2).
  static constexpr size_t kMaxMerges = 48894;

  // Loads `dir`/vocab.json, `dir`/merges.txt and the optional config files.
  static ClipTokenizer from_folder(const std::string& dir);
  // From file contents; the labels name the files in errors.
  ClipTokenizer(std::string_view vocab_json, std::string_view merges_txt,
                const ClipTokenizerConfig& config, const std::string& vocab_label = "vocab.json",
                const std::string& merges_label = "merges.txt");

  // The BPE ids of `prompt`, without bos/eos. Invalid UTF-8 is an InvalidArgument naming the byte
  // offset; any valid UTF-8 is accepted.
  std::vector<int32_t> encode(std::string_view prompt) const;
  // Diffusers' tokenizer(prompt, padding="max_length", max_length, truncation=True) plus the
  // untruncated ids. max_length must be at least 2.
  ClipTokens tokenize_padded(std::string_view prompt, int max_length) const;
  ClipTokens tokenize_padded(std::string_view prompt) const {
    return tokenize_padded(prompt, model_max_length_);
  }
  // The text of `ids` (decode(skip_special_tokens=False) without transformers' clean-up of
  // spaces before punctuation): '</w>' becomes a space, invalid UTF-8 U+FFFD, the result is
  // stripped. An id outside the vocabulary is an Error.
  std::string decode(std::span<const int32_t> ids) const;

  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  int model_max_length() const { return model_max_length_; }
  size_t vocab_size() const { return vocab_.size(); }
  size_t merge_count() const { return merges_.size(); }
  // The id of a vocabulary entry (byte-level form, e.g. "hello</w>"), or -1.
  int32_t token_to_id(std::string_view token) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };

  // BPE of one pre-token given as UTF-8 bytes; appends its ids to `out`.
  void bpe(std::string_view bytes, std::vector<int32_t>& out) const;
  // Cleans, pre-tokenises and BPE-encodes text that holds no special token.
  void encode_text(std::string_view utf8, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;

  // Transparent hashing: lookups by string_view without building a string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab_;
  std::unordered_map<int32_t, std::string> id_to_token_;
  // (left id << 32 | right id) -> rank and the id of the merged symbol.
  std::unordered_map<uint64_t, Merge> merges_;
  int32_t byte_id_[256];      // the byte-level symbol of each byte
  int32_t byte_end_id_[256];  // the same followed by '</w>' (last byte of a word)
  // The special tokens split out of prompts, longest first.
  std::vector<std::pair<std::string, int32_t>> specials_;
  int32_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1, unk_id_ = -1;
  int model_max_length_ = 77;
};

}  // namespace sdfast
