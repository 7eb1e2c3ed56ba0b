// The pieces of Python's str semantics that CLIP's tokenizer relies on, on code point strings:
// str.isspace, the regex module's \s / \p{L} / \p{N}, str.lower(), and NFC (utf8proc).
// Unicode data comes from utf8proc (Unicode 15 in Debian 12); Python's tables may be a version
// older or newer, which only matters for characters assigned in between.
#pragma once

#include <string>
#include <string_view>

namespace sdfast::python_text {

// Decodes UTF-8 that is known to be valid (check with is_valid_utf8 first).
std::u32string decode_utf8(std::string_view valid_utf8);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);
// Decodes arbitrary bytes as Python's bytes.decode("utf-8", errors="replace") does: each maximal
// ill-formed subsequence becomes U+FFFD.
std::string decode_utf8_replace(std::string_view bytes);

// Python str.isspace(), which is also what str.strip() / str.split() and re's \s use.
bool is_space(char32_t c);
// \s of the third-party `regex` module that CLIP's tokenizers import as `re`: str.isspace()
// without U+001C..U+001F.
bool is_regex_space(char32_t c);
// \p{L}: general category L* (Lu, Ll, Lt, Lm, Lo).
bool is_letter(char32_t c);
// \p{N}: general category N* (Nd, Nl, No).
bool is_number(char32_t c);

// Python str.lower(): full lowercase mapping (U+0130 -> "i\u0307") with the final-sigma rule.
std::u32string lower(std::u32string_view s);

// Unicode NFC of valid UTF-8 (embedded NULs are kept).
std::string nfc(std::string_view valid_utf8);

}  // namespace sdfast::python_text
