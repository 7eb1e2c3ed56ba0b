// CLIPTextModel: golden outputs, an independent reference forward (quick_gelu and gelu), pooling
// rules, clip_skip, input checks, strict loading and config validation.
#include <gtest/gtest.h>

#include <cmath>

#include "model_test_util.h"
#include "models/clip_text_model.h"

namespace sdfast::models {
namespace {

using test::expect_error;
using test::rel_err;

const std::string kDir = test::golden_dir("models/tiny-sd15-pipeline/text_encoder");

CLIPTextConfig parse(const nlohmann::json& j) {
  return CLIPTextConfig::from_config(Config(j, "'text_encoder/config.json'"));
}

Tensor ids_tensor(Shape shape, const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty(std::move(shape), DType::I32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}

TEST(CLIPTextModel, MatchesGoldenInFloat32AndBfloat16) {
  const Tensor ids = test::case_tensor("text-encoder-tiny", "input_ids");
  for (DType dt : {DType::F32, DType::BF16}) {
    Runtime rt(RuntimeOptions{0, dt});
    const CLIPTextModel model = CLIPTextModel::from_pretrained(rt, kDir);
    const CLIPTextModelOutput out = model.forward(rt, ids);
    const double tol = dt == DType::F32 ? 1e-5 : 2e-2;
    ASSERT_EQ(out.hidden_states.size(), 4u);
    for (size_t i = 0; i < 4; ++i)
      EXPECT_LT(
          rel_err(out.hidden_states[i],
                  test::case_tensor("text-encoder-tiny", "hidden_states." + std::to_string(i))),
          tol);
    EXPECT_LT(
        rel_err(out.last_hidden_state, test::case_tensor("text-encoder-tiny", "last_hidden_state")),
        tol);
    EXPECT_LT(rel_err(out.pooled_output, test::case_tensor("text-encoder-tiny", "pooled_output")),
              tol);
    EXPECT_LT(rel_err(model.encode(rt, ids, 1),
                      test::case_tensor("text-encoder-tiny", "penultimate_normed")),
              tol);
    EXPECT_EQ(model.encode(rt, ids, 0).to_vector(), out.last_hidden_state.to_vector());
  }
}

// transformers' CLIPTextModel written out in double precision, from the same weights.
std::vector<double> reference_forward(WeightSource& w, const CLIPTextConfig& c,
                                      const std::vector<int>& ids) {
  const int64_t l = int64_t(ids.size()), d = c.hidden_size, f = c.intermediate_size;
  const int64_t heads = c.num_attention_heads, hd = d / heads;
  auto get = [&](const std::string& n, Shape s) {
    return w.get("text_model." + n, s, DType::F32).to_vector();
  };
  auto layer_norm = [&](const std::vector<double>& x, const std::string& n) {
    const auto g = get(n + ".weight", {d}), b = get(n + ".bias", {d});
    std::vector<double> y(x.size());
    for (int64_t t = 0; t < l; ++t) {
      double mean = 0, var = 0;
      for (int64_t k = 0; k < d; ++k) mean += x[t * d + k] / double(d);
      for (int64_t k = 0; k < d; ++k)
        var += (x[t * d + k] - mean) * (x[t * d + k] - mean) / double(d);
      for (int64_t k = 0; k < d; ++k)
        y[t * d + k] = (x[t * d + k] - mean) / std::sqrt(var + c.layer_norm_eps) * g[k] + b[k];
    }
    return y;
  };
  auto linear = [&](const std::vector<double>& x, const std::string& n, int64_t in, int64_t out) {
    const auto wt = get(n + ".weight", {out, in}), b = get(n + ".bias", {out});
    std::vector<double> y(size_t(l * out));
    for (int64_t t = 0; t < l; ++t)
      for (int64_t o = 0; o < out; ++o) {
        double s = b[o];
        for (int64_t i = 0; i < in; ++i) s += x[t * in + i] * wt[o * in + i];
        y[t * out + o] = s;
      }
    return y;
  };
  const auto tok = get("embeddings.token_embedding.weight", {c.vocab_size, d});
  const auto pos = get("embeddings.position_embedding.weight", {c.max_position_embeddings, d});
  std::vector<double> h(size_t(l * d));
  for (int64_t t = 0; t < l; ++t)
    for (int64_t k = 0; k < d; ++k) h[t * d + k] = tok[ids[t] * d + k] + pos[t * d + k];
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "encoder.layers." + std::to_string(i) + ".";
    const auto a = layer_norm(h, p + "layer_norm1");
    const auto q = linear(a, p + "self_attn.q_proj", d, d),
               k = linear(a, p + "self_attn.k_proj", d, d),
               v = linear(a, p + "self_attn.v_proj", d, d);
    std::vector<double> o(size_t(l * d), 0.0);
    for (int64_t hh = 0; hh < heads; ++hh)
      for (int64_t t = 0; t < l; ++t) {
        std::vector<double> s(size_t(t + 1));
        double mx = -1e300, sum = 0;
        for (int64_t u = 0; u <= t; ++u) {  // causal
          double dot = 0;
          for (int64_t e = 0; e < hd; ++e) dot += q[t * d + hh * hd + e] * k[u * d + hh * hd + e];
          s[u] = dot / std::sqrt(double(hd));
          mx = std::max(mx, s[u]);
        }
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int64_t u = 0; u <= t; ++u)
          for (int64_t e = 0; e < hd; ++e)
            o[t * d + hh * hd + e] += s[u] / sum * v[u * d + hh * hd + e];
      }
    const auto proj = linear(o, p + "self_attn.out_proj", d, d);
    for (size_t j = 0; j < h.size(); ++j) h[j] += proj[j];
    auto m = linear(layer_norm(h, p + "layer_norm2"), p + "mlp.fc1", d, f);
    for (double& x : m)
      x = c.hidden_act == CLIPTextConfig::HiddenAct::Gelu
              ? 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))
              : x / (1 + std::exp(-1.702 * x));
    const auto m2 = linear(m, p + "mlp.fc2", f, d);
    for (size_t j = 0; j < h.size(); ++j) h[j] += m2[j];
  }
  return layer_norm(h, "final_layer_norm");
}

