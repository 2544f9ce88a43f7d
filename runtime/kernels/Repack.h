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
/// Q4_K: the eight rows' scales and mins unpacked to bytes (sc[s][r]: scale
/// of sub-block s of row r; mn[p][2r + j]: min of sub-block 2p + j of row r),
/// the codes as [chunk c][group q][row r][4 bytes], chunk c holding
/// sub-blocks 2c (low nibbles) and 2c + 1 (high nibbles).
struct BlockQ4_Kx8 {
  ggml::half d[8], dmin[8];
  uint8_t sc[8][8];
  uint8_t mn[4][16];
  uint8_t qs[1024];
};
static_assert(sizeof(BlockQ4_Kx8) == 1184, "eight Q4_K blocks and their unpacked scales");
/// Q6_K: sc[s][r] the signed scale of sub-block s of row r; ql as
/// [half h][part p][group j][row r][4 bytes] (part p: ql bytes 64h + 32p +
/// 4j ..), qh as [half h][group j][row r][4 bytes] (qh bytes 32h + 4j ..).
struct BlockQ6_Kx8 {
  ggml::half d[8];
  int8_t sc[16][8];
  uint8_t ql[1024];
  uint8_t qh[512];
};
static_assert(sizeof(BlockQ6_Kx8) == 8 * sizeof(ggml::BlockQ6_K), "eight Q6_K blocks");

/// Whether `type` rows can be repacked (Q4_0, Q8_0, Q4_K, Q6_K; rows a multiple of 8).
bool repackable(ggml::Type type, int64_t rows);
/// Bytes of `rows` repacked rows of n weights (rows % 8 == 0).
size_t repackedBytes(ggml::Type type, int64_t rows, int64_t n);
/// Rows [rows x n] of `type` into groups of eight (the same bytes in total).
void repack(ggml::Type type, const void *W, int64_t rows, int64_t n, void *out);

/// The scalar reference of the repacked kernels, on the original row layout:
/// one float chain per row, F = fmaf(dw * da, isum, F) per block; for the
/// k-quants with mins a second chain C = fmaf(da * dmin, msum, C), result
/// F - C.
float dotRowChainRef(ggml::Type w, const void *wRow, const void *aRow, int64_t n);

/// What the repacked Q4_0 / Q8_0 kernels read of each Q8_0 activation block
/// besides its codes, worked out once per product rather than once per row
/// group: the block's scale as a float and, for Q4_0, its code sum (the
/// weights' +8 storage offset). Empty for the k-quants (Q8_K carries its
/// sums).
struct ActivationSide {
  std::vector<float> d;
  std::vector<int32_t> sum;
  /// Sizes the tables for `tokens` activation rows of n.
  void reserve(ggml::Type w, int64_t tokens, int64_t n);
  /// Fills rows [t0, t1) from their quantized activations (`act` row 0).
  void fill(ggml::Type w, const void *act, int64_t t0, int64_t t1, int64_t n);
};

/// The instruction sets the repacked kernels have variants for: AVX2 and
/// AVX-512 VNNI for every layout; AMX for Q4_0 / Q8_0 (whole tiles of 16
/// tokens x 16 rows, the rest on the VNNI kernels), under which the k-quant
/// layouts (Q4_K, Q6_K) run their VNNI kernels.
enum class RepackIsa { AVX2, AVX512VNNI, AMX };
/// Those this CPU runs (AVX2 assumed: callers check cpuHasAVX2), slowest
/// first. Asking for AMX asks Linux for the tile state (once per process).
std::vector<RepackIsa> repackIsas();
const char *isaName(RepackIsa isa);

/// y[t * ldy + r] for the repacked rows (rows % 8 == 0) against `tokens`
/// activation rows (Q8_0, or Q8_K for Q4_K and Q6_K) and their side table:
/// each result the bits of dotRowChainRef. The best variant this CPU runs.
void gemmRepacked(ggml::Type type, const void *packed, int64_t rows, int64_t n, const void *act,
                  const ActivationSide &side, int64_t tokens, float *y, int64_t ldy);
/// gemmRepacked with the variants of `isa` (one of repackIsas()); the same bits.
void gemmRepacked(RepackIsa isa, ggml::Type type, const void *packed, int64_t rows, int64_t n, const void *act,
                  const ActivationSide &side, int64_t tokens, float *y, int64_t ldy);

} // namespace qcc::kernels

#endif
