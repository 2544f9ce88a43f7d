//===- DotCombine.h - the float part of a quantized dot product --*- C++ -*-===//
//
// One definition of how the exact integer products of a row become a float,
// shared by every variant (the scalar reference and the SIMD kernels; each
// file including it is compiled with -ffp-contract=off, and every fused
// multiply-add below is an explicit fmaf).
//
// Lanes. Within a block, element e (counting from the block's start) belongs
// to lane (e % 32) / 4 of 8. A block's integer lane j is
//     L[j] = sum over its elements e in lane j of  scale[s(e)] * code[e] * a[e]
// (code: the signed integer view of ggml::decodeBlock; scale: the sub-block
// scale, 1 for the 32-weight formats; a: the activation code). These are
// exactly what vpmaddubsw / vpmaddwd produce for 32 consecutive elements, and
// every |L[j]| < 2^24, so converting them to float is exact.
//
// Per block, with dw / da the weight / activation scales:
//   Q4_0, Q5_0, Q8_0, IQ4_NL x Q8_0:  F[j] = fmaf(dw * da, L[j], F[j])
//   Q4_1, Q5_1 x Q8_1:                F[j] = fmaf(dw * da, L[j], F[j]);
//                                     c = c + m * s
//   Q2_K .. Q6_K x Q8_K:              F[j] = fmaf(da * dw, L[j], F[j]);
//                                     c = fmaf(da * dmin, msum, c)  (mins)
// msum: sum over sub-blocks of min * sum(a); s: Q8_1's stored d * sum(a).
// The result is  lanes(F) + c  (Q8_1) or  lanes(F) - c  (k-quants), where
//   lanes(F) = ((F0 + F4) + (F2 + F6)) + ((F1 + F5) + (F3 + F7)),
// the order of an AVX 8 -> 4 -> 2 -> 1 reduction.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_KERNELS_DOTCOMBINE_H
#define QCC_RUNTIME_KERNELS_DOTCOMBINE_H

#include <cmath>
#include <cstdint>

namespace qcc::kernels {

/// Which activation format and float step a weight type uses.
enum class Combine { Q8_0, Q8_1, K, KMin };

inline float sumLanes(const float F[8]) {
  return ((F[0] + F[4]) + (F[2] + F[6])) + ((F[1] + F[5]) + (F[3] + F[7]));
}

} // namespace qcc::kernels

#endif
