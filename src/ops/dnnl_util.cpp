#include "ops/dnnl_util.h"

namespace sdfast::ops {

dnnl::memory PackedWeights::get(Runtime& rt, const dnnl::memory::desc& want) {
  if (want != md_) {
    Tensor packed = Tensor::empty({int64_t(want.get_size())}, DType::U8);
    dnnl::memory src(md_, rt.engine(), data_.raw_data());
    dnnl::memory dst(want, rt.engine(), packed.raw_data());
    dnnl::reorder(src, dst).execute(rt.stream(), src, dst);
    rt.stream().wait();
    data_ = std::move(packed);
    md_ = want;
  }
  return dnnl::memory(md_, rt.engine(), data_.raw_data());
}

}  // namespace sdfast::ops
