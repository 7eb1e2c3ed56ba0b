// libFuzzer harness: arbitrary prompts through the real CLIP tokenizer (the vendored golden
// vocab.json / merges.txt). Valid UTF-8 must always encode; anything else must be refused with
// InvalidArgument. Encoded ids must lie in the vocabulary, decode, and pad/truncate as promised.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/clip_tokenizer.h"

using namespace sdfast;

namespace {

const ClipTokenizer& tokenizer() {
  static const std::unique_ptr<ClipTokenizer> tok =
      std::make_unique<ClipTokenizer>(ClipTokenizer::from_folder(SDFAST_FUZZ_TOKENIZER_DIR));
  return *tok;
}

bool known(const ClipTokenizer& tok, int32_t id) {
  return id >= 0 && size_t(id) < tok.vocab_size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ClipTokenizer& tok = tokenizer();
  const std::string_view prompt(reinterpret_cast<const char*>(data), size);
  const bool valid = is_valid_utf8(prompt);
  try {
    const std::vector<int32_t> ids = tok.encode(prompt);
    if (!valid) __builtin_trap();  // invalid UTF-8 accepted
    for (int32_t id : ids)
      if (!known(tok, id)) __builtin_trap();
    (void)tok.decode(ids);
    const ClipTokens t = tok.tokenize_padded(prompt);
    if (t.input_ids.size() != size_t(tok.model_max_length())) __builtin_trap();
    if (t.untruncated_ids.size() != ids.size() + 2) __builtin_trap();
    if (t.truncated() != (ids.size() + 2 > size_t(tok.model_max_length()))) __builtin_trap();
    for (int32_t id : t.input_ids)
      if (!known(tok, id)) __builtin_trap();
    const ClipTokens small = tok.tokenize_padded(prompt, 2);
    if (small.input_ids.size() != 2 || small.input_ids[0] != tok.bos_id()) __builtin_trap();
  } catch (const InvalidArgument&) {
    if (valid) __builtin_trap();  // valid UTF-8 refused
  }
  return 0;
}
