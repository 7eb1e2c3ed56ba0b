// Engine and Runtime: what a model is loaded for, and what one run of it uses.
//
// An Engine holds the engine-wide facts fixed when models are loaded (precision, attention kernel,
// kernel variant, the oneDNN engine). It is read-only once made and shared by every run of the
// models loaded with it, from any thread.
//
// A Runtime is one run's execution context, passed down every forward pass: the Engine it runs on,
// its OpenMP thread count, its oneDNN stream, its cache of oneDNN primitives and its cancel flag.
// It belongs to the thread that made it (one per run, never shared); runs on different threads
// each have their own, and may use the same loaded models at the same time.
#pragma once

#include <dnnl.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/dtype.h"
#include "sdfast/options.h"
#include "simd/dispatch.h"

namespace sdfast {

enum class AttentionKernel { Flash, Naive };

// The most threads a Runtime uses (the API's limit). libgomp crashes starting a parallel region
// with very many threads (a segfault in GOMP_parallel with 100000), and no CPU has more cores.
inline constexpr int kMaxThreads = Limits::kMaxThreads;

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

// Throws InvalidArgument unless 0 <= threads <= kMaxThreads.
void check_threads(int threads);

// The engine-wide facts models are loaded for; immutable and shareable between threads.
class Engine {
 public:
  // options.threads is not used here (it is each run's; see Runtime).
  explicit Engine(RuntimeOptions options = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

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
  const dnnl::engine& engine() const { return engine_; }

 private:
  RuntimeOptions options_;
  DType compute_ = DType::F32;
  simd::Isa isa_ = simd::Isa::Generic;
  const simd::Kernels* kernels_ = nullptr;
  dnnl::engine engine_;
};

// One run's cache of oneDNN primitives, keyed by everything that determines a primitive (the op,
// its shapes, dtypes and attributes), so that layers of the same shape share one.
class PrimitiveCache {
 public:
  using Key = std::vector<int64_t>;
  // The primitive for `key`, made by `make()` (returning P) the first time.
  template <class P, class Make>
  const P& get(const Key& key, Make&& make) {
    auto it = entries_.find(key);
    if (it != entries_.end()) return *static_cast<const P*>(it->second.get());
    auto made = std::make_shared<P>(make());
    const P& ref = *made;
    entries_.emplace(key, std::move(made));
    return ref;
  }
  size_t size() const { return entries_.size(); }

 private:
  std::map<Key, std::shared_ptr<void>> entries_;
};

// One run's execution context (see the top of this file).
class Runtime {
 public:
  // A run on a shared engine, on the calling thread, with `threads` OpenMP threads (0: this
  // thread's current OpenMP default, all cores unless OMP_NUM_THREADS says otherwise). The thread
  // count is set for the calling thread only (OpenMP's nthreads is per thread) and put back when
  // the Runtime is destroyed.
  Runtime(const Engine& engine, int threads);
  // A run with an engine of its own (tests and tools): Engine(options), options.threads.
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Engine& shared() const { return *engine_; }
  const RuntimeOptions& options() const { return engine_->options(); }
  DType compute() const { return engine_->compute(); }
  DType weights() const { return engine_->weights(); }
  bool bf16_storage_only() const { return engine_->bf16_storage_only(); }
  DType activation() const { return engine_->activation(); }
  simd::Isa isa() const { return engine_->isa(); }
  const simd::Kernels& kernels() const { return engine_->kernels(); }
  const dnnl::engine& engine() const { return engine_->engine(); }

  int threads() const { return threads_; }
  dnnl::stream& stream() { return stream_; }
  PrimitiveCache& primitives() { return primitives_; }
  // Asks the run to stop (from any thread); the run checks cancelled() between steps.
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  void start(int threads);

  std::unique_ptr<Engine> owned_;  // set by Runtime(RuntimeOptions)
  const Engine* engine_ = nullptr;
  int threads_ = 1;
  int previous_threads_ = 0;  // the calling thread's OpenMP thread count before, put back at the end
  dnnl::stream stream_;
  PrimitiveCache primitives_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace sdfast
