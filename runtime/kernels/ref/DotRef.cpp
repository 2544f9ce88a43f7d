//===- DotRef.cpp - scalar reference dot products -------------------------===//
//
// One loop for every format: each weight block is decoded to its integer
// view (ggml::decodeBlock), its lanes are summed in exact integer arithmetic
// and combined as DotCombine.h defines.
//
//===----------------------------------------------------------------------===//
#include "runtime/kernels/DotCombine.h"
#include "runtime/kernels/QuantDot.h"

#include "formats/ggml/BlockCodes.h"
#include "frontends/Safetensors.h"

namespace qcc::kernels {

using namespace ggml;

float dotRef(Type w, const void *wRow, const void *aRow, int64_t n) {
  const TypeTraits &tr = traits(w);
  const int64_t nb = n / tr.blockSize;
  const auto *wb = static_cast<const uint8_t *>(wRow);
  const ActType at = activationType(w);
  BlockCodes c;
  float F[8] = {}, corr = 0;
  for (int64_t b = 0; b < nb; ++b) {
    decodeBlock(w, wb + b * tr.blockBytes, c);
    // The activation codes of this block and their scale.
    const int8_t *a;
    float da;
    const BlockQ8_1 *a1 = nullptr;
    if (at == ActType::Q8_K) {
      const auto &ab = static_cast<const BlockQ8_K *>(aRow)[b];
      a = ab.qs, da = ab.d;
    } else if (at == ActType::Q8_1) {
      a1 = &static_cast<const BlockQ8_1 *>(aRow)[b];
      a = a1->qs, da = halfToFloat(a1->d);
    } else {
      const auto &ab = static_cast<const BlockQ8_0 *>(aRow)[b];
      a = ab.qs, da = halfToFloat(ab.d);
    }
    int32_t L[8] = {}, msum = 0;
    for (int s = 0; s < c.n / c.subLen; ++s) {
      int32_t asum = 0;
      for (int e = s * c.subLen; e < (s + 1) * c.subLen; ++e) {
        L[(e % 32) / 4] += int32_t(c.scale[s]) * c.code[e] * a[e];
        asum += a[e];
      }
      msum += c.min[s] * asum;
    }
    const float d = at == ActType::Q8_K ? da * c.d : c.d * da;
    for (int j = 0; j < 8; ++j)
      F[j] = std::fmaf(d, float(L[j]), F[j]);
    if (at == ActType::Q8_1)
      corr = corr + c.m * halfToFloat(a1->s);
    else if (c.hasMin)
      corr = std::fmaf(da * c.dmin, float(msum), corr);
  }
  const float s = sumLanes(F);
  return at == ActType::Q8_1 ? s + corr : s - corr;
}

} // namespace qcc::kernels
