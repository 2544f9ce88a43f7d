//===- Repack.cpp - 8-row interleaved weights and their kernels -----------===//
#include "runtime/kernels/Repack.h"

#include "formats/ggml/BlockCodes.h"
#include "frontends/Safetensors.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace qcc::kernels {

using namespace ggml;

bool repackable(Type type, int64_t rows) { return type == Type::Q4_0 && rows % 8 == 0 && rows > 0; }

void repackQ4_0x8(const void *W, int64_t rows, int64_t n, void *out) {
  const int64_t nb = n / QK;
  const auto *src = static_cast<const BlockQ4_0 *>(W);
  auto *dst = static_cast<BlockQ4_0x8 *>(out);
  for (int64_t g = 0; g < rows / 8; ++g)
    for (int64_t i = 0; i < nb; ++i) {
      BlockQ4_0x8 &o = dst[g * nb + i];
      for (int r = 0; r < 8; ++r) {
        const BlockQ4_0 &b = src[(g * 8 + r) * nb + i];
        o.d[r] = b.d;
        for (int q = 0; q < 4; ++q)
          std::memcpy(o.qs + 32 * q + 4 * r, b.qs + 4 * q, 4);
      }
    }
}

float dotRowChainRef(Type w, const void *wRow, const void *aRow, int64_t n) {
  const TypeTraits &tr = traits(w);
  const int64_t nb = n / tr.blockSize;
  BlockCodes c;
  float F = 0;
  for (int64_t b = 0; b < nb; ++b) {
    decodeBlock(w, static_cast<const uint8_t *>(wRow) + b * tr.blockBytes, c);
    const auto &a = static_cast<const BlockQ8_0 *>(aRow)[b];
    int32_t isum = 0;
    for (int e = 0; e < c.n; ++e)
      isum += int32_t(c.scale[e / c.subLen]) * c.code[e] * a.qs[e];
    F = std::fmaf(c.d * halfToFloat(a.d), float(isum), F);
  }
  return F;
}

namespace {

#define QCC_AVX2 __attribute__((target("avx2,fma,f16c")))

/// T tokens against one group of eight repacked rows.
template <int T>
QCC_AVX2 void groupQ4_0x8(const BlockQ4_0x8 *g, int64_t nb, const BlockQ8_0 *const *act,
                          const int32_t *const *asum, float *y, int64_t ldy) {
  const __m256i m4 = _mm256_set1_epi8(0xF), ones = _mm256_set1_epi16(1);
  __m256 F[T];
  for (int t = 0; t < T; ++t)
    F[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ4_0x8 &b = g[i];
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.d)));
    __m256i lo[4], hi[4];
    for (int q = 0; q < 4; ++q) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * q));
      lo[q] = _mm256_and_si256(v, m4);
      hi[q] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0 &a = act[t][i];
      int32_t a4[8];
      std::memcpy(a4, a.qs, 32);
      __m256i isum = _mm256_setzero_si256();
      for (int q = 0; q < 4; ++q) {
        const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[q], _mm256_set1_epi32(a4[q])),
                                           _mm256_maddubs_epi16(hi[q], _mm256_set1_epi32(a4[4 + q])));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
      }
      // Codes are stored +8: every row's sum loses 8 * sum(a).
      isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(8 * asum[t][i]));
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(a.d)));
      F[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum), F[t]);
    }
  }
  for (int t = 0; t < T; ++t)
    _mm256_storeu_ps(y + t * ldy, F[t]);
}

#undef QCC_AVX2

} // namespace

void gemmQ4_0x8(const void *packed, int64_t rows, int64_t n, const void *act, int64_t tokens,
                float *y, int64_t ldy) {
  const int64_t nb = n / QK;
  const auto *P = static_cast<const BlockQ4_0x8 *>(packed);
  const auto *A = static_cast<const BlockQ8_0 *>(act);
  // Each activation block's code sum, once for all row groups.
  std::vector<int32_t> sums(tokens * nb);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < nb; ++i) {
      int32_t s = 0;
      for (int e = 0; e < QK; ++e)
        s += A[t * nb + i].qs[e];
      sums[t * nb + i] = s;
    }
  constexpr int T = 4;
  for (int64_t t0 = 0; t0 < tokens; t0 += T) {
    const int tt = int(std::min<int64_t>(T, tokens - t0));
    const BlockQ8_0 *ap[T];
    const int32_t *sp[T];
    for (int t = 0; t < tt; ++t)
      ap[t] = A + (t0 + t) * nb, sp[t] = sums.data() + (t0 + t) * nb;
    for (int64_t g = 0; g < rows / 8; ++g) {
      float *yg = y + t0 * ldy + g * 8;
      switch (tt) {
      case 4: groupQ4_0x8<4>(P + g * nb, nb, ap, sp, yg, ldy); break;
      case 3: groupQ4_0x8<3>(P + g * nb, nb, ap, sp, yg, ldy); break;
      case 2: groupQ4_0x8<2>(P + g * nb, nb, ap, sp, yg, ldy); break;
      default: groupQ4_0x8<1>(P + g * nb, nb, ap, sp, yg, ldy); break;
      }
    }
  }
}

} // namespace qcc::kernels
