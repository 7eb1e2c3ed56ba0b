// Strict readers for the two files of a byte-level BPE tokenizer: vocab.json and merges.txt.
// Every error names the file (its label) and the line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sdfast {

struct VocabEntry {
  std::string token;  // UTF-8
  int32_t id;
  int line;  // 1-based line of the key in the file
};

// vocab.json: one JSON object mapping token strings to non-negative integer ids (below 2^31).
// Rejects anything else (not an object, a non-integer / negative / fractional id, invalid UTF-8 or
// JSON, trailing text). Duplicate tokens and ids are left to the caller, which knows what they
// mean; entries come in file order.
std::vector<VocabEntry> parse_vocab_json(std::string_view text, const std::string& label);

struct MergeRule {
  std::string_view first, second;  // UTF-8, pointing into the parsed text
  int line;                        // 1-based
};

// merges.txt: a '#version' header line, then one merge per line, two symbols separated by
// whitespace (Python's str.split()). Like openai/CLIP and transformers' CLIPTokenizer, the file is
// stripped of surrounding whitespace and only the first `max_merges` merges are used; lines past
// them are not read. A line without exactly two symbols, invalid UTF-8 and a file without merges
// are errors. The rules point into `text`, which must outlive them.
std::vector<MergeRule> parse_merges_txt(std::string_view text, const std::string& label,
                                        size_t max_merges);

}  // namespace sdfast
