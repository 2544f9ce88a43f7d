//===- AWQ.h - activation-aware weight scaling -------------------*- C++ -*-===//
//
// AWQ (Lin et al., 2023) as an MLIR-free library. Input channels that carry
// large activations matter more, so before rounding, every weight column j of
// the linear layers reading one input is multiplied by s_j = mean|x_j|^alpha
// (normalised so that max(s) * min(s) = 1) and the input divided by s_j: the
// float model is unchanged, but the important channels now get finer steps.
// alpha is chosen on a grid to minimise the layers' output error on the
// calibration inputs, measured exactly through their Gram matrix H = X^T X:
// error = sum over rows of (W~ - W) H (W~ - W)^T, with W~ the rounded weights
// brought back to the unscaled input.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_AWQ_H
#define QCC_QUANT_AWQ_H

#include "quant/RTN.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace qcc::quant {

/// Rounds W [rows x n] (columns already scaled) the way the layer will be
/// stored, with per-column error weights `imp`, writing the rounded values.
using RoundFn =
    std::function<void(const float *W, int64_t rows, int64_t n, const float *imp, float *out)>;

struct AWQTarget {
  const float *W; ///< [rows x n], unscaled
  int64_t rows;
  RoundFn round;
};

struct AWQResult {
  double alpha = 0;
  std::vector<float> scale;     ///< per input channel (all 1 when alpha = 0 wins)
  double error = 0, error0 = 0; ///< output error with the chosen scales / without
};

/// sum_r (A_r - B_r) H (A_r - B_r)^T for A, B [rows x n], H [n x n] (float).
double outputError(const float *A, const float *B, int64_t rows, int64_t n, const float *H);

/// Searches alpha in {0, 1/grid, ..., (grid-1)/grid} for the layers `targets`
/// sharing one input of n channels with mean |x| `meanAbs` and Gram matrix `H`.
AWQResult searchScales(const std::vector<AWQTarget> &targets, int64_t n, const float *meanAbs,
                       const float *H, int grid = 20);

/// AWQ's second step, a per-group clipping search, with its error measured
/// exactly: for every group of every row of W [rows x n] (columns already
/// scaled), the candidates are the importance-weighted fit (`imp`) and the
/// min-max / max-abs fits of the range shrunk by c = 1, 0.975, ..., 0.525; the
/// one with the lowest d^T H_gg d wins, d the group's rounding error and H_gg
/// the group's diagonal block of the inputs' Gram matrix H [n x n]. Writes
/// the packed rows (rtn::rowBytes(p, n) bytes each). The result does not
/// depend on the number of threads.
void clipSearch(const rtn::Params &p, const float *W, int64_t rows, int64_t n, const float *imp,
                const float *H, uint8_t *out);

} // namespace qcc::quant

#endif
