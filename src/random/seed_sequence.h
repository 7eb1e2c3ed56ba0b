// numpy's SeedSequence: turns an integer seed into well-mixed state words.
//
// Reference: numpy/random/bit_generator.pyx (SeedSequence.mix_entropy, generate_state,
// _int_to_uint32_array), after M. E. O'Neill's seed_seq alternative. Only the default
// configuration is implemented: pool_size 4, no spawn_key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sdfast {

class SeedSequence {
 public:
  static constexpr size_t kPoolSize = 4;

  // SeedSequence(seed) for a non-negative integer below 2^64.
  explicit SeedSequence(uint64_t entropy);
  // SeedSequence(n) for an arbitrary non-negative integer n given as its 32-bit words, least
  // significant first, as numpy splits it (n == 0 is the single word {0}).
  explicit SeedSequence(const std::vector<uint32_t>& entropy_words);

  // generate_state(n_words, np.uint32).
  std::vector<uint32_t> generate_state32(size_t n_words) const;
  // generate_state(n_words, np.uint64): pairs of 32-bit words, little-endian.
  std::vector<uint64_t> generate_state64(size_t n_words) const;

  const std::array<uint32_t, kPoolSize>& pool() const { return pool_; }

 private:
  std::array<uint32_t, kPoolSize> pool_{};
};

}  // namespace sdfast
