#include "random/pcg64.h"

#include <vector>

namespace sdfast {

namespace {

Pcg64::uint128 make_u128(uint64_t high, uint64_t low) {
  return Pcg64::uint128(high) << 64 | Pcg64::uint128(low);
}

}  // namespace

Pcg64::Pcg64(const SeedSequence& seed) {
  const std::vector<uint64_t> v = seed.generate_state64(4);
  seed_with(make_u128(v[0], v[1]), make_u128(v[2], v[3]));
}

Pcg64::Pcg64(uint128 initstate, uint128 initseq) { seed_with(initstate, initseq); }

Pcg64 Pcg64::from_state(uint128 state, uint128 increment) {
  Pcg64 g;
  g.state_ = state;
  g.inc_ = increment;
  return g;
}

void Pcg64::seed_with(uint128 initstate, uint128 initseq) {
  state_ = 0;
  inc_ = initseq << 1 | 1;
  step();
  state_ += initstate;
  step();
}

uint64_t Pcg64::next_uint64() {
  step();
  const uint64_t x = uint64_t(state_ >> 64) ^ uint64_t(state_);
  const unsigned rot = unsigned(state_ >> 122);
  return (x >> rot) | (x << ((64 - rot) & 63));
}

}  // namespace sdfast
