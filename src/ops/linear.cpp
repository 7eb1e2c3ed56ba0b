#include "ops/linear.h"

namespace sdfast::ops {

Linear::Linear(Runtime& rt, const Weights& w, int64_t in_features, int64_t out_features, bool bias)
    : Linear(rt, w.get("weight", {out_features, in_features}, rt.weights()),
             bias ? w.get("bias", {out_features}, DType::F32) : Tensor()) {
  name_ = w.prefix();
}

Linear::Linear(Runtime& rt, Tensor weight, Tensor bias, std::string name) : name_(std::move(name)) {
  SDFAST_CHECK(weight.ndim() == 2, "Linear: weight must be 2-d, got ", weight.describe());
  out_ = weight.dim(0);
  in_ = weight.dim(1);
  weight = weight.to(rt.weights());
  // Stored [out, in] row-major, which is the matmul's [in, out] weight in "ba" order.
  weights_ = PackedWeights(std::move(weight),
                           dnnl::memory::desc({in_, out_}, to_dnnl(rt.weights()), tag::ba));
  if (bias.defined()) {
    SDFAST_CHECK(bias.numel() == out_, "Linear: bias ", bias.describe(), " for ", out_, " outputs");
    bias_ = bias.to(DType::F32).reshape({1, out_});
  }
}

const Linear::Prim& Linear::primitive(Runtime& rt, int64_t m, DType src, DType dst, Activation act,
                                      std::optional<DType> residual) const {
  const PrimitiveCache::Key key{1, in_, out_, bias_.defined(), m, int64_t(src), int64_t(dst), int64_t(act),
                                residual ? int64_t(*residual) : -1};
  return rt.primitives().get<Prim>(key, [&] {
  dnnl::memory::desc src_md({m, in_}, to_dnnl(src), tag::ab);
  dnnl::memory::desc wei_md({in_, out_}, to_dnnl(rt.compute()), tag::any);
  dnnl::memory::desc dst_md({m, out_}, to_dnnl(dst), tag::ab);
  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  // The residual is read by a binary post-op straight from its own buffer (no copy into dst).
  if (residual) po.append_binary(dnnl::algorithm::binary_add, dnnl::memory::desc({m, out_}, to_dnnl(*residual), tag::ab));
  if (act == Activation::Silu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
  if (act == Activation::Gelu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  attr.set_post_ops(po);
  auto desc = bias_.defined()
                  ? dnnl::matmul::desc(src_md, wei_md,
                                       dnnl::memory::desc({1, out_}, dt::f32, tag::ab), dst_md)
                  : dnnl::matmul::desc(src_md, wei_md, dst_md);
  Prim prim;
  prim.pd = make_primitive_desc(
      (name_.empty() ? std::string("a Linear layer") : "Linear '" + name_ + "'") + ": the matmul " + describe(src_md) + " x " + describe(wei_md) + " -> " + describe(dst_md) +
          (bias_.defined() ? " with bias" : "") + (residual ? " + residual" : ""),
      [&] { return dnnl::matmul::primitive_desc(desc, attr, rt.engine()); });
  prim.prim = dnnl::matmul(prim.pd);
  return prim;
  });
}

Tensor Linear::run(Runtime& rt, const Tensor& x_in, Activation act, const Tensor* residual,
                   DType out) const {
  SDFAST_CHECK(weights_.dtype() == rt.weights(), "Linear '", name_, "': weights loaded in ",
               dtype_name(weights_.dtype()), " run with a ", dtype_name(rt.weights()), " runtime");
  SDFAST_CHECK(x_in.ndim() >= 1 && x_in.dim(-1) == in_, "Linear: input ", x_in.describe(),
               " does not end in ", in_, " features");
  const Tensor x = x_in.to(rt.compute());
  const int64_t m = x.numel() / in_;
  Shape out_shape = x.shape();
  out_shape.back() = out_;
  if (residual)
    SDFAST_CHECK(residual->shape() == out_shape, "Linear: residual ", residual->describe(),
                 " does not match the output ", shape_str(out_shape));
  Tensor y = Tensor::empty(out_shape, out);
  if (m == 0) return y;
  const std::optional<DType> res_dtype = residual ? std::optional<DType>(residual->dtype()) : std::nullopt;
  // With an adapter the activation comes after its term.
  const Prim& p = primitive(rt, m, x.dtype(), out, adapter_ ? Activation::None : act, res_dtype);
  const BoundWeights bound = weights_.get(rt, p.pd.weights_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, as_memory(rt, p.pd.src_desc(), x)},
      {DNNL_ARG_WEIGHTS, bound.memory},
      {DNNL_ARG_DST, as_memory(rt, p.pd.dst_desc(), y)}};
  if (bias_.defined()) args[DNNL_ARG_BIAS] = as_memory(rt, p.pd.bias_desc(), bias_);
  if (residual)
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] =
        as_memory(rt, dnnl::memory::desc({m, out_}, to_dnnl(residual->dtype()), tag::ab), *residual);
  p.prim.execute(rt.stream(), args);
  rt.stream().wait();
  if (adapter_) adapter_->add_to(rt, x, y, act);
  return y;
}

Tensor Linear::forward(Runtime& rt, const Tensor& x, Activation act) const {
  return run(rt, x, act, nullptr, rt.activation());
}

Tensor Linear::forward_as(Runtime& rt, const Tensor& x, DType out, Activation act) const {
  return run(rt, x, act, nullptr, out);
}

Tensor Linear::forward(Runtime& rt, const Tensor& x, const Tensor& residual) const {
  return run(rt, x, Activation::None, &residual, rt.activation());
}

Tensor Linear::weight(Runtime& rt) const {
  return weights_.unpack(rt, dnnl::memory::desc({in_, out_}, dt::f32, tag::ba)).reshape({out_, in_});
}

PackedWeights Linear::replace_weight(Runtime& rt, const Tensor& weight) {
  SDFAST_CHECK(weight.shape() == (Shape{out_, in_}), "Linear '", name_, "': replacement weight ",
               weight.describe(), ", expected [", out_, ", ", in_, "]");
  PackedWeights old = std::move(weights_);
  weights_ = PackedWeights(weight.to(rt.weights()).clone(),
                           dnnl::memory::desc({in_, out_}, to_dnnl(rt.weights()), tag::ba));
  return old;
}

}  // namespace sdfast::ops
