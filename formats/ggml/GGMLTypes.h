//===- GGMLTypes.h - ggml block formats: the single definition -*- C++ -*-===//
//
// Every ggml tensor type qcc reads or writes is defined here: its GGUF type id,
// block size, byte size, and (for quantized types) the block struct whose
// layout is the format. Scalar reference quantize/dequantize live in
// Quantize.cpp / Dequantize.cpp; everything else (packing pass, GGUF writer
// and reader, executor) goes through `quantizeRows` / `dequantizeRow`.
//
// Layouts are ggml's (public facts, matched byte for byte); the quantization
// search is qcc's own: per block, weighted least squares over candidate
// scales (and mins), then integer refinement of the super-block scales.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FORMATS_GGML_GGMLTYPES_H
#define QCC_FORMATS_GGML_GGMLTYPES_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace qcc::ggml {

/// GGUF / ggml type ids (ggml_type).
enum class Type : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, IQ4_NL = 20, BF16 = 30,
};

constexpr int QK = 32;    ///< block size of the legacy formats
constexpr int QK_K = 256; ///< super-block size of the k-quants

using half = uint16_t;

struct BlockQ4_0 { half d; uint8_t qs[QK / 2]; };
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block");
struct BlockQ4_1 { half d, m; uint8_t qs[QK / 2]; };
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block");
struct BlockQ5_0 { half d; uint8_t qh[4]; uint8_t qs[QK / 2]; };
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block");
struct BlockQ5_1 { half d, m; uint8_t qh[4]; uint8_t qs[QK / 2]; };
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block");
struct BlockQ8_0 { half d; int8_t qs[QK]; };
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block");
/// x = d*(sc&15)*q - dmin*(sc>>4), 16 sub-blocks of 16, q in [0,3]
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; half d, dmin; };
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block");
/// x = d*(sc-32)*q, 16 sub-blocks of 16, 6-bit scales, q in [-4,3]
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; half d; };
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block");
/// x = d*sc*q - dmin*m, 8 sub-blocks of 32, 6-bit scales/mins, q in [0,15]
struct BlockQ4_K { half d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; };
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block");
/// as Q4_K with a fifth bit per weight in qh, q in [0,31]
struct BlockQ5_K { half d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block");
/// x = d*sc*(q-32), 16 sub-blocks of 16, int8 scales, q in [0,63]
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; half d; };
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block");
/// x = d*kvalues[q], non-linear 4-bit grid (the fallback of Q2_K/Q3_K rows not divisible by 256)
struct BlockIQ4_NL { half d; uint8_t qs[QK / 2]; };
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL block");

// The activation blocks llama.cpp multiplies quantized weights with: the
// input row of a linear layer is rounded to one of these first.
struct BlockQ8_1 { half d, s; int8_t qs[QK]; }; ///< s = d * sum(qs), rounded to fp16
static_assert(sizeof(BlockQ8_1) == 36, "Q8_1 block");
struct BlockQ8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; }; ///< bsums: sums of 16 qs
static_assert(sizeof(BlockQ8_K) == 292, "Q8_K block");

struct TypeTraits {
  Type type;
  const char *name;  ///< "Q4_K"
  int blockSize;     ///< weights per block (1 for float types)
  size_t blockBytes; ///< bytes per block
  bool quantized;
  int bits;       ///< bits per weight code (16 / 32 for the float types)
  int group;      ///< weights sharing one scale (a sub-block for the k-quants; 0 = float)
  bool symmetric; ///< no min / zero point
};

const TypeTraits &traits(Type t);
std::optional<Type> typeFromId(uint32_t id);
std::optional<Type> typeFromName(llvm::StringRef name);
/// Bytes of a row of `n` weights (n must be a multiple of the block size).
size_t rowBytes(Type t, int64_t n);

