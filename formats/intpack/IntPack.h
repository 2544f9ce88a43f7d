//===- IntPack.h - integer group quantization, GPU checkpoint layouts -*- C++ -*-===//
//
// The weight layouts of the GPU ecosystem's quantized checkpoints, MLIR-free:
// one model of a linear weight quantized in groups along its input dimension
// (GroupQuant), and the packings three formats store it in:
//
//   GPTQ (AutoGPTQ / GPTQModel, v1 checkpoint format)
//     qweight int32 [in*bits/32, out]   codes packed along the input dimension
//     qzeros  int32 [groups, out*bits/32] (zero - 1) packed along the output dimension
//     scales  fp16  [groups, out]
//     g_idx   int32 [in]                 group of each input channel
//   AWQ (AutoAWQ GEMM, 4 bits)
//     qweight int32 [in, out/8]          8 codes a word, in the order 0 2 4 6 1 3 5 7
//     qzeros  int32 [groups, out/8]      the same way (no -1)
//     scales  fp16  [groups, out]
//   compressed-tensors pack-quantized
//     weight_packed int32 [out, ceil(in*bits/32)]  codes packed along the input dimension
//     weight_scale  [out, groups]
//     weight_zero_point int32 [ceil(out*bits/32), groups] (asymmetric only)
//     weight_shape  int64 [2] = {out, in}
//
// Every packing is the dense little-endian bit stream: element k of a packed
// run occupies bits [k*bits, (k+1)*bits) of the stream, least significant bit
// first, and straddles a word boundary where it must (3-bit GPTQ and
// compressed-tensors). Codes are unsigned in [0, 2^bits); a weight is
// scale * (code - zero). compressed-tensors writes signed codes and zero points
// offset by 2^(bits-1), which is the same unsigned value.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FORMATS_INTPACK_INTPACK_H
#define QCC_FORMATS_INTPACK_INTPACK_H

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::intpack {

/// Words of a dense packing of n elements of `bits` bits.
int64_t packedWords(int64_t n, int bits);
/// Packs vals[k * stride] (k < n, each < 2^bits) densely into words[j * wstride],
/// j < packedWords(n, bits). Strides let one call pack a column of a
/// row-major matrix.
void packDense(const uint8_t *vals, int64_t n, int64_t stride, int bits, uint32_t *words,
               int64_t wstride);
/// The inverse of packDense.
void unpackDense(const uint32_t *words, int64_t wstride, int64_t n, int bits, uint8_t *vals,
                 int64_t stride);

/// AWQ's order of 8 4-bit codes in a word: nibble k holds element kAWQOrder[k].
extern const int kAWQOrder[8];
/// Packs n (a multiple of 8) 4-bit codes into n/8 words, AWQ-interleaved.
void packAWQ(const uint8_t *vals, int64_t n, uint32_t *words);
void unpackAWQ(const uint32_t *words, int64_t n, uint8_t *vals);

/// A linear weight [out x in] quantized in groups along its input dimension:
/// w[o][i] = scale[o][g] * (q[o][i] - zero[o][g]) with g = gIdx[i]. Scales are
/// float values that fp16 represents exactly (the formats store fp16), so the
/// product is exact in float32.
struct GroupQuant {
  int bits = 4;
  int64_t out = 0, in = 0, groupSize = 128; ///< groupSize = in for one group a row
  bool symmetric = true;                     ///< zero = 2^(bits-1) everywhere
  std::vector<uint8_t> q;                    ///< [out][in]
  std::vector<float> scale;                  ///< [out][groups]
  std::vector<int16_t> zero;                 ///< [out][groups], 0..2^bits (GPTQ v1 can say 2^bits)
  std::vector<int32_t> gIdx;                 ///< [in]; empty: i / groupSize

  int64_t groups() const { return groupSize > 0 ? (in + groupSize - 1) / groupSize : 1; }
  int32_t groupOf(int64_t i) const { return gIdx.empty() ? int32_t(i / groupSize) : gIdx[i]; }
  /// True if gIdx is absent or equals i / groupSize (no act-order permutation).
  bool trivialGroups() const;
  /// w [out][in] in float32.
  void dequantize(float *w) const;
  /// An empty string, or what is inconsistent (sizes, codes or zeros out of
  /// range, a g_idx entry outside [0, groups)).
  std::string validate() const;
};

/// The tensors of one format, as raw little-endian arrays with their shapes.
struct PackedTensor {
  std::string suffix;          ///< "qweight", "weight_packed", ...
  std::string dtype;           ///< safetensors dtype: "I32", "F16", "BF16", "I64"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// GPTQ v1 (qzeros hold zero - 1, so zeros must be in [1, 2^bits]).
std::vector<PackedTensor> toGPTQ(const GroupQuant &g);
/// AWQ GEMM (bits 4, out divisible by 8, trivial groups).
std::vector<PackedTensor> toAWQ(const GroupQuant &g);
/// compressed-tensors pack-quantized; scales stored as `scaleDType` ("F16"
/// or "BF16", which must then represent them exactly).
std::vector<PackedTensor> toCompressedTensors(const GroupQuant &g, const std::string &scaleDType);

} // namespace qcc::intpack

#endif
