#include "core/runtime.h"

#include <omp.h>

#include "core/error.h"

namespace sdfast {

Runtime::Runtime(RuntimeOptions options) : options_(options) {
  SDFAST_CHECK(options_.compute == DType::F32 || options_.compute == DType::BF16,
               "compute dtype must be F32 or BF16, got ", dtype_name(options_.compute));
  if (options_.threads < 0 || options_.threads > kMaxThreads)
    fail_argument("threads must be between 0 (all cores) and ", kMaxThreads, ", got ",
                  options_.threads);
  if (options_.threads > 0) {
    omp_set_num_threads(options_.threads);
  } else if (omp_get_max_threads() > kMaxThreads) {
    omp_set_num_threads(kMaxThreads);  // e.g. OMP_NUM_THREADS=100000 in the environment
  }
  threads_ = omp_get_max_threads();
  engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
  stream_ = dnnl::stream(engine_);
}

}  // namespace sdfast
