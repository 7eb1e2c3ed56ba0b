// Python's random.Random: the Mersenne Twister MT19937 with CPython's seeding, and the integer
// draws random.choice() is built on.
//
// References (CPython): Modules/_randommodule.c (init_genrand, init_by_array, genrand_uint32,
// random_seed: a non-negative int seed is split into 32-bit words, least significant first, and fed
// to init_by_array; getrandbits for k <= 32 keeps the top k bits of one output) and Lib/random.py
// (_randbelow_with_getrandbits: draw bit_length(n) bits until the value is below n; choice:
// seq[_randbelow(len(seq))]; sample: a partial Fisher-Yates over a pool when the population is
// small, else redraws into a set). Stable since Python 3.2.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sdfast {

class PythonRandom {
 public:
  // random.Random(seed) for an int seed 0 <= seed < 2^64.
  explicit PythonRandom(uint64_t seed);

  // One raw MT19937 output (genrand_uint32).
  uint32_t next_uint32();
  // random.getrandbits(k) for 0 <= k <= 32.
  uint32_t getrandbits(int k);
  // random._randbelow(n) for 1 <= n <= 2^32 - 1: uniform in [0, n).
  uint32_t randbelow(uint32_t n);
  // The index random.choice(seq) picks from a sequence of `size` >= 1 elements.
  uint32_t choice_index(uint32_t size) { return randbelow(size); }
  // The indices random.sample(range(n), k) returns, for 0 <= k <= n < 2^32.
  std::vector<uint32_t> sample_indices(uint32_t n, uint32_t k);

 private:
  static constexpr int kN = 624;
  void init_genrand(uint32_t s);
  void init_by_array(const uint32_t* key, int key_length);
  void twist();

  std::array<uint32_t, kN> mt_{};
  int index_ = kN;
};

}  // namespace sdfast
