//===- DotCombine.h - the float part of a block's dot product ----*- C++ -*-===//
//
// One definition of how a block's exact integer sums become the float result,
// shared by every variant of the dot product (each file including it is
// compiled with -ffp-contract=off, so no variant fuses these into FMAs).
//
//   Q4_0, Q5_0, Q8_0, IQ4_NL x Q8_0:  sum += (dw * da) * isum
//   Q4_1, Q5_1 x Q8_1:                sum += (dw * da) * isum + m * s
//   Q2_K, Q4_K, Q5_K x Q8_K:          sum += da * (dw * isum - dmin * msum)
//   Q3_K, Q6_K x Q8_K:                sum += da * (dw * isum)
//
// isum: sum over sub-blocks of scale * sum(code * a); msum: sum over
// sub-blocks of min * sum(a); s: Q8_1's stored d * sum(a).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_KERNELS_DOTCOMBINE_H
#define QCC_RUNTIME_KERNELS_DOTCOMBINE_H

#include <cstdint>

namespace qcc::kernels {

inline float combineQ8(float sum, float dw, float da, int32_t isum) {
  return sum + (dw * da) * float(isum);
}
inline float combineQ8_1(float sum, float dw, float da, int32_t isum, float m, float s) {
  return sum + ((dw * da) * float(isum) + m * s);
}
inline float combineK(float sum, float da, float dw, int32_t isum, float dmin, int32_t msum) {
  return sum + da * (dw * float(isum) - dmin * float(msum));
}
inline float combineK(float sum, float da, float dw, int32_t isum) {
  return sum + da * (dw * float(isum));
}

} // namespace qcc::kernels

#endif
