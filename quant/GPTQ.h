//===- GPTQ.h - GPTQ: error-compensating column-wise rounding --*- C++ -*-===//
//
// GPTQ (Frantar et al., 2022) as an MLIR-free library. The weights W [rows x n]
// of one linear layer are rounded one input column at a time; the rounding
// error of each column is spread over the columns not yet rounded through the
// Cholesky factor of the inverse Hessian H = X^T X of the layer's inputs, so
// the layer's *output* error on the calibration inputs stays small.
//
// - Hessian: dead input channels (zero diagonal) get a unit diagonal and zero
//   weights; dampening starts at `dampFrac` of the mean diagonal and is raised
//   tenfold until the factorisations succeed (singular or duplicated channels
//   never abort a run).
// - Lazy block updates: columns are processed in blocks of `blockSize`; the
//   error of a block reaches the columns after it in one matrix product.
// - act-order (desc_act): columns in order of decreasing Hessian diagonal.
// - Groups: the grid is supplied by a ColumnQuantizer. Consecutive columns of
//   a row form groups sharing parameters (a ggml block or super-block, or a
//   GPTQ group); a group's parameters are fitted on the row's
//   error-compensated values when the group's first column is reached (in
//   processing order), or, with `staticGroups`, on the original weights before
//   anything is rounded.
// All arithmetic is float64 (OpenBLAS / LAPACK), so results match a float64
// reference implementation code for code.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_GPTQ_H
#define QCC_QUANT_GPTQ_H

#include <cstdint>
#include <vector>

namespace qcc::quant {

/// The grid GPTQ rounds onto, one row at a time. Implementations keep their
/// per-row state separately so that rows may run on different threads.
class ColumnQuantizer {
public:
  virtual ~ColumnQuantizer() = default;
  /// Columns per group (a ggml block, a GPTQ group, or the whole row).
  virtual int64_t groupSize() const = 0;
  /// Fits group `g` of row `r` from its current `groupSize()` values `x`,
  /// with per-column error weights `imp` (may be null).
  virtual void fitGroup(int64_t r, int64_t g, const float *x, const float *imp) = 0;
  /// Rounds `v` (row r, column c) onto the grid of its group, records the
  /// code and returns the value the code stands for.
  virtual float round(int64_t r, int64_t c, float v) = 0;
};

struct GPTQOptions {
  double dampFrac = 0.01;    ///< dampening, fraction of the mean Hessian diagonal
  int64_t blockSize = 128;   ///< columns per lazy block update
  bool actOrder = false;     ///< process columns by decreasing Hessian diagonal
  bool staticGroups = false; ///< fit every group up front on the original weights
};

struct GPTQStats {
  double damp = 0;         ///< the dampening finally used (absolute)
  int escalations = 0;     ///< times the dampening was raised tenfold
  int64_t deadColumns = 0; ///< input channels with a zero Hessian diagonal
  double proxyLoss = 0;    ///< sum over rounded weights of (w - q)^2 / [H^-1]_ii / 2
};

/// Rounds W [rows x n] (row-major) in place onto `q`'s grid against the
/// Hessian H [n x n] (row-major, symmetric positive semi-definite). `imp`
/// (n values, may be null) is passed to the group fits; qcc passes the
/// Hessian diagonal (each input channel's activation energy).
GPTQStats gptq(float *W, int64_t rows, int64_t n, const double *H, const float *imp,
               ColumnQuantizer &q, const GPTQOptions &opts);

/// In-place Cholesky-based helpers (LAPACK); exposed for tests.
/// Factors the symmetric positive definite A [n x n] (row-major) as A = U^T U
/// with U upper triangular, written into A (lower part zeroed). False if A is
/// not positive definite.
bool choleskyUpper(double *A, int64_t n);

} // namespace qcc::quant

#endif
