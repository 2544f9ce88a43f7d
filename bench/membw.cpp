//===- membw.cpp - this machine's memory read bandwidth --------------------===//
//
//   qcc-membw [MiB] [threads]
//
// Sums a buffer of MiB mebibytes (default 1024, far beyond any cache) with
// AVX2 loads on `threads` threads (default: all), five times after one
// warm-up, and prints the best rate in GB/s (1e9 bytes/s). What a
// memory-bound generation step can at most stream: bench/cpu_vs_llamacpp.sh
// reports tokens/s x weight bytes as a fraction of it.
//
//===----------------------------------------------------------------------===//
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

__attribute__((target("avx2"))) static double sumAll(const float *p, size_t n) {
  double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (size_t b = 0; b < n / 64; ++b) {
    const float *q = p + b * 64;
    __m256 a = _mm256_load_ps(q), c = _mm256_load_ps(q + 8), d = _mm256_load_ps(q + 16),
           e = _mm256_load_ps(q + 24);
    a = _mm256_add_ps(a, _mm256_load_ps(q + 32));
    c = _mm256_add_ps(c, _mm256_load_ps(q + 40));
    d = _mm256_add_ps(d, _mm256_load_ps(q + 48));
    e = _mm256_add_ps(e, _mm256_load_ps(q + 56));
    __m256 s = _mm256_add_ps(_mm256_add_ps(a, c), _mm256_add_ps(d, e));
    float v[8];
    _mm256_storeu_ps(v, s);
    total += v[0];
  }
  return total;
}

int main(int argc, char **argv) {
  const size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
  if (argc > 2)
    omp_set_num_threads(std::atoi(argv[2]));
  const size_t n = mib * (1 << 20) / sizeof(float);
  float *p = static_cast<float *>(std::aligned_alloc(64, n * sizeof(float)));
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i)
    p[i] = 1e-9f;
  double best = 0, sink = 0;
  for (int rep = -1; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    sink += sumAll(p, n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep >= 0)
      best = std::max(best, n * sizeof(float) / s / 1e9);
  }
  std::printf("%.2f\n", best);
  std::fprintf(stderr, "qcc-membw: %zu MiB, %d threads: %.2f GB/s (checksum %g)\n", mib,
               omp_get_max_threads(), best, sink);
  std::free(p);
  return 0;
}
