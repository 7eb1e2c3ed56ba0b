// Golden kind rng_numpy_pcg64_standard_normal: Generator(PCG64(seed)).standard_normal(shape)
// -> `expected` (float64), compared exactly.
#include "golden/kind_rng_params.h"
#include "golden/kinds.h"
#include "random/numpy_pcg64_generator.h"

namespace sdfast::golden {

void run_rng_numpy_pcg64_standard_normal(CaseRun& run) {
  NumpyPcg64Generator gen(rng_param_seed(run.golden()));
  run.check("expected", gen.randn_f64(rng_param_shape(run.golden())), /*exact=*/true);
}

}  // namespace sdfast::golden