TEST(CLIPTextModel, MatchesReferenceForBothActivations) {
  for (const char* act : {"quick_gelu", "gelu"}) {
    const CLIPTextConfig c = parse({{"vocab_size", 50},
                                    {"hidden_size", 12},
                                    {"intermediate_size", 20},
                                    {"num_hidden_layers", 2},
                                    {"num_attention_heads", 3},
                                    {"max_position_embeddings", 7},
                                    {"hidden_act", act}});
    Runtime rt;
    RandomWeights w(11);
    const CLIPTextModel model(rt, w, c);
    const std::vector<int> ids = {49, 3, 17, 0, 25, 25, 8};
    const Tensor got =
        model.forward(rt, ids_tensor({1, 7}, {ids.begin(), ids.end()})).last_hidden_state;
    const std::vector<double> want = reference_forward(w, c, ids);
    const std::vector<float> g = got.to_vector();
    ASSERT_EQ(g.size(), want.size());
    for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-4) << act << " at " << i;
  }
}

TEST(CLIPTextModel, PoolingFollowsTransformers) {
  Runtime rt;
  const CLIPTextConfig base = CLIPTextConfig::from_config(Config::load(kDir + "/config.json"));
  ASSERT_EQ(base.eos_token_id, 2);
  // 49407 (end of text) at positions 3, 4, 5 (padding); a larger id nowhere.
  const Tensor ids = ids_tensor({2, 6}, {49406, 320, 1125, 49407, 49407, 49407,  //
                                         49406, 49407, 5, 6, 49407, 7});
  for (int64_t eos : {int64_t(2), int64_t(49407), int64_t(5)}) {
    CLIPTextConfig c = base;
    c.eos_token_id = eos;
    SafetensorsWeights w({kDir + "/model.safetensors"});
    const CLIPTextModel model(rt, w, c);
    const CLIPTextModelOutput out = model.forward(rt, ids);
    // eos 2: argmax of the ids (first of equal maxima); else the first position holding eos (0
    // when there is none).
    const int64_t want_pos[3][2] = {{3, 1}, {3, 1}, {0, 2}};
    const int row = eos == 2 ? 0 : eos == 49407 ? 1 : 2;
    const std::vector<float> last = out.last_hidden_state.to_vector(),
                             pooled = out.pooled_output.to_vector();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t k = 0; k < 32; ++k)
        ASSERT_EQ(pooled[b * 32 + k], last[(b * 6 + want_pos[row][b]) * 32 + k]) << "eos " << eos;
  }
}

TEST(CLIPTextModel, ShorterSequencesAreCausalPrefixesAndClipSkipCutsLayers) {
  Runtime rt;
  const CLIPTextModel model = CLIPTextModel::from_pretrained(rt, kDir);
  const Tensor ids = test::case_tensor("text-encoder-tiny", "input_ids");  // [3, 77]
  const CLIPTextModelOutput full = model.forward(rt, ids);
  std::vector<int32_t> prefix;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = 0; t < 10; ++t) prefix.push_back(ids.data<int32_t>()[b * 77 + t]);
  const CLIPTextModelOutput part = model.forward(rt, ids_tensor({3, 10}, prefix));
  const std::vector<float> f = full.hidden_states[3].to_vector(),
                           p = part.hidden_states[3].to_vector();
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t i = 0; i < 10 * 32; ++i) EXPECT_NEAR(p[b * 320 + i], f[b * 77 * 32 + i], 1e-5);
  // clip_skip 3 of 3 layers: final_layer_norm of the embeddings, the same for every prefix.
  const std::vector<float> e3 = model.encode(rt, ids, 3).to_vector();
  const std::vector<float> e3p = model.encode(rt, ids_tensor({3, 10}, prefix), 3).to_vector();
  for (int64_t i = 0; i < 10 * 32; ++i) EXPECT_EQ(e3p[i], e3[i]);
  EXPECT_THROW(model.encode(rt, ids, 4), InvalidArgument);
  EXPECT_THROW(model.encode(rt, ids, -1), InvalidArgument);
}

