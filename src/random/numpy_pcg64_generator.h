// numpy.random.Generator(numpy.random.PCG64(seed)).standard_normal(shape), bit-exact.
//
// Reference: numpy/random/_generator.pyx (Generator.standard_normal fills row-major, one
// random_standard_normal per element) and numpy/random/src/distributions/distributions.c
// (random_standard_normal: the 256-layer ziggurat with its tail and wedge rejection branches).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "random/generator.h"
#include "random/pcg64.h"
#include "sdfast/generator_state.h"

namespace sdfast {

class NumpyPcg64Generator : public Generator {
 public:
  explicit NumpyPcg64Generator(uint64_t seed);
  // Continues a numpy generator from its bit_generator.state.
  explicit NumpyPcg64Generator(const GeneratorState& state);

  // standard_normal(shape) as float64, cast to float32 (round to nearest), as the pipeline
  // does with numpy latents.
  Tensor randn(const Shape& shape) override;
  // standard_normal(shape) as numpy returns it: an F64 tensor.
  Tensor randn_f64(const Shape& shape);
  // One random_standard_normal draw.
  double standard_normal();

  std::string describe() const override;

  // bit_generator.state now: what numpy's generator holds after the same draws.
  GeneratorState state() const;

 private:
  std::optional<uint64_t> seed_;  // none when started from a state
  Pcg64 bitgen_;
  bool has_uint32_ = false;  // numpy's 32-bit buffer, carried unchanged (see GeneratorState)
  uint32_t uinteger_ = 0;
};

}  // namespace sdfast
