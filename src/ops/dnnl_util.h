// Small helpers around oneDNN: dtype mapping and wrapping Tensors as dnnl::memory.
#pragma once

#include <dnnl.hpp>

#include <memory>
#include <mutex>

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

// The instruction set oneDNN runs its kernels with on this CPU, e.g. "avx512_core_bf16".
std::string onednn_cpu_isa();

// Creates a oneDNN primitive descriptor with `make()`. When oneDNN has no implementation (or any
// other oneDNN error), fails with a message naming the operation, its shapes and dtypes
// (`what`), oneDNN's own error and the CPU's instruction set, instead of oneDNN's bare
// "could not create a primitive descriptor iterator".
template <class Make>
auto make_primitive_desc(const std::string& what, Make&& make) -> decltype(make()) {
  try {
    return make();
  } catch (const dnnl::error& e) {
    fail("oneDNN cannot run ", what, " on this CPU (oneDNN ISA ", onednn_cpu_isa(), "): ", e.what(),
         " (status ", int(e.status), ")");
  }
}

// "f32[2,64,64,320]": a memory descriptor's dtype and logical dims, for messages.
std::string describe(const dnnl::memory::desc& md);

// A dnnl::memory over a Tensor's buffer (no copy); the Tensor must outlive its use.
inline dnnl::memory as_memory(Runtime& rt, const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, rt.engine(), const_cast<void*>(t.raw_data()));
}

// Weights bound for one primitive execution: the memory to pass, and what keeps its buffer alive
// for the call (the packed copy it points into, or a float32 expansion made for this call).
struct BoundWeights {
  dnnl::memory memory;
  std::shared_ptr<const void> keep;
};

// A layer's weights, reordered into the layout its primitives ask for. Holds a single copy: when a
// primitive for another input shape wants another layout, the copy is reordered again and replaces
// the old one (a run still using the old one keeps it alive until its call returns). Weights
// stored in bf16 for a float32 primitive (bf16 storage without native bf16 products) are kept in
// bf16 in the primitive's own layout and expanded to float32 for each execution.
//
// Thread-safe: several runs may call get() at the same time. The values never change; only their
// layout does, under a lock.
class PackedWeights {
 public:
  PackedWeights() = default;
  // `plain` is the weight in `plain_md`'s layout and dtype (taken over, not copied).
  PackedWeights(Tensor plain, dnnl::memory::desc plain_md);
  // A copy shares the packed bytes (immutable) and repacks on its own from then on.
  PackedWeights(const PackedWeights& other);
  PackedWeights& operator=(const PackedWeights& other);
  PackedWeights(PackedWeights&&) noexcept = default;
  PackedWeights& operator=(PackedWeights&&) noexcept = default;
  // The weights in layout and dtype `want` (reordering with `rt`'s stream when the copy kept is in
  // another layout).
  BoundWeights get(Runtime& rt, const dnnl::memory::desc& want) const;
  bool empty() const { return !state_; }
  // The dtype the weights are stored in.
  DType dtype() const { return dtype_; }
  // A copy of the weights in layout `plain` (same dims, the stored dtype): exact, whatever layout
  // they were reordered to.
  Tensor unpack(Runtime& rt, const dnnl::memory::desc& plain) const;

 private:
  struct Packed {
    Tensor data;  // raw bytes, in md's layout
    dnnl::memory::desc md;
  };
  struct State {
    std::mutex mutex;
    std::shared_ptr<const Packed> packed;
  };
  std::unique_ptr<State> state_;
  DType dtype_ = DType::F32;
};

}  // namespace sdfast::ops
