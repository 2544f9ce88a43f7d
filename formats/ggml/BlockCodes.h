//===- BlockCodes.h - integer contents of ggml blocks -------------*- C++ -*-===//
//
// The pieces of the block formats that more than one reader of a block needs:
// IQ4_NL's code table, the packed 6-bit scales of Q3_K / Q4_K / Q5_K, the
// integer view of a block (its codes and sub-block scales, before any float
// arithmetic) that the dot-product kernels compute on, and whether Q4_0 /
// Q4_1 blocks share their scales in groups of 128 (the compiler and the GPU
// runtime both ask).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FORMATS_GGML_BLOCKCODES_H
#define QCC_FORMATS_GGML_BLOCKCODES_H

#include "formats/ggml/GGMLTypes.h"

#include <cstdint>

namespace qcc::ggml {

/// IQ4_NL's non-linear grid: code c means kIQ4NL[c] * d.
inline constexpr int8_t kIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                      1,    13,   25,  38,  53,  69,  89,  113};

/// 6-bit scale and min j (0..7) of the 12-byte Q4_K / Q5_K scale block.
inline void scaleMinK4(int j, const uint8_t *q, uint8_t &sc, uint8_t &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// The 16 signed 6-bit sub-block scales of a Q3_K block (stored +32).
inline void scalesQ3K(const uint8_t *b, int8_t out[16]) {
  for (int s = 0; s < 16; ++s) {
    int lo = s < 8 ? (b[s] & 0xF) : (b[s - 8] >> 4);
    int hi = (b[8 + (s % 4)] >> (2 * (s / 4))) & 3;
    out[s] = int8_t((lo | (hi << 4)) - 32);
  }
}

/// A block as integers: weight e is  d * scale[s] * code[e] - dmin * min[s]
/// with s = e / subLen (legacy formats: one sub-block, scale 1, and for
/// Q4_1 / Q5_1 the float offset `m` instead of dmin * min).
struct BlockCodes {
  int n = 0;      ///< weights in the block (32 or 256)
  int subLen = 0; ///< weights per sub-block
  int8_t code[QK_K];
  int16_t scale[16], min[16];
  float d = 0, dmin = 0, m = 0;
  bool hasMin = false; ///< k-quant mins (Q2_K, Q4_K, Q5_K); Q4_1 / Q5_1 set m
};

/// Decodes one block of quantized type `t` (not F32 / F16 / BF16).
void decodeBlock(Type t, const void *block, BlockCodes &out);

/// Whether every row of a Q4_0 or Q4_1 tensor (type t, [rows x cols] at
/// `data`) holds one d (Q4_1: one d and one m), bit for bit, in each run of
/// four blocks: a 4-bit grid of groups of 128 (what a GPTQ / AWQ g128
/// checkpoint converts to). False for other types and for rows that are not
/// whole groups of 128.
bool sharesScales128(Type t, const uint8_t *data, int64_t rows, int64_t cols);

} // namespace qcc::ggml

#endif
