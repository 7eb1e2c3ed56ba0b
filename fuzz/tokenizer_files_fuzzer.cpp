// libFuzzer harness: a tokenizer's vocab.json and merges.txt (the input up to its first NUL byte
// is vocab.json, the rest merges.txt). Building a ClipTokenizer from them must either be refused
// with sdfast::Error or give a tokenizer whose encode / tokenize_padded / decode keep their
// promises on a few prompts. Anything else (a crash, a sanitizer report, another exception type,
// a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tokenizer/clip_tokenizer.h"

using namespace sdfast;

namespace {

void check_tokens(const ClipTokenizer& tok, std::string_view prompt, int max_length) {
  const ClipTokens t = tok.tokenize_padded(prompt, max_length);
  if (t.input_ids.size() != size_t(max_length)) __builtin_trap();
  if (t.input_ids.front() != tok.bos_id()) __builtin_trap();
  if (t.untruncated_ids.size() < 2 || t.untruncated_ids.back() != tok.eos_id()) __builtin_trap();
  // Every id the tokenizer gives decodes (an unknown id would be an Error).
  (void)tok.decode(t.untruncated_ids);
  (void)tok.decode(t.input_ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view vocab = input.substr(0, split);
  const std::string_view merges = split == std::string_view::npos ? "" : input.substr(split + 1);
  try {
    const ClipTokenizer tok(vocab, merges, ClipTokenizerConfig{});
    for (std::string_view prompt :
         {"a photo of an astronaut riding a horse on mars", "", "aaaa bbbb abab",
          "<|startoftext|>x<|endoftext|>", "&amp;&lt; caf\xC3\xA9 \xF0\x9F\x90\xB1 don't 123"}) {
      (void)tok.encode(prompt);
      check_tokens(tok, prompt, tok.model_max_length());
      check_tokens(tok, prompt, 3);
    }
  } catch (const Error&) {
  }
  return 0;
}
