// Runtime: the execution context every forward pass gets (oneDNN engine/stream, threads,
// compute precision, kernel choices). One per pipeline; not shared between concurrent calls.
#pragma once

#include <dnnl.hpp>

#include "core/dtype.h"

namespace sdfast {

enum class AttentionKernel { Flash, Naive };

struct RuntimeOptions {
  int threads = 0;               // 0: all available cores (OMP default)
  DType compute = DType::F32;    // F32 (reference) or BF16 (fast path)
  AttentionKernel attention = AttentionKernel::Flash;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  DType compute() const { return options_.compute; }
  // Storage dtype for activations between ops (bf16 on the fast path).
  DType activation() const { return options_.compute; }
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
