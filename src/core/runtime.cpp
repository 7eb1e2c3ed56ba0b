#include "core/runtime.h"

#include <omp.h>

#include "core/error.h"

namespace sdfast {

namespace {

// oneDNN's own instruction-set cap, set once per process to the variant SDFAST_ISA chose (before
// oneDNN generates its first kernel), so that a forced variant runs oneDNN at that level too.
bool cap_onednn_isa(const simd::Dispatch& d) {
  if (d.request.empty()) return false;
  const std::pair<simd::Isa, dnnl::cpu_isa> caps[] = {
      {simd::Isa::Generic, dnnl::cpu_isa::sse41},
      {simd::Isa::Avx2, dnnl::cpu_isa::avx2},
      {simd::Isa::Avx512, dnnl::cpu_isa::avx512_core},
      {simd::Isa::Avx512Bf16, dnnl::cpu_isa::avx512_core_bf16},
      {simd::Isa::Amx, dnnl::cpu_isa::avx512_core_amx}};
  for (const auto& [isa, cap] : caps)
    if (isa == d.chosen) {
      try {
        dnnl::set_max_cpu_isa(cap);
        return true;
      } catch (const dnnl::error&) {
        return false;  // oneDNN already generated code: its ISA stays what it was
      }
    }
  return false;
}

}  // namespace

void check_threads(int threads) {
  if (threads < 0 || threads > kMaxThreads)
    fail_argument("threads must be between 0 (all cores) and ", kMaxThreads, ", got ", threads);
}

Engine::Engine(RuntimeOptions options) : options_(options) {
  SDFAST_CHECK(options_.precision == DType::F32 || options_.precision == DType::BF16,
               "precision must be F32 or BF16, got ", dtype_name(options_.precision));
  const simd::Dispatch& process = simd::dispatch();
  static const bool onednn_capped = cap_onednn_isa(process);
  (void)onednn_capped;
  isa_ = std::min(options_.isa.value_or(process.chosen), process.best);
  kernels_ = &simd::kernels_for(isa_);
  compute_ = options_.precision == DType::BF16 && simd::native_bf16(isa_) ? DType::BF16 : DType::F32;
  engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
}

Runtime::Runtime(const Engine& engine, int threads) : engine_(&engine) { start(threads); }

Runtime::Runtime(RuntimeOptions options) {
  check_threads(options.threads);
  owned_ = std::make_unique<Engine>(options);
  engine_ = owned_.get();
  start(options.threads);
}

void Runtime::start(int threads) {
  check_threads(threads);
  // OpenMP's nthreads-var is a per-thread setting: this changes the calling thread's parallel
  // regions (ours and oneDNN's) only, not other runs'.
  previous_threads_ = omp_get_max_threads();
  if (threads > 0) {
    omp_set_num_threads(threads);
  } else if (previous_threads_ > kMaxThreads) {
    omp_set_num_threads(kMaxThreads);  // e.g. OMP_NUM_THREADS=100000 in the environment
  }
  threads_ = omp_get_max_threads();
  stream_ = dnnl::stream(engine_->engine());
}

Runtime::~Runtime() {
  if (threads_ != previous_threads_) omp_set_num_threads(previous_threads_);
}

}  // namespace sdfast