/// One block of a format (a super-block of 256 for the k-quants) with its
/// scales chosen. Element i of sub-block j = i / sub can hold the values
/// step[j] * q + base[j] for integer codes q in [qmin, qmax] (IQ4_NL:
/// step[0] * kvalues[q], q in [0, 15]). The codes are stored as the format
/// stores them (e.g. Q4_0's q in [0, 15] with base = -8 d). Splitting the
/// search (fitBlock) from the packing (encodeBlock) lets a caller such as GPTQ
/// choose each element's code itself, on weights that change after the fit.
struct BlockFit {
  Type type = Type::Q8_0;
  int n = 0;   ///< elements in the block
  int sub = 0; ///< elements per sub-block sharing step/base
  int qmin = 0, qmax = 0;
  bool table = false; ///< IQ4_NL's non-linear grid
  int zeroCode = 0;   ///< the code stored where a sub-block's step is zero
  float step[16] = {}, base[16] = {};
  // What the format stores besides the codes.
  half d = 0, dmin = 0;        ///< d; dmin (k-quants) or m (Q4_1 / Q5_1)
  uint8_t sc[16] = {}, mn[16] = {}; ///< k-quant sub-block scale / min codes
  int8_t ssc[16] = {};         ///< Q3_K / Q6_K signed sub-block scales
};

/// Searches the parameters of one block of `traits(t).blockSize` weights `x`
/// (importance `imp` per weight, may be null) and writes each weight's code.
void fitBlock(Type t, const float *x, const float *imp, BlockFit &f, int16_t *codes);
/// The code of element i nearest to `v` on the fitted grid.
int nearestCode(const BlockFit &f, int i, float v);
/// The value code `q` of element i stands for.
float codeValue(const BlockFit &f, int i, int q);
/// Packs the fitted parameters and `codes` as one block of the format.
void encodeBlock(const BlockFit &f, const int16_t *codes, void *out);

/// Quantizes `rows` rows of `n` weights (n % blockSize == 0) from `x` into `out`.
/// `importance` (n values, may be null) weights the per-column squared error.
void quantizeRows(Type t, const float *x, void *out, int64_t rows, int64_t n,
                  const float *importance = nullptr);
/// Dequantizes one row of `n` weights, exactly as ggml computes it.
void dequantizeRow(Type t, const void *in, float *y, int64_t n);

/// The scale searches every format is built on (also used by generic RTN):
/// per-element error weights w_i = importance_i (1 when importance is null);
void blockWeights(const float *x, const float *importance, int n, float *w);
/// x ~ s*q, q in [qmin, qmax]: returns s, writes q;
float searchSymmetric(const float *x, const float *w, int n, int qmin, int qmax, int *q);
/// x ~ s*q + m, q in [0, qmax] (m <= 0 if minNonPositive).
void searchAffine(const float *x, const float *w, int n, int qmax, bool minNonPositive, float &s,
                  float &m, int *q);

/// ggml's CPU backend multiplies weights of type `w` with activations rounded
/// to w's dot-product partner: Q8_0 blocks of 32 (fp16 scale) for the legacy
/// formats, Q8_K blocks of 256 (fp32 scale) for the k-quants, F16 / BF16 for
/// those, nothing for F32. This writes those rounded activations (one row of
/// `n`, a multiple of w's block size) as floats, so a float GEMM on
/// dequantized weights computes what ggml computes.
/// The block format a row of activations is quantized to before its dot
/// products with weights of quantized type `w`: Q8_0 (Q4_0, Q5_0, Q8_0,
/// IQ4_NL), Q8_1 (Q4_1, Q5_1) or Q8_K (the k-quants). n must be a multiple of
/// that format's block (32 or 256).
enum class ActType { Q8_0, Q8_1, Q8_K };
ActType activationType(Type w);
size_t activationRowBytes(Type w, int64_t n);
void quantizeActivations(Type w, const float *x, void *out, int64_t n);
void dequantizeActivations(Type w, const void *in, float *y, int64_t n);

/// y = x rounded as llama.cpp rounds the input of a product with weights of
/// type `w`: unchanged for F32, through F16 / BF16 for those, and through
/// quantizeActivations / dequantizeActivations for quantized types.
void roundActivations(Type w, const float *x, float *y, int64_t n);

} // namespace qcc::ggml

#endif
