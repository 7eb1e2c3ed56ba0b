#include "random/seed_sequence.h"

namespace sdfast {

namespace {

constexpr uint32_t kInitA = 0x43b0d7e5;
constexpr uint32_t kMultA = 0x931e8875;
constexpr uint32_t kInitB = 0x8b51f9dd;
constexpr uint32_t kMultB = 0x58f38ded;
constexpr uint32_t kMixMultL = 0xca01f9dd;
constexpr uint32_t kMixMultR = 0x4973f715;
constexpr int kXShift = 16;  // half the bits of a uint32

// Hashes `value` with the running multiplier, which it advances.
uint32_t hashmix(uint32_t value, uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  value ^= value >> kXShift;
  return value;
}

uint32_t mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

std::vector<uint32_t> int_to_words(uint64_t n) {
  if (n == 0) return {0};
  std::vector<uint32_t> words;
  for (; n > 0; n >>= 32) words.push_back(uint32_t(n & 0xffffffffu));
  return words;
}

}  // namespace

SeedSequence::SeedSequence(uint64_t entropy) : SeedSequence(int_to_words(entropy)) {}

SeedSequence::SeedSequence(const std::vector<uint32_t>& entropy) {
  uint32_t hash_const = kInitA;
  // Entropy up to the pool size; past the end of the entropy keep hashing zeros.
  for (size_t i = 0; i < kPoolSize; ++i)
    pool_[i] = hashmix(i < entropy.size() ? entropy[i] : 0u, hash_const);
  // Mix every pool word into every other, so that late words affect early ones.
  for (size_t src = 0; src < kPoolSize; ++src)
    for (size_t dst = 0; dst < kPoolSize; ++dst)
      if (src != dst) pool_[dst] = mix(pool_[dst], hashmix(pool_[src], hash_const));
  // Entropy beyond the pool size is mixed into each pool word.
  for (size_t src = kPoolSize; src < entropy.size(); ++src)
    for (size_t dst = 0; dst < kPoolSize; ++dst)
      pool_[dst] = mix(pool_[dst], hashmix(entropy[src], hash_const));
}

std::vector<uint32_t> SeedSequence::generate_state32(size_t n_words) const {
  std::vector<uint32_t> state(n_words);
  uint32_t hash_const = kInitB;
  for (size_t i = 0; i < n_words; ++i) {
    uint32_t v = pool_[i % kPoolSize];
    v ^= hash_const;
    hash_const *= kMultB;
    v *= hash_const;
    v ^= v >> kXShift;
    state[i] = v;
  }
  return state;
}

std::vector<uint64_t> SeedSequence::generate_state64(size_t n_words) const {
  const std::vector<uint32_t> w = generate_state32(2 * n_words);
  std::vector<uint64_t> state(n_words);
  for (size_t i = 0; i < n_words; ++i) state[i] = uint64_t(w[2 * i]) | uint64_t(w[2 * i + 1]) << 32;
  return state;
}

}  // namespace sdfast
