#include "core/buffer_pool.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <list>
#include <mutex>

namespace sdfast::buffer_pool {

namespace {

// A cached block serves a request of at least 4/5 of its size: activation sizes repeat exactly in
// a denoising loop, and a block much larger than the request would hold memory nobody uses.
bool fits(size_t block, size_t want) { return block >= want && block - want <= block / 5; }

size_t rounded(size_t bytes) { return (bytes + 63) / 64 * 64; }

struct Block {
  void* p;
  size_t bytes;  // allocated size (rounded)
};

// The process's one cache of free blocks. It is process-wide on purpose, as malloc's free lists
// are: tensors outlive the objects that create them, so no owner could hold it.
class Pool {
 public:
  void* allocate(size_t want, size_t* capacity) {
    *capacity = want;
    std::list<Block> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto best = free_.end();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (fits(it->bytes, want) &&
            (best == free_.end() || it->bytes < best->bytes))
          best = it;
      if (best != free_.end()) {
        void* p = best->p;
        *capacity = best->bytes;
        cached_ -= best->bytes;
        in_use_ += best->bytes;
        high_water_ = std::max(high_water_, in_use_);
        free_.erase(best);
        return p;
      }
      // No block fits: new memory. Cached blocks are given back (least recently released first)
      // as far as needed for the memory held, in use + cached, to stay within the most that has
      // ever been in use at once: the pool then never raises the process's peak above what plain
      // malloc would reach (give or take the slack of reused blocks).
      in_use_ += want;
      high_water_ = std::max(high_water_, in_use_);
      while (in_use_ + cached_ > high_water_ && !free_.empty()) {
        cached_ -= free_.front().bytes;
        evicted.splice(evicted.end(), free_, free_.begin());
      }
    }
    for (const Block& b : evicted) std::free(b.p);
    void* p = std::aligned_alloc(64, want);
    if (!p) {  // memory may be held here: give it back and try once more
      trim();
      p = std::aligned_alloc(64, want);
    }
    if (!p) {
      std::lock_guard<std::mutex> lock(mutex_);
      in_use_ -= want;
    }
    return p;
  }

  void release(void* p, size_t bytes) noexcept {
    std::list<Block> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      in_use_ -= bytes;
      try {
        free_.push_back({p, bytes});
      } catch (...) {
        std::free(p);
        return;
      }
      cached_ += bytes;
      while (cached_ > kMaxCachedBytes && !free_.empty()) {
        cached_ -= free_.front().bytes;
        evicted.splice(evicted.end(), free_, free_.begin());
      }
    }
    for (const Block& b : evicted) std::free(b.p);
  }

  void trim() noexcept {
    std::list<Block> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      all.swap(free_);
      cached_ = 0;
    }
    for (const Block& b : all) std::free(b.p);
  }

  size_t cached() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  std::mutex mutex_;
  std::list<Block> free_;  // least recently released first
  size_t cached_ = 0;      // bytes in free_
  size_t in_use_ = 0;      // bytes of pooled-size blocks handed out and not yet released
  size_t high_water_ = 0;  // the most in_use_ has been
};

// Never destroyed: tensors held by other static objects may be released after exit() begins.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void* allocate(size_t bytes, size_t* capacity) {
  const size_t want = rounded(bytes == 0 ? 1 : bytes);
  *capacity = want;
  if (!kEnabled || want < kMinPooledBytes) return std::aligned_alloc(64, want);
  return pool().allocate(want, capacity);
}

void release(void* p, size_t capacity) noexcept {
  if (!p) return;
  if (!kEnabled || capacity < kMinPooledBytes) {
    std::free(p);
    return;
  }
  pool().release(p, capacity);
}

void trim() noexcept { pool().trim(); }

size_t cached_bytes() noexcept { return pool().cached(); }

}  // namespace sdfast::buffer_pool
