#include "random/python_random.h"

#include <cmath>
#include <unordered_set>

#include "core/error.h"

namespace sdfast {

PythonRandom::PythonRandom(uint64_t seed) {
  // random_seed(): abs(seed) as little-endian 32-bit words; zero is the single word {0}.
  const uint32_t key[2] = {uint32_t(seed), uint32_t(seed >> 32)};
  init_by_array(key, (seed >> 32) != 0 ? 2 : 1);
}

void PythonRandom::init_genrand(uint32_t s) {
  mt_[0] = s;
  for (int i = 1; i < kN; ++i)
    mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + uint32_t(i);
  index_ = kN;
}

void PythonRandom::init_by_array(const uint32_t* key, int key_length) {
  init_genrand(19650218u);
  int i = 1, j = 0;
  for (int k = kN > key_length ? kN : key_length; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + uint32_t(j);
    ++i;
    ++j;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (j >= key_length) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - uint32_t(i);
    ++i;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;  // the most significant bit is 1: a non-zero initial state
}

void PythonRandom::twist() {
  constexpr int kM = 397;
  constexpr uint32_t kMatrixA = 0x9908b0dfu, kUpper = 0x80000000u, kLower = 0x7fffffffu;
  for (int k = 0; k < kN; ++k) {
    const uint32_t y = (mt_[k] & kUpper) | (mt_[(k + 1) % kN] & kLower);
    mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
  }
  index_ = 0;
}

uint32_t PythonRandom::next_uint32() {
  if (index_ >= kN) twist();
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint32_t PythonRandom::getrandbits(int k) {
  SDFAST_CHECK(k >= 0 && k <= 32, "PythonRandom::getrandbits: k must be in [0, 32], got ", k);
  if (k == 0) return 0;
  return next_uint32() >> (32 - k);
}

uint32_t PythonRandom::randbelow(uint32_t n) {
  SDFAST_CHECK(n >= 1, "PythonRandom::randbelow: n must be positive");
  int bits = 0;
  for (uint32_t v = n; v != 0; v >>= 1) ++bits;  // n.bit_length()
  uint32_t r = getrandbits(bits);
  while (r >= n) r = getrandbits(bits);
  return r;
}

std::vector<uint32_t> PythonRandom::sample_indices(uint32_t n, uint32_t k) {
  SDFAST_CHECK(k <= n, "PythonRandom::sample_indices: sample larger than population (", k, " > ", n,
               ")");
  std::vector<uint32_t> result(k);
  // random.sample: a list of n is cheaper than a set of k below this size.
  double setsize = 21;
  if (k > 5) setsize += std::pow(4.0, std::ceil(std::log(double(k) * 3) / std::log(4.0)));
  if (double(n) <= setsize) {
    std::vector<uint32_t> pool(n);
    for (uint32_t i = 0; i < n; ++i) pool[i] = i;
    for (uint32_t i = 0; i < k; ++i) {
      const uint32_t j = randbelow(n - i);
      result[i] = pool[j];
      pool[j] = pool[n - i - 1];  // the unselected last element fills the hole
    }
  } else {
    std::unordered_set<uint32_t> selected;
    for (uint32_t i = 0; i < k; ++i) {
      uint32_t j = randbelow(n);
      while (selected.count(j)) j = randbelow(n);
      selected.insert(j);
      result[i] = j;
    }
  }
  return result;
}

}  // namespace sdfast
