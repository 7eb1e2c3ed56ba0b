// Recycling of large tensor buffers.
//
// A denoising loop allocates the same activation sizes at every step, and a VAE decode at 512x512
// allocates tensors of 64-256 MiB. The C library hands blocks that large to mmap/munmap, so every
// allocation page-faults its memory in again and the kernel zeroes it: measured at about a fifth
// of an SD VAE decode. Large blocks are kept for reuse instead, up to a bound, so the memory the
// process holds stays close to what it uses.
#pragma once

#include <cstddef>

namespace sdfast::buffer_pool {

// Under AddressSanitizer every block goes back to malloc at once, so that a use after release is
// still caught.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kEnabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kEnabled = false;
#else
inline constexpr bool kEnabled = true;
#endif
#else
inline constexpr bool kEnabled = true;
#endif

// Blocks of at least this many bytes are recycled; smaller ones go straight to malloc.
inline constexpr size_t kMinPooledBytes = size_t(1) << 20;
// At most this much is kept unused (least recently released blocks go first), and never more
// than keeps the memory held, in use + cached, within the most ever in use at once: the pool does
// not raise the peak. (SD VAE decode at 512x512 in bf16: 3.2 s instead of 4.1 s without the pool,
// peak RSS 1.0 GB either way; TAESD decode 0.27 s instead of 0.39 s.)
inline constexpr size_t kMaxCachedBytes = size_t(512) << 20;

// 64-byte aligned memory of at least `bytes` bytes (uninitialised); nullptr when out of memory.
// `*capacity` receives the block's size, which release() takes back. Thread-safe.
void* allocate(size_t bytes, size_t* capacity);
// Returns a block from allocate() with the capacity it reported.
void release(void* p, size_t capacity) noexcept;
// Frees every cached block (memory goes back to the system).
void trim() noexcept;
// Bytes held in the cache, not in use.
size_t cached_bytes() noexcept;

}  // namespace sdfast::buffer_pool
