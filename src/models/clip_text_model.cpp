// Reference: transformers/src/transformers/models/clip/modeling_clip.py (CLIPTextEmbeddings,
// CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPTextTransformer, CLIPTextModel);
// diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py (encode_prompt,
// clip_skip).
#include "models/clip_text_model.h"

#include "core/error.h"
#include "models/config_checks.h"
#include "ops/attention.h"
#include "ops/elem.h"
#include "ops/elementwise.h"

namespace sdfast::models {

namespace {

bool is_known_extra(const std::string& name) {
  return name == "text_model.embeddings.position_ids";  // a buffer, not a weight
}

}  // namespace

CLIPTextConfig CLIPTextConfig::from_config(const Config& c) {
  if (c.has("model_type") && c.get<std::string>("model_type") != "clip_text_model")
    c.fail_key("model_type",
               "is '" + c.get<std::string>("model_type") + "', expected 'clip_text_model'");
  CLIPTextConfig k;
  k.vocab_size = config_int(c, "vocab_size", k.vocab_size, 1, 1 << 22);
  k.hidden_size = config_int(c, "hidden_size", k.hidden_size, 1, 16384);
  k.intermediate_size = config_int(c, "intermediate_size", k.intermediate_size, 1, 65536);
  k.num_hidden_layers = config_int(c, "num_hidden_layers", k.num_hidden_layers, 1, 256);
  k.num_attention_heads =
      config_int(c, "num_attention_heads", k.num_attention_heads, 1, k.hidden_size);
  if (k.hidden_size % k.num_attention_heads != 0)
    c.fail_key("num_attention_heads",
               str_cat(k.num_attention_heads, " heads do not divide hidden_size ", k.hidden_size));
  k.max_position_embeddings =
      config_int(c, "max_position_embeddings", k.max_position_embeddings, 1, 16384);
  k.layer_norm_eps = float(config_positive(c, "layer_norm_eps", k.layer_norm_eps));
  const std::string act = c.get<std::string>("hidden_act", "quick_gelu");
  if (act == "quick_gelu")
    k.hidden_act = HiddenAct::QuickGelu;
  else if (act == "gelu")
    k.hidden_act = HiddenAct::Gelu;
  else
    c.fail_key("hidden_act", "is '" + act + "'; supported: quick_gelu, gelu");
  k.eos_token_id = c.get<int64_t>("eos_token_id", k.eos_token_id);
  return k;
}

CLIPEncoderLayer::CLIPEncoderLayer(Runtime& rt, const Weights& w, const CLIPTextConfig& c)
    : heads_(c.num_attention_heads), act_(c.hidden_act) {
  const int64_t d = c.hidden_size;
  const Weights attn = w["self_attn"];
  layer_norm1_ = ops::LayerNorm(w["layer_norm1"], d, c.layer_norm_eps);
  q_proj_ = ops::Linear(rt, attn["q_proj"], d, d);
  k_proj_ = ops::Linear(rt, attn["k_proj"], d, d);
  v_proj_ = ops::Linear(rt, attn["v_proj"], d, d);
  out_proj_ = ops::Linear(rt, attn["out_proj"], d, d);
  layer_norm2_ = ops::LayerNorm(w["layer_norm2"], d, c.layer_norm_eps);
  fc1_ = ops::Linear(rt, w["mlp"]["fc1"], d, c.intermediate_size);
  fc2_ = ops::Linear(rt, w["mlp"]["fc2"], c.intermediate_size, d);
}

Tensor CLIPEncoderLayer::forward(Runtime& rt, const Tensor& x) const {
  Tensor h = layer_norm1_.forward(rt, x, rt.compute());
  const Tensor attn =
      ops::attention(rt, q_proj_.forward_as(rt, h, rt.compute()), k_proj_.forward_as(rt, h, rt.compute()),
                     v_proj_.forward_as(rt, h, rt.compute()), heads_, /*causal=*/true);
  const Tensor r = out_proj_.forward(rt, attn, x);  // x + out_proj(attn), fused
  h = layer_norm2_.forward(rt, r, rt.compute());
  h = act_ == CLIPTextConfig::HiddenAct::Gelu ? fc1_.forward(rt, h, ops::Activation::Gelu)
                                              : ops::quick_gelu(rt, fc1_.forward(rt, h));
  return fc2_.forward(rt, h, r);  // r + fc2(act(fc1(h))), fused
}

CLIPTextModel::CLIPTextModel(Runtime& rt, WeightSource& weights, const CLIPTextConfig& c)
    : config_(c) {
  const Weights w = Weights(weights)["text_model"];
  const int64_t d = c.hidden_size;
  token_embedding_ =
      w["embeddings"]["token_embedding"].get("weight", {c.vocab_size, d}, rt.weights());
  position_embedding_ = w["embeddings"]["position_embedding"].get(
      "weight", {c.max_position_embeddings, d}, DType::F32);
  for (int i = 0; i < c.num_hidden_layers; ++i)
    layers_.emplace_back(rt, w["encoder"]["layers"][i], c);
  final_layer_norm_ = ops::LayerNorm(w["final_layer_norm"], d, c.layer_norm_eps);
  weights.check_all_used(is_known_extra);
}

CLIPTextModel CLIPTextModel::from_pretrained(Runtime& rt, const std::string& dir,
                                             const std::vector<std::string>& weight_files) {
  const CLIPTextConfig config = CLIPTextConfig::from_config(load_component_config(dir));
  SafetensorsWeights weights(component_weight_files(dir, weight_files, "model.safetensors"));
  return CLIPTextModel(rt, weights, config);
}

Tensor CLIPTextModel::embed(Runtime& rt, const Tensor& input_ids, std::vector<int64_t>& ids) const {
  SDFAST_CHECK(input_ids.ndim() == 2 && input_ids.dim(0) > 0 && input_ids.dim(1) > 0,
               "CLIPTextModel: input_ids must be [batch, length], got ", input_ids.describe());
  const int64_t b = input_ids.dim(0), l = input_ids.dim(1), d = config_.hidden_size;
  if (l > config_.max_position_embeddings)
    fail_argument("CLIPTextModel: ", l, " tokens, but the model has only ",
                  config_.max_position_embeddings, " positions");
  if (input_ids.dtype() == DType::I64) {
    const int64_t* p = input_ids.data<int64_t>();
    ids.assign(p, p + b * l);
  } else if (input_ids.dtype() == DType::I32) {
    const int32_t* p = input_ids.data<int32_t>();
    ids.assign(p, p + b * l);
  } else {
    fail("CLIPTextModel: input_ids must be I32 or I64, got ", input_ids.describe());
  }
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= config_.vocab_size)
      fail_argument("CLIPTextModel: token id ", ids[i], " at [", int64_t(i) / l, ", ",
                    int64_t(i) % l, "] is outside the vocabulary of ", config_.vocab_size);
  // hidden[b, t] = token_embedding[ids[b, t]] + position_embedding[t]
  Tensor out = Tensor::empty({b, l, d}, rt.activation());
  const float* pos = position_embedding_.data<float>();
  ops::dispatch_float2(token_embedding_.dtype(), out.dtype(), [&](auto tok_tag, auto out_tag) {
    using TT = decltype(tok_tag);
    using TO = decltype(out_tag);
    const TT* tok = token_embedding_.data<TT>();
    TO* dst = out.data<TO>();
    for (int64_t r = 0; r < b * l; ++r) {
      const TT* row = tok + ids[size_t(r)] * d;
      const float* prow = pos + (r % l) * d;
      for (int64_t k = 0; k < d; ++k) ops::store(dst, r * d + k, ops::load(row, k) + prow[k]);
    }
  });
  return out;
}

