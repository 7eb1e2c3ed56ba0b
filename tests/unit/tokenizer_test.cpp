// CLIP tokenizer: behaviour beyond the golden prompts (truncation, empty and hostile prompts,
// Unicode and HTML handling, SD 2.x's pad token), BPE against a naive reference, and every kind
// of malformed vocab.json / merges.txt / config file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/bpe_files.h"
#include "tokenizer/clip_text.h"
#include "tokenizer/clip_tokenizer.h"
#include "tokenizer/html_unescape.h"
#include "tokenizer/python_text.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;

const std::string kClipDir =
    std::string(SDFAST_TEST_DATA) + "/golden/models/tiny-sd15-pipeline/tokenizer";

const ClipTokenizer& clip() {
  static const ClipTokenizer tok = ClipTokenizer::from_folder(kClipDir);
  return tok;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("sdfast_tok_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// ---------------------------------------------------------------------------------------------
// The real CLIP vocabulary

TEST(ClipTokenizer, LoadsTheRealFiles) {
  EXPECT_EQ(clip().vocab_size(), 49408u);
  EXPECT_EQ(clip().merge_count(), 48894u);
  EXPECT_EQ(clip().bos_id(), 49406);
  EXPECT_EQ(clip().eos_id(), 49407);
  EXPECT_EQ(clip().pad_id(), 49407);
  EXPECT_EQ(clip().model_max_length(), 77);
  EXPECT_EQ(clip().token_to_id("a</w>"), 320);
  EXPECT_EQ(clip().token_to_id("no such token"), -1);
}

TEST(ClipTokenizer, EncodesLikeClip) {
  EXPECT_EQ(clip().encode("a photo of an astronaut riding a horse on mars"),
            (std::vector<int32_t>{320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496}));
  EXPECT_EQ(clip().encode("don't"), (std::vector<int32_t>{847, 713}));
  EXPECT_EQ(clip().encode("UPPER lower"), clip().encode("upper LOWER"));
}

TEST(ClipTokenizer, EmptyAndBlankPrompts) {
  for (const char* p : {"", " ", " \t\n\r\f\v ", "\u3000\u00a0"}) {
    EXPECT_TRUE(clip().encode(p).empty()) << p;
    const ClipTokens t = clip().tokenize_padded(p);
    ASSERT_EQ(t.input_ids.size(), 77u);
    EXPECT_EQ(t.input_ids[0], 49406);
    EXPECT_EQ(t.input_ids[1], 49407);
    EXPECT_TRUE(std::all_of(t.input_ids.begin() + 2, t.input_ids.end(),
                            [](int32_t id) { return id == 49407; }));
    EXPECT_EQ(t.untruncated_ids, (std::vector<int32_t>{49406, 49407}));
    EXPECT_FALSE(t.truncated());
  }
}

std::string repeat(const std::string& word, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + word;
  return s;
}

TEST(ClipTokenizer, TruncatesTo75AndReportsTheRest) {
  const int32_t word = clip().token_to_id("word</w>");
  ASSERT_GE(word, 0);
  const ClipTokens fits = clip().tokenize_padded(repeat("word", 75));
  EXPECT_FALSE(fits.truncated());
  EXPECT_EQ(fits.input_ids, fits.untruncated_ids);

  const ClipTokens t = clip().tokenize_padded(repeat("word", 100) + " tail");
  ASSERT_EQ(t.input_ids.size(), 77u);
  EXPECT_EQ(t.input_ids.front(), 49406);
  EXPECT_EQ(t.input_ids.back(), 49407);
  EXPECT_TRUE(std::all_of(t.input_ids.begin() + 1, t.input_ids.end() - 1,
                          [&](int32_t id) { return id == word; }));
  EXPECT_EQ(t.untruncated_ids.size(), 103u);
  EXPECT_EQ(t.removed_ids.size(), 26u);
  EXPECT_TRUE(t.truncated());
  EXPECT_EQ(t.removed_text, repeat("word", 25) + " tail");

  const ClipTokens short_max = clip().tokenize_padded("a photo of", 4);
  EXPECT_EQ(short_max.input_ids, (std::vector<int32_t>{49406, 320, 1125, 49407}));
  EXPECT_EQ(short_max.removed_text, "of");
  EXPECT_THROW(clip().tokenize_padded("a", 1), InvalidArgument);
}

TEST(ClipTokenizer, VeryLongPrompts) {
  // A megabyte of words and a 100k-letter word (BPE is O(n log n), not quadratic).
  const std::vector<int32_t> ids = clip().encode(repeat("a", 200000));
  EXPECT_EQ(ids.size(), 200000u);
  EXPECT_TRUE(std::all_of(ids.begin(), ids.end(), [](int32_t id) { return id == 320; }));
  const std::string word(100000, 'x');
  const std::vector<int32_t> long_word = clip().encode(word);
  EXPECT_FALSE(long_word.empty());
  EXPECT_EQ(clip().decode(long_word), word);
  EXPECT_TRUE(clip().tokenize_padded(word).truncated());
}

TEST(ClipTokenizer, RejectsInvalidUtf8WithTheOffset) {
  const std::vector<std::pair<std::string, size_t>> bad = {
      {"abc\xff", 3},           // not a UTF-8 byte
      {"ab\xC0\x80", 2},        // overlong NUL
      {"\xED\xA0\x80x", 0},     // UTF-16 surrogate
      {"x\xE6\x9D", 1},         // truncated sequence
      {"\xF4\x90\x80\x80", 0},  // above U+10FFFF
      {"ok \x80", 3},           // lone continuation byte
  };
  for (const auto& [prompt, offset] : bad) {
    try {
      clip().encode(prompt);
      ADD_FAILURE() << "accepted invalid UTF-8 at " << offset;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("byte offset " + std::to_string(offset)),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(ClipTokenizer, AcceptsAnyValidUtf8) {
  for (const std::string& p :
       {std::string("emoji \xF0\x9F\x90\xB1\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9"),
        std::string("\xE6\x9D\xB1\xE4\xBA\xAC"), std::string("e\xCC\x81\xCC\x81\xCC\x81"),
        std::string("ctrl \x01\x02\x1b[0m\x7f"), std::string("nul\0byte", 8),
        std::string("\xEF\xBF\xBE\xF4\x8F\xBF\xBF"),  // non-characters
        std::string("\xCD\x85 alone"), std::string("\x1c\x1f sep")}) {
    EXPECT_NO_THROW(clip().encode(p)) << p;
    EXPECT_EQ(clip().tokenize_padded(p).input_ids.size(), 77u);
  }
  // U+001C..U+001F are not \s for the regex module: kept as symbols inside the prompt.
  EXPECT_EQ(clip()
                .encode("a\x1c"
                        "b")
                .size(),
            3u);
  EXPECT_TRUE(clip().encode("\x1c").empty());  // but str.strip() removes them at the ends
}

TEST(ClipTokenizer, NormalisesLikeClip) {
  // NFC: a decomposed e + combining acute is the composed letter.
  EXPECT_EQ(clip().encode("cafe\xCC\x81"), clip().encode("caf\xC3\xA9"));
  // html.unescape twice, named (with and without ';') and numeric references.
  EXPECT_EQ(clip().encode("&amp;"), clip().encode("&"));
  EXPECT_EQ(clip().encode("&amp;lt;tag&amp;gt;"), clip().encode("<tag>"));
  EXPECT_EQ(clip().encode("&#65;&#x42;&#X43"), clip().encode("abc"));
  EXPECT_EQ(clip().encode("&eacute"), clip().encode("\xC3\xA9"));
  EXPECT_EQ(clip().encode("&notit;"), clip().encode("\xC2\xACit;"));
  // Whitespace of any kind collapses; case folds (Unicode-aware).
  EXPECT_EQ(clip().encode("  a\t\n\u2003photo  "), clip().encode("a photo"));
  EXPECT_EQ(clip().encode("\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2"),   // ПРИВЕТ
            clip().encode("\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"));  // привет
  // Special tokens in the text are their ids.
  EXPECT_EQ(clip().encode("<|endoftext|>"), std::vector<int32_t>{49407});
  EXPECT_EQ(clip().encode("<|STARTOFTEXT|>"), std::vector<int32_t>{49406});
}

TEST(ClipTokenizer, DecodeInvertsEncode) {
  EXPECT_EQ(clip().decode(clip().encode("A photo of an astronaut, riding!")),
            "a photo of an astronaut , riding !");
  EXPECT_EQ(clip().decode(clip().encode("caf\xC3\xA9 \xF0\x9F\x90\xB1")),
            "caf\xC3\xA9 \xF0\x9F\x90\xB1");
  EXPECT_EQ(clip().decode(std::vector<int32_t>{49406, 320, 49407}),
            "<|startoftext|>a <|endoftext|>");
  // A lone byte-level symbol of a multi-byte character decodes to U+FFFD.
  EXPECT_EQ(clip().decode(std::vector<int32_t>{clip().token_to_id("\xC3\xB0")}), "\xEF\xBF\xBD");
  EXPECT_THROW(clip().decode(std::vector<int32_t>{49408}), Error);
  EXPECT_THROW(clip().decode(std::vector<int32_t>{-1}), Error);
}

TEST(ClipTokenizer, Sd2PadTokenFromTheFolder) {
  // SD 2.x: special_tokens_map.json names "!" (id 0) as pad token; transformers splits it out of
  // the prompt like any special token, so every "!" is id 0.
  TempDir dir;
  fs::copy_file(fs::path(kClipDir) / "vocab.json", dir.path / "vocab.json");
  fs::copy_file(fs::path(kClipDir) / "merges.txt", dir.path / "merges.txt");
  write_file(dir.path / "special_tokens_map.json",
             R"({"bos_token": {"content": "<|startoftext|>", "lstrip": false},
                 "eos_token": "<|endoftext|>", "pad_token": "!", "unk_token": "<|endoftext|>"})");
  write_file(dir.path / "tokenizer_config.json",
             R"({"model_max_length": 77, "pad_token": "<|endoftext|>"})");
  const ClipTokenizer tok = ClipTokenizer::from_folder(dir.path.string());
  EXPECT_EQ(tok.pad_id(), 0);
  const ClipTokens t = tok.tokenize_padded("hi!");
  EXPECT_EQ(t.untruncated_ids, (std::vector<int32_t>{49406, 1883, 0, 49407}));
  EXPECT_EQ(t.input_ids[4], 0);
  EXPECT_EQ(tok.encode("! !!"), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(clip().encode("! !!"), (std::vector<int32_t>{256, 748}));
}

TEST(ClipTokenizer, ConfigDefaultsAndLimits) {
  TempDir dir;
  write_file(dir.path / "tokenizer_config.json", R"({"model_max_length": 1e30})");
  EXPECT_EQ(ClipTokenizerConfig::load(dir.path.string()).model_max_length, 77);
  write_file(dir.path / "tokenizer_config.json", R"({"model_max_length": 64})");
  EXPECT_EQ(ClipTokenizerConfig::load(dir.path.string()).model_max_length, 64);
  const ClipTokenizerConfig none = ClipTokenizerConfig::load((dir.path / "missing").string());
  EXPECT_EQ(none.pad_token, "<|endoftext|>");
}

// ---------------------------------------------------------------------------------------------
// BPE against the algorithm as openai/CLIP writes it, on a small synthetic vocabulary whose
// merges overlap and chain (including merges whose rank is lower than their parts').

std::string byte_symbol(unsigned char b) {
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
  char32_t cp = b;
  if (!printable) {
    char32_t next = 256;
    for (int x = 0; x < b; ++x) {
      const bool p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
      if (!p) ++next;
    }
    cp = next;
  }
  std::string s;
  python_text::append_utf8(s, cp);
  return s;
}

struct Synthetic {
  std::vector<std::pair<std::string, std::string>> merges;
  std::map<std::string, int32_t> vocab;

  std::string vocab_json() const {
    std::string s = "{";
    for (const auto& [tok, id] : vocab)
      s += (s.size() > 1 ? ",\n" : "\n") + nlohmann::json(tok).dump() + ": " + std::to_string(id);
    return s + "\n}";
  }
  std::string merges_txt() const {
    std::string s = "#version: 0.2\n";
    for (const auto& [a, b] : merges) s += a + " " + b + "\n";
    return s;
  }
};

Synthetic make_synthetic() {
  Synthetic s;
  int32_t id = 0;
  for (int b = 0; b < 256; ++b) s.vocab[byte_symbol(uint8_t(b))] = id++;
  for (int b = 0; b < 256; ++b) s.vocab[byte_symbol(uint8_t(b)) + "</w>"] = id++;
  s.merges = {{"aab", "a</w>"},  // ranked before the merges that make its parts
              {"a", "a"},       {"a", "b"},   {"aa", "a"},     {"b", "a</w>"},    {"ab", "a</w>"},
              {"aa", "b"},      {"b", "b"},   {"bb", "a"},     {"aab", "ba</w>"}, {"a", "a</w>"},
              {"bba", "a</w>"}, {"aa", "aa"}, {"ab", "ab"},    {"abab", "a</w>"}, {"c", "a"},
              {"ca", "b"},      {"cab", "c"}, {"aa", "a</w>"}, {"b", "b</w>"},    {"aaaa", "b"}};
  for (const auto& [a, b] : s.merges)
    if (!s.vocab.count(a + b)) s.vocab[a + b] = id++;
  s.vocab["<|startoftext|>"] = id++;
  s.vocab["<|endoftext|>"] = id++;
  return s;
}

// openai/CLIP's bpe(): repeatedly merge every occurrence of the lowest-ranked pair.
std::vector<std::string> naive_bpe(
    const std::string& word, const std::map<std::pair<std::string, std::string>, int>& ranks) {
  std::vector<std::string> w;
  for (size_t i = 0; i < word.size(); ++i) w.push_back(std::string(1, word[i]));
  w.back() += "</w>";
  for (;;) {
    int best = std::numeric_limits<int>::max();
    std::pair<std::string, std::string> bigram;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      auto it = ranks.find({w[i], w[i + 1]});
      if (it != ranks.end() && it->second < best) {
        best = it->second;
        bigram = it->first;
      }
    }
    if (best == std::numeric_limits<int>::max()) break;
    std::vector<std::string> next;
    for (size_t i = 0; i < w.size();) {
      if (i + 1 < w.size() && w[i] == bigram.first && w[i + 1] == bigram.second) {
        next.push_back(w[i] + w[i + 1]);
        i += 2;
      } else {
        next.push_back(w[i++]);
      }
    }
    w = next;
  }
  return w;
}

TEST(ClipTokenizer, BpeMatchesTheNaiveAlgorithm) {
  const Synthetic s = make_synthetic();
  const ClipTokenizer tok(s.vocab_json(), s.merges_txt(), ClipTokenizerConfig{});
  std::map<std::pair<std::string, std::string>, int> ranks;
  for (size_t r = 0; r < s.merges.size(); ++r) ranks[s.merges[r]] = int(r);
  std::mt19937 rng(1);
  for (int n = 0; n < 3000; ++n) {
    std::string word;
    const int len = 1 + int(rng() % 14);
    for (int i = 0; i < len; ++i) word.push_back("aabbc"[rng() % 5]);
    std::vector<int32_t> want;
    for (const std::string& piece : naive_bpe(word, ranks)) want.push_back(s.vocab.at(piece));
    ASSERT_EQ(tok.encode(word), want) << word;
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed files: each case builds one bad input and checks the message names file and line.

struct BadInput {
  const char* what;
  std::string vocab, merges;
  std::vector<std::string> expect;  // substrings of the error message
};

TEST(ClipTokenizer, MalformedFilesAreErrorsNamingFileAndLine) {
  const Synthetic s = make_synthetic();
  const std::string good_vocab = s.vocab_json(), good_merges = s.merges_txt();
  auto with_vocab_line = [&](const std::string& extra) {  // adds an entry on line 2
    return "{\n" + extra + ",\n" + good_vocab.substr(2);
  };
  auto without_token = [&](const std::string& token) {
    Synthetic t = s;
    t.vocab.erase(token);
    return t.vocab_json();
  };
  auto merges_with = [&](const std::string& line) {  // `line` becomes line 3
    return "#version: 0.2\n" + s.merges[0].first + " " + s.merges[0].second + "\n" + line + "\n";
  };
  const std::vector<BadInput> cases = {
      {"vocab not an object", "[1, 2]", good_merges, {"vocab.json line 1", "JSON object"}},
      {"vocab fractional id",
       with_vocab_line("\"zz\": 1.5"),
       good_merges,
       {"vocab.json line 2", "\"zz\"", "non-negative integer"}},
      {"vocab string id",
       with_vocab_line("\"zz\": \"7\""),
       good_merges,
       {"vocab.json line 2", "non-negative integer"}},
      {"vocab negative id",
       with_vocab_line("\"zz\": -3"),
       good_merges,
       {"vocab.json line 2", "non-negative integer"}},
      {"vocab huge id",
       with_vocab_line("\"zz\": 99999999999"),
       good_merges,
       {"vocab.json line 2", "too large"}},
      {"vocab null id", with_vocab_line("\"zz\": null"), good_merges, {"vocab.json line 2"}},
      {"vocab duplicate id",
       with_vocab_line("\"zz\": 5"),
       good_merges,
       {"vocab.json line ", "id 5", "already used"}},
      {"vocab duplicate token",
       with_vocab_line("\"a\": 100000"),
       good_merges,
       {"vocab.json line ", "\"a\" appears twice"}},
      {"vocab syntax error",
       "{\n\"a\": 1,\n\"b 2\n}",
       good_merges,
       {"vocab.json line 3", "control character"}},
      {"vocab trailing text",
       good_vocab + "\n{}",
       good_merges,
       {"vocab.json line", "after the JSON"}},
      {"vocab invalid utf-8", "{\n\"\xff\": 1\n}", good_merges, {"vocab.json line 2", "UTF-8"}},
      {"vocab lone surrogate",
       "{\n\"\\ud800\": 1\n}",
       good_merges,
       {"vocab.json line 2", "surrogate"}},
      {"vocab empty object", "{}", good_merges, {"vocab.json", "no tokens"}},
      {"vocab empty file", "", good_merges, {"vocab.json line 1", "JSON object"}},
      {"vocab missing eos",
       without_token("<|endoftext|>"),
       good_merges,
       {"vocab.json", "eos_token", "<|endoftext|>"}},
      {"vocab missing bos",
       without_token("<|startoftext|>"),
       good_merges,
       {"vocab.json", "bos_token"}},
      {"vocab missing byte symbol",
       without_token("a</w>"),
       good_merges,
       {"vocab.json", "byte-level symbol \"a</w>\""}},
      {"merges without header", good_vocab, "a a\nb b\n", {"merges.txt line 1", "#version"}},
      {"merges one symbol",
       good_vocab,
       merges_with("ab"),
       {"merges.txt line 3", "two symbols", "found 1"}},
      {"merges three symbols", good_vocab, merges_with("a b c"), {"merges.txt line 3", "found 3"}},
      {"merges empty line inside",
       good_vocab,
       merges_with("\na b"),
       {"merges.txt line 3", "found 0"}},
      {"merges unknown symbol",
       good_vocab,
       merges_with("a q\xC3\xA9"),
       {"merges.txt line 3", "symbol \"q\xC3\xA9\"", "not in vocab.json"}},
      {"merges unknown result",
       good_vocab,
       merges_with("c c"),
       {"merges.txt line 3", "merged symbol \"cc\""}},
      {"merges empty file", good_vocab, "", {"merges.txt", "empty"}},
      {"merges header only", good_vocab, "#version: 0.2\n\n", {"merges.txt", "no merges"}},
      {"merges invalid utf-8", good_vocab, merges_with("a \xC3"), {"merges.txt line 3", "UTF-8"}},
  };
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.what);
    try {
      ClipTokenizer tok(c.vocab, c.merges, ClipTokenizerConfig{});
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      for (const std::string& part : c.expect)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
            << "message: " << e.what() << "\nmissing: " << part;
    }
  }
  EXPECT_EQ(cases.size(), 26u);  // distinct malformed vocab/merges inputs covered above
  // And the good files load.
  EXPECT_NO_THROW(ClipTokenizer(good_vocab, good_merges, ClipTokenizerConfig{}));
}

TEST(ClipTokenizer, MalformedConfigAndFolderErrors) {
  TempDir dir;
  EXPECT_THROW(ClipTokenizer::from_folder((dir.path / "nope").string()), Error);
  const Synthetic s = make_synthetic();
  write_file(dir.path / "vocab.json", s.vocab_json());
  try {
    ClipTokenizer::from_folder(dir.path.string());
    ADD_FAILURE() << "loaded without merges.txt";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("merges.txt"), std::string::npos) << e.what();
  }
  write_file(dir.path / "merges.txt", s.merges_txt());
  EXPECT_NO_THROW(ClipTokenizer::from_folder(dir.path.string()));
  const std::vector<std::pair<std::string, std::string>> bad_configs = {
      {R"({"bos_token": 5})", "bos_token must be a string"},
      {R"({"pad_token": {"lstrip": true}})", "pad_token must be a string"},
      {R"({"eos_token": ""})", "eos_token is empty"},
      {R"({"model_max_length": 1})", "model_max_length must be an integer"},
      {R"({"model_max_length": 7.5})", "model_max_length must be an integer"},
      {R"({"model_max_length": "77"})", "model_max_length must be a number"},
      {R"([1])", "expected a JSON object"},
      {R"({"unk_token": "<|nope|>"})", "has no entry for unk_token"},
  };
  for (const auto& [json, expect] : bad_configs) {
    write_file(dir.path / "tokenizer_config.json", json);
    try {
      ClipTokenizer::from_folder(dir.path.string());
      ADD_FAILURE() << "accepted " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The Python-compatible pieces on their own.

TEST(HtmlUnescape, FollowsPythonsRules) {
  auto u = [](const std::string& s) {
    return python_text::encode_utf8(html_unescape(python_text::decode_utf8(s)));
  };
  EXPECT_EQ(u("&lt;&gt;&amp;&quot;"), "<>&\"");
  EXPECT_EQ(u("&lt &ampx &amp;amp;"), "< &x &amp;");                    // legacy names without ';'
  EXPECT_EQ(u("&notin; &notit; &no"), "\xE2\x88\x89 \xC2\xACit; &no");  // longest prefix
  EXPECT_EQ(u("&#0;&#13;&#128;&#x9F;"), "\xEF\xBF\xBD\r\xE2\x82\xAC\xC5\xB8");
  EXPECT_EQ(u("&#xD800;&#1114112;&#99999999999999999999;"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(u("a&#1;b&#xFFFF;c&#x10FFFE;d"), "abcd");  // dropped code points
  EXPECT_EQ(u("&#; &#x; &; & &#x41"), "&#; &#x; &; & A");
  EXPECT_EQ(u("&NotNestedLessLess;"), "\xE2\xAA\xA1\xCC\xB8");  // two code points
  EXPECT_EQ(u("&amp;lt;"), "&lt;");                             // one pass only
}

TEST(PythonText, LowerAndClasses) {
  using python_text::decode_utf8;
  using python_text::encode_utf8;
  auto lower = [](const std::string& s) { return encode_utf8(python_text::lower(decode_utf8(s))); };
  EXPECT_EQ(lower("ABC \xC3\x89"), "abc \xC3\xA9");
  EXPECT_EQ(lower("\xC4\xB0"), "i\xCC\x87");  // U+0130 -> i + combining dot
  // Final sigma: ΟΔΟΣ -> οδος with final ς; a lone Σ stays σ.
  EXPECT_EQ(lower("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3"), "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82");
  EXPECT_EQ(lower("\xCE\xA3"), "\xCF\x83");
  EXPECT_EQ(lower("\xCE\x91\xCE\xA3'"), "\xCE\xB1\xCF\x82'");
  EXPECT_TRUE(python_text::is_space(0x3000));
  EXPECT_TRUE(python_text::is_space(0x1C));
  EXPECT_FALSE(python_text::is_regex_space(0x1C));
  EXPECT_FALSE(python_text::is_space(0x200B));
  EXPECT_TRUE(python_text::is_letter(0x6771));
  EXPECT_TRUE(python_text::is_number(0x2167));
  EXPECT_FALSE(python_text::is_letter(0x301));
  EXPECT_EQ(python_text::decode_utf8_replace("a\xF0\x9F\x90"
                                             "b\xFF"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(ClipText, PreTokenizesLikeTheRegex) {
  auto pieces = [](const std::string& s) {
    std::vector<std::string> out;
    const std::u32string text = clip_clean_text(s);
    for (std::u32string_view p : clip_pre_tokenize(text))
      out.push_back(python_text::encode_utf8(p));
    return out;
  };
  EXPECT_EQ(
      pieces("Hello, World!!! it's 2024"),
      (std::vector<std::string>{"hello", ",", "world", "!!!", "it", "'s", "2", "0", "2", "4"}));
  EXPECT_EQ(pieces("x<|endoftext|>y 'sun"),
            (std::vector<std::string>{"x", "<|endoftext|>", "y", "'s", "un"}));
  EXPECT_EQ(pieces("a'\xC5\xBF"), (std::vector<std::string>{"a", "'\xC5\xBF"}));  // 'ſ folds to 's
  EXPECT_EQ(pieces("x\xCD\x85y"), (std::vector<std::string>{"x", "y"}));  // U+0345 matches nothing
}

}  // namespace
}  // namespace sdfast
