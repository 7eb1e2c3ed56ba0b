#include "tokenizer/clip_tokenizer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <queue>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "io/json.h"
#include "tokenizer/bpe_files.h"
#include "tokenizer/clip_text.h"
#include "tokenizer/python_text.h"

namespace sdfast {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kEndOfWord = "</w>";

// bytes_to_unicode(): printable latin-1 bytes map to themselves, the other 68 bytes to U+0100 on,
// so that every byte is a visible character.
std::array<char32_t, 256> byte_to_unicode() {
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    table[size_t(b)] = printable ? char32_t(b) : next++;
  }
  return table;
}

std::string read_text_file(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail("cannot read '", path.string(), "': ", ec.message());
  if (size > max_bytes)
    fail("'", path.string(), "' is ", size, " bytes, more than the ", max_bytes,
         " a tokenizer file may have");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '", path.string(), "'");
  std::string text(size_t(size), '\0');
  in.read(text.data(), std::streamsize(size));
  if (!in) fail("cannot read '", path.string(), "'");
  return text;
}

void read_special(const nlohmann::json& j, const std::string& file, const char* key,
                  std::string& token, std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return;
  const nlohmann::json& v = j[key];
  if (v.is_string()) {
    token = v.get<std::string>();
  } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    token = v["content"].get<std::string>();
  } else {
    fail(file, ": ", key, " must be a string or an object with a string \"content\", found ",
         v.dump());
  }
  if (token.empty()) fail(file, ": ", key, " is empty");
  source = file;
}

}  // namespace

ClipTokenizerConfig ClipTokenizerConfig::load(const std::string& dir) {
  ClipTokenizerConfig c;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path path = fs::path(dir) / name;
    if (!fs::exists(path)) continue;
    const nlohmann::json j = read_json_file(path.string());
    const std::string file = path.string();
    if (!j.is_object()) fail(file, ": expected a JSON object");
    read_special(j, file, "bos_token", c.bos_token, c.bos_source);
    read_special(j, file, "eos_token", c.eos_token, c.eos_source);
    read_special(j, file, "pad_token", c.pad_token, c.pad_source);
    read_special(j, file, "unk_token", c.unk_token, c.unk_source);
    if (std::string_view(name) == "tokenizer_config.json" && j.contains("model_max_length") &&
        !j["model_max_length"].is_null()) {
      const nlohmann::json& m = j["model_max_length"];
      if (!m.is_number()) fail(file, ": model_max_length must be a number, found ", m.dump());
      const double v = m.get<double>();
      if (std::isnan(v)) fail(file, ": model_max_length must be a number, found NaN");
      if (v < 1e18) {  // larger is transformers' VERY_LARGE_INTEGER: no limit given
        if (v != std::floor(v) || v < 2 || v > 1e6)
          fail(file, ": model_max_length must be an integer from 2 to 1000000, found ", m.dump());
        c.model_max_length = int(v);
      }
    }
  }
  return c;
}

ClipTokenizer ClipTokenizer::from_folder(const std::string& dir) {
  if (!fs::is_directory(dir)) fail("tokenizer folder '", dir, "' does not exist");
  const fs::path vocab = fs::path(dir) / "vocab.json";
  const fs::path merges = fs::path(dir) / "merges.txt";
  for (const fs::path& p : {vocab, merges})
    if (!fs::exists(p)) fail("tokenizer folder '", dir, "' has no ", p.filename().string());
  constexpr size_t kMaxFileBytes = 64u << 20;
  return ClipTokenizer(read_text_file(vocab, kMaxFileBytes), read_text_file(merges, kMaxFileBytes),
                       ClipTokenizerConfig::load(dir), vocab.string(), merges.string());
}

