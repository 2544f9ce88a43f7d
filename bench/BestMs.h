//===- BestMs.h - the timing loop of the kernel benchmarks ------*- C++ -*-===//
#ifndef QCC_BENCH_BESTMS_H
#define QCC_BENCH_BESTMS_H

#include <algorithm>
#include <chrono>

/// The fastest of `reps` runs of f, in milliseconds.
template <typename F> double bestMs(int reps, F &&f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

#endif
