// Diffusers' timestep embeddings (embeddings.py): Timesteps (the sinusoidal projection, no
// weights, get_timestep_embedding) and TimestepEmbedding (linear_1 - act - linear_2 [- post act],
// with the optional cond_proj of LCM-style models).
#pragma once

#include <string>
#include <vector>

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/linear.h"

namespace sdfast::models {

// Activations Diffusers' get_activation() names that the engine has: "silu"/"swish", "gelu",
// "relu". Returns false for anything else (e.g. "mish").
bool is_supported_activation(const std::string& name);
// x -> act(x) for a name accepted by is_supported_activation (in the activation dtype).
Tensor apply_activation(Runtime& rt, const Tensor& x, const std::string& name);

class Timesteps {
 public:
  Timesteps() = default;
  // num_channels: embedding width; downscale_freq_shift: Diffusers' `freq_shift`.
  Timesteps(int num_channels, bool flip_sin_to_cos, double downscale_freq_shift, double scale = 1.0,
            double max_period = 10000.0);

  // timesteps [N] -> float32 [N, num_channels]. Computed in float32 as torch does (the timestep is
  // rounded to float32 first), so the result matches Diffusers bit for bit up to sin/cos rounding.
  Tensor forward(const std::vector<double>& timesteps) const;
  int num_channels() const { return num_channels_; }

 private:
  int num_channels_ = 0;
  bool flip_sin_to_cos_ = true;
  float scale_ = 1.0f;
  std::vector<float> freqs_;  // [num_channels / 2], exp(-log(max_period) * i / (half - shift))
};

struct TimestepEmbeddingConfig {
  int in_channels = 0;
  int time_embed_dim = 0;
  int out_dim = 0;              // 0: time_embed_dim
  std::string act_fn = "silu";  // between linear_1 and linear_2
  std::string post_act_fn;      // "" : none
  int cond_proj_dim = 0;        // > 0: cond_proj [in_channels, cond_proj_dim], no bias
};

class TimestepEmbedding {
 public:
  TimestepEmbedding() = default;
  // Weights under `w` ("time_embedding"): linear_1, linear_2, cond_proj.
  TimestepEmbedding(Runtime& rt, const Weights& w, const TimestepEmbeddingConfig& config);

  // sample: [N, in_channels]; condition: [N, cond_proj_dim] or nullptr -> [N, out_dim]
  Tensor forward(Runtime& rt, const Tensor& sample, const Tensor* condition = nullptr) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);
  const TimestepEmbeddingConfig& config() const { return config_; }

 private:
  TimestepEmbeddingConfig config_;
  ops::Linear linear_1_, linear_2_, cond_proj_;
};

}  // namespace sdfast::models
