//===- QuantDot.h - dot products on ggml blocks ------------------*- C++ -*-===//
//
// The inner loop of every quantized linear layer: one row of weights in a
// ggml block format times one row of activations quantized the way llama.cpp
// quantizes them (ggml::quantizeActivations: Q8_0, Q8_1 or Q8_K by weight
// type). Within a block every product and sum is an exact integer; the float
// parts are combined once per block, in block order, by the functions of
// DotCombine.h. So every variant (the scalar reference in ref/, the SIMD ones
// in x86/) returns the same bits, and tests check that they do.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_KERNELS_QUANTDOT_H
#define QCC_RUNTIME_KERNELS_QUANTDOT_H

#include "formats/ggml/GGMLTypes.h"

#include <cstdint>

namespace qcc::kernels {

/// The scalar reference, for every quantized type (not F32 / F16 / BF16).
/// n: weights in the row, a multiple of the type's block.
float dotRef(ggml::Type w, const void *wRow, const void *aRow, int64_t n);

namespace avx2 {
/// Whether this build has an AVX2 variant for `w` (whatever the CPU): every
/// quantized type.
bool has(ggml::Type w);
/// The AVX2 variants; only where has(w) and cpuHasAVX2().
float dot(ggml::Type w, const void *wRow, const void *aRow, int64_t n);
void gemv(ggml::Type w, const void *W, int64_t rows, int64_t n, const void *act, float *y);
void gemm(ggml::Type w, const void *W, int64_t rows, int64_t n, const void *act, int64_t tokens,
          float *y, int64_t ldy);
} // namespace avx2

/// Whether this CPU has AVX2, FMA and F16C (checked once).
bool cpuHasAVX2();
/// Whether it has AVX-512 F / VL / VNNI (vpdpbusd on 256-bit registers).
bool cpuHasVNNI();
/// Whether it has AMX-TILE and AMX-INT8 and Linux granted this process the
/// tile state (requested here, once).
bool cpuHasAMX();

/// The fastest variant on this CPU.
float dot(ggml::Type w, const void *wRow, const void *aRow, int64_t n);

/// y[r] = dot(row r of W, act) for every r < rows, the rows of W
/// rowBytes(w, n) apart; the same bits as dot() row by row. Several rows run
/// at once (independent sums in flight); with `parallel`, OpenMP threads take
/// fixed 64-row ranges.
void gemv(ggml::Type w, const void *W, int64_t rows, int64_t n, const void *act, float *y,
          bool parallel = false);

/// y[t * ldy + r] = dot(row r of W, activation row t) for r < rows and
/// t < tokens, the activation rows activationRowBytes(w, n) apart: each
/// result the same bits as dot(). Tiles of rows x tokens unpack each weight
/// block once for several tokens (prompt processing). Single-threaded.
void gemm(ggml::Type w, const void *W, int64_t rows, int64_t n, const void *act, int64_t tokens,
          float *y, int64_t ldy);

} // namespace qcc::kernels

#endif
