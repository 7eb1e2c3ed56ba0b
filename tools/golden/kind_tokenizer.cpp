// Golden kind tokenizer: case.json holds `cases`, each a prompt with its `ids_unpadded`
// (bos + ids + eos) and `ids_77` (truncated, padded to params.max_length); params name the
// expected bos / eos / pad ids. Every prompt is compared exactly; mismatches are listed.
#include <string>
#include <vector>

#include "core/error.h"
#include "golden/kinds.h"
#include "tokenizer/clip_tokenizer.h"

namespace sdfast::golden {

namespace {

std::vector<int32_t> ids_field(const nlohmann::json& c, const char* key, size_t index) {
  if (!c.contains(key) || !c[key].is_array())
    fail("tokenizer case ", index, ": '", key, "' must be an array of ids");
  std::vector<int32_t> ids;
  for (const nlohmann::json& v : c[key]) {
    if (!v.is_number_integer()) fail("tokenizer case ", index, ": '", key, "' holds ", v.dump());
    ids.push_back(v.get<int32_t>());
  }
  return ids;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += ']';
  return s;
}

// The prompt as JSON (escaped), shortened for the failure line.
std::string show_prompt(const std::string& prompt) {
  std::string s = nlohmann::json(prompt).dump();
  return s.size() > 60 ? s.substr(0, 57) + "...\"" : s;
}

}  // namespace

void run_tokenizer(CaseRun& run) {
  const GoldenCase& gc = run.golden();
  const ClipTokenizer tok = ClipTokenizer::from_folder(gc.model_path());
  const nlohmann::json& p = gc.params();
  const int max_length = p.value("max_length", tok.model_max_length());
  for (const auto& [key, want] :
       {std::pair{"bos_token_id", tok.bos_id()}, std::pair{"eos_token_id", tok.eos_id()},
        std::pair{"pad_token_id", tok.pad_id()}}) {
    if (p.contains(key) && p[key] != want)
      run.fail_check(str_cat(key, " is ", want, ", case expects ", p[key].dump()));
  }
  const nlohmann::json& cases = gc.json().at("cases");
  if (!cases.is_array() || cases.empty())
    fail("case '", gc.name(), "': 'cases' must be a non-empty array");
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& c = cases[i];
    if (!c.contains("prompt") || !c["prompt"].is_string())
      fail("tokenizer case ", i, ": 'prompt' must be a string");
    const std::string prompt = c["prompt"].get<std::string>();
    const ClipTokens got = tok.tokenize_padded(prompt, max_length);
    const std::vector<int32_t> want_unpadded = ids_field(c, "ids_unpadded", i);
    const std::vector<int32_t> want_padded = ids_field(c, "ids_77", i);
    if (got.untruncated_ids != want_unpadded)
      run.fail_check(str_cat("prompt ", show_prompt(prompt), ": ids_unpadded ",
                             show(got.untruncated_ids), " != expected ", show(want_unpadded)));
    if (got.input_ids != want_padded)
      run.fail_check(str_cat("prompt ", show_prompt(prompt), ": ids_77 ", show(got.input_ids),
                             " != expected ", show(want_padded)));
  }
}

}  // namespace sdfast::golden
