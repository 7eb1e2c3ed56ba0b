#include "ops/dnnl_util.h"

#include <algorithm>

namespace sdfast::ops {

std::string onednn_cpu_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::all: return "all";
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
  }
  return "unknown (" + std::to_string(int(dnnl::get_effective_cpu_isa())) + ")";
}

std::string describe(const dnnl::memory::desc& md) {
  std::string out;
  switch (md.data_type()) {
    case dt::f32: out = "f32"; break;
    case dt::bf16: out = "bf16"; break;
    case dt::f16: out = "f16"; break;
    case dt::s32: out = "s32"; break;
    case dt::s8: out = "s8"; break;
    case dt::u8: out = "u8"; break;
    default: out = "dtype " + std::to_string(int(md.data_type()));
  }
  out += "[";
  const auto dims = md.dims();
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + std::to_string(dims[i]);
  return out + "]";
}

PackedWeights::PackedWeights(Tensor plain, dnnl::memory::desc plain_md)
    : state_(std::make_unique<State>()), dtype_(plain.dtype()) {
  state_->packed = std::make_shared<const Packed>(Packed{std::move(plain), plain_md});
}

PackedWeights::PackedWeights(const PackedWeights& other) : dtype_(other.dtype_) {
  if (!other.state_) return;
  state_ = std::make_unique<State>();
  std::lock_guard<std::mutex> lock(other.state_->mutex);
  state_->packed = other.state_->packed;
}

PackedWeights& PackedWeights::operator=(const PackedWeights& other) {
  if (this != &other) *this = PackedWeights(other);
  return *this;
}

BoundWeights PackedWeights::get(Runtime& rt, const dnnl::memory::desc& want) const {
  SDFAST_CHECK(state_, "PackedWeights::get on layer weights that were never loaded");
  std::shared_ptr<const Packed> packed;
  dnnl::memory::desc keep = want;  // the layout kept: `want` itself, or `want`'s with the stored dtype
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    packed = state_->packed;
    if (want.data_type() != packed->md.data_type()) {
      SDFAST_CHECK(packed->md.data_type() == dt::bf16 && want.data_type() == dt::f32, "weights stored as ",
                   describe(packed->md), " cannot feed a primitive that wants ", describe(want));
      keep.data.data_type = dnnl_bf16;
    }
    if (keep != packed->md) {
      Tensor bytes = Tensor::empty({int64_t(keep.get_size())}, DType::U8);
      dnnl::memory src(packed->md, rt.engine(), const_cast<void*>(packed->data.raw_data()));
      dnnl::memory dst(keep, rt.engine(), bytes.raw_data());
      dnnl::reorder(src, dst).execute(rt.stream(), src, dst);
      rt.stream().wait();
      packed = std::make_shared<const Packed>(Packed{std::move(bytes), keep});
      state_->packed = packed;
    }
  }
  if (keep == want)
    return {dnnl::memory(want, rt.engine(), const_cast<void*>(packed->data.raw_data())), packed};
  // bf16 -> float32, element by element over the whole buffer (padding included: zeros stay zeros).
  const int64_t n = int64_t(keep.get_size() / 2);
  auto expanded = std::make_shared<Tensor>(Tensor::empty({n}, DType::F32));
  const auto* src = static_cast<const uint16_t*>(packed->data.raw_data());
  float* dst = expanded->data<float>();
  const simd::Kernels& kern = rt.kernels();
  constexpr int64_t kChunk = 64 * 1024;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < (n + kChunk - 1) / kChunk; ++c)
    kern.unary(simd::Unary::Copy, 0.0f, src + c * kChunk, simd::Elem::BF16, dst + c * kChunk, simd::Elem::F32,
               std::min(kChunk, n - c * kChunk));
  return {dnnl::memory(want, rt.engine(), expanded->raw_data()), expanded};
}

Tensor PackedWeights::unpack(Runtime& rt, const dnnl::memory::desc& plain) const {
  SDFAST_CHECK(!empty(), "PackedWeights::unpack: no weights");
  std::shared_ptr<const Packed> packed;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    packed = state_->packed;
  }
  const dnnl::memory::desc& md = packed->md;
  dnnl::memory::desc out_md = plain;
  out_md.data.data_type = md.data.data_type;
  SDFAST_CHECK(md.data_type() == dt::f32 || md.data_type() == dt::bf16 || md.data_type() == dt::f16,
               "PackedWeights::unpack: weights stored as ", describe(md));
  Tensor t = Tensor::empty({int64_t(out_md.get_size() / dtype_size(dtype_))}, dtype_);
  dnnl::memory src(md, rt.engine(), const_cast<void*>(packed->data.raw_data()));
  dnnl::memory dst(out_md, rt.engine(), t.raw_data());
  dnnl::reorder(src, dst).execute(rt.stream(), src, dst);
  rt.stream().wait();
  return t;
}

}  // namespace sdfast::ops
