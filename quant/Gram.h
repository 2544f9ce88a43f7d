//===- Gram.h - X^T X of calibration activations ------------------*- C++ -*-===//
//
// The statistic GPTQ and AWQ's error measure need from a layer's inputs: the
// Gram matrix H = X^T X of the activations X [tokens x n] that reach it. It
// is the largest arithmetic of calibration after the forward pass itself
// (tokens * n^2 / 2 multiply-adds), so it runs on every thread, yet its bits
// must not depend on the thread count: the tokens are cut into fixed chunks,
// each chunk is one single-threaded BLAS ssyrk, and the partial products are
// added in chunk order.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_GRAM_H
#define QCC_QUANT_GRAM_H

#include <cstdint>

namespace qcc::quant {

/// Tokens per ssyrk call. Part of the result's definition: changing it
/// changes the rounding of H (and so every calibrated file).
constexpr int64_t kGramChunk = 2048;

/// H [n x n] (full, symmetric) = X^T X for row-major X [T x n].
void gram(const float *X, int64_t T, int64_t n, float *H);

} // namespace qcc::quant

#endif
