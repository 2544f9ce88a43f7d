//===- Repack.h - weight rows interleaved for 8-row SIMD kernels -*- C++ -*-===//
//
// Q4_0 and Q8_0 rows regrouped eight at a time (the thin runtime does this once when
// a compiled model loads; the GGUF file is not changed): block i of the group
// holds the eight rows' fp16 scales, then their codes as four 32-byte groups,
// group g = bytes 4g .. 4g+3 of each row's 16 code bytes, row after row. One
// 32-byte load then gives 4 low-nibble codes (weights 4g .. 4g+3) and 4
// high-nibble codes (weights 16+4g .. 16+4g+3) of all eight rows, so one
// vpmaddubsw against 4 broadcast activation codes advances eight rows, and
// each row's integer block sum ends in its own int32 lane.
//
// The float step of these kernels is one chain per row (DotCombine.h's
// "row chain"): F = fmaf(dw * da, isum, F) per block, isum the row's exact
// integer block sum; dotRowChainRef is its scalar reference.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_KERNELS_REPACK_H
#define QCC_RUNTIME_KERNELS_REPACK_H

#include "formats/ggml/GGMLTypes.h"

#include <cstdint>
#include <vector>

namespace qcc::kernels {

struct BlockQ4_0x8 {
  ggml::half d[8];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_0x8) == 8 * sizeof(ggml::BlockQ4_0), "eight Q4_0 blocks");
/// Q8_0 the same way: eight groups of 32 bytes, group g = codes 4g .. 4g+3 of
/// each row.
struct BlockQ8_0x8 {
  ggml::half d[8];
  int8_t qs[256];
};
static_assert(sizeof(BlockQ8_0x8) == 8 * sizeof(ggml::BlockQ8_0), "eight Q8_0 blocks");

/// Whether `type` rows can be repacked (Q4_0 or Q8_0, rows a multiple of 8).
bool repackable(ggml::Type type, int64_t rows);
/// Rows [rows x n] of `type` into groups of eight (the same bytes in total).
void repack(ggml::Type type, const void *W, int64_t rows, int64_t n, void *out);

/// The scalar reference of the repacked kernels, on the original row layout:
/// one float chain per row, F = fmaf(dw * da, isum, F) per block.
float dotRowChainRef(ggml::Type w, const void *wRow, const void *aRow, int64_t n);

/// y[t * ldy + r] for the repacked rows (rows % 8 == 0) against `tokens`
/// Q8_0 activation rows: each result the bits of dotRowChainRef. AVX2.
void gemmRepacked(ggml::Type type, const void *packed, int64_t rows, int64_t n, const void *act,
                  int64_t tokens, float *y, int64_t ldy);

} // namespace qcc::kernels

#endif
