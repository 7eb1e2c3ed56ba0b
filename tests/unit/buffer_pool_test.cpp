#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "core/buffer_pool.h"
#include "core/tensor.h"

namespace sdfast {

TEST(BufferPool, SmallBlocksAreNotCached) {
  buffer_pool::trim();
  size_t cap = 0;
  void* p = buffer_pool::allocate(1000, &cap);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  EXPECT_GE(cap, 1000u);
  buffer_pool::release(p, cap);
  EXPECT_EQ(buffer_pool::cached_bytes(), 0u);
}

TEST(BufferPool, LargeBlockIsReusedForTheSameOrASmallerSize) {
  if (!buffer_pool::kEnabled) GTEST_SKIP() << "no pooling under AddressSanitizer";
  buffer_pool::trim();
  const size_t n = size_t(8) << 20;
  size_t cap = 0;
  void* p = buffer_pool::allocate(n, &cap);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, n);
  buffer_pool::release(p, cap);
  EXPECT_EQ(buffer_pool::cached_bytes(), cap);

  size_t cap2 = 0;
  void* q = buffer_pool::allocate(n - 4096, &cap2);  // within the slack: the same block
  EXPECT_EQ(q, p);
  EXPECT_EQ(cap2, cap);
  EXPECT_EQ(buffer_pool::cached_bytes(), 0u);
  buffer_pool::release(q, cap2);

  size_t cap3 = 0;
  void* r = buffer_pool::allocate(n / 4, &cap3);  // far smaller: a block of its own
  EXPECT_NE(r, p);
  EXPECT_LT(cap3, cap);
  buffer_pool::release(r, cap3);
  buffer_pool::trim();
  EXPECT_EQ(buffer_pool::cached_bytes(), 0u);
}

TEST(BufferPool, CacheIsBounded) {
  if (!buffer_pool::kEnabled) GTEST_SKIP() << "no pooling under AddressSanitizer";
  buffer_pool::trim();
  const size_t n = size_t(64) << 20;
  std::vector<std::pair<void*, size_t>> blocks;
  for (int i = 0; i < 16; ++i) {  // 1 GiB released at once
    size_t cap = 0;
    void* p = buffer_pool::allocate(n + size_t(i) * 4096, &cap);
    ASSERT_NE(p, nullptr);
    blocks.push_back({p, cap});
  }
  for (auto [p, cap] : blocks) buffer_pool::release(p, cap);
  EXPECT_LE(buffer_pool::cached_bytes(), buffer_pool::kMaxCachedBytes);
  EXPECT_GT(buffer_pool::cached_bytes(), 0u);
  buffer_pool::trim();
}

TEST(BufferPool, TensorsRecycleTheirStorage) {
  if (!buffer_pool::kEnabled) GTEST_SKIP() << "no pooling under AddressSanitizer";
  buffer_pool::trim();
  const void* first = nullptr;
  {
    Tensor t = Tensor::empty({4, 1024, 1024});  // 16 MiB
    first = t.raw_data();
  }
  EXPECT_GE(buffer_pool::cached_bytes(), size_t(16) << 20);
  Tensor again = Tensor::empty({4, 1024, 1024});
  EXPECT_EQ(again.raw_data(), first);
}

}  // namespace sdfast
