// Reference: diffusers/src/diffusers/models/embeddings.py (get_timestep_embedding, Timesteps,
// TimestepEmbedding) and activations.py (get_activation), v0.26.3.
#include "models/embeddings.h"

#include <cmath>

#include "core/error.h"
#include "ops/elementwise.h"

namespace sdfast::models {

bool is_supported_activation(const std::string& name) {
  return name == "silu" || name == "swish" || name == "gelu" || name == "relu";
}

Tensor apply_activation(Runtime& rt, const Tensor& x, const std::string& name) {
  if (name == "silu" || name == "swish") return ops::silu(rt, x);
  if (name == "gelu") return ops::gelu(rt, x);
  if (name == "relu") return ops::relu(rt, x);
  fail("unsupported activation function '", name, "' (supported: silu, swish, gelu, relu)");
}

Timesteps::Timesteps(int num_channels, bool flip_sin_to_cos, double downscale_freq_shift,
                     double scale, double max_period)
    : num_channels_(num_channels), flip_sin_to_cos_(flip_sin_to_cos), scale_(float(scale)) {
  const int half = num_channels / 2;
  SDFAST_CHECK(num_channels > 0 && (half == 0 || double(half) != downscale_freq_shift),
               "Timesteps: cannot build a ", num_channels, "-channel embedding with freq_shift ",
               downscale_freq_shift);
  // torch: exponent = -log(max_period) * arange(half, float32); exponent /= (half - shift);
  // freqs = exp(exponent), every step rounded to float32.
  const float log_period = float(-std::log(max_period));
  const float denom = float(double(half) - downscale_freq_shift);
  freqs_.resize(size_t(half));
  for (int i = 0; i < half; ++i) {
    const float exponent = (log_period * float(i)) / denom;
    freqs_[size_t(i)] = std::exp(exponent);
  }
}

Tensor Timesteps::forward(const std::vector<double>& timesteps) const {
  const int64_t n = int64_t(timesteps.size()), half = int64_t(freqs_.size());
  Tensor out = Tensor::zeros({n, num_channels_}, DType::F32);  // zero pad when num_channels is odd
  float* p = out.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    const float t = float(timesteps[size_t(b)]);
    SDFAST_CHECK(std::isfinite(t), "Timesteps: timestep ", timesteps[size_t(b)],
                 " is not a finite float32 value");
    float* row = p + b * num_channels_;
    for (int64_t i = 0; i < half; ++i) {
      float arg = t * freqs_[size_t(i)];
      arg = scale_ * arg;
      // sin and cos of the float32 argument, correctly rounded to float32.
      const float s = float(std::sin(double(arg))), c = float(std::cos(double(arg)));
      row[flip_sin_to_cos_ ? half + i : i] = s;
      row[flip_sin_to_cos_ ? i : half + i] = c;
    }
  }
  return out;
}

TimestepEmbedding::TimestepEmbedding(Runtime& rt, const Weights& w,
                                     const TimestepEmbeddingConfig& c)
    : config_(c) {
  if (config_.out_dim == 0) config_.out_dim = c.time_embed_dim;
  SDFAST_CHECK(c.in_channels > 0 && c.time_embed_dim > 0 && config_.out_dim > 0,
               "TimestepEmbedding '", w.prefix(), "': invalid dimensions (in ", c.in_channels,
               ", time_embed_dim ", c.time_embed_dim, ", out ", config_.out_dim, ")");
  SDFAST_CHECK(is_supported_activation(c.act_fn), "TimestepEmbedding '", w.prefix(),
               "': unsupported activation '", c.act_fn, "'");
  SDFAST_CHECK(c.post_act_fn.empty() || is_supported_activation(c.post_act_fn),
               "TimestepEmbedding '", w.prefix(), "': unsupported post activation '", c.post_act_fn,
               "'");
  linear_1_ = ops::Linear(rt, w["linear_1"], c.in_channels, c.time_embed_dim);
  linear_2_ = ops::Linear(rt, w["linear_2"], c.time_embed_dim, config_.out_dim);
  if (c.cond_proj_dim > 0)
    cond_proj_ = ops::Linear(rt, w["cond_proj"], c.cond_proj_dim, c.in_channels, /*bias=*/false);
}

Tensor TimestepEmbedding::forward(Runtime& rt, const Tensor& sample,
                                  const Tensor* condition) const {
  SDFAST_CHECK(sample.ndim() == 2 && sample.dim(1) == config_.in_channels,
               "TimestepEmbedding: input ", sample.describe(), " is not [N, ", config_.in_channels,
               "]");
  Tensor x = sample;
  if (condition) {
    SDFAST_CHECK(config_.cond_proj_dim > 0,
                 "TimestepEmbedding: a condition was given but the model has no cond_proj "
                 "(time_cond_proj_dim is not set)");
    SDFAST_CHECK(condition->ndim() == 2 && condition->dim(0) == sample.dim(0) &&
                     condition->dim(1) == config_.cond_proj_dim,
                 "TimestepEmbedding: condition ", condition->describe(), " is not [", sample.dim(0),
                 ", ", config_.cond_proj_dim, "]");
    x = cond_proj_.forward(rt, *condition, x);  // sample + cond_proj(condition)
  }
  const std::string& act = config_.act_fn;
  if (act == "silu" || act == "swish") {
    x = linear_1_.forward(rt, x, ops::Activation::Silu);
  } else if (act == "gelu") {
    x = linear_1_.forward(rt, x, ops::Activation::Gelu);
  } else {
    x = apply_activation(rt, linear_1_.forward(rt, x), act);
  }
  x = linear_2_.forward(rt, x);
  if (!config_.post_act_fn.empty()) x = apply_activation(rt, x, config_.post_act_fn);
  return x;
}

void TimestepEmbedding::collect_layers(ops::LayerSet& out) {
  out.add(linear_1_);
  out.add(linear_2_);
  out.add(cond_proj_);
}

}  // namespace sdfast::models
