//===- QuantDot.cpp - choosing a dot-product variant ----------------------===//
#include "runtime/kernels/QuantDot.h"

namespace qcc::kernels {

bool cpuHasAVX2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return yes;
}

float dot(ggml::Type w, const void *wRow, const void *aRow, int64_t n) {
  if (cpuHasAVX2() && avx2::has(w))
    return avx2::dot(w, wRow, aRow, n);
  return dotRef(w, wRow, aRow, n);
}

} // namespace qcc::kernels
