// Reference: diffusers/src/diffusers/models/lora.py (LoRALinearLayer, LoRAConv2dLayer), v0.26.3.
#include "lora/lora_adapter.h"

#include <algorithm>

#include "core/error.h"

namespace sdfast::lora {

using ops::dt;
using ops::tag;

LoraAdapter::LoraAdapter(Runtime& rt, const ops::Linear& layer, const std::vector<LowRankTerm>& terms)
    : name_(layer.name() + " (LoRA)"), in_(layer.in_features()), out_(layer.out_features()) {
  concatenate(rt, terms, 1);
}

LoraAdapter::LoraAdapter(Runtime& rt, const ops::Conv2d& layer, const std::vector<LowRankTerm>& terms)
    : name_(layer.name() + " (LoRA)"),
      in_(layer.spec().in_channels),
      out_(layer.spec().out_channels),
      conv_(true),
      spec_(layer.spec()) {
  concatenate(rt, terms, spec_.kernel);
}

void LoraAdapter::concatenate(Runtime& rt, const std::vector<LowRankTerm>& terms, int64_t k) {
  SDFAST_CHECK(!terms.empty(), name_, ": an adapter needs at least one term");
  const int64_t row = in_ * k * k;  // one down row
  for (const LowRankTerm& t : terms) {
    const int64_t r = t.up.ndim() == 2 ? t.up.dim(1) : 0;
    SDFAST_CHECK(r > 0 && t.up.dim(0) == out_ && t.down.numel() == r * row && t.down.dim(0) == r,
                 name_, ": term with down ", t.down.describe(), " and up ", t.up.describe(),
                 " does not fit [", in_, "] -> [", out_, "] with kernel ", k);
    rank_ += r;
  }
  Tensor down = Tensor::empty({rank_, row}, DType::F32), up = Tensor::empty({out_, rank_}, DType::F32);
  float* d = down.data<float>();
  float* u = up.data<float>();
  int64_t col = 0;
  for (const LowRankTerm& t : terms) {
    const Tensor td = t.down.to(DType::F32), tu = t.up.to(DType::F32);
    const int64_t r = tu.dim(1);
    std::copy_n(td.data<float>(), r * row, d + col * row);
    const float* src = tu.data<float>();
    for (int64_t o = 0; o < out_; ++o)
      for (int64_t j = 0; j < r; ++j) u[o * rank_ + col + j] = t.coef * src[o * r + j];
    col += r;
  }
  const DType c = rt.compute();
  // down [R, in(,k,k)]: the matmul's [in, R] weight in "ba" order, or the convolution's oihw.
  down_ = conv_ ? ops::PackedWeights(down.to(c), dnnl::memory::desc({rank_, in_, k, k}, ops::to_dnnl(c), tag::oihw))
                : ops::PackedWeights(down.to(c), dnnl::memory::desc({in_, rank_}, ops::to_dnnl(c), tag::ba));
  up_ = ops::PackedWeights(up.to(c), dnnl::memory::desc({rank_, out_}, ops::to_dnnl(c), tag::ba));
}

const LoraAdapter::Prims& LoraAdapter::primitives(Runtime& rt, const Tensor& x, const Tensor& y,
                                                  ops::Activation act) const {
  const int64_t n = conv_ ? x.dim(0) : x.numel() / in_, h = conv_ ? x.dim(1) : 0, w = conv_ ? x.dim(2) : 0;
  // Tags 1 and 2 are Linear's and Conv2d's (src/ops); 3 is this adapter's.
  const PrimitiveCache::Key key{3, in_, out_, rank_, conv_, spec_.kernel, spec_.stride, spec_.padding,
                                spec_.extra_pad_end, n, h, w, int64_t(x.dtype()), int64_t(y.dtype()), int64_t(act)};
  return rt.primitives().get<Prims>(key, [&] {
  const dt c = ops::to_dnnl(rt.compute());
  const int64_t m = y.numel() / out_;  // rows of the up product
  Prims p;
  if (conv_) {
    const int64_t k = spec_.kernel, s = spec_.stride, pad = spec_.padding, ho = y.dim(1), wo = y.dim(2);
    const dnnl::memory::desc src_md({n, in_, h, w}, ops::to_dnnl(x.dtype()), tag::nhwc),
        wei_md({rank_, in_, k, k}, c, tag::any), dst_md({n, rank_, ho, wo}, c, tag::nhwc);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, wei_md, dst_md, {s, s},
        {pad, pad}, {pad + spec_.extra_pad_end, pad + spec_.extra_pad_end});
    const auto pd = ops::make_primitive_desc(name_ + ": the down convolution " + ops::describe(src_md) + " (NCHW) -> " +
                                                 ops::describe(dst_md),
                                             [&] { return dnnl::convolution_forward::primitive_desc(desc, rt.engine()); });
    p.down_pd = pd;
    p.down = dnnl::convolution_forward(pd);
  } else {
    const dnnl::memory::desc src_md({n, in_}, ops::to_dnnl(x.dtype()), tag::ab), wei_md({in_, rank_}, c, tag::any),
        dst_md({n, rank_}, c, tag::ab);
    const auto pd = ops::make_primitive_desc(
        name_ + ": the down matmul " + ops::describe(src_md) + " x " + ops::describe(wei_md), [&] {
          return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), rt.engine());
        });
    p.down_pd = pd;
    p.down = dnnl::matmul(pd);
  }
  const dnnl::memory::desc h_md({m, rank_}, c, tag::ab), wei_md({rank_, out_}, c, tag::any),
      y_md({m, out_}, ops::to_dnnl(y.dtype()), tag::ab);
  dnnl::post_ops po;
  po.append_sum(1.0f);  // y += h @ up^T in place
  if (act == ops::Activation::Silu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
  if (act == ops::Activation::Gelu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  p.up_pd = ops::make_primitive_desc(
      name_ + ": the up matmul " + ops::describe(h_md) + " x " + ops::describe(wei_md) + " += " + ops::describe(y_md),
      [&] { return dnnl::matmul::primitive_desc(dnnl::matmul::desc(h_md, wei_md, y_md), attr, rt.engine()); });
  p.up = dnnl::matmul(p.up_pd);
  return p;
  });
}

