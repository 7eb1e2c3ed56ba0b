// CLIP's text cleaning and pre-tokenisation, before byte-level BPE.
//
// Reference: openai/CLIP clip/simple_tokenizer.py (basic_clean, whitespace_clean, the `pat`
// regex) and transformers' CLIPTokenizer, which uses the same regex. ftfy.fix_text is reduced to
// its NFC normalisation: ftfy's other repairs (mojibake, curly quotes, full-width forms,
// ligatures, terminal escapes) are not applied.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sdfast {

// basic_clean + whitespace_clean + lower(): NFC, html.unescape twice, every run of whitespace
// (str.isspace) to one space, strip, then Python's str.lower(). `valid_utf8` must be valid UTF-8.
std::u32string clip_clean_text(std::string_view valid_utf8);

// re.findall of CLIP's pattern (case-insensitive):
//   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// Whitespace separates pieces and is dropped; so is U+0345, which under IGNORECASE belongs to
// none of the classes (its case partner is a letter).
std::vector<std::u32string_view> clip_pre_tokenize(std::u32string_view text);

}  // namespace sdfast
