//===- Repack.cpp - 8-row interleaved weights and their kernels -----------===//
#include "runtime/kernels/Repack.h"

#include "formats/ggml/BlockCodes.h"
#include "frontends/Safetensors.h"
#include "runtime/kernels/QuantDot.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace qcc::kernels {

using namespace ggml;

bool repackable(Type type, int64_t rows) {
  return (type == Type::Q4_0 || type == Type::Q8_0 || type == Type::Q4_K || type == Type::Q6_K) &&
         rows % 8 == 0 && rows > 0;
}

size_t repackedBytes(Type type, int64_t rows, int64_t n) {
  if (type == Type::Q4_K)
    return size_t(rows / 8) * (n / QK_K) * sizeof(BlockQ4_Kx8);
  return rowBytes(type, n) * rows;
}

namespace {
/// Calls put(out block, source block, r) for row r = 0..7 of every group of
/// eight rows and every block index: the loop all four layouts share.
template <typename Src, typename Dst, typename Put>
void regroup(const void *W, int64_t rows, int64_t nb, void *out, Put put) {
  const auto *src = static_cast<const Src *>(W);
  auto *dst = static_cast<Dst *>(out);
  for (int64_t g = 0; g < rows / 8; ++g)
    for (int64_t i = 0; i < nb; ++i)
      for (int r = 0; r < 8; ++r)
        put(dst[g * nb + i], src[(g * 8 + r) * nb + i], r);
}

/// Q4_0 / Q8_0: the scale, then the code bytes in 4-byte groups.
template <typename Src, typename Dst, int Groups>
void repackLegacy(const void *W, int64_t rows, int64_t n, void *out) {
  regroup<Src, Dst>(W, rows, n / QK, out, [](Dst &o, const Src &b, int r) {
    o.d[r] = b.d;
    for (int q = 0; q < Groups; ++q)
      std::memcpy(o.qs + 32 * q + 4 * r, b.qs + 4 * q, 4);
  });
}

void repackQ4_Kx8(const void *W, int64_t rows, int64_t n, void *out) {
  regroup<BlockQ4_K, BlockQ4_Kx8>(W, rows, n / QK_K, out, [](BlockQ4_Kx8 &o, const BlockQ4_K &b, int r) {
    o.d[r] = b.d, o.dmin[r] = b.dmin;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, mn;
      scaleMinK4(s, b.scales, sc, mn);
      o.sc[s][r] = sc;
      o.mn[s / 2][2 * r + s % 2] = mn;
    }
    for (int c = 0; c < 4; ++c)
      for (int q = 0; q < 8; ++q)
        std::memcpy(o.qs + 256 * c + 32 * q + 4 * r, b.qs + 32 * c + 4 * q, 4);
  });
}

void repackQ6_Kx8(const void *W, int64_t rows, int64_t n, void *out) {
  regroup<BlockQ6_K, BlockQ6_Kx8>(W, rows, n / QK_K, out, [](BlockQ6_Kx8 &o, const BlockQ6_K &b, int r) {
    o.d[r] = b.d;
    for (int sb = 0; sb < 16; ++sb)
      o.sc[sb][r] = b.scales[sb];
    for (int h = 0; h < 2; ++h)
      for (int j = 0; j < 8; ++j) {
        for (int p = 0; p < 2; ++p)
          std::memcpy(o.ql + 512 * h + 256 * p + 32 * j + 4 * r, b.ql + 64 * h + 32 * p + 4 * j, 4);
        std::memcpy(o.qh + 256 * h + 32 * j + 4 * r, b.qh + 32 * h + 4 * j, 4);
      }
  });
}
} // namespace

void repack(Type type, const void *W, int64_t rows, int64_t n, void *out) {
  if (type == Type::Q4_0)
    repackLegacy<BlockQ4_0, BlockQ4_0x8, 4>(W, rows, n, out);
  else if (type == Type::Q8_0)
    repackLegacy<BlockQ8_0, BlockQ8_0x8, 8>(W, rows, n, out);
  else if (type == Type::Q4_K)
    repackQ4_Kx8(W, rows, n, out);
  else
    repackQ6_Kx8(W, rows, n, out);
}

