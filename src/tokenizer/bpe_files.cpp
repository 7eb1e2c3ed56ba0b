#include "tokenizer/bpe_files.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/python_text.h"

namespace sdfast {

namespace {

int line_of(std::string_view text, size_t offset) {
  return 1 + int(std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n'));
}

void check_utf8(std::string_view text, const std::string& label) {
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad))
    fail(label, " line ", line_of(text, bad), ": invalid UTF-8 (byte offset ", bad, ")");
}

// Python whitespace (str.isspace) at s[i] of valid UTF-8: its length in bytes, or 0.
size_t space_at(std::string_view s, size_t i) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return python_text::is_space(b) ? 1 : 0;
  if (b < 0xC2 || b > 0xE3) return 0;  // every non-ASCII space starts with C2, E1, E2 or E3
  const size_t len = b < 0xE0 ? 2 : 3;
  if (i + len > s.size()) return 0;
  return python_text::is_space(python_text::decode_utf8(s.substr(i, len))[0]) ? len : 0;
}

// The start of the code point of valid UTF-8 that ends at e > 0.
size_t prev_char(std::string_view s, size_t e) {
  size_t b = e - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return b;
}

// A parser for exactly one JSON object of string keys and integer values.
class VocabParser {
 public:
  VocabParser(std::string_view text, const std::string& label) : s_(text), label_(label) {}

  std::vector<VocabEntry> parse() {
    skip_ws();
    if (pos_ >= s_.size() || s_[pos_] != '{')
      error(str_cat("expected a JSON object mapping tokens to ids, found ", describe_here()));
    ++pos_;
    std::vector<VocabEntry> entries;
    skip_ws();
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        skip_ws();
        const int line = line_;
        if (peek() != '"') error(str_cat("expected a token string, found ", describe_here()));
        std::string token = parse_string();
        skip_ws();
        if (peek() != ':') error(str_cat("expected ':' after token \"", token, "\""));
        ++pos_;
        skip_ws();
        const int32_t id = parse_id(token);
        entries.push_back({std::move(token), id, line});
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == '}') {
          ++pos_;
          break;
        }
        error(str_cat("expected ',' or '}' after the id of \"", entries.back().token, "\", found ",
                      describe_here()));
      }
    }
    skip_ws();
    if (pos_ != s_.size())
      error(str_cat("unexpected text after the JSON object: ", describe_here()));
    return entries;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(label_, " line ", line_, ": ", what);
  }

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }

  std::string describe_here() const {
    if (pos_ >= s_.size()) return "the end of the file";
    std::string_view rest = s_.substr(pos_, 20);
    rest = rest.substr(0, std::min(rest.find('\n'), rest.size()));
    return str_cat("'", rest, "'");
  }

  void skip_ws() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '\n') {
        ++line_;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        break;
      }
      ++pos_;
    }
  }

  uint32_t parse_hex4() {
    if (s_.size() - pos_ < 4) error("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        error("invalid \\u escape");
    }
    return v;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) error("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) error("control character inside a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) error("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) error("unpaired surrogate in a \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") error("unpaired surrogate in a \\u escape");
            pos_ += 2;
            const uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) error("unpaired surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          python_text::append_utf8(out, char32_t(cp));
          break;
        }
        default:
          error(str_cat("invalid escape '\\", e, "' in a string"));
      }
    }
  }

  int32_t parse_id(const std::string& token) {
    const size_t begin = pos_;
    if (peek() == '-') ++pos_;
    const size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const bool fraction = peek() == '.' || peek() == 'e' || peek() == 'E';
    if (pos_ == digits || fraction || s_[begin] == '-') {
      pos_ = begin;
      error(str_cat("the id of token \"", token, "\" must be a non-negative integer, found ",
                    describe_here()));
    }
    int64_t v = 0;
    for (size_t k = digits; k < pos_; ++k) {
      v = v * 10 + (s_[k] - '0');
      if (v > std::numeric_limits<int32_t>::max())
        error(str_cat("the id of token \"", token, "\" is too large (",
                      s_.substr(digits, pos_ - digits), ")"));
    }
    return int32_t(v);
  }

  std::string_view s_;
  const std::string& label_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<VocabEntry> parse_vocab_json(std::string_view text, const std::string& label) {
  check_utf8(text, label);
  return VocabParser(text, label).parse();
}

std::vector<MergeRule> parse_merges_txt(std::string_view text, const std::string& label,
                                        size_t max_merges) {
  check_utf8(text, label);
  // str.strip(); leading whitespace shifts the line numbers, so count it.
  size_t b = 0, e = text.size();
  for (size_t n; b < e && (n = space_at(text, b)) > 0;) b += n;
  while (e > b && space_at(text, prev_char(text, e)) == e - prev_char(text, e))
    e = prev_char(text, e);
  if (b == e) fail(label, ": the file is empty");
  int line = line_of(text, b);
  const std::string_view body = text.substr(b, e - b);

  std::vector<MergeRule> merges;
  merges.reserve(std::min(max_merges, size_t(std::count(body.begin(), body.end(), '\n'))));
  size_t pos = 0;
  bool header = true;
  while (merges.size() < max_merges) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    if (header) {
      if (body.substr(pos, 8) != "#version")
        fail(label, " line ", line, ": expected the '#version' header line, found '",
             body.substr(pos, std::min<size_t>(end - pos, 40)), "'");
      header = false;
    } else {
      std::string_view parts[2];
      int count = 0;
      size_t i = pos;
      while (i < end) {
        size_t n;
        while (i < end && (n = space_at(body, i)) > 0) i += n;
        const size_t start = i;
        while (i < end && space_at(body, i) == 0) ++i;
        if (i > start) {
          if (count < 2) parts[count] = body.substr(start, i - start);
          ++count;
        }
      }
      if (count != 2)
        fail(label, " line ", line, ": expected two symbols separated by a space, found ", count,
             " in '", body.substr(pos, std::min<size_t>(end - pos, 80)), "'");
      merges.push_back({parts[0], parts[1], line});
    }
    if (end == body.size()) break;
    pos = end + 1;
    ++line;
  }
  if (merges.empty()) fail(label, ": holds no merges after the '#version' header");
  return merges;
}

}  // namespace sdfast
