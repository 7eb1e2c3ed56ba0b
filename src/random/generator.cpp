#include "random/generator.h"

#include "core/error.h"
#include "random/numpy_pcg64_generator.h"
#include "random/torch_cpu_generator.h"

namespace sdfast {

std::unique_ptr<Generator> make_generator(std::string_view name, uint64_t seed) {
  if (name == "numpy") return std::make_unique<NumpyPcg64Generator>(seed);
  if (name == "torch") return std::make_unique<TorchCpuGenerator>(seed);
  std::string valid;
  for (std::string_view n : kGeneratorNames) valid += (valid.empty() ? "" : ", ") + std::string(n);
  fail_argument("unknown random generator '", name, "'; valid generators: ", valid);
}

}  // namespace sdfast
