// Runtime: the execution context every forward pass gets (oneDNN engine/stream, threads,
// compute precision, kernel choices). One per pipeline; not shared between concurrent calls.
#pragma once

#include <dnnl.hpp>

#include "core/dtype.h"

namespace sdfast {

enum class AttentionKernel { Flash, Naive };

// The most threads a Runtime uses. libgomp crashes starting a parallel region with very many
// threads (a segfault in GOMP_parallel with 100000), and no CPU has more cores than this.
inline constexpr int kMaxThreads = 1024;

struct RuntimeOptions {
  int threads = 0;               // 0: all available cores (OMP default); at most kMaxThreads
  DType compute = DType::F32;    // F32 (reference) or BF16 (fast path)
  AttentionKernel attention = AttentionKernel::Flash;
  // BF16 path: keep the activations between ops (residual stream, skip connections, norm
  // statistics inputs) in bf16 too. Off by default: activations stay float32 and only what enters a
  // matrix multiplication (weights, GEMM inputs, attention Q/K/V) is bf16.
  bool bf16_activations = false;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  // The dtype of weights and of what enters matrix multiplications (conv, linear, attention).
  DType compute() const { return options_.compute; }
  // The dtype activations are kept in between ops.
  DType activation() const {
    return options_.compute == DType::BF16 && options_.bf16_activations ? DType::BF16 : DType::F32;
  }
  int threads() const { return threads_; }
  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }

 private:
  RuntimeOptions options_;
  int threads_ = 1;
  dnnl::engine engine_;
  dnnl::stream stream_;
};

}  // namespace sdfast
