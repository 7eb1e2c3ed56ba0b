// Golden kind rng_torch_cpu_randn: manual_seed(seed); randn(shape) on the CPU -> `expected`
// (float32), compared exactly.
#include "golden/kind_rng_params.h"
#include "golden/kinds.h"
#include "random/torch_cpu_generator.h"

namespace sdfast::golden {

void run_rng_torch_cpu_randn(CaseRun& run) {
  TorchCpuGenerator gen(rng_param_seed(run.golden()));
  run.check("expected", gen.randn(rng_param_shape(run.golden())), /*exact=*/true);
}

}  // namespace sdfast::golden