float dotRowChainRef(Type w, const void *wRow, const void *aRow, int64_t n) {
  const TypeTraits &tr = traits(w);
  const int64_t nb = n / tr.blockSize;
  const bool k = activationType(w) == ActType::Q8_K;
  BlockCodes c;
  float F = 0, C = 0;
  for (int64_t b = 0; b < nb; ++b) {
    decodeBlock(w, static_cast<const uint8_t *>(wRow) + b * tr.blockBytes, c);
    const int8_t *a;
    float da;
    if (k) {
      const auto &ab = static_cast<const BlockQ8_K *>(aRow)[b];
      a = ab.qs, da = ab.d;
    } else {
      const auto &ab = static_cast<const BlockQ8_0 *>(aRow)[b];
      a = ab.qs, da = halfToFloat(ab.d);
    }
    int32_t isum = 0, msum = 0;
    for (int s = 0; s < c.n / c.subLen; ++s) {
      int32_t dot = 0, asum = 0;
      for (int e = s * c.subLen; e < (s + 1) * c.subLen; ++e)
        dot += int32_t(c.code[e]) * a[e], asum += a[e];
      isum += c.scale[s] * dot;
      msum += c.min[s] * asum;
    }
    F = std::fmaf(c.d * da, float(isum), F);
    if (c.hasMin)
      C = std::fmaf(da * c.dmin, float(msum), C);
  }
  return F - C;
}

namespace {

#define QCC_AVX2 __attribute__((target("avx2,fma,f16c")))

/// Asks for the block `ahead` blocks on, line by line: a decoding step
/// streams every weight once from memory, and the hardware prefetcher alone
/// leaves the loads waiting (1B-parameter Q4_0 decoding: +25%). Past a
/// group's last block this is the next group's start, which comes next
/// (prefetches never fault, also past the end of the buffer).
template <typename B> inline void prefetchAhead(const B *g, int64_t i, int64_t, int64_t ahead) {
  const char *p = reinterpret_cast<const char *>(g + i + ahead);
  for (size_t o = 0; o < sizeof(B); o += 64)
    _mm_prefetch(p + o, _MM_HINT_T0);
}

/// Pins an accumulator to a register at this point: without it GCC
/// reassociates a block's integer sums into a tree whose partial results it
/// spills to the stack (a third of the Q8_0 kernel's time).
QCC_AVX2 inline void keepInRegister(__m256i &v) { __asm__("" : "+x"(v)); }

/// Four code bytes of an activation block on every 32-bit lane (a load,
/// no shuffle).
QCC_AVX2 inline __m256i broadcast4(const int8_t *p) {
  return _mm256_castps_si256(_mm256_broadcast_ss(reinterpret_cast<const float *>(p)));
}

/// The frame of the Q4_0 / Q8_0 kernels: T tokens against one group of eight
/// repacked rows, each block's exact integer sums from `Sums` (one per
/// instruction set), then one float chain per row and token. Inlined into
/// each instruction set's kernel, which carries its target.
template <int T, typename Sums>
__attribute__((always_inline)) inline void legacyGroup(const void *group, int64_t nb, const BlockQ8_0 *const *act,
                                                       const float *const *ad, const int32_t *const *asum,
                                                       float *y, int64_t ldy) {
  using Block = typename Sums::Block;
  const auto *g = static_cast<const Block *>(group);
  __m256 F[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
    F[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const Block &b = g[i];
    prefetchAhead(g, i, nb, Sums::kAhead);
    __m256i isum[T];
    Sums::template block<T>(b, act, i, isum);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.d)));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      // Q4_0 codes are stored +8: every row's sum loses 8 * sum(a).
      if constexpr (Sums::kOffset)
        isum[t] = _mm256_sub_epi32(isum[t], _mm256_set1_epi32(8 * asum[t][i]));
      F[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ad[t][i])), _mm256_cvtepi32_ps(isum[t]), F[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
    _mm256_storeu_ps(y + t * ldy, F[t]);
}

/// Q4_0 on AVX2: each token's eight vpmaddubsw results of a block add up in
/// 16 bits (codes 0..15 against |a| <= 127: at most 8 x 3810), one vpmaddwd
/// widens them.
struct Q4_0SumsAVX2 {
  using Block = BlockQ4_0x8;
  static constexpr int kAhead = 16;     ///< blocks prefetched ahead
  static constexpr bool kOffset = true; ///< codes stored +8
  template <int T>
  QCC_AVX2 static inline void block(const BlockQ4_0x8 &b, const BlockQ8_0 *const *act, int64_t i, __m256i *isum) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256i acc[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * q));
      const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        acc[t] = _mm256_add_epi16(acc[t], _mm256_add_epi16(_mm256_maddubs_epi16(lo, broadcast4(act[t][i].qs + 4 * q)),
                                                           _mm256_maddubs_epi16(hi, broadcast4(act[t][i].qs + 16 + 4 * q))));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        keepInRegister(acc[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      isum[t] = _mm256_madd_epi16(acc[t], _mm256_set1_epi16(1));
  }
};

/// Q8_0 on AVX2: signed codes, vpsignb moves each weight's sign onto the
/// activation.
struct Q8_0SumsAVX2 {
  using Block = BlockQ8_0x8;
  static constexpr int kAhead = 8;
  static constexpr bool kOffset = false;
  template <int T>
  QCC_AVX2 static inline void block(const BlockQ8_0x8 &b, const BlockQ8_0 *const *act, int64_t i, __m256i *isum) {
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * q));
      const __m256i aw = _mm256_sign_epi8(w, w);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_sign_epi8(broadcast4(act[t][i].qs + 4 * q), w);
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, a), ones));
        keepInRegister(isum[t]);
      }
    }
  }
};

