//===- RTN.h - generic round-to-nearest quantization -----------*- C++ -*-===//
//
// Any bit width 2..8, symmetric or asymmetric (integer zero point, as GPTQ and
// AWQ checkpoints store it), one group per `group` weights along the row or
// one per row (group = 0). The scale (and zero) of each group come from the
// same weighted least-squares search as the ggml formats, not from max-abs.
//
// Packed layout (the single definition, used by the packing pass, the
// executor and the tests): row after row, group after group:
//   float scale, float zero (0 when symmetric), `group` codes of one byte
// with weight = scale * (code - zero), codes in [0, 2^bits - 1] (symmetric
// codes are stored offset by 2^(bits-1) and zero = 2^(bits-1)).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_RTN_H
#define QCC_QUANT_RTN_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qcc::rtn {

struct Params {
  unsigned bits = 4;
  int64_t group = 128; ///< 0: one group per row
  bool symmetric = false;
  /// The GPU checkpoint grids (GPTQ, AWQ, compressed-tensors) store fp16
  /// scales: round each fitted scale to fp16 and the codes with it.
  bool fp16Scale = false;
  /// Smallest zero point (GPTQ's v1 files store zero - 1, so 1 there).
  int zeroMin = 0;
  int64_t groupSize(int64_t n) const { return group > 0 ? group : n; }
};

/// Bytes of one packed row of `n` weights (n % group == 0).
size_t rowBytes(const Params &p, int64_t n);
/// `imp` (n values, may be null) weights each column's squared error in the
/// search; `minmax` uses the plain max-abs / min-max grid instead of the search.
void quantizeRows(const Params &p, const float *x, uint8_t *out, int64_t rows, int64_t n,
                  const float *imp = nullptr, bool minmax = false);
void dequantizeRow(const Params &p, const uint8_t *in, float *y, int64_t n);
/// The plain max-abs / min-max rounding, for comparison in tests.
inline void quantizeRowsMaxAbs(const Params &p, const float *x, uint8_t *out, int64_t rows,
                               int64_t n) {
  quantizeRows(p, x, out, rows, n, nullptr, /*minmax=*/true);
}
/// Scale, zero and codes (in [0, 2^bits - 1]; value = s * (code - z)) of one
/// group of `g` weights.
/// With `minmax`, `clip` < 1 shrinks the range first (max-abs, or min and max,
/// times clip): AWQ's clipping candidates.
void fitGroup(const Params &p, const float *x, const float *imp, int64_t g, bool minmax, float &s,
              float &z, int *codes, float clip = 1.0f);
/// Writes one packed group.
void writeGroupBytes(uint8_t *out, float scale, float zero, const int *codes, int64_t g);
/// Reads one packed group: its scale and zero, and a pointer to its `g` codes.
const uint8_t *readGroupBytes(const uint8_t *in, float &scale, float &zero);

} // namespace qcc::rtn

#endif
