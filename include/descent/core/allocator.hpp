#pragma once
// A caching allocator for tensor buffers. Memory touched for the first time is about ten
// times slower than reused memory on these machines, so hot loops (training steps, HVPs)
// must get back the buffers they freed on the previous step instead of fresh pages.
#include <cstddef>
#include <cstdint>

namespace descent {

struct AllocatorStats {
  size_t bytes_in_use = 0;      // handed out and not yet returned
  size_t bytes_cached = 0;      // returned and kept for reuse
  size_t peak_bytes_in_use = 0;
  uint64_t allocations = 0;     // requests served
  uint64_t cache_hits = 0;      // requests served from the cache
};

// 64-byte aligned buffer of at least `bytes`; never returns null (throws std::bad_alloc).
void* buffer_allocate(size_t bytes);
void buffer_release(void* p, size_t bytes);

AllocatorStats allocator_stats();
void allocator_reset_peak();
// Frees every cached buffer back to the system.
void allocator_empty_cache();
// Upper bound on cached bytes (default 4 GiB); buffers beyond it are freed at once.
void allocator_set_cache_limit(size_t bytes);

}  // namespace descent
