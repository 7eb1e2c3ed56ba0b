#include "tokenizer/html_unescape.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "tokenizer/html_entities.h"
#include "tokenizer/python_text.h"

namespace sdfast {

namespace {

constexpr size_t kMaxNameLength = 32;

// The value of an entity name ("amp;", "amp", "eacute;"), if it is one.
std::optional<std::u32string> find_entity(std::u32string_view name) {
  std::string key;
  for (char32_t c : name) {
    if (c >= 0x80) return std::nullopt;  // every entity name is ASCII
    key.push_back(char(c));
  }
  const HtmlEntity* end = kHtmlEntities + kHtmlEntityCount;
  const HtmlEntity* it = std::lower_bound(
      kHtmlEntities, end, key,
      [](const HtmlEntity& e, const std::string& k) { return std::strcmp(e.name, k.c_str()) < 0; });
  if (it == end || key != it->name) return std::nullopt;
  return python_text::decode_utf8(it->value);
}

// Windows-1252 replacements HTML5 applies to numeric references to C1 controls, NUL and CR.
std::optional<char32_t> invalid_charref(uint32_t num) {
  static constexpr char32_t kC1[32] = {
      0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
  if (num == 0x00) return 0xFFFD;
  if (num == 0x0D) return 0x0D;
  if (num >= 0x80 && num <= 0x9F) return kC1[num - 0x80];
  return std::nullopt;
}

// Code points a numeric reference may not produce (they are dropped).
bool invalid_codepoint(uint32_t num) {
  return (num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) ||
         (num >= 0x7F && num <= 0x9F) || (num >= 0xFDD0 && num <= 0xFDEF) ||
         (num & 0xFFFE) == 0xFFFE;
}

void append_numeric(std::u32string& out, uint32_t num) {
  if (std::optional<char32_t> r = invalid_charref(num)) {
    out.push_back(*r);
  } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
    out.push_back(0xFFFD);
  } else if (!invalid_codepoint(num)) {
    out.push_back(char32_t(num));
  }
}

int digit_value(char32_t c, int base) {
  if (c >= '0' && c <= '9') return int(c - '0');
  if (base == 16 && c >= 'a' && c <= 'f') return int(c - 'a') + 10;
  if (base == 16 && c >= 'A' && c <= 'F') return int(c - 'A') + 10;
  return -1;
}

bool is_name_char(char32_t c) {
  return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' &&
         c != ';';
}

// Tries a reference at s[i] == '&'. On a match appends the replacement and returns the index just
// past the reference; otherwise returns i.
size_t replace_reference(std::u32string_view s, size_t i, std::u32string& out) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '#') {
    int base = 10;
    ++j;
    if (j < s.size() && (s[j] == 'x' || s[j] == 'X')) {
      base = 16;
      ++j;
    }
    const size_t digits_begin = j;
    uint32_t num = 0;  // saturates past U+10FFFF, which all map to U+FFFD
    while (j < s.size() && digit_value(s[j], base) >= 0) {
      num = std::min<uint32_t>(num * uint32_t(base) + uint32_t(digit_value(s[j], base)), 0x110000);
      ++j;
    }
    if (j == digits_begin) return i;  // "&#" or "&#x" without digits: no reference
    if (j < s.size() && s[j] == ';') ++j;
    append_numeric(out, num);
    return j;
  }
  while (j < s.size() && j - (i + 1) < kMaxNameLength && is_name_char(s[j])) ++j;
  if (j == i + 1) return i;
  if (j < s.size() && s[j] == ';') ++j;
  const std::u32string_view name = s.substr(i + 1, j - (i + 1));
  if (std::optional<std::u32string> v = find_entity(name)) {
    out += *v;
    return j;
  }
  for (size_t len = name.size() - 1; len >= 2; --len) {
    if (std::optional<std::u32string> v = find_entity(name.substr(0, len))) {
      out += *v;
      out += name.substr(len);
      return j;
    }
  }
  out.push_back('&');
  out += name;
  return j;
}

}  // namespace

std::u32string html_unescape(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t next = replace_reference(s, i, out);
      if (next != i) {
        i = next;
        continue;
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

}  // namespace sdfast
