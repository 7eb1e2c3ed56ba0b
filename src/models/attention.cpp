// Reference: diffusers/src/diffusers/models/attention_processor.py (Attention, AttnProcessor2_0).
#include "models/attention.h"

#include "ops/attention.h"
#include "ops/elementwise.h"

namespace sdfast::models {

Attention::Attention(Runtime& rt, const Weights& w, const AttentionConfig& c) : config_(c) {
  SDFAST_CHECK(c.query_dim > 0 && c.heads > 0 && c.dim_head > 0, "Attention '", w.prefix(),
               "': invalid dimensions (query_dim ", c.query_dim, ", heads ", c.heads, ", dim_head ",
               c.dim_head, ")");
  const int64_t inner = c.heads * c.dim_head;
  const int64_t kv_dim = c.cross_attention_dim > 0 ? c.cross_attention_dim : c.query_dim;
  if (c.norm_num_groups > 0)
    group_norm_ = ops::GroupNorm(w["group_norm"], c.norm_num_groups, int(c.query_dim), c.eps);
  to_q_ = ops::Linear(rt, w["to_q"], c.query_dim, inner, c.bias);
  to_k_ = ops::Linear(rt, w["to_k"], kv_dim, inner, c.bias);
  to_v_ = ops::Linear(rt, w["to_v"], kv_dim, inner, c.bias);
  to_out_ = ops::Linear(rt, w["to_out"][0], inner, c.query_dim, c.out_bias);
}

Tensor Attention::forward(Runtime& rt, const Tensor& hidden, const Tensor* context,
                          const Tensor* residual) const {
  SDFAST_CHECK(hidden.ndim() >= 3 && hidden.dim(-1) == config_.query_dim, "Attention: input ",
               hidden.describe(), " does not end in query_dim ", config_.query_dim);
  const Shape shape = hidden.shape();
  const int64_t b = shape[0];
  Tensor x = hidden.reshape({b, hidden.numel() / (b * config_.query_dim), config_.query_dim});
  if (config_.norm_num_groups > 0) x = group_norm_.forward(rt, x, false, rt.compute());
  const Tensor kv_in = context ? *context : x;
  const Tensor q = to_q_.forward_as(rt, x, rt.compute());
  const Tensor k = to_k_.forward_as(rt, kv_in, rt.compute());
  const Tensor v = to_v_.forward_as(rt, kv_in, rt.compute());
  const Tensor attn = ops::attention(rt, q, k, v, config_.heads);
  Tensor out;
  if (config_.residual_connection) {
    Tensor res = hidden.reshape(x.shape());
    if (residual) res = ops::add(rt, res, residual->reshape(x.shape()));
    out = to_out_.forward(rt, attn, res);
  } else if (residual) {
    out = to_out_.forward(rt, attn, residual->reshape(x.shape()));
  } else {
    out = to_out_.forward(rt, attn);
  }
  if (config_.rescale_output_factor != 1.0f) out = ops::scale(rt, out, 1.0f / config_.rescale_output_factor);
  return out.reshape(shape);
}

void Attention::collect_layers(ops::LayerSet& out) {
  out.add(to_q_);
  out.add(to_k_);
  out.add(to_v_);
  out.add(to_out_);
}

}  // namespace sdfast::models
