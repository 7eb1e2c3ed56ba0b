// transformers' CLIPTextModel (models/clip/modeling_clip.py): the Stable Diffusion text encoder.
//
// ids -> token + position embeddings -> CLIPEncoderLayer x n (pre-LayerNorm causal
// self-attention and MLP, each residual) -> final_layer_norm. Built from config.json alone;
// weights by their Hugging Face keys (text_model.*).
#pragma once

#include <string>
#include <vector>

#include "core/runtime.h"
#include "io/json.h"
#include "io/weights.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace sdfast::models {

struct CLIPTextConfig {
  enum class HiddenAct { QuickGelu, Gelu };

  int vocab_size = 49408;
  int hidden_size = 512;
  int intermediate_size = 2048;
  int num_hidden_layers = 12;
  int num_attention_heads = 8;
  int max_position_embeddings = 77;
  float layer_norm_eps = 1e-5f;
  HiddenAct hidden_act = HiddenAct::QuickGelu;
  // Pooling position: 2 (older configs) means argmax(input_ids), else the first eos_token_id.
  int64_t eos_token_id = 49407;

  // Parses and validates config.json (transformers' defaults for absent keys); errors name the
  // file and the key.
  static CLIPTextConfig from_config(const Config& config);
};

// transformers' CLIPEncoderLayer: x + attn(layer_norm1(x)), then h + mlp(layer_norm2(h)).
class CLIPEncoderLayer {
 public:
  CLIPEncoderLayer() = default;
  // Weights under `w`: self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1, mlp.fc2, layer_norm2.
  CLIPEncoderLayer(Runtime& rt, const Weights& w, const CLIPTextConfig& config);

  // x: [B, L, hidden] -> [B, L, hidden] (causal self-attention)
  Tensor forward(Runtime& rt, const Tensor& x) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  int heads_ = 1;
  CLIPTextConfig::HiddenAct act_ = CLIPTextConfig::HiddenAct::QuickGelu;
  ops::LayerNorm layer_norm1_, layer_norm2_;
  ops::Linear q_proj_, k_proj_, v_proj_, out_proj_, fc1_, fc2_;
};

struct CLIPTextModelOutput {
  Tensor last_hidden_state;           // [B, L, hidden] float32, after final_layer_norm
  Tensor pooled_output;               // [B, hidden] float32, last_hidden_state at the eos position
  std::vector<Tensor> hidden_states;  // num_hidden_layers + 1 x [B, L, hidden] float32: the
                                      // embeddings, then the output of each layer (not normed)
};

class CLIPTextModel {
 public:
  // Builds the model from `config` with tensors from `weights`, then checks that `weights` held
  // nothing else (`text_model.embeddings.position_ids` is a known extra).
  CLIPTextModel(Runtime& rt, WeightSource& weights, const CLIPTextConfig& config);
  // From a component folder: `dir`/config.json and `weight_files` (default
  // `dir`/model.safetensors).
  static CLIPTextModel from_pretrained(Runtime& rt, const std::string& dir,
                                       const std::vector<std::string>& weight_files = {});

  // What Diffusers' encode_prompt hands the UNet: input_ids [B, L] (I32 or I64, L <=
  // max_position_embeddings, every id < vocab_size) -> [B, L, hidden] float32,
  // final_layer_norm(hidden_states[-(clip_skip + 1)]); clip_skip 0 is last_hidden_state. Only the
  // layers needed are run.
  Tensor encode(Runtime& rt, const Tensor& input_ids, int clip_skip = 0) const;
  // All outputs (transformers' CLIPTextModel(input_ids, output_hidden_states=True)).
  CLIPTextModelOutput forward(Runtime& rt, const Tensor& input_ids) const;

  const CLIPTextConfig& config() const { return config_; }
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  // Checked ids -> embeddings [B, L, hidden] in the activation dtype.
  Tensor embed(Runtime& rt, const Tensor& input_ids, std::vector<int64_t>& ids) const;

  CLIPTextConfig config_;
  Tensor token_embedding_;     // [vocab_size, hidden], compute dtype
  Tensor position_embedding_;  // [max_position_embeddings, hidden] float32
  std::vector<CLIPEncoderLayer> layers_;
  ops::LayerNorm final_layer_norm_;
};

}  // namespace sdfast::models