TEST(CLIPTextModel, RejectsBadInputIds) {
  Runtime rt;
  const CLIPTextModel model = CLIPTextModel::from_pretrained(rt, kDir);
  expect_error(
      [&] {
        model.forward(rt, ids_tensor({1, 3}, {49406, 49408, 49407}));
      },
      {"49408", "[0, 1]", "49408"});
  EXPECT_THROW(model.forward(rt, ids_tensor({1, 2}, {49406, -1})), InvalidArgument);
  EXPECT_THROW(model.forward(rt, ids_tensor({1, 78}, std::vector<int32_t>(78, 1))),
               InvalidArgument);
  EXPECT_THROW(model.forward(rt, Tensor::zeros({1, 5})), Error);  // float ids
  EXPECT_THROW(model.forward(rt, ids_tensor({5}, {1, 2, 3, 4, 5})), Error);
  Tensor i64 = Tensor::empty({1, 2}, DType::I64);
  i64.data<int64_t>()[0] = 49406;
  i64.data<int64_t>()[1] = 49407;
  EXPECT_EQ(model.forward(rt, i64).last_hidden_state.to_vector(),
            model.forward(rt, ids_tensor({1, 2}, {49406, 49407})).last_hidden_state.to_vector());
}

TEST(CLIPTextModel, StrictLoading) {
  test::TempDir dir;
  Runtime rt;
  const test::NamedTensors all = test::read_all(kDir + "/model.safetensors");
  test::NamedTensors missing, no_ids, wrong = all, extra = all;
  for (const auto& nt : all) {
    if (nt.first != "text_model.encoder.layers.2.mlp.fc1.bias") missing.push_back(nt);
    if (nt.first != "text_model.embeddings.position_ids") no_ids.push_back(nt);
  }
  for (auto& [name, t] : wrong)
    if (name == "text_model.encoder.layers.1.self_attn.q_proj.weight") t = Tensor::zeros({32, 16});
  extra.emplace_back("text_projection.weight", Tensor::zeros({16, 32}));
  write_safetensors(dir.file("missing.safetensors"), missing);
  write_safetensors(dir.file("no_ids.safetensors"), no_ids);
  write_safetensors(dir.file("wrong.safetensors"), wrong);
  write_safetensors(dir.file("extra.safetensors"), extra);
  expect_error([&] { CLIPTextModel::from_pretrained(rt, kDir, {dir.file("missing.safetensors")}); },
               {"missing tensor", "text_model.encoder.layers.2.mlp.fc1.bias", "[128]",
                "missing.safetensors"});
  expect_error([&] { CLIPTextModel::from_pretrained(rt, kDir, {dir.file("wrong.safetensors")}); },
               {"text_model.encoder.layers.1.self_attn.q_proj.weight", "[32, 16]", "[32, 32]"});
  expect_error([&] { CLIPTextModel::from_pretrained(rt, kDir, {dir.file("extra.safetensors")}); },
               {"unexpected tensor", "text_projection.weight", "extra.safetensors"});
  // position_ids is optional (newer transformers do not save it).
  EXPECT_NO_THROW(CLIPTextModel::from_pretrained(rt, kDir, {dir.file("no_ids.safetensors")}));
}

TEST(CLIPTextModel, ConfigValidationNamesFileAndKey) {
  const nlohmann::json base = read_json_file(kDir + "/config.json");
  auto bad = [&](const char* key, nlohmann::json value, const std::string& what) {
    nlohmann::json j = base;
    j[key] = std::move(value);
    expect_error([&] { parse(j); }, {"text_encoder/config.json", key, what});
  };
  bad("hidden_act", "gelu_new", "quick_gelu, gelu");
  bad("num_attention_heads", 5, "do not divide");
  bad("hidden_size", 0, "between");
  bad("num_hidden_layers", -1, "between");
  bad("vocab_size", 1 << 30, "between");
  bad("layer_norm_eps", -1e-5, "positive");
  bad("max_position_embeddings", "77", "integer");
  bad("model_type", "t5", "clip_text_model");
  // SD 2.x's OpenCLIP-H text encoder config (stable-diffusion-2-1-base) is accepted as it is.
  const CLIPTextConfig sd2 = parse({{"architectures", {"CLIPTextModel"}},
                                    {"model_type", "clip_text_model"},
                                    {"hidden_act", "gelu"},
                                    {"hidden_size", 1024},
                                    {"intermediate_size", 4096},
                                    {"num_attention_heads", 16},
                                    {"num_hidden_layers", 23},
                                    {"max_position_embeddings", 77},
                                    {"layer_norm_eps", 1e-05},
                                    {"vocab_size", 49408},
                                    {"bos_token_id", 0},
                                    {"eos_token_id", 2},
                                    {"pad_token_id", 1},
                                    {"projection_dim", 512},
                                    {"torch_dtype", "float32"}});
  EXPECT_EQ(sd2.hidden_act, CLIPTextConfig::HiddenAct::Gelu);
  EXPECT_EQ(sd2.num_hidden_layers, 23);
  EXPECT_EQ(sd2.num_attention_heads, 16);
}

}  // namespace
}  // namespace sdfast::models