Tensor CLIPTextModel::encode(Runtime& rt, const Tensor& input_ids, int clip_skip) const {
  if (clip_skip < 0 || clip_skip > config_.num_hidden_layers)
    fail_argument("CLIPTextModel: clip_skip must be between 0 and ", config_.num_hidden_layers,
                  ", got ", clip_skip);
  std::vector<int64_t> ids;
  Tensor h = embed(rt, input_ids, ids);
  for (int i = 0; i < config_.num_hidden_layers - clip_skip; ++i)
    h = layers_[size_t(i)].forward(rt, h);
  return final_layer_norm_.forward(rt, h).to(DType::F32);
}

CLIPTextModelOutput CLIPTextModel::forward(Runtime& rt, const Tensor& input_ids) const {
  std::vector<int64_t> ids;
  Tensor h = embed(rt, input_ids, ids);
  CLIPTextModelOutput out;
  out.hidden_states.push_back(h.to(DType::F32));
  for (const CLIPEncoderLayer& layer : layers_) {
    h = layer.forward(rt, h);
    out.hidden_states.push_back(h.to(DType::F32));
  }
  out.last_hidden_state = final_layer_norm_.forward(rt, h).to(DType::F32);
  // transformers: eos_token_id == 2 (configs from before the fix) pools at argmax(input_ids), else
  // at the first position holding eos_token_id (0 when there is none); argmax takes the first
  // of equal maxima.
  const int64_t b = input_ids.dim(0), l = input_ids.dim(1), d = config_.hidden_size;
  out.pooled_output = Tensor::empty({b, d});
  const float* last = out.last_hidden_state.data<float>();
  float* pooled = out.pooled_output.data<float>();
  for (int64_t s = 0; s < b; ++s) {
    const int64_t* row = ids.data() + s * l;
    int64_t at = 0;
    if (config_.eos_token_id == 2) {
      for (int64_t t = 1; t < l; ++t)
        if (row[t] > row[at]) at = t;
    } else {
      for (int64_t t = 0; t < l; ++t)
        if (row[t] == config_.eos_token_id) {
          at = t;
          break;
        }
    }
    std::copy(last + (s * l + at) * d, last + (s * l + at + 1) * d, pooled + s * d);
  }
  return out;
}

void CLIPEncoderLayer::collect_layers(ops::LayerSet& out) {
  for (ops::Linear* l : {&q_proj_, &k_proj_, &v_proj_, &out_proj_, &fc1_, &fc2_}) out.add(*l);
}

void CLIPTextModel::collect_layers(ops::LayerSet& out) {
  for (auto& l : layers_) l.collect_layers(out);
}

}  // namespace sdfast::models