ClipTokenizer::ClipTokenizer(std::string_view vocab_json, std::string_view merges_txt,
                             const ClipTokenizerConfig& config, const std::string& vocab_label,
                             const std::string& merges_label)
    : model_max_length_(config.model_max_length) {
  // vocab.json: token <-> id, both unique.
  const std::vector<VocabEntry> entries = parse_vocab_json(vocab_json, vocab_label);
  if (entries.empty()) fail(vocab_label, ": holds no tokens");
  std::unordered_map<int32_t, int> id_line;
  vocab_.reserve(entries.size());
  id_to_token_.reserve(entries.size());
  id_line.reserve(entries.size());
  for (const VocabEntry& e : entries) {
    if (!vocab_.emplace(e.token, e.id).second)
      fail(vocab_label, " line ", e.line, ": token \"", e.token, "\" appears twice");
    const auto [it, fresh] = id_line.emplace(e.id, e.line);
    if (!fresh)
      fail(vocab_label, " line ", e.line, ": id ", e.id, " of token \"", e.token,
           "\" is already used by token \"", id_to_token_.at(e.id), "\" (line ", it->second, ")");
    id_to_token_.emplace(e.id, e.token);
  }

  // The 512 base symbols every word starts from.
  const std::array<char32_t, 256> to_unicode = byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    std::string sym;
    python_text::append_utf8(sym, to_unicode[size_t(b)]);
    byte_id_[b] = token_to_id(sym);
    byte_end_id_[b] = token_to_id(sym + std::string(kEndOfWord));
    if (byte_id_[b] < 0 || byte_end_id_[b] < 0)
      fail(vocab_label, ": lacks the byte-level symbol \"", byte_id_[b] < 0 ? sym : sym + "</w>",
           "\" of byte ", b, " (a CLIP vocabulary has all 512)");
  }

  // Special tokens.
  auto special_id = [&](const std::string& token, const char* key, const std::string& source) {
    if (token.empty()) fail(key, " (from ", source, ") is empty");
    const int32_t id = token_to_id(token);
    if (id < 0)
      fail(vocab_label, ": has no entry for ", key, " \"", token, "\" (from ", source, ")");
    return id;
  };
  bos_id_ = special_id(config.bos_token, "bos_token", config.bos_source);
  eos_id_ = special_id(config.eos_token, "eos_token", config.eos_source);
  pad_id_ = special_id(config.pad_token, "pad_token", config.pad_source);
  unk_id_ = special_id(config.unk_token, "unk_token", config.unk_source);
  for (const std::string* t :
       {&config.bos_token, &config.eos_token, &config.pad_token, &config.unk_token})
    if (std::none_of(specials_.begin(), specials_.end(),
                     [&](const auto& s) { return s.first == *t; }))
      specials_.emplace_back(*t, token_to_id(*t));
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  if (model_max_length_ < 2) fail("model_max_length must be at least 2, got ", model_max_length_);

  // merges.txt: rank by line order; a repeated pair keeps its last rank (a Python dict).
  const std::vector<MergeRule> rules = parse_merges_txt(merges_txt, merges_label, kMaxMerges);
  merges_.reserve(rules.size());
  std::string joined;
  for (size_t rank = 0; rank < rules.size(); ++rank) {
    const MergeRule& r = rules[rank];
    const int32_t first = token_to_id(r.first), second = token_to_id(r.second);
    if (first < 0 || second < 0)
      fail(merges_label, " line ", r.line, ": symbol \"", first < 0 ? r.first : r.second,
           "\" is not in ", vocab_label);
    joined.assign(r.first).append(r.second);
    const int32_t merged = token_to_id(joined);
    if (merged < 0)
      fail(merges_label, " line ", r.line, ": the merged symbol \"", joined, "\" is not in ",
           vocab_label);
    merges_[uint64_t(uint32_t(first)) << 32 | uint32_t(second)] = {int32_t(rank), merged};
  }
}

int32_t ClipTokenizer::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const ClipTokenizer::Merge* ClipTokenizer::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find(uint64_t(uint32_t(left)) << 32 | uint32_t(right));
  return it == merges_.end() ? nullptr : &it->second;
}

