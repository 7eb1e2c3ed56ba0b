// numpy's PCG64 bit generator: a 128-bit LCG with the XSL-RR 128->64 output function.
//
// Reference: numpy/random/_pcg64.pyx (seeding from SeedSequence.generate_state(4, uint64)) and
// numpy/random/src/pcg64/pcg64.{h,c} (pcg_setseq_128_srandom_r, pcg64_random_r, the default
// 128-bit multiplier); next_double as numpy's uint64_to_double.
#pragma once

#include <cstdint>

#include "random/seed_sequence.h"

namespace sdfast {

class Pcg64 {
 public:
  __extension__ using uint128 = unsigned __int128;

  // PCG64(seed_sequence): state and increment from generate_state(4, np.uint64).
  explicit Pcg64(const SeedSequence& seed);
  // pcg_setseq_128_srandom_r(initstate, initseq).
  Pcg64(uint128 initstate, uint128 initseq);
  // The generator in a given raw state, as numpy's `PCG64.state = {"state": {"state": s, "inc": i}}`
  // sets it: no seeding steps, the increment taken as given.
  static Pcg64 from_state(uint128 state, uint128 increment);

  // Advances the LCG, then outputs the new state through XSL-RR.
  uint64_t next_uint64();
  // 53 random bits in [0, 1).
  double next_double() { return double(next_uint64() >> 11) * (1.0 / 9007199254740992.0); }

  uint128 state() const { return state_; }
  uint128 increment() const { return inc_; }

 private:
  Pcg64() = default;
  void seed_with(uint128 initstate, uint128 initseq);
  void step() { state_ = state_ * multiplier() + inc_; }
  static uint128 multiplier() {
    return uint128(2549297995355413924ULL) << 64 | uint128(4865540595714422341ULL);
  }

  uint128 state_ = 0;
  uint128 inc_ = 0;
};

}  // namespace sdfast
