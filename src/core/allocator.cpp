#include "descent/core/allocator.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace descent {
namespace {

// Buffers are bucketed by their size rounded up to a size class, so that a freed buffer
// serves any later request of the same class (tensor sizes repeat exactly from one
// training step to the next).
size_t size_class(size_t bytes) {
  if (bytes <= 256) return 256;
  if (bytes <= (size_t{1} << 20)) return (bytes + 255) & ~size_t{255};
  return (bytes + 4095) & ~size_t{4095};
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  AllocatorStats stats;
  size_t limit = size_t{4} << 30;

  void trim_locked(size_t target) {
    for (auto& [cls, list] : free_lists) {
      while (!list.empty() && stats.bytes_cached > target) {
        std::free(list.back());
        list.pop_back();
        stats.bytes_cached -= cls;
      }
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may outlive static destructors
  return *c;
}

}  // namespace

void* buffer_allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    ++c.stats.allocations;
    c.stats.bytes_in_use += cls;
    if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
    auto it = c.free_lists.find(cls);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.bytes_cached -= cls;
      ++c.stats.cache_hits;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, cls);
  if (!p) {
    allocator_empty_cache();
    p = std::aligned_alloc(64, cls);
    if (!p) {
      std::lock_guard<std::mutex> lock(c.mu);
      c.stats.bytes_in_use -= cls;
      throw std::bad_alloc();
    }
  }
  return p;
}

void buffer_release(void* p, size_t bytes) {
  if (!p) return;
  const size_t cls = size_class(bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.bytes_in_use -= cls;
  if (c.stats.bytes_cached + cls > c.limit) {
    std::free(p);
    return;
  }
  c.free_lists[cls].push_back(p);
  c.stats.bytes_cached += cls;
}

AllocatorStats allocator_stats() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return cache().stats;
}

void allocator_reset_peak() {
  std::lock_guard<std::mutex> lock(cache().mu);
  cache().stats.peak_bytes_in_use = cache().stats.bytes_in_use;
}

void allocator_empty_cache() {
  std::lock_guard<std::mutex> lock(cache().mu);
  cache().trim_locked(0);
}

void allocator_set_cache_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(cache().mu);
  cache().limit = bytes;
  cache().trim_locked(bytes);
}

}  // namespace descent
