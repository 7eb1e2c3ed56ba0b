#include "tokenizer/clip_text.h"

#include "tokenizer/html_unescape.h"
#include "tokenizer/python_text.h"

namespace sdfast {

namespace {

using python_text::is_letter;
using python_text::is_number;
using python_text::is_regex_space;
using python_text::is_space;

std::u32string_view strip(std::u32string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// whitespace_clean(basic_clean's s.strip()): re.sub(r'\s+', ' ', s).strip(), with the regex
// module's \s, which (unlike str.strip) leaves U+001C..U+001F alone.
std::u32string collapse_whitespace(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  bool in_space = false;
  for (char32_t c : strip(s)) {
    if (is_regex_space(c)) {
      if (!in_space) out.push_back(' ');
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return std::u32string(strip(out));
}

// The regex module's IGNORECASE (simple case folding) equality with a lowercase ASCII letter or
// symbol of the pattern: after lower() only U+017F LONG S folds onto one of them ('s').
bool folds_to(char32_t c, char32_t pattern_char) {
  return c == pattern_char || (pattern_char == 's' && c == 0x17F);
}

// Length of the literal `lit` at text[i] (case-insensitively), or 0.
size_t match_literal(std::u32string_view text, size_t i, std::u32string_view lit) {
  if (text.size() - i < lit.size()) return 0;
  for (size_t k = 0; k < lit.size(); ++k)
    if (!folds_to(text[i + k], lit[k])) return 0;
  return lit.size();
}

bool is_other(char32_t c) {
  return !is_regex_space(c) && !is_letter(c) && !is_number(c) && c != 0x345;
}

}  // namespace

std::u32string clip_clean_text(std::string_view valid_utf8) {
  std::u32string text = python_text::decode_utf8(python_text::nfc(valid_utf8));
  text = html_unescape(html_unescape(text));
  return python_text::lower(collapse_whitespace(text));
}

std::vector<std::u32string_view> clip_pre_tokenize(std::u32string_view text) {
  static constexpr std::u32string_view kLiterals[] = {
      U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  std::vector<std::u32string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = 0;
    for (std::u32string_view lit : kLiterals)
      if ((len = match_literal(text, i, lit)) > 0) break;
    if (len == 0) {
      const char32_t c = text[i];
      if (is_letter(c)) {
        while (i + len < text.size() && is_letter(text[i + len])) ++len;
      } else if (is_number(c)) {
        len = 1;
      } else if (is_other(c)) {
        while (i + len < text.size() && is_other(text[i + len])) ++len;
      }
    }
    if (len == 0) {  // whitespace (or U+0345): matched by no alternative
      ++i;
      continue;
    }
    pieces.push_back(text.substr(i, len));
    i += len;
  }
  return pieces;
}

}  // namespace sdfast
