//===- ToGGML.h - integer groups as ggml blocks, without re-rounding -*- C++ -*-===//
//
// A GPTQ / AWQ / compressed-tensors layer moved into a ggml block format
// where the block can hold the group's values as they are:
//   Q4_0  d * (c - 8)     needs q - zero + 8 in [0, 15] and an fp16 scale
//   Q4_1  d * c + m       needs q in [0, 15]; m = -scale * zero rounded once to fp16
//   Q8_0  d * c           needs q - zero in [-128, 127]
// and in every case contiguous groups (no act-order g_idx) of a multiple of
// 32 columns, so that each 32-column block lies inside one group. A scale
// fp16 cannot hold (a checkpoint saved with F32 / BF16 scales) is rounded
// once to fp16 and the codes kept: not exact, but far closer than rounding
// the dequantized weights again.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FORMATS_INTPACK_TOGGML_H
#define QCC_FORMATS_INTPACK_TOGGML_H

#include "formats/ggml/GGMLTypes.h"
#include "formats/intpack/IntPack.h"

#include <optional>
#include <string>
#include <vector>

namespace qcc::intpack {

/// Empty if `type` holds g's codes (contiguous groups of a multiple of 32,
/// every code in the block's range), else why not.
std::string ggmlUnrepresentable(const GroupQuant &g, ggml::Type type);

/// Whether fp16 holds every scale of g exactly.
bool scalesFitFP16(const GroupQuant &g);

/// The first of Q4_0, Q4_1, Q8_0 that holds g's codes, or nullopt.
std::optional<ggml::Type> losslessGGMLType(const GroupQuant &g);

/// g's rows as `type` blocks ([out] rows of in / 32 blocks, ggml's layout);
/// `type` must hold the codes. `worstError` (may be null) receives the
/// largest |difference| between a written value and g's (zero unless Q4_1's
/// minimum or a scale had to be rounded to fp16).
std::vector<uint8_t> toGGML(const GroupQuant &g, ggml::Type type, double *worstError = nullptr);

} // namespace qcc::intpack

#endif