void ClipTokenizer::bpe(std::string_view bytes, std::vector<int32_t>& out) const {
  // The word as a linked list of symbols, one per byte at first; the last carries '</w>'.
  // Python's loop merges, round after round, every occurrence (left to right) of the pair with
  // the lowest rank. Here a min-heap of (rank, position) candidates does the same in
  // O(n log n): each round takes all candidates of the lowest rank, in position order, and skips
  // those whose symbols have changed since they were queued.
  struct Symbol {
    int32_t id;
    int32_t prev, next;
  };
  struct Candidate {
    int32_t rank, left, left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  const int32_t n = int32_t(bytes.size());
  if (n == 0) return;
  std::vector<Symbol> sym(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    const unsigned char b = static_cast<unsigned char>(bytes[size_t(i)]);
    sym[size_t(i)] = {i + 1 == n ? byte_end_id_[b] : byte_id_[b], i - 1, i + 1 < n ? i + 1 : -1};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto queue_pair = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = sym[size_t(left)].next;
    if (right < 0) return;
    if (const Merge* m = find_merge(sym[size_t(left)].id, sym[size_t(right)].id))
      heap.push({m->rank, left, sym[size_t(left)].id, sym[size_t(right)].id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) queue_pair(i);

  std::vector<Candidate> round;
  while (!heap.empty()) {
    const int32_t rank = heap.top().rank;
    round.clear();
    while (!heap.empty() && heap.top().rank == rank) {
      round.push_back(heap.top());
      heap.pop();
    }
    for (const Candidate& c : round) {
      Symbol& left = sym[size_t(c.left)];
      if (left.id != c.left_id || left.next < 0) continue;  // merged away or changed
      Symbol& right = sym[size_t(left.next)];
      if (right.id != c.right_id) continue;
      left.id = find_merge(c.left_id, c.right_id)->merged_id;
      right.id = -1;
      left.next = right.next;
      if (right.next >= 0) sym[size_t(right.next)].prev = c.left;
      queue_pair(left.prev);
      queue_pair(c.left);
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next) out.push_back(sym[size_t(i)].id);
}

void ClipTokenizer::encode_text(std::string_view utf8, std::vector<int32_t>& out) const {
  if (utf8.empty()) return;
  const std::u32string text = clip_clean_text(utf8);
  for (std::u32string_view piece : clip_pre_tokenize(text)) {
    const std::string bytes = python_text::encode_utf8(piece);
    // The BPE cache of openai/CLIP and transformers maps these two to themselves.
    if (bytes == "<|startoftext|>" || bytes == "<|endoftext|>") {
      if (const int32_t id = token_to_id(bytes); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    bpe(bytes, out);
  }
}

std::vector<int32_t> ClipTokenizer::encode(std::string_view prompt) const {
  size_t bad = 0;
  if (!is_valid_utf8(prompt, &bad)) {
    std::ostringstream hex;
    hex << std::hex << int(static_cast<unsigned char>(prompt[bad]));
    fail_argument("prompt is not valid UTF-8: byte 0x", hex.str(), " at byte offset ", bad);
  }
  std::vector<int32_t> ids;
  size_t piece_begin = 0, i = 0;
  while (i < prompt.size()) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    for (const auto& s : specials_)
      if (prompt.substr(i).starts_with(s.first)) {
        hit = &s;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    encode_text(prompt.substr(piece_begin, i - piece_begin), ids);
    ids.push_back(hit->second);
    i += hit->first.size();
    piece_begin = i;
  }
  encode_text(prompt.substr(piece_begin), ids);
  return ids;
}

ClipTokens ClipTokenizer::tokenize_padded(std::string_view prompt, int max_length) const {
  if (max_length < 2)
    fail_argument("max_length must be at least 2 (room for bos and eos), got ", max_length);
  const std::vector<int32_t> ids = encode(prompt);
  const size_t keep = std::min(ids.size(), size_t(max_length) - 2);
  ClipTokens t;
  t.untruncated_ids.reserve(ids.size() + 2);
  t.untruncated_ids.push_back(bos_id_);
  t.untruncated_ids.insert(t.untruncated_ids.end(), ids.begin(), ids.end());
  t.untruncated_ids.push_back(eos_id_);
  t.input_ids.reserve(size_t(max_length));
  t.input_ids.push_back(bos_id_);
  t.input_ids.insert(t.input_ids.end(), ids.begin(), ids.begin() + std::ptrdiff_t(keep));
  t.input_ids.push_back(eos_id_);
  t.input_ids.resize(size_t(max_length), pad_id_);
  t.removed_ids.assign(ids.begin() + std::ptrdiff_t(keep), ids.end());
  if (!t.removed_ids.empty()) t.removed_text = decode(t.removed_ids);
  return t;
}

std::string ClipTokenizer::decode(std::span<const int32_t> ids) const {
  static const std::array<int, 512> kByteOf = [] {
    std::array<int, 512> t;
    t.fill(-1);
    const std::array<char32_t, 256> u = byte_to_unicode();
    for (int b = 0; b < 256; ++b) t[u[size_t(b)]] = b;
    return t;
  }();
  std::string bytes;
  for (int32_t id : ids) {
    const auto it = id_to_token_.find(id);
    if (it == id_to_token_.end()) fail("decode: id ", id, " is not in the vocabulary");
    for (char32_t c : python_text::decode_utf8(it->second)) {
      if (c < kByteOf.size() && kByteOf[c] >= 0) {
        bytes.push_back(char(kByteOf[c]));
      } else {
        python_text::append_utf8(bytes, c);  // not a byte-level symbol: keep the character
      }
    }
  }
  const std::string text = python_text::decode_utf8_replace(bytes);
  std::string spaced;  // text.replace("</w>", " ")
  for (size_t p = 0; p < text.size();) {
    const size_t q = std::min(text.find(kEndOfWord, p), text.size());
    spaced.append(text, p, q - p);
    if (q == text.size()) break;
    spaced.push_back(' ');
    p = q + kEndOfWord.size();
  }
  const std::u32string cps = python_text::decode_utf8(spaced);
  size_t b = 0, e = cps.size();
  while (b < e && python_text::is_space(cps[b])) ++b;
  while (e > b && python_text::is_space(cps[e - 1])) --e;
  return python_text::encode_utf8(std::u32string_view(cps).substr(b, e - b));
}

}  // namespace sdfast