/// The legacy kernels as the gemm loop calls them: `g` a group's blocks,
/// `asum` the side table's code sums (read for Q4_0 only).
template <int T, typename Sums>
QCC_AVX2 void legacyAVX2(const void *g, int64_t nb, const BlockQ8_0 *const *act, const float *const *ad,
                         const int32_t *const *asum, float *y, int64_t ldy) {
  legacyGroup<T, Sums>(g, nb, act, ad, asum, y, ldy);
}

/// The frame of the Q4_K / Q6_K kernels: T tokens against one group of
/// eight repacked rows (Q8_K activations). `Sums` (one per format and
/// instruction set) adds each row's exact integer block sum with the
/// sub-block scales applied into isum, and what the activation sums carry
/// into asum (Q4_K: its mins, q4kMins; Q6_K: the +32 storage offset,
/// q6kOffset); the frame takes the float step (Q4_K: a second chain for the
/// mins). Inlined into each instruction set's kernel.
template <int T, typename Sums>
__attribute__((always_inline)) inline void kquantGroup(const typename Sums::Block *g, int64_t nb,
                                                       const BlockQ8_K *const *act, float *y, int64_t ldy) {
  constexpr bool q4 = std::is_same_v<typename Sums::Block, BlockQ4_Kx8>;
  __m256 F[T], C[T];
  for (int t = 0; t < T; ++t)
    F[t] = _mm256_setzero_ps(), C[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const auto &b = g[i];
    prefetchAhead(g, i, nb, 2);
    __m256i isum[T], asum[T];
    for (int t = 0; t < T; ++t)
      isum[t] = _mm256_setzero_si256(), asum[t] = _mm256_setzero_si256();
    Sums::template block<T>(b, act, i, isum, asum);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.d)));
    for (int t = 0; t < T; ++t) {
      const __m256 da = _mm256_set1_ps(act[t][i].d);
      if constexpr (q4) {
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.dmin)));
        F[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t]), F[t]);
        C[t] = _mm256_fmadd_ps(_mm256_mul_ps(da, dm), _mm256_cvtepi32_ps(asum[t]), C[t]);
      } else {
        const __m256i s = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(asum[t], 5));
        F[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(s), F[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t)
    _mm256_storeu_ps(y + t * ldy, _mm256_sub_ps(F[t], C[t]));
}

/// Six-bit Q6_K codes of group j of half h, parts k = 0..3 (unsigned).
QCC_AVX2 inline void q6Codes(const BlockQ6_Kx8 &b, int h, int j, __m256i q[4]) {
  const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(0x0C),
                m48 = _mm256_set1_epi8(0x30);
  const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.ql + 512 * h + 32 * j));
  const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.ql + 512 * h + 256 + 32 * j));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qh + 256 * h + 32 * j));
  q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
  q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m12), 2));
  q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m48));
  q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48));
}

/// Q4_K's mins of sub-blocks 2c, 2c + 1 against their activation sums,
/// added to asum (each row's min sum).
template <int T>
QCC_AVX2 inline void q4kMins(const BlockQ4_Kx8 &b, const BlockQ8_K *const *act, int64_t i, int c, __m256i *asum) {
  const __m256i mn = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.mn[c])));
  for (int t = 0; t < T; ++t) {
    const int16_t *bs = act[t][i].bsums + 4 * c;
    const int32_t pair = int32_t(uint16_t(int16_t(bs[0] + bs[1]))) |
                         int32_t(uint32_t(uint16_t(int16_t(bs[2] + bs[3]))) << 16);
    asum[t] = _mm256_add_epi32(asum[t], _mm256_madd_epi16(mn, _mm256_set1_epi32(pair)));
  }
}

/// Q6_K's +32 storage offset: per row, the sum over sub-blocks of scale *
/// activation sum, into asum.
template <int T>
QCC_AVX2 inline void q6kOffset(const BlockQ6_Kx8 &b, const BlockQ8_K *const *act, int64_t i, __m256i *asum) {
  for (int p = 0; p < 8; ++p) {
    const __m128i s0 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[2 * p]));
    const __m128i s1 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[2 * p + 1]));
    const __m256i sp = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(s0, s1));
    for (int t = 0; t < T; ++t) {
      int32_t pair;
      std::memcpy(&pair, act[t][i].bsums + 2 * p, 4);
      asum[t] = _mm256_add_epi32(asum[t], _mm256_madd_epi16(sp, _mm256_set1_epi32(pair)));
    }
  }
}

