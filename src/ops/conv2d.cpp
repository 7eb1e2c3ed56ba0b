#include "ops/conv2d.h"

#include <cstring>

#include "ops/elem.h"

namespace sdfast::ops {

namespace {

const Conv2dSpec& checked(const Conv2dSpec& spec, const std::string& name) {
  SDFAST_CHECK(spec.in_channels > 0 && spec.out_channels > 0 && spec.kernel > 0 && spec.stride > 0 &&
                   spec.padding >= 0 && spec.extra_pad_end >= 0,
               "Conv2d '", name, "': invalid channels/kernel/stride/padding (in ",
               spec.in_channels, ", out ", spec.out_channels, ", kernel ", spec.kernel, ")");
  return spec;
}

}  // namespace

Conv2d::Conv2d(Runtime& rt, const Weights& w, const Conv2dSpec& spec)
    : spec_(checked(spec, w.prefix())), name_(w.prefix()) {
  const int64_t o = spec.out_channels, i = spec.in_channels, k = spec.kernel;
  Tensor weight = w.get("weight", {o, i, k, k}, rt.weights());  // the weight first: messages name it
  init(rt, std::move(weight), spec.bias ? w.get("bias", {o}, DType::F32) : Tensor());
}

Conv2d::Conv2d(Runtime& rt, Tensor weight, Tensor bias, const Conv2dSpec& spec, std::string name)
    : spec_(checked(spec, name)), name_(std::move(name)) {
  init(rt, std::move(weight), std::move(bias));
}

void Conv2d::init(Runtime& rt, Tensor weight, Tensor bias) {
  const int64_t o = spec_.out_channels, i = spec_.in_channels, k = spec_.kernel;
  SDFAST_CHECK(weight.shape() == (Shape{o, i, k, k}), "Conv2d '", name_, "': weight ", weight.describe(),
               ", expected [", o, ", ", i, ", ", k, ", ", k, "]");
  weights_ = PackedWeights(weight.to(rt.weights()),
                           dnnl::memory::desc({o, i, k, k}, to_dnnl(rt.weights()), tag::oihw));
  if (spec_.bias) {
    SDFAST_CHECK(bias.defined() && bias.numel() == o, "Conv2d '", name_, "': bias ",
                 bias.defined() ? bias.describe() : std::string("missing"), " for ", o, " outputs");
    bias_ = bias.to(DType::F32);
  }
}

Tensor Conv2d::weight(Runtime& rt) const {
  const int64_t o = spec_.out_channels, i = spec_.in_channels, k = spec_.kernel;
  return weights_.unpack(rt, dnnl::memory::desc({o, i, k, k}, dt::f32, tag::oihw)).reshape({o, i, k, k});
}

PackedWeights Conv2d::replace_weight(Runtime& rt, const Tensor& weight) {
  const int64_t o = spec_.out_channels, i = spec_.in_channels, k = spec_.kernel;
  SDFAST_CHECK(weight.shape() == (Shape{o, i, k, k}), "Conv2d '", name_, "': replacement weight ",
               weight.describe(), ", expected [", o, ", ", i, ", ", k, ", ", k, "]");
  PackedWeights old = std::move(weights_);
  weights_ = PackedWeights(weight.to(rt.weights()).clone(),
                           dnnl::memory::desc({o, i, k, k}, to_dnnl(rt.weights()), tag::oihw));
  return old;
}

const Conv2d::Prim& Conv2d::primitive(Runtime& rt, int64_t n, int64_t h, int64_t w, DType src,
                                      bool sum) const {
  const PrimitiveCache::Key key{2, spec_.in_channels, spec_.out_channels, spec_.kernel, spec_.stride,
                                spec_.padding, spec_.extra_pad_end, spec_.bias, n, h, w, int64_t(src), sum};
  return rt.primitives().get<Prim>(key, [&] {
  const int64_t k = spec_.kernel, s = spec_.stride, p = spec_.padding;
  const int64_t ho = (h + 2 * p + spec_.extra_pad_end - k) / s + 1;
  const int64_t wo = (w + 2 * p + spec_.extra_pad_end - k) / s + 1;
  dnnl::memory::desc src_md({n, spec_.in_channels, h, w}, to_dnnl(src), tag::nhwc);
  dnnl::memory::desc wei_md({spec_.out_channels, spec_.in_channels, k, k}, to_dnnl(rt.compute()),
                            tag::any);
  dnnl::memory::desc dst_md({n, spec_.out_channels, ho, wo}, to_dnnl(rt.activation()), tag::nhwc);
  dnnl::primitive_attr attr;
  if (sum) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  const dnnl::memory::dims strides{s, s}, pad_l{p, p},
      pad_r{p + spec_.extra_pad_end, p + spec_.extra_pad_end};
  auto desc = spec_.bias
                  ? dnnl::convolution_forward::desc(
                        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                        src_md, wei_md, dnnl::memory::desc({spec_.out_channels}, dt::f32, tag::a),
                        dst_md, strides, pad_l, pad_r)
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, src_md,
                                                    wei_md, dst_md, strides, pad_l, pad_r);
  Prim prim;
  prim.pd = make_primitive_desc(
      "Conv2d '" + name_ + "': the " + std::to_string(k) + "x" + std::to_string(k) + " convolution (stride " +
          std::to_string(s) + ", padding " + std::to_string(p) + ") " + describe(src_md) +
          " (NCHW) with weights " + describe(wei_md) + " -> " + describe(dst_md),
      [&] { return dnnl::convolution_forward::primitive_desc(desc, attr, rt.engine()); });
  prim.prim = dnnl::convolution_forward(prim.pd);
  return prim;
  });
}

