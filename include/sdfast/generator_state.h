// The state of a numpy PCG64 bit generator, as Python reads and writes it through
// `np.random.Generator.bit_generator.state`:
//   {"bit_generator": "PCG64", "state": {"state": S, "inc": I}, "has_uint32": H, "uinteger": U}
// S and I are 128-bit integers, held here as two 64-bit halves. A pipeline started from such a
// state draws what numpy would draw next and hands back the state numpy would be left in.
//
// Reference: numpy/random/_pcg64.pyx (PCG64.state getter and setter) and
// numpy/random/src/pcg64/pcg64.h (pcg64_state: the LCG state, has_uint32, uinteger).
#pragma once

#include <cstdint>

namespace sdfast {

struct GeneratorState {
  uint64_t state_high = 0, state_low = 0;  // the LCG state
  uint64_t inc_high = 0, inc_low = 0;      // the LCG increment
  // numpy's buffered upper half of a 64-bit draw (next_uint32). standard_normal never uses it,
  // so a pipeline run hands it back unchanged, as numpy does.
  bool has_uint32 = false;
  uint32_t uinteger = 0;

  bool operator==(const GeneratorState&) const = default;
};

}  // namespace sdfast