/// Q4_K on AVX2: 16-bit sums of each row's 32 products of sub-blocks 2c and
/// 2c + 1 (at most 8 x 3810 in magnitude), the row scales by vpmaddwd.
struct Q4_KSumsAVX2 {
  using Block = BlockQ4_Kx8;
  template <int T>
  QCC_AVX2 static inline void block(const BlockQ4_Kx8 &b, const BlockQ8_K *const *act, int64_t i, __m256i *isum,
                                    __m256i *asum) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int c = 0; c < 4; ++c) {
      __m256i lo16[T], hi16[T];
      for (int t = 0; t < T; ++t)
        lo16[t] = _mm256_setzero_si256(), hi16[t] = _mm256_setzero_si256();
      for (int q = 0; q < 8; ++q) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 256 * c + 32 * q));
        const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        for (int t = 0; t < T; ++t) {
          int32_t al, ah;
          std::memcpy(&al, act[t][i].qs + 64 * c + 4 * q, 4);
          std::memcpy(&ah, act[t][i].qs + 64 * c + 32 + 4 * q, 4);
          lo16[t] = _mm256_add_epi16(lo16[t], _mm256_maddubs_epi16(lo, _mm256_set1_epi32(al)));
          hi16[t] = _mm256_add_epi16(hi16[t], _mm256_maddubs_epi16(hi, _mm256_set1_epi32(ah)));
        }
      }
      // Each row's scale on its own pair of 16-bit lanes.
      const __m128i s0 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[2 * c]));
      const __m128i s1 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[2 * c + 1]));
      const __m256i sc0 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(s0, s0));
      const __m256i sc1 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(s1, s1));
      for (int t = 0; t < T; ++t)
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(lo16[t], sc0),
                                                             _mm256_madd_epi16(hi16[t], sc1)));
      q4kMins<T>(b, act, i, c, asum);
    }
  }
};

/// Q6_K on AVX2: unsigned six-bit codes into vpmaddubsw, each sub-block's
/// row scales by vpmaddwd.
struct Q6_KSumsAVX2 {
  using Block = BlockQ6_Kx8;
  template <int T>
  QCC_AVX2 static inline void block(const BlockQ6_Kx8 &b, const BlockQ8_K *const *act, int64_t i, __m256i *isum,
                                    __m256i *asum) {
    for (int h = 0; h < 2; ++h)
      for (int jh = 0; jh < 2; ++jh) {
        // Row scales of the sub-blocks these groups fall in: 8h + 2k + jh.
        __m256i sc[4];
        for (int k = 0; k < 4; ++k) {
          const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[8 * h + 2 * k + jh]));
          sc[k] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(s8, s8));
        }
        for (int j = 4 * jh; j < 4 * jh + 4; ++j) {
          __m256i q[4];
          q6Codes(b, h, j, q);
          for (int t = 0; t < T; ++t)
            for (int k = 0; k < 4; ++k)
              isum[t] = _mm256_add_epi32(
                  isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], broadcast4(act[t][i].qs + 128 * h + 32 * k + 4 * j)),
                                             sc[k]));
        }
      }
    q6kOffset<T>(b, act, i, asum);
  }
};

template <int T, typename Sums>
QCC_AVX2 void kquantAVX2(const typename Sums::Block *g, int64_t nb, const BlockQ8_K *const *act, float *y,
                         int64_t ldy) {
  kquantGroup<T, Sums>(g, nb, act, y, ldy);
}

/// The AVX-512 VNNI variants (on 256-bit registers: AVX512VL, so Zen 4 and
/// Xeons from Ice Lake on): vpdpbusd adds four unsigned x signed byte
/// products straight into each 32-bit lane, replacing vpmaddubsw, the 16-bit
/// adds and vpmaddwd. The same exact integer block sums, the same float
/// step: the bits of the AVX2 kernels.
#define QCC_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

/// Q4_0 on VNNI: two chains per token (low and high nibbles) keep the adds
/// in flight.
struct Q4_0SumsVNNI {
  using Block = BlockQ4_0x8;
  static constexpr int kAhead = 16;
  static constexpr bool kOffset = true;
  template <int T>
  QCC_VNNI static inline void block(const BlockQ4_0x8 &b, const BlockQ8_0 *const *act, int64_t i, __m256i *isum) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256i lo32[T], hi32[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      lo32[t] = _mm256_setzero_si256(), hi32[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * q));
      const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        lo32[t] = _mm256_dpbusd_epi32(lo32[t], lo, broadcast4(act[t][i].qs + 4 * q));
        hi32[t] = _mm256_dpbusd_epi32(hi32[t], hi, broadcast4(act[t][i].qs + 16 + 4 * q));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      isum[t] = _mm256_add_epi32(lo32[t], hi32[t]);
  }
};

