//===- QuantLinear.h - a linear layer on packed ggml rows --------*- C++ -*-===//
//
// The product y = x W^T (+ bias) over many tokens computed the way the
// compiled model (and ggml) computes it: each activation row quantized to the
// weight type's activation format (Q8_0 / Q8_1 / Q8_K), integer dot products
// on the blocks, the rows regrouped by eight where Repack.h has kernels for
// the type. The two steps are shared with the thin runtime's linear
// (qcc_rt_linear_activations, qcc_rt_linear_rows); QuantLinear runs them over fixed chunks of tokens on
// OpenMP threads, so its results do not depend on the number of threads.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_KERNELS_QUANTLINEAR_H
#define QCC_RUNTIME_KERNELS_QUANTLINEAR_H

#include "formats/ggml/GGMLTypes.h"
#include "runtime/kernels/Repack.h"

#include <cstdint>
#include <vector>

namespace qcc::kernels {

/// Quantizes activation rows [t0, t1) of x (rows of n floats) into `act`
/// (rows activationRowBytes(w, n) apart, row 0 at act) and, when `side` is
/// given, fills its entries for those rows (the repacked kernels read them).
void quantizeActivationRows(ggml::Type w, const float *x, int64_t t0, int64_t t1, int64_t n,
                            uint8_t *act, ActivationSide *side);

/// Output rows [r0, r0 + nr) for `tokens` activation rows:
/// y[t * ldy + r] = dot(row r, activation row t). W is the row layout and
/// `packed` its repacked copy (or null; then r0 and nr need not be multiples
/// of 8). Single-threaded; each result the same bits whichever layout runs.
void gemmRowRange(ggml::Type w, const uint8_t *W, const uint8_t *packed, int64_t r0, int64_t nr,
                  int64_t n, const void *act, const ActivationSide &side, int64_t tokens, float *y,
                  int64_t ldy);

/// A quantized weight matrix ready for products over many tokens.
class QuantLinear {
public:
  /// Whether this CPU runs integer products for `type` (a quantized ggml
  /// type, AVX2); otherwise callers compute in float.
  static bool supported(ggml::Type type);
  /// `rows` x n weights of `type` in ggml's row layout (copied; repacked
  /// where Repack.h has kernels for the type).
  QuantLinear(ggml::Type type, const void *W, int64_t rows, int64_t n);

  /// y[t * rows + r] = dot(row r, x_t quantized) (+ bias[r]) for t < T. OpenMP
  /// threads take fixed chunks of tokens.
  void apply(const float *x, int64_t T, const float *bias, float *y) const;

private:
  ggml::Type type_;
  int64_t rows_, n_;
  std::vector<uint8_t> W_, packed_;
};

} // namespace qcc::kernels

#endif
