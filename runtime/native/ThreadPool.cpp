//===- ThreadPool.cpp - the compiled models' worker threads ---------------===//
#include "runtime/native/ThreadPool.h"

#include <immintrin.h>

namespace qcc {

namespace {
/// Spins before sleeping: about 0.2 ms, longer than the gap between two
/// layers' jobs while a model runs, far shorter than the gaps between runs.
constexpr int kSpins = 1 << 20;
} // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::run(Fn fn, void *ctx) {
  if (workers_.empty()) {
    fn(ctx, 0, 1);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(int(workers_.size()), std::memory_order_relaxed);
  // Publish, then wake sleepers. A worker going to sleep counts itself
  // before it re-reads the generation (both sequentially consistent), so
  // either it sees this job or this sees it and notifies under the lock.
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> l(mu_); }
    cv_.notify_all();
  }
  fn(ctx, 0, size());
  while (pending_.load(std::memory_order_acquire) != 0)
    _mm_pause();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g;
    int spins = 0;
    while ((g = generation_.load(std::memory_order_acquire)) == seen) {
      if (++spins < kSpins) {
        _mm_pause();
        continue;
      }
      std::unique_lock<std::mutex> l(mu_);
      sleepers_.fetch_add(1);
      cv_.wait(l, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
      spins = 0;
    }
    seen = g;
    if (stop_.load())
      return;
    fn_(ctx_, index, size());
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

} // namespace qcc
