// Small helpers around oneDNN: dtype mapping and wrapping Tensors as dnnl::memory.
#pragma once

#include <dnnl.hpp>

#include "core/error.h"
#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::ops {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

inline dt to_dnnl(DType t) {
  switch (t) {
    case DType::F32: return dt::f32;
    case DType::BF16: return dt::bf16;
    case DType::F16: return dt::f16;
    case DType::I32: return dt::s32;
    case DType::U8: return dt::u8;
    case DType::I8: return dt::s8;
    default: fail("oneDNN has no data type for ", dtype_name(t));
  }
}

// A dnnl::memory over a Tensor's buffer (no copy); the Tensor must outlive its use.
inline dnnl::memory as_memory(Runtime& rt, const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, rt.engine(), const_cast<void*>(t.raw_data()));
}

// Weights reordered once into the layout a primitive asks for. Holds a single copy: when a
// primitive for another input shape wants another layout, the copy is reordered again.
class PackedWeights {
 public:
  PackedWeights() = default;
  // `plain` is the weight in `plain_md`'s layout and dtype (taken over, not copied).
  PackedWeights(Tensor plain, dnnl::memory::desc plain_md) : data_(std::move(plain)), md_(plain_md) {}
  // The weights in layout `want` (reordering on first request).
  dnnl::memory get(Runtime& rt, const dnnl::memory::desc& want);
  bool empty() const { return !data_.defined(); }

 private:
  Tensor data_;  // raw bytes, in md_'s layout
  dnnl::memory::desc md_;
};

}  // namespace sdfast::ops