/// Q8_0 on VNNI: vpsignb as on AVX2, vpdpbusd into two chains per token.
struct Q8_0SumsVNNI {
  using Block = BlockQ8_0x8;
  static constexpr int kAhead = 8;
  static constexpr bool kOffset = false;
  template <int T>
  QCC_VNNI static inline void block(const BlockQ8_0x8 &b, const BlockQ8_0 *const *act, int64_t i, __m256i *isum) {
    __m256i s0[T], s1[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      s0[t] = _mm256_setzero_si256(), s1[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * q));
      const __m256i aw = _mm256_sign_epi8(w, w);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_sign_epi8(broadcast4(act[t][i].qs + 4 * q), w);
        if (q % 2)
          s1[t] = _mm256_dpbusd_epi32(s1[t], aw, a);
        else
          s0[t] = _mm256_dpbusd_epi32(s0[t], aw, a);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      isum[t] = _mm256_add_epi32(s0[t], s1[t]);
  }
};

/// Q4_K on VNNI: each sub-block's 32 products per row summed in 32 bits by
/// vpdpbusd (no 16-bit stage), times the row's sub-block scale (vpmulld).
/// Four tokens at a time (the EVEX encoding gives sixteen more registers).
struct Q4_KSumsVNNI {
  using Block = BlockQ4_Kx8;
  template <int T>
  QCC_VNNI static inline void block(const BlockQ4_Kx8 &b, const BlockQ8_K *const *act, int64_t i, __m256i *isum,
                                    __m256i *asum) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int c = 0; c < 4; ++c) {
      __m256i lo32[T], hi32[T];
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t)
        lo32[t] = _mm256_setzero_si256(), hi32[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int q = 0; q < 8; ++q) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 256 * c + 32 * q));
        const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          lo32[t] = _mm256_dpbusd_epi32(lo32[t], lo, broadcast4(act[t][i].qs + 64 * c + 4 * q));
          hi32[t] = _mm256_dpbusd_epi32(hi32[t], hi, broadcast4(act[t][i].qs + 64 * c + 32 + 4 * q));
        }
      }
      const __m256i sc0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[2 * c])));
      const __m256i sc1 =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[2 * c + 1])));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t)
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_mullo_epi32(lo32[t], sc0),
                                                             _mm256_mullo_epi32(hi32[t], sc1)));
      q4kMins<T>(b, act, i, c, asum);
    }
  }
};

/// Q6_K on VNNI: each 16-code sub-block's products per row summed in 32
/// bits by vpdpbusd, times the row's signed scale (vpmulld).
struct Q6_KSumsVNNI {
  using Block = BlockQ6_Kx8;
  template <int T>
  QCC_VNNI static inline void block(const BlockQ6_Kx8 &b, const BlockQ8_K *const *act, int64_t i, __m256i *isum,
                                    __m256i *asum) {
    for (int h = 0; h < 2; ++h)
      for (int jh = 0; jh < 2; ++jh) {
        __m256i acc[T][4];
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t)
          for (int k = 0; k < 4; ++k)
            acc[t][k] = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int j = 4 * jh; j < 4 * jh + 4; ++j) {
          __m256i q[4];
          q6Codes(b, h, j, q);
#pragma GCC unroll 4
          for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k)
              acc[t][k] = _mm256_dpbusd_epi32(acc[t][k], q[k], broadcast4(act[t][i].qs + 128 * h + 32 * k + 4 * j));
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m256i sc = _mm256_cvtepi8_epi32(
              _mm_loadl_epi64(reinterpret_cast<const __m128i *>(b.sc[8 * h + 2 * k + jh])));
#pragma GCC unroll 4
          for (int t = 0; t < T; ++t)
            isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(acc[t][k], sc));
        }
      }
    q6kOffset<T>(b, act, i, asum);
  }
};

template <int T, typename Sums>
QCC_VNNI void kquantVNNI(const typename Sums::Block *g, int64_t nb, const BlockQ8_K *const *act, float *y,
                         int64_t ldy) {
  kquantGroup<T, Sums>(g, nb, act, y, ldy);
}

template <int T, typename Sums>
QCC_VNNI void legacyVNNI(const void *g, int64_t nb, const BlockQ8_0 *const *act, const float *const *ad,
                         const int32_t *const *asum, float *y, int64_t ldy) {
  legacyGroup<T, Sums>(g, nb, act, ad, asum, y, ldy);
}

#undef QCC_VNNI

/// AMX (Sapphire Rapids on): sixteen tokens against sixteen rows (two
/// groups of eight) per block, one tile multiply per 16-byte (Q4_0) or
/// 32-byte (Q8_0) slice of the block. The block layouts above are already
/// AMX's B-tile layout (four consecutive codes of each row side by side), so
/// Q8_0 codes load straight from the regrouped weights and Q4_0's are split
/// into low and high nibbles first. The tile results are each row's exact
/// integer block sums; the float step is the same fused multiply-add per
/// row and block, sixteen rows to a register.
#define QCC_AMX __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni,amx-tile,amx-int8")))

struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

/// Tiles 0-1: activations (16 tokens x K bytes); 2-5: weights (K / 4 rows of
/// 8 weight rows x 4 bytes); 6-7: the two row groups' sums (16 x 8 int32).
TileConfig tileConfig(bool q4) {
  TileConfig c;
  const int k = q4 ? 16 : 32;
  c.rows[0] = c.rows[1] = 16, c.colsb[0] = c.colsb[1] = uint16_t(k);
  for (int t = 2; t < 6; ++t)
    c.rows[t] = uint8_t(k / 4), c.colsb[t] = 32;
  c.rows[6] = c.rows[7] = 16, c.colsb[6] = c.colsb[7] = 32;
  return c;
}

/// The float step of 16 tokens x 16 rows: C[t][r] the integer block sums.
QCC_AMX inline void amxCombine(__m512 *F, const int32_t (*C)[16], const ggml::half *d0, const ggml::half *d1,
                               const float *ad, const int32_t *asum, int64_t nb, int64_t i, int offset) {
  const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(d0))),
      _mm_loadu_si128(reinterpret_cast<const __m128i *>(d1)), 1));
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) {
    __m512i isum = _mm512_load_si512(C[t]);
    if (offset)
      isum = _mm512_sub_epi32(isum, _mm512_set1_epi32(offset * asum[t * nb + i]));
    F[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(ad[t * nb + i])), _mm512_cvtepi32_ps(isum), F[t]);
  }
}

/// Q4_0 codes of two groups of eight rows as bytes, AMX's B tiles: per block
/// four 128-byte tiles (group 0 low and high nibbles, then group 1's).
QCC_AMX void amxUnpackQ4_0(const BlockQ4_0x8 *g0, const BlockQ4_0x8 *g1, int64_t nb, uint8_t *out) {
  const __m256i m4 = _mm256_set1_epi8(0xF);
  for (int64_t i = 0; i < nb; ++i)
    for (int h = 0; h < 2; ++h) {
      const BlockQ4_0x8 &b = (h ? g1 : g0)[i];
      uint8_t *lo = out + i * 512 + 256 * h, *hi = lo + 128;
      for (int q = 0; q < 4; ++q) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * q));
        _mm256_store_si256(reinterpret_cast<__m256i *>(lo + 32 * q), _mm256_and_si256(v, m4));
        _mm256_store_si256(reinterpret_cast<__m256i *>(hi + 32 * q), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
      }
    }
}

/// Rows of groups g0, g1 against 16 tokens (activation rows `ab` bytes
/// apart, side tables at token 0 of the 16); the tile configuration loaded.
/// Q4_0 codes come unpacked in `wb` (amxUnpackQ4_0), Q8_0 codes straight
/// from the blocks.
template <bool Q4, typename B>
QCC_AMX void amxRows(const B *g0, const B *g1, const uint8_t *wb, int64_t nb, const uint8_t *act, size_t ab,
                     const float *ad, const int32_t *asum, float *y, int64_t ldy) {
  __m512 F[16];
  for (int t = 0; t < 16; ++t)
    F[t] = _mm512_setzero_ps();
  alignas(64) int32_t C[16][16];
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t *a = act + i * sizeof(BlockQ8_0) + offsetof(BlockQ8_0, qs);
    _tile_zero(6);
    _tile_zero(7);
    if constexpr (Q4) {
      const uint8_t *w = wb + i * 512;
      _tile_loadd(0, a, ab);
      _tile_loadd(1, a + 16, ab);
      _tile_loadd(2, w, 32);
      _tile_loadd(3, w + 128, 32);
      _tile_loadd(4, w + 256, 32);
      _tile_loadd(5, w + 384, 32);
      _tile_dpbsud(6, 0, 2);
      _tile_dpbsud(6, 1, 3);
      _tile_dpbsud(7, 0, 4);
      _tile_dpbsud(7, 1, 5);
    } else {
      _tile_loadd(0, a, ab);
      _tile_loadd(2, g0[i].qs, 32);
      _tile_loadd(3, g1[i].qs, 32);
      _tile_dpbssd(6, 0, 2);
      _tile_dpbssd(7, 0, 3);
    }
    _tile_stored(6, C[0], 64);
    _tile_stored(7, C[0] + 8, 64);
    amxCombine(F, C, g0[i].d, g1[i].d, ad, asum, nb, i, Q4 ? 8 : 0);
  }
  for (int t = 0; t < 16; ++t)
    _mm512_storeu_ps(y + t * ldy, F[t]);
}

// GCC 12's _tile_loadconfig does not tell the optimizer that it reads the
// configuration, which then loses the stores that fill it (the tiles were
// left unconfigured): the instruction by hand, with its memory operand.
QCC_AMX void amxBegin(const TileConfig &c) { __asm__ volatile("ldtilecfg %0" : : "m"(c) : "memory"); }
QCC_AMX void amxEnd() { _tile_release(); }

