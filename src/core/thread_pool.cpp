#include "descent/core/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <string>

#include <cblas.h>
#include <omp.h>

namespace descent {

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    workers_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
          if (stop_ && jobs_.empty()) return;
          job = std::move(jobs_.front());
          jobs_.pop();
        }
        job();
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push(std::move(job));
  }
  cv_.notify_one();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  if (size() <= 1 || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  const unsigned tasks = static_cast<unsigned>(std::min<int64_t>(n, size()));
  std::vector<std::future<void>> done;
  done.reserve(tasks);
  for (unsigned t = 0; t < tasks; ++t) {
    done.push_back(submit([&] {
      for (int64_t i; (i = next.fetch_add(1)) < n;) {
        try {
          fn(i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (!error) error = std::current_exception();
          next.store(n);
        }
      }
    }));
  }
  for (auto& f : done) f.wait();
  if (error) std::rethrow_exception(error);
}

namespace {
unsigned env_threads() {
  for (const char* name : {"DESCENT_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n > 0) return static_cast<unsigned>(n);
    }
  }
  return 0;
}
}  // namespace

ThreadPool& global_thread_pool() {
  static ThreadPool* pool = new ThreadPool(env_threads());
  return *pool;
}

void set_blas_threads(int n) {
  openblas_set_num_threads(n);
  // oneDNN's convolutions (core/conv.hpp) run on OpenMP threads in Debian's build.
  omp_set_num_threads(std::max(n, 1));
}
int blas_threads() { return openblas_get_num_threads(); }

}  // namespace descent
