// LoRA: the file reader (layouts, bad input), merged and unmerged application on the tiny golden
// SD 1.5 UNet and text encoder, several LoRAs, scales, and unloading back to the exact weights.
// Numbers against Diffusers are the golden cases lora-* (kind "lora").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "lora/lora_file.h"
#include "lora/lora_stack.h"
#include "model_test_util.h"
#include "tensor_test_util.h"
#include "models/clip_text_model.h"
#include "models/unet_2d_condition_model.h"

namespace sdfast {
namespace {

using lora::LoraFile;
using lora::LoraMode;
using lora::LoraStack;
using lora::LoraTargets;
using test::expect_error;
using test::golden_dir;
using test::TempDir;

const std::string kKohya = golden_dir("cases/lora-kohya-sd15/lora_kohya.safetensors");
const std::string kDiffusers = golden_dir("cases/lora-diffusers-sd15/lora_diffusers.safetensors");
const std::string kModel = golden_dir("models/tiny-sd15-pipeline");

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string replace_suffix(const std::string& s, const std::string& from, const std::string& to) {
  return s.substr(0, s.size() - from.size()) + to;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

Tensor make_ids(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({1, int64_t(v.size())}, DType::I32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}

// The tiny UNet and text encoder with their layers, and the kohya case's UNet input.
struct Models {
  Runtime rt{RuntimeOptions{0, DType::F32, AttentionKernel::Flash}};
  models::UNet2DConditionModel unet = models::UNet2DConditionModel::from_pretrained(rt, kModel + "/unet");
  models::CLIPTextModel text = models::CLIPTextModel::from_pretrained(rt, kModel + "/text_encoder");
  LoraTargets targets;
  Tensor sample = test::case_tensor("lora-kohya-sd15", "sample");
  Tensor context = test::case_tensor("lora-kohya-sd15", "encoder_hidden_states");
  Tensor ids = make_ids({49406, 320, 1125, 539, 550, 18376, 49407, 49407});

  Models() {
    unet.collect_layers(targets.unet);
    text.collect_layers(targets.text_encoder);
  }
  Tensor unet_out() { return unet.forward(rt, sample, 500.0, context); }
  // The UNet and text-encoder outputs with `file` loaded alone (unloaded again after).
  struct Outputs {
    lora::LoraMatch match;
    Tensor unet, text;
  };
  Outputs outputs_with(const LoraFile& file, float scale, LoraMode mode) {
    LoraStack s;
    Outputs o;
    o.match = s.add(rt, file, scale, mode, targets);
    o.unet = unet_out();
    o.text = text_out();
    s.clear(rt);
    return o;
  }
  Tensor text_out() { return text.encode(rt, ids); }
  // Every layer's weight bytes, by path.
  std::map<std::string, Tensor> weights() {
    std::map<std::string, Tensor> w;
    for (auto* set : {&targets.unet, &targets.text_encoder}) {
      for (ops::Linear* l : set->linears)
        if (!l->name().empty()) w[l->name()] = l->weight(rt);
      for (ops::Conv2d* c : set->convs)
        if (!c->name().empty()) w[c->name()] = c->weight(rt);
    }
    return w;
  }
};

TEST(LoraFile, DetectsTheGoldenLayouts) {
  const LoraFile k = LoraFile::read(kKohya);
  EXPECT_EQ(k.format, lora::LoraFormat::Kohya);
  EXPECT_EQ(k.modules.size(), 295u);  // 277 UNet + 18 text encoder (case.json lora_modules)
  for (const auto& m : k.modules) {
    EXPECT_TRUE(m.underscored);
    EXPECT_EQ(m.rank, 4);
    EXPECT_EQ(m.alpha, 2.0f);
  }
  const LoraFile d = LoraFile::read(kDiffusers);
  EXPECT_EQ(d.format, lora::LoraFormat::DiffusersLegacy);
  EXPECT_EQ(d.modules.size(), 204u);  // 192 + 12
  for (const auto& m : d.modules) {
    EXPECT_FALSE(m.underscored);
    EXPECT_EQ(m.alpha, 4.0f);  // no alpha: factor 1
  }
}

TEST(LoraFile, AttentionProcessorNames) {
  TempDir dir;
  const std::string f = dir.file("procs.safetensors");
  write_safetensors(f, {{"down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight",
                         Tensor::zeros({2, 32})},
                        {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight",
                         Tensor::zeros({32, 2})}});
  const LoraFile l = LoraFile::read(f);
  ASSERT_EQ(l.modules.size(), 1u);
  EXPECT_EQ(l.modules[0].path, "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0");
  EXPECT_EQ(l.modules[0].target, lora::LoraTarget::UNet);
}

// The PEFT layout has no golden case (Diffusers 0.26 cannot load PEFT UNet keys without peft): the
// golden LoRAs renamed into it must give identical outputs.
TEST(Lora, PeftLayoutOfTheDiffusersLoraGivesIdenticalOutputs) {
  TempDir dir;
  test::NamedTensors peft;
  for (auto& [name, t] : test::read_all(kDiffusers)) {
    std::string n = name;
    for (auto [from, to] : {std::pair{".lora.down.weight", ".lora_A.weight"}, {".lora.up.weight", ".lora_B.weight"},
                            {".lora_linear_layer.down.weight", ".lora_A.weight"},
                            {".lora_linear_layer.up.weight", ".lora_B.weight"}})
      if (ends_with(n, from)) n = replace_suffix(n, from, to);
    peft.emplace_back(n, t);
  }
  write_safetensors(dir.file("peft.safetensors"), peft);
  const LoraFile p = LoraFile::read(dir.file("peft.safetensors"));
  EXPECT_EQ(p.format, lora::LoraFormat::Peft);

  Models m;
  const auto want = m.outputs_with(LoraFile::read(kDiffusers), 0.6f, LoraMode::Unmerged);
  const auto got = m.outputs_with(p, 0.6f, LoraMode::Unmerged);
  EXPECT_EQ(got.match.unet_layers, 192);
  EXPECT_EQ(got.match.text_encoder_layers, 12);
  EXPECT_TRUE(same_bytes(got.unet, want.unet));
  EXPECT_TRUE(same_bytes(got.text, want.text));
}

// kohya names -> Diffusers paths through the model's own layers, then alpha from the PEFT metadata.
TEST(Lora, PeftLayoutOfTheKohyaLoraGivesIdenticalOutputs) {
  Models m;
  std::map<std::string, std::string> unet_paths, text_paths;  // underscored -> path
  auto add = [](std::map<std::string, std::string>& to, const std::string& path) {
    std::string u = path;
    std::replace(u.begin(), u.end(), '.', '_');
    to[u] = path;
  };
  for (ops::Linear* l : m.targets.unet.linears) add(unet_paths, l->name());
  for (ops::Conv2d* c : m.targets.unet.convs) add(unet_paths, c->name());
  for (ops::Linear* l : m.targets.text_encoder.linears) add(text_paths, l->name());
  test::NamedTensors peft;
  for (auto& [name, t] : test::read_all(kKohya)) {
    if (ends_with(name, ".alpha")) continue;  // given in the metadata instead
    const bool unet = name.rfind("lora_unet_", 0) == 0;
    const std::string stem = name.substr(unet ? 10 : 8, name.find('.') - (unet ? 10 : 8));
    const auto& paths = unet ? unet_paths : text_paths;
    ASSERT_TRUE(paths.count(stem)) << name;
    const std::string prefix = std::string(unet ? "unet." : "text_encoder.") + paths.at(stem);
    peft.emplace_back(prefix + (ends_with(name, ".lora_down.weight") ? ".lora_A.weight" : ".lora_B.weight"), t);
  }
  TempDir dir;
  write_safetensors(dir.file("peft.safetensors"), peft,
                    {{"lora_adapter_metadata", R"({"unet.lora_alpha": 2.0, "text_encoder.lora_alpha": 2.0})"}});

  const auto want = m.outputs_with(LoraFile::read(kKohya), 0.8f, LoraMode::Merged);
  const auto got = m.outputs_with(LoraFile::read(dir.file("peft.safetensors")), 0.8f, LoraMode::Merged);
  EXPECT_EQ(got.match.unet_layers, 277);
  EXPECT_EQ(got.match.text_encoder_layers, 18);
  EXPECT_TRUE(got.match.unmatched.empty());
  EXPECT_TRUE(same_bytes(got.unet, want.unet));
  EXPECT_TRUE(same_bytes(got.text, want.text));
}

TEST(Lora, LoadAndUnloadLeaveTheModelBitIdentical) {
  Models m;
  const auto before = m.weights();
  const Tensor out_before = m.unet_out(), text_before = m.text_out();
  LoraStack s;
  s.add(m.rt, LoraFile::read(kKohya), 0.8f, LoraMode::Merged, m.targets);
  s.add(m.rt, LoraFile::read(kDiffusers), 0.5f, LoraMode::Merged, m.targets);
  s.add(m.rt, LoraFile::read(kKohya), -0.3f, LoraMode::Unmerged, m.targets);
  EXPECT_GT(s.merged_layers(), 0u);
  EXPECT_FALSE(same_bytes(m.unet_out(), out_before));
  s.set_scale(m.rt, 0, 0.1f);
  (void)m.unet_out();
  s.clear(m.rt);
  EXPECT_EQ(s.merged_layers(), 0u);
  const auto after = m.weights();
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [name, w] : before) EXPECT_TRUE(same_bytes(w, after.at(name))) << name;
  EXPECT_TRUE(same_bytes(m.unet_out(), out_before));
  EXPECT_TRUE(same_bytes(m.text_out(), text_before));
}

TEST(Lora, MergedMatchesUnmergedAndScalesAdd) {
  Models m;
  const Tensor base = m.unet_out();
  LoraStack s;
  s.add(m.rt, LoraFile::read(kKohya), 0.8f, LoraMode::Unmerged, m.targets);
  const Tensor unmerged = m.unet_out();
  const Tensor unmerged_text = m.text_out();
  EXPECT_GT(test::rel_err(unmerged, base), 0.1);  // the LoRA matters
  s.clear(m.rt);
  s.add(m.rt, LoraFile::read(kKohya), 0.8f, LoraMode::Merged, m.targets);
  EXPECT_LT(test::rel_err(m.unet_out(), unmerged), 1e-5);
  EXPECT_LT(test::rel_err(m.text_out(), unmerged_text), 1e-5);
  s.clear(m.rt);
  // Two LoRAs at once, each with its scale: the same file twice at 0.5 + 0.3.
  s.add(m.rt, LoraFile::read(kKohya), 0.5f, LoraMode::Unmerged, m.targets);
  s.add(m.rt, LoraFile::read(kKohya), 0.3f, LoraMode::Merged, m.targets);
  EXPECT_LT(test::rel_err(m.unet_out(), unmerged), 1e-5);
  // An unmerged scale changes without reloading; 0 adds exactly nothing.
  s.set_scale(m.rt, 0, 0.0f);
  s.set_scale(m.rt, 1, 0.8f);
  EXPECT_LT(test::rel_err(m.unet_out(), unmerged), 1e-5);
  s.set_scale(m.rt, 1, 0.0f);
  EXPECT_TRUE(same_bytes(m.unet_out(), base) || test::rel_err(m.unet_out(), base) < 1e-6);
}

// W + coef * up @ down, by plain loops in double (w [out, n], up [out, r], down [r, n]).
Tensor plus_product(const Tensor& w, const Tensor& up, const Tensor& down, double coef) {
  const int64_t out = up.dim(0), r = up.dim(1), n = down.numel() / r;
  Tensor res = w.to(DType::F32).clone();
  float* o = res.data<float>();
  const float *u = up.data<float>(), *d = down.data<float>();
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < r; ++k) acc += double(u[i * r + k]) * d[k * n + j];
      o[i * n + j] = float(o[i * n + j] + coef * acc);
    }
  return res;
}

// Diffusers 0.26 calls time_embedding without the LoRA scale (TimestepEmbedding.forward), so an
// unmerged LoRA there acts at scale 1, while a resnet conv gets the scale; fuse_lora(lora_scale)
// merges both at the scale. Expected outputs: the weights changed by hand, then the plain model.
TEST(Lora, TimeEmbeddingGetsScaleOneUnmergedAndTheScaleMerged) {
  Models m;
  ops::Linear* temb = nullptr;
  ops::Conv2d* conv = nullptr;
  for (ops::Linear* l : m.targets.unet.linears)
    if (l->name() == "time_embedding.linear_1") temb = l;
  for (ops::Conv2d* c : m.targets.unet.convs)
    if (c->name() == "down_blocks.0.resnets.0.conv1") conv = c;
  ASSERT_TRUE(temb && conv);
  const int64_t r = 3, cin = conv->spec().in_channels, cout = conv->spec().out_channels;
  const Tensor t_down = test::randn({r, temb->in_features()}, 11), t_up = test::randn({temb->out_features(), r}, 12);
  const Tensor c_down = test::randn({r, cin, 3, 3}, 13), c_up = test::randn({cout, r, 1, 1}, 14);
  TempDir dir;
  const std::string file = dir.file("temb.safetensors");
  write_safetensors(file, {{"unet.time_embedding.linear_1.lora.down.weight", t_down},
                           {"unet.time_embedding.linear_1.lora.up.weight", t_up},
                           {"unet.down_blocks.0.resnets.0.conv1.lora.down.weight", c_down},
                           {"unet.down_blocks.0.resnets.0.conv1.lora.up.weight", c_up}});
  const float scale = 0.5f;
  // The output with the time embedding's term at `t_coef` and the conv's at `c_coef`.
  auto expected = [&](double t_coef, double c_coef) {
    auto t_old = temb->replace_weight(m.rt, plus_product(temb->weight(m.rt), t_up, t_down, t_coef));
    auto c_old = conv->replace_weight(m.rt, plus_product(conv->weight(m.rt).reshape({cout, cin * 9}), c_up.reshape({cout, r}),
                                                         c_down, c_coef).reshape({cout, cin, 3, 3}));
    Tensor out = m.unet_out();
    temb->restore_weight(std::move(t_old));
    conv->restore_weight(std::move(c_old));
    return out;
  };
  const Tensor unmerged_want = expected(1.0, scale), merged_want = expected(scale, scale);
  ASSERT_GT(test::rel_err(unmerged_want, merged_want), 1e-3);  // the time embedding's scale shows

  const auto unmerged = m.outputs_with(LoraFile::read(file), scale, LoraMode::Unmerged);
  EXPECT_EQ(unmerged.match.unet_layers, 2);
  EXPECT_LT(test::rel_err(unmerged.unet, unmerged_want), 1e-5);
  const auto merged = m.outputs_with(LoraFile::read(file), scale, LoraMode::Merged);
  EXPECT_LT(test::rel_err(merged.unet, merged_want), 1e-5);
  // A scale change keeps the time embedding at 1 (only the conv's term follows it).
  LoraStack s;
  s.add(m.rt, LoraFile::read(file), 0.2f, LoraMode::Unmerged, m.targets);
  s.set_scale(m.rt, 0, scale);
  EXPECT_LT(test::rel_err(m.unet_out(), unmerged_want), 1e-5);
  s.clear(m.rt);
}

// ---- bad input ----------------------------------------------------------------------------

std::string write_lora(const TempDir& dir, const std::string& name, const test::NamedTensors& tensors) {
  write_safetensors(dir.file(name), tensors);
  return dir.file(name);
}

TEST(LoraBadInput, PickleAndNonSafetensorsAreRefused) {
  TempDir dir;
  for (const char* ext : {"x.pt", "x.ckpt", "x.bin", "x.pth", "X.CKPT"}) {
    std::ofstream(dir.file(ext)) << "PK\x03\x04 pickle";
    expect_error([&] { LoraFile::read(dir.file(ext)); }, {"pickle", "refused"});
  }
  std::ofstream(dir.file("junk.safetensors")) << "not a safetensors file";
  expect_error([&] { LoraFile::read(dir.file("junk.safetensors")); }, {"junk.safetensors", "not a valid safetensors"});
  expect_error([&] { LoraFile::read(dir.file("missing.safetensors")); }, {"missing.safetensors", "no such file"});
}

TEST(LoraBadInput, MalformedFiles) {
  TempDir dir;
  const std::string k = "lora_unet_down_blocks_0_attentions_0_proj_out";
  expect_error([&] { LoraFile::read(write_lora(dir, "a.safetensors", {{"something.weight", Tensor::zeros({2, 2})}})); },
               {"something.weight", "not a LoRA tensor"});
  expect_error([&] { LoraFile::read(write_lora(dir, "b.safetensors", {{k + ".lora_down.weight", Tensor::zeros({4, 32})}})); },
               {k, "no up matrix"});
  expect_error([&] {
    LoraFile::read(write_lora(dir, "c.safetensors", {{k + ".lora_down.weight", Tensor::zeros({0, 32})},
                                                    {k + ".lora_up.weight", Tensor::zeros({32, 0})}}));
  }, {k, "rank 0"});
  expect_error([&] {
    LoraFile::read(write_lora(dir, "d.safetensors", {{k + ".lora_down.weight", Tensor::zeros({4, 32})},
                                                    {k + ".lora_up.weight", Tensor::zeros({32, 3})}}));
  }, {k, "rank 4", "expects rank 3"});
  Tensor nan = Tensor::zeros({4, 32});
  nan.data<float>()[5] = NAN;
  expect_error([&] {
    LoraFile::read(write_lora(dir, "e.safetensors", {{k + ".lora_down.weight", nan}, {k + ".lora_up.weight", Tensor::zeros({32, 4})}}));
  }, {k + ".lora_down.weight", "element 5", "finite"});
  Tensor inf = Tensor::zeros({32, 4});
  inf.data<float>()[0] = INFINITY;
  expect_error([&] {
    LoraFile::read(write_lora(dir, "f.safetensors", {{k + ".lora_down.weight", Tensor::zeros({4, 32})}, {k + ".lora_up.weight", inf}}));
  }, {"lora_up.weight", "inf"});
  expect_error([&] {
    LoraFile::read(write_lora(dir, "g.safetensors", {{k + ".lora_down.weight", Tensor::zeros({4, 32})},
                                                    {k + ".lora_up.weight", Tensor::zeros({32, 4})},
                                                    {"unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", Tensor::zeros({4, 32})},
                                                    {"unet.down_blocks.0.attentions.0.proj_in.lora_B.weight", Tensor::zeros({32, 4})}}));
  }, {"mixes layouts", "kohya", "peft"});
  expect_error([&] { LoraFile::read(write_lora(dir, "h.safetensors", {})); }, {"holds no tensors"});
}

TEST(LoraBadInput, KeysMatchingNoLayerOrSomeLayers) {
  TempDir dir;
  Models m;
  const auto before = m.weights();
  LoraStack s;
  test::NamedTensors none;
  for (int i = 0; i < 7; ++i) {
    const std::string k = "lora_unet_no_such_layer_" + std::to_string(i);
    none.emplace_back(k + ".lora_down.weight", Tensor::zeros({2, 8}));
    none.emplace_back(k + ".lora_up.weight", Tensor::zeros({8, 2}));
  }
  expect_error([&] { s.add(m.rt, LoraFile::read(write_lora(dir, "none.safetensors", none)), 1, LoraMode::Merged, m.targets); },
               {"0 of 7 modules matched", "lora_unet_no_such_layer_0", "2 more", "refused"});
  // A partial match loads and says so.
  test::NamedTensors some = none;
  const std::string good = "lora_unet_down_blocks_0_attentions_0_proj_out";
  some.emplace_back(good + ".lora_down.weight", Tensor::full({4, 32, 1, 1}, 0.01f));
  some.emplace_back(good + ".lora_up.weight", Tensor::full({32, 4, 1, 1}, 0.01f));
  const lora::LoraMatch match = s.add(m.rt, LoraFile::read(write_lora(dir, "some.safetensors", some)), 1,
                                      LoraMode::Merged, m.targets);
  EXPECT_EQ(match.unet_layers, 1);
  EXPECT_EQ(match.unmatched.size(), 7u);
  EXPECT_NE(match.describe("some").find("1 of 8 modules matched"), std::string::npos) << match.describe("some");
  s.clear(m.rt);
  const auto after = m.weights();
  for (const auto& [name, w] : before) EXPECT_TRUE(same_bytes(w, after.at(name))) << name;
}

TEST(LoraBadInput, ShapeMismatchNamesTheLayerAndChangesNothing) {
  TempDir dir;
  Models m;
  const auto before = m.weights();
  const std::string good = "lora_unet_down_blocks_0_attentions_0_proj_out";
  const std::string bad = "lora_unet_down_blocks_0_resnets_0_conv1";
  LoraStack s;
  expect_error([&] {
    s.add(m.rt,
          LoraFile::read(write_lora(dir, "bad.safetensors",
                                    {{good + ".lora_down.weight", Tensor::full({4, 32, 1, 1}, 0.01f)},
                                     {good + ".lora_up.weight", Tensor::full({32, 4, 1, 1}, 0.01f)},
                                     {bad + ".lora_down.weight", Tensor::zeros({4, 32, 1, 1})},
                                     {bad + ".lora_up.weight", Tensor::zeros({32, 4, 1, 1})}})),
          1, LoraMode::Merged, m.targets);
  }, {"Conv2d 'down_blocks.0.resnets.0.conv1'", "expected down [4, 32, 3, 3]", "got down [4, 32, 1, 1]"});
  EXPECT_EQ(s.size(), 0u);
  const auto after = m.weights();
  for (const auto& [name, w] : before) EXPECT_TRUE(same_bytes(w, after.at(name))) << name;
}

}  // namespace
}  // namespace sdfast