#undef QCC_AMX
#undef QCC_AVX2

using GroupFn = void (*)(const void *, int64_t, const BlockQ8_0 *const *, const float *const *,
                         const int32_t *const *, float *, int64_t);

/// The T-token kernel for Q4_0 (q4) or Q8_0 rows, VNNI or AVX2.
template <int T> GroupFn legacyKernel(bool q4, bool vnni) {
  if (q4)
    return vnni ? legacyVNNI<T, Q4_0SumsVNNI> : legacyAVX2<T, Q4_0SumsAVX2>;
  return vnni ? legacyVNNI<T, Q8_0SumsVNNI> : legacyAVX2<T, Q8_0SumsAVX2>;
}

/// The k-quant groups against Q8_K rows, up to TMax tokens at a time
/// (groups[t - 1] takes t tokens).
template <typename B, int TMax>
void gemmK8(void (*const *groups)(const B *, int64_t, const BlockQ8_K *const *, float *, int64_t),
            const void *packed, int64_t rows, int64_t n, const void *act, int64_t tokens, float *y, int64_t ldy) {
  const int64_t nb = n / QK_K;
  const auto *P = static_cast<const B *>(packed);
  const auto *A = static_cast<const BlockQ8_K *>(act);
  for (int64_t t0 = 0; t0 < tokens; t0 += TMax) {
    const int tt = int(std::min<int64_t>(TMax, tokens - t0));
    const BlockQ8_K *ap[TMax];
    for (int t = 0; t < tt; ++t)
      ap[t] = A + (t0 + t) * nb;
    for (int64_t g = 0; g < rows / 8; ++g)
      groups[tt - 1](P + g * nb, nb, ap, y + t0 * ldy + g * 8, ldy);
  }
}

} // namespace

void ActivationSide::reserve(Type w, int64_t tokens, int64_t n) {
  d.resize(activationType(w) == ActType::Q8_0 ? tokens * (n / QK) : 0);
  sum.resize(w == Type::Q4_0 ? tokens * (n / QK) : 0);
}

void ActivationSide::fill(Type w, const void *act, int64_t t0, int64_t t1, int64_t n) {
  if (activationType(w) != ActType::Q8_0)
    return;
  const auto *A = static_cast<const BlockQ8_0 *>(act);
  for (int64_t j = t0 * (n / QK); j < t1 * (n / QK); ++j) {
    d[j] = halfToFloat(A[j].d);
    if (w == Type::Q4_0) {
      int32_t s = 0;
      for (int e = 0; e < QK; ++e)
        s += A[j].qs[e];
      sum[j] = s;
    }
  }
}

std::vector<RepackIsa> repackIsas() {
  std::vector<RepackIsa> isas{RepackIsa::AVX2};
  if (cpuHasVNNI())
    isas.push_back(RepackIsa::AVX512VNNI);
  if (cpuHasAMX())
    isas.push_back(RepackIsa::AMX);
  return isas;
}

const char *isaName(RepackIsa isa) {
  return isa == RepackIsa::AVX2 ? "avx2" : isa == RepackIsa::AVX512VNNI ? "avx512-vnni" : "amx";
}

void gemmRepacked(Type type, const void *packed, int64_t rows, int64_t n, const void *act,
                  const ActivationSide &side, int64_t tokens, float *y, int64_t ldy) {
  static const RepackIsa best = repackIsas().back();
  gemmRepacked(best, type, packed, rows, n, act, side, tokens, y, ldy);
}

