//===- QuantLinear.cpp - a linear layer on packed ggml rows ---------------===//
#include "runtime/kernels/QuantLinear.h"

#include "runtime/kernels/QuantDot.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

namespace qcc::kernels {

void quantizeActivationRows(ggml::Type w, const float *x, int64_t t0, int64_t t1, int64_t n,
                            uint8_t *act, ActivationSide *side) {
  const size_t ab = ggml::activationRowBytes(w, n);
  for (int64_t t = t0; t < t1; ++t)
    ggml::quantizeActivations(w, x + t * n, act + t * ab, n);
  if (side)
    side->fill(w, act, t0, t1, n);
}

void gemmRowRange(ggml::Type w, const uint8_t *W, const uint8_t *packed, int64_t r0, int64_t nr,
                  int64_t n, const void *act, const ActivationSide &side, int64_t tokens, float *y,
                  int64_t ldy) {
  if (packed)
    gemmRepacked(w, packed + repackedBytes(w, r0, n), nr, n, act, side, tokens, y + r0, ldy);
  else
    gemm(w, W + r0 * ggml::rowBytes(w, n), nr, n, act, tokens, y + r0, ldy);
}

bool QuantLinear::supported(ggml::Type type) {
  return ggml::traits(type).quantized && cpuHasAVX2() && avx2::has(type);
}

QuantLinear::QuantLinear(ggml::Type type, const void *W, int64_t rows, int64_t n)
    : type_(type), rows_(rows), n_(n) {
  const auto *b = static_cast<const uint8_t *>(W);
  if (repackable(type, rows)) {
    packed_.resize(repackedBytes(type, rows, n));
    repack(type, W, rows, n, packed_.data());
  } else {
    W_.assign(b, b + ggml::rowBytes(type, n) * rows);
  }
}

void QuantLinear::apply(const float *x, int64_t T, const float *bias, float *y) const {
  // A chunk's quantized activations stay in L2 while every row block runs
  // over them; 64 rows at a time keep a row block's weights in L1.
  constexpr int64_t kTokens = 256, kRows = 64;
  const size_t ab = ggml::activationRowBytes(type_, n_);
  const uint8_t *P = packed_.empty() ? nullptr : packed_.data();
  const int64_t chunks = (T + kTokens - 1) / kTokens;
#pragma omp parallel
  {
    std::vector<uint8_t> act(ab * kTokens);
    ActivationSide side;
    if (P)
      side.reserve(type_, kTokens, n_);
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * kTokens, nt = std::min(T, t0 + kTokens) - t0;
      quantizeActivationRows(type_, x + t0 * n_, 0, nt, n_, act.data(), P ? &side : nullptr);
      float *yc = y + t0 * rows_;
      for (int64_t r0 = 0; r0 < rows_; r0 += kRows)
        gemmRowRange(type_, W_.data(), P, r0, std::min(rows_, r0 + kRows) - r0, n_, act.data(), side,
                     nt, yc, rows_);
      if (bias)
        for (int64_t t = 0; t < nt; ++t)
          for (int64_t r = 0; r < rows_; ++r)
            yc[t * rows_ + r] += bias[r];
    }
  }
}

} // namespace qcc::kernels