Tensor Conv2d::run(Runtime& rt, const Tensor& x_in, const Tensor* residual) const {
  check_rank(x_in, 4, "Conv2d");
  SDFAST_CHECK(weights_.dtype() == rt.weights(), "Conv2d '", name_, "': weights loaded in ",
               dtype_name(weights_.dtype()), " run with a ", dtype_name(rt.weights()), " runtime");
  SDFAST_CHECK(x_in.dim(3) == spec_.in_channels, "Conv2d: input has ", x_in.dim(3),
               " channels, expected ", spec_.in_channels, " (", x_in.describe(), ")");
  const Tensor x = x_in.to(rt.compute());
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2);
  const Prim& p = primitive(rt, n, h, w, x.dtype(), residual != nullptr);
  const auto dst_md = p.pd.dst_desc();
  const auto dims = dst_md.dims();  // logical N, C, H, W
  Tensor y;
  if (residual) {
    SDFAST_CHECK(residual->shape() == (Shape{dims[0], dims[2], dims[3], dims[1]}),
                 "Conv2d: residual ", residual->describe(), " does not match the output ",
                 shape_str({dims[0], dims[2], dims[3], dims[1]}));
    y = residual->to(rt.activation());
    if (y.raw_data() == residual->raw_data()) y = residual->clone();
  } else {
    y = Tensor::empty({dims[0], dims[2], dims[3], dims[1]}, rt.activation());
  }
  const BoundWeights bound = weights_.get(rt, p.pd.weights_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, as_memory(rt, p.pd.src_desc(), x)},
      {DNNL_ARG_WEIGHTS, bound.memory},
      {DNNL_ARG_DST, as_memory(rt, dst_md, y)}};
  if (spec_.bias) args[DNNL_ARG_BIAS] = as_memory(rt, p.pd.bias_desc(), bias_);
  p.prim.execute(rt.stream(), args);
  rt.stream().wait();
  if (adapter_) adapter_->add_to(rt, x, y, Activation::None);
  return y;
}

Tensor Conv2d::forward(Runtime& rt, const Tensor& x) const { return run(rt, x, nullptr); }

Tensor Conv2d::forward(Runtime& rt, const Tensor& x, const Tensor& residual) const {
  return run(rt, x, &residual);
}

}  // namespace sdfast::ops