void gemmRepacked(RepackIsa isa, Type type, const void *packed, int64_t rows, int64_t n, const void *act,
                  const ActivationSide &side, int64_t tokens, float *y, int64_t ldy) {
  if (type == Type::Q4_K) {
    using Fn = void (*)(const BlockQ4_Kx8 *, int64_t, const BlockQ8_K *const *, float *, int64_t);
    static const Fn avx2[2] = {kquantAVX2<1, Q4_KSumsAVX2>, kquantAVX2<2, Q4_KSumsAVX2>};
    static const Fn vnni[4] = {kquantVNNI<1, Q4_KSumsVNNI>, kquantVNNI<2, Q4_KSumsVNNI>,
                               kquantVNNI<3, Q4_KSumsVNNI>, kquantVNNI<4, Q4_KSumsVNNI>};
    if (isa == RepackIsa::AVX2)
      return gemmK8<BlockQ4_Kx8, 2>(avx2, packed, rows, n, act, tokens, y, ldy);
    return gemmK8<BlockQ4_Kx8, 4>(vnni, packed, rows, n, act, tokens, y, ldy);
  }
  if (type == Type::Q6_K) {
    using Fn = void (*)(const BlockQ6_Kx8 *, int64_t, const BlockQ8_K *const *, float *, int64_t);
    static const Fn avx2[2] = {kquantAVX2<1, Q6_KSumsAVX2>, kquantAVX2<2, Q6_KSumsAVX2>};
    static const Fn vnni[4] = {kquantVNNI<1, Q6_KSumsVNNI>, kquantVNNI<2, Q6_KSumsVNNI>,
                               kquantVNNI<3, Q6_KSumsVNNI>, kquantVNNI<4, Q6_KSumsVNNI>};
    if (isa == RepackIsa::AVX2)
      return gemmK8<BlockQ6_Kx8, 2>(avx2, packed, rows, n, act, tokens, y, ldy);
    return gemmK8<BlockQ6_Kx8, 4>(vnni, packed, rows, n, act, tokens, y, ldy);
  }
  const int64_t nb = n / QK;
  const bool isQ4 = type == Type::Q4_0;
  const size_t groupBytes = nb * (isQ4 ? sizeof(BlockQ4_0x8) : sizeof(BlockQ8_0x8));
  const bool vnni = isa != RepackIsa::AVX2;
  const GroupFn fns[4] = {legacyKernel<1>(isQ4, vnni), legacyKernel<2>(isQ4, vnni), legacyKernel<3>(isQ4, vnni),
                          legacyKernel<4>(isQ4, vnni)};
  const auto *P = static_cast<const uint8_t *>(packed);
  const auto *A = static_cast<const BlockQ8_0 *>(act);
  int64_t t0 = 0;
  if (isa == RepackIsa::AMX && tokens >= 16 && rows >= 16) {
    // Whole tiles: 16 tokens x 16 rows; a last group of eight rows and the
    // last tokens (under 16) take the VNNI kernels below.
    const size_t ab = activationRowBytes(type, n);
    const int64_t whole = tokens / 16 * 16;
    // Q4_0 codes as bytes, once per pair of groups for all the tokens.
    static thread_local std::vector<uint8_t> slab;
    if (isQ4 && slab.size() < size_t(nb * 512 + 64))
      slab.resize(nb * 512 + 64);
    uint8_t *wb = reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(slab.data()) + 63) & ~uintptr_t(63));
    amxBegin(tileConfig(isQ4));
    for (int64_t g = 0; g + 2 <= rows / 8; g += 2) {
      const auto *q4a = reinterpret_cast<const BlockQ4_0x8 *>(P + g * groupBytes);
      const auto *q4b = reinterpret_cast<const BlockQ4_0x8 *>(P + (g + 1) * groupBytes);
      if (isQ4)
        amxUnpackQ4_0(q4a, q4b, nb, wb);
      for (int64_t u = 0; u < whole; u += 16) {
        const float *dp = side.d.data() + u * nb;
        const uint8_t *a = static_cast<const uint8_t *>(act) + u * ab;
        float *yt = y + u * ldy + g * 8;
        if (isQ4)
          amxRows<true>(q4a, q4b, wb, nb, a, ab, dp, side.sum.data() + u * nb, yt, ldy);
        else
          amxRows<false>(reinterpret_cast<const BlockQ8_0x8 *>(P + g * groupBytes),
                         reinterpret_cast<const BlockQ8_0x8 *>(P + (g + 1) * groupBytes), nullptr, nb, a, ab, dp,
                         nullptr, yt, ldy);
      }
    }
    amxEnd();
    t0 = whole;
    if (rows / 8 % 2) {
      // The odd group of eight rows against the tokens the tiles took.
      const int64_t g = rows / 8 - 1;
      for (int64_t u = 0; u < t0; u += 4) {
        const BlockQ8_0 *ap[4];
        const float *dp[4];
        const int32_t *sp[4];
        for (int t = 0; t < 4; ++t)
          ap[t] = A + (u + t) * nb, dp[t] = side.d.data() + (u + t) * nb,
          sp[t] = isQ4 ? side.sum.data() + (u + t) * nb : nullptr;
        fns[3](P + g * groupBytes, nb, ap, dp, sp, y + u * ldy + g * 8, ldy);
      }
    }
  }
  constexpr int T = 4;
  for (; t0 < tokens; t0 += T) {
    const int tt = int(std::min<int64_t>(T, tokens - t0));
    const BlockQ8_0 *ap[T];
    const float *dp[T];
    const int32_t *sp[T];
    for (int t = 0; t < tt; ++t)
      ap[t] = A + (t0 + t) * nb, dp[t] = side.d.data() + (t0 + t) * nb,
      sp[t] = isQ4 ? side.sum.data() + (t0 + t) * nb : nullptr;
    for (int64_t g = 0; g < rows / 8; ++g)
      fns[tt - 1](P + g * groupBytes, nb, ap, dp, sp, y + t0 * ldy + g * 8, ldy);
  }
}

} // namespace qcc::kernels
