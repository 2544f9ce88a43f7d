//===- QuantDot.cpp - choosing a dot-product variant ----------------------===//
#include "runtime/kernels/QuantDot.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace qcc::kernels {

bool cpuHasAVX2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return yes;
}

bool cpuHasVNNI() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
  }();
  return yes;
}

bool cpuHasAMX() {
  static const bool yes = [] {
    unsigned a, b, c, d;
    // CPUID.(7, 0):EDX bit 24 AMX-TILE, bit 25 AMX-INT8.
    if (!cpuHasVNNI() || !__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25)))
      return false;
    // Linux grants the tile data state to a process only on request
    // (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); refused, AMX is not there.
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  }();
  return yes;
}

float dot(ggml::Type w, const void *wRow, const void *aRow, int64_t n) {
  if (cpuHasAVX2() && avx2::has(w))
    return avx2::dot(w, wRow, aRow, n);
  return dotRef(w, wRow, aRow, n);
}

void gemv(ggml::Type w, const void *W, int64_t rows, int64_t n, const void *act, float *y,
          bool parallel) {
  const bool simd = cpuHasAVX2() && avx2::has(w);
  const size_t rb = ggml::rowBytes(w, n);
  constexpr int64_t kRows = 64;
  const int64_t chunks = (rows + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (parallel && chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t r0 = c * kRows, nr = std::min(rows, r0 + kRows) - r0;
    const uint8_t *Wc = static_cast<const uint8_t *>(W) + r0 * rb;
    if (simd)
      avx2::gemv(w, Wc, nr, n, act, y + r0);
    else
      for (int64_t r = 0; r < nr; ++r)
        y[r0 + r] = dotRef(w, Wc + r * rb, act, n);
  }
}

void gemm(ggml::Type w, const void *W, int64_t rows, int64_t n, const void *act, int64_t tokens,
          float *y, int64_t ldy) {
  if (cpuHasAVX2() && avx2::has(w))
    return avx2::gemm(w, W, rows, n, act, tokens, y, ldy);
  const size_t rb = ggml::rowBytes(w, n), ab = ggml::activationRowBytes(w, n);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < rows; ++r)
      y[t * ldy + r] = dotRef(w, static_cast<const uint8_t *>(W) + r * rb,
                              static_cast<const uint8_t *>(act) + t * ab, n);
}

} // namespace qcc::kernels
