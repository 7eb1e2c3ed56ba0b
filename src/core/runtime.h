// Runtime: the execution context every forward pass gets (oneDNN engine/stream, threads,
// precision, the kernel variant). One per pipeline; not shared between concurrent calls.
#pragma once

#include <dnnl.hpp>

#include <optional>

#include "core/dtype.h"
#include "simd/dispatch.h"

namespace sdfast {

enum class AttentionKernel { Flash, Naive };

// The most threads a Runtime uses. libgomp crashes starting a parallel region with very many
// threads (a segfault in GOMP_parallel with 100000), and no CPU has more cores than this.
inline constexpr int kMaxThreads = 1024;

struct RuntimeOptions {
  int threads = 0;               // 0: all available cores (OMP default); at most kMaxThreads
  // F32 (reference) or BF16 (half precision). BF16 computes in bf16 where the kernel variant has
  // native bf16 products (simd::native_bf16); elsewhere weights are stored in bf16 (half the memory)
  // and matrix products run in float32.
  DType precision = DType::F32;
  AttentionKernel attention = AttentionKernel::Flash;
  // BF16 path: keep the activations between ops (residual stream, skip connections, norm
  // statistics inputs) in bf16 too. Off by default: activations stay float32 and only what enters a
  // matrix multiplication (weights, GEMM inputs, attention Q/K/V) is bf16.
  bool bf16_activations = false;
  // The kernel variant; unset: this process's choice (simd::dispatch(): the CPU's best or
  // SDFAST_ISA). A variant above what the CPU runs is capped at that.
  std::optional<simd::Isa> isa;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  // The dtype of what enters matrix multiplications (conv, linear, attention).
  DType compute() const { return compute_; }
  // The dtype weights are stored in: the precision asked for (BF16 also where compute() is F32).
  DType weights() const { return options_.precision; }
  // Whether bf16 was asked for but runs as bf16 storage with float32 products.
  bool bf16_storage_only() const { return options_.precision == DType::BF16 && compute_ == DType::F32; }
  // The dtype activations are kept in between ops.
  DType activation() const {
    return compute_ == DType::BF16 && options_.bf16_activations ? DType::BF16 : DType::F32;
  }
  simd::Isa isa() const { return isa_; }
  const simd::Kernels& kernels() const { return *kernels_; }
  int threads() const { return threads_; }
  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }

 private:
  RuntimeOptions options_;
  int threads_ = 1;
  DType compute_ = DType::F32;
  simd::Isa isa_ = simd::Isa::Generic;
  const simd::Kernels* kernels_ = nullptr;
  dnnl::engine engine_;
  dnnl::stream stream_;
};

}  // namespace sdfast