void LoraAdapter::add_to(Runtime& rt, const Tensor& x, Tensor& y, ops::Activation act) const {
  SDFAST_CHECK(x.dtype() == rt.compute() && y.ndim() >= 1 && y.dim(-1) == out_ &&
                   (conv_ ? x.ndim() == 4 && y.ndim() == 4 && x.dim(3) == in_ && y.dim(0) == x.dim(0)
                          : x.ndim() >= 1 && x.dim(-1) == in_ && x.numel() / in_ == y.numel() / out_),
               name_, ": input ", x.describe(), " and output ", y.describe(), " do not fit [", in_, "] -> [", out_,
               "] in ", dtype_name(rt.compute()));
  if (y.numel() == 0) return;
  const Prims& p = primitives(rt, x, y, act);
  const int64_t m = y.numel() / out_;
  const Tensor h = Tensor::empty({m, rank_}, rt.compute());
  const ops::BoundWeights down = down_.get(rt, p.down_pd.weights_desc());
  const ops::BoundWeights up = up_.get(rt, p.up_pd.weights_desc());
  p.down.execute(rt.stream(), {{DNNL_ARG_SRC, ops::as_memory(rt, p.down_pd.src_desc(), x)},
                               {DNNL_ARG_WEIGHTS, down.memory},
                               {DNNL_ARG_DST, ops::as_memory(rt, p.down_pd.dst_desc(), h)}});
  p.up.execute(rt.stream(), {{DNNL_ARG_SRC, ops::as_memory(rt, p.up_pd.src_desc(), h)},
                             {DNNL_ARG_WEIGHTS, up.memory},
                             {DNNL_ARG_DST, ops::as_memory(rt, p.up_pd.dst_desc(), y)}});
  rt.stream().wait();
}

}  // namespace sdfast::lora
