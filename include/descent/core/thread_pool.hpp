#pragma once
// A fixed pool of worker threads. parallel_for splits [0, n) into contiguous chunks whose
// boundaries depend only on n and the chunk count, so results that are combined per chunk
// in chunk order are deterministic for a given thread count.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace descent {

class ThreadPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()); }

  // Runs fn(i) for every i in [0, n), blocking until all finish. The first exception
  // thrown by any fn is rethrown here after every task has stopped.
  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

  template <class F>
  auto submit(F&& f) -> std::future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> fut = task->get_future();
    enqueue([task] { (*task)(); });
    return fut;
  }

 private:
  void enqueue(std::function<void()> job);
  std::vector<std::thread> workers_;
  std::queue<std::function<void()>> jobs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// Process-wide pool sized by DESCENT_NUM_THREADS (default: hardware concurrency).
ThreadPool& global_thread_pool();

// Threads used by BLAS (OpenBLAS) and by the convolutions (oneDNN, on OpenMP: for the calling
// thread); set from DESCENT_NUM_THREADS or OPENBLAS_NUM_THREADS.
void set_blas_threads(int n);
int blas_threads();

}  // namespace descent
