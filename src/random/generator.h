// The random number generators the pipeline draws its noise from, bit-exact with the libraries
// that Diffusers users seed: numpy's Generator(PCG64(seed)) and torch's CPU generator.
//
// A Generator is stateful: consecutive randn() calls continue one stream, exactly as repeated
// calls on one numpy Generator / one torch.Generator do (schedulers draw noise later from the same
// per-image generator). Not thread-safe: one generator per image, used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace sdfast {

class Generator {
 public:
  virtual ~Generator() = default;

  // numel(shape) standard normal samples, row-major, as a float32 tensor of `shape`; continues
  // the stream. Throws InvalidArgument for a negative dimension.
  virtual Tensor randn(const Shape& shape) = 0;

  // What this is, for logs and errors: e.g. "numpy Generator(PCG64(42)).standard_normal".
  virtual std::string describe() const = 0;
};

// The names make_generator() accepts.
inline constexpr std::string_view kGeneratorNames[] = {"numpy", "torch"};

// "numpy" -> NumpyPcg64Generator(seed), "torch" -> TorchCpuGenerator(seed). Any other name is an
// InvalidArgument that lists the valid names.
std::unique_ptr<Generator> make_generator(std::string_view name, uint64_t seed);

}  // namespace sdfast
