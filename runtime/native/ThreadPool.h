//===- ThreadPool.h - the compiled models' worker threads -------*- C++ -*-===//
//
// A fixed set of threads started once; run(fn) has every thread (the caller
// is thread 0) execute fn(ctx, thread, threads) and returns when all are done.
// Callers split their work statically by the thread index (fixed ranges of
// output rows or heads), so results never depend on timing. Between jobs the
// workers spin for a short while (a generation step issues a job every few
// microseconds), then sleep on a condition variable. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_NATIVE_THREADPOOL_H
#define QCC_RUNTIME_NATIVE_THREADPOOL_H

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace qcc {

class ThreadPool {
public:
  using Fn = void (*)(void *ctx, int thread, int threads);
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return int(workers_.size()) + 1; }
  void run(Fn fn, void *ctx);

  /// Runs `f(begin, end, thread)` over [0, n) split into size() contiguous
  /// ranges (rounded to multiples of `align`).
  template <typename F> void parallelFor(int64_t n, int64_t align, F &&f) {
    struct Job {
      std::remove_reference_t<F> *f;
      int64_t n, align;
    } job{&f, n, align};
    if (size() == 1 || n <= align) {
      f(int64_t(0), n, 0);
      return;
    }
    run(
        [](void *ctx, int t, int T) {
          auto *j = static_cast<Job *>(ctx);
          const int64_t units = (j->n + j->align - 1) / j->align;
          const int64_t b = units * t / T * j->align, e = std::min(j->n, units * (t + 1) / T * j->align);
          if (b < e)
            (*j->f)(b, e, t);
        },
        &job);
  }

private:
  void worker(int index);
  std::vector<std::thread> workers_;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  Fn fn_ = nullptr;
  void *ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
};

} // namespace qcc

#endif
