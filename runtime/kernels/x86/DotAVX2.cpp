//===- DotAVX2.cpp - AVX2 dot products on ggml blocks ---------------------===//
//
// Integer SIMD for every ggml block format: 32 weight codes at a time against
// 32 activation codes with vpmaddubsw, the sub-block scales applied by
// vpmaddwd, so each block yields DotCombine.h's eight integer lanes; those are
// converted (exactly) and accumulated with one FMA per block into eight float
// lanes, reduced once per row. The results equal dotRef's bit for bit.
//
// Each format is a struct with prep() (the weight block unpacked once:
// codes, scales) and lanes() (the prepared block against one activation
// block), so a tile of R rows x T tokens unpacks each weight block once for
// T tokens (prompt processing) and each activation block is read for R rows.
// Every function carries its own target attribute: the file is built without
// -mavx2, and nothing here runs unless the CPU has AVX2 (kernels::dot checks).
//
//===----------------------------------------------------------------------===//
#include "runtime/kernels/DotCombine.h"
#include "runtime/kernels/QuantDot.h"

#include "formats/ggml/BlockCodes.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace qcc::kernels::avx2 {

using namespace ggml;

namespace {

#define QCC_AVX2 __attribute__((target("avx2,fma,f16c"), always_inline)) inline

/// fp16 -> fp32 in one instruction (exact, as frontends' halfToFloat is).
QCC_AVX2 float h2f(half h) { return _cvtsh_ss(h); }

QCC_AVX2 __m256i load32(const void *p) { return _mm256_loadu_si256(static_cast<const __m256i *>(p)); }

/// Eight int32 lanes: lane j sums bytes 4j .. 4j+3 of u (unsigned, 0..255,
/// every pair below 2^15) times a (signed), the pair sums times the 16-bit
/// scales in sc.
QCC_AVX2 __m256i dotU8(__m256i u, __m256i a, __m256i sc) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), sc);
}
/// The same for signed w (-128..127) and a (-127..127).
QCC_AVX2 __m256i dotI8(__m256i w, __m256i a, __m256i sc) {
  return dotU8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w), sc);
}
QCC_AVX2 __m256i ones16() { return _mm256_set1_epi16(1); }
/// Scale lo for lanes 0-3 (the first 16 weights), hi for lanes 4-7.
QCC_AVX2 __m256i scale2(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(int16_t(hi)), _mm_set1_epi16(int16_t(lo)));
}

/// 16 bytes of packed nibbles -> 32 bytes: the low nibbles, then the high ones.
QCC_AVX2 __m256i nibbles16(const uint8_t *q) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(q));
  const __m128i m = _mm_set1_epi8(0xF);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/// 32 bits -> 32 bytes, byte e 0xFF where bit e is set.
QCC_AVX2 __m256i bitsToBytes(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(int(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

/// Per-byte test of bit `mask` in 32 bytes: 0xFF where set.
QCC_AVX2 __m256i hasBit(__m256i v, int mask) {
  const __m256i m = _mm256_set1_epi8(char(mask));
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, m), m);
}

QCC_AVX2 float sumLanes(__m256 F) {
  __m128 v = _mm_add_ps(_mm256_castps256_ps128(F), _mm256_extractf128_ps(F, 1));
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

// ---- The 32-weight formats against Q8_0 / Q8_1 ----------------------------

/// A Q8_0 activation block, loaded once for all the rows of a tile.
struct ActQ8_0 {
  __m256i a;
  __m256 d;
};
QCC_AVX2 ActQ8_0 loadQ8_0(const BlockQ8_0 &a) { return {load32(a.qs), _mm256_set1_ps(h2f(a.d))}; }

/// Signed codes against Q8_0 (Q8_0, IQ4_NL: vpsignb makes the weights the
/// unsigned operand).
template <typename B, typename Unpack> struct Signed32 {
  using W = B;
  using A = BlockQ8_0;
  using Q = ActQ8_0;
  static constexpr Combine kind = Combine::Q8_0;
  struct P {
    __m256i w;
    __m256 d;
  };
  QCC_AVX2 static Q act(const A &a) { return loadQ8_0(a); }
  QCC_AVX2 static P prep(const B &x) { return {Unpack::codes(x), _mm256_set1_ps(h2f(x.d))}; }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &) {
    return dotI8(p.w, q.a, ones16());
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(p.d, q.d); }
};

/// Codes stored as u = code + Off (Q4_0: 8, Q5_0: 16) against Q8_0: the
/// unsigned u go straight into vpmaddubsw and Off * a, computed once per
/// activation block, is taken off the 16-bit pair sums: the same integer
/// lanes as the signed codes give.
template <typename B, typename Unpack, int Off> struct Offset32 {
  using W = B;
  using A = BlockQ8_0;
  struct Q {
    __m256i a, off; ///< off: Off * (a[2k] + a[2k+1]) as 16-bit pairs
    __m256 d;
  };
  static constexpr Combine kind = Combine::Q8_0;
  struct P {
    __m256i u;
    __m256 d;
  };
  QCC_AVX2 static Q act(const A &a) {
    const ActQ8_0 q = loadQ8_0(a);
    return {q.a, _mm256_maddubs_epi16(_mm256_set1_epi8(Off), q.a), q.d};
  }
  QCC_AVX2 static P prep(const B &x) { return {Unpack::codes(x), _mm256_set1_ps(h2f(x.d))}; }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &) {
    return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(p.u, q.a), q.off), ones16());
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(p.d, q.d); }
};

struct UnpackQ4_0 {
  QCC_AVX2 static __m256i codes(const BlockQ4_0 &x) { return nibbles16(x.qs); }
};
struct UnpackQ8_0 {
  QCC_AVX2 static __m256i codes(const BlockQ8_0 &x) { return load32(x.qs); }
};
struct UnpackQ5_0 {
  QCC_AVX2 static __m256i codes(const BlockQ5_0 &x) {
    uint32_t qh;
    std::memcpy(&qh, x.qh, 4);
    return _mm256_or_si256(nibbles16(x.qs), _mm256_and_si256(bitsToBytes(qh), _mm256_set1_epi8(16)));
  }
};
struct UnpackIQ4_NL {
  QCC_AVX2 static __m256i codes(const BlockIQ4_NL &x) {
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(kIQ4NL)));
    return _mm256_shuffle_epi8(table, nibbles16(x.qs));
  }
};

using Q4_0 = Offset32<BlockQ4_0, UnpackQ4_0, 8>;
using Q8_0 = Signed32<BlockQ8_0, UnpackQ8_0>;
using Q5_0 = Offset32<BlockQ5_0, UnpackQ5_0, 16>;
using IQ4_NL = Signed32<BlockIQ4_NL, UnpackIQ4_NL>;

/// Q4_1 / Q5_1 codes (0..31) against Q8_1.
template <typename B> struct Qx_1 {
  using W = B;
  using A = BlockQ8_1;
  struct Q {
    __m256i a;
    __m256 d;
    float s;
  };
  static constexpr Combine kind = Combine::Q8_1;
  struct P {
    __m256i u;
    __m256 d;
    float m;
  };
  QCC_AVX2 static Q act(const A &a) { return {load32(a.qs), _mm256_set1_ps(h2f(a.d)), h2f(a.s)}; }
  QCC_AVX2 static P prep(const B &x) {
    __m256i u = nibbles16(x.qs);
    if constexpr (std::is_same_v<B, BlockQ5_1>) {
      uint32_t qh;
      std::memcpy(&qh, x.qh, 4);
      u = _mm256_or_si256(u, _mm256_and_si256(bitsToBytes(qh), _mm256_set1_epi8(16)));
    }
    return {u, _mm256_set1_ps(h2f(x.d)), h2f(x.m)};
  }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &) {
    return dotU8(p.u, q.a, ones16());
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(p.d, q.d); }
  QCC_AVX2 static float corr(const P &p, const Q &q) { return p.m * q.s; }
};

// ---- The k-quants against Q8_K ---------------------------------------------

/// A Q8_K block: read in place (its 256 codes are too many to hold), its
/// scale broadcast once.
struct ActQ8_K {
  const BlockQ8_K *b;
  __m256i bsums; ///< the 16 sums of 16 codes, int16
  __m256 dv;
  float d;
};
QCC_AVX2 ActQ8_K loadQ8_K(const BlockQ8_K &a) {
  return {&a, load32(a.bsums), _mm256_set1_ps(a.d), a.d};
}

/// The exact sum of eight int32 lanes.
QCC_AVX2 int32_t hsum32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

/// The 8 scales and 8 mins (6 bits each) of a Q4_K / Q5_K scale block, as
/// bytes sc[0..7] and mn[0..7]: the layout scaleMinK4 reads one at a time,
/// unpacked with 32-bit masks.
inline void scalesMinsK4(const uint8_t *q, uint8_t sc[8], uint8_t mn[8]) {
  uint32_t u[3];
  std::memcpy(u, q, 12);
  const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
  const uint32_t s0 = u[0] & m6, s1 = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
  const uint32_t n0 = u[1] & m6, n1 = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
  std::memcpy(sc, &s0, 4), std::memcpy(sc + 4, &s1, 4);
  std::memcpy(mn, &n0, 4), std::memcpy(mn + 4, &n1, 4);
}

/// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins; chunk c of
/// 64 weights holds sub-block 2c in the low nibbles and 2c + 1 in the high
/// ones; Q5_K's fifth bits are bits 2c and 2c + 1 of qh[l].
template <typename B> struct K4K5 {
  using W = B;
  using A = BlockQ8_K;
  using Q = ActQ8_K;
  QCC_AVX2 static Q act(const A &a) { return loadQ8_K(a); }
  static constexpr Combine kind = Combine::KMin;
  struct P {
    __m256i u[8];
    __m256i mins; ///< min s at int16 positions 2s and 2s + 1 (bsums' order)
    int16_t sc[8];
    __m256 dv;
    float dmin;
  };
  QCC_AVX2 static P prep(const B &x) {
    constexpr bool five = std::is_same_v<B, BlockQ5_K>;
    P p;
    uint8_t sc[8], mn[8];
    scalesMinsK4(x.scales, sc, mn);
    for (int s = 0; s < 8; ++s)
      p.sc[s] = sc[s];
    const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(mn));
    p.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    const __m256i m4 = _mm256_set1_epi8(0xF), sixteen = _mm256_set1_epi8(16);
    __m256i qh = _mm256_setzero_si256();
    if constexpr (five)
      qh = load32(x.qh);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(x.qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (five) {
        lo = _mm256_or_si256(lo, _mm256_and_si256(hasBit(qh, 1 << (2 * c)), sixteen));
        hi = _mm256_or_si256(hi, _mm256_and_si256(hasBit(qh, 2 << (2 * c)), sixteen));
      }
      p.u[2 * c] = lo, p.u[2 * c + 1] = hi;
    }
    p.dv = _mm256_set1_ps(h2f(x.d)), p.dmin = h2f(x.dmin);
    return p;
  }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &msum) {
    const A &a = *q.b;
    __m256i acc = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s)
      acc = _mm256_add_epi32(acc, dotU8(p.u[s], load32(a.qs + 32 * s), _mm256_set1_epi16(p.sc[s])));
    msum = hsum32(_mm256_madd_epi16(q.bsums, p.mins));
    return acc;
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(q.dv, p.dv); }
  QCC_AVX2 static float scaleMin(const P &p, const Q &q) { return q.d * p.dmin; }
};

/// Q3_K and Q6_K: signed codes of 16 sub-blocks of 16 (w[v]: weights 32v ..
/// 32v+31) with signed scales, against a Q8_K block.
QCC_AVX2 __m256i signedLanes16(const __m256i *w, const int8_t *sc, const BlockQ8_K &a) {
  __m256i acc = _mm256_setzero_si256();
  for (int v = 0; v < 8; ++v)
    acc = _mm256_add_epi32(acc, dotI8(w[v], load32(a.qs + 32 * v), scale2(sc[2 * v], sc[2 * v + 1])));
  return acc;
}

/// Q6_K: 16 sub-blocks of 16, signed 8-bit scales, six-bit codes stored +32.
struct Q6_K {
  using W = BlockQ6_K;
  using A = BlockQ8_K;
  using Q = ActQ8_K;
  QCC_AVX2 static Q act(const A &a) { return loadQ8_K(a); }
  static constexpr Combine kind = Combine::K;
  struct P {
    __m256i w[8]; ///< weights 32v .. 32v+31, signed
    int8_t sc[16];
    __m256 dv;
  };
  QCC_AVX2 static P prep(const BlockQ6_K &x) {
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3),
                  m12 = _mm256_set1_epi8(0x0C), m48 = _mm256_set1_epi8(0x30),
                  off = _mm256_set1_epi8(32);
    P p;
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = load32(x.ql + 64 * h), l1 = load32(x.ql + 64 * h + 32),
                    qh = load32(x.qh + 32 * h);
      // The six-bit codes 0..63 of weights 128h + 32k + l, k = 0..3, minus 32.
      p.w[4 * h + 0] = _mm256_sub_epi8(
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4)), off);
      p.w[4 * h + 1] = _mm256_sub_epi8(
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m12), 2)), off);
      p.w[4 * h + 2] = _mm256_sub_epi8(
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m48)), off);
      p.w[4 * h + 3] = _mm256_sub_epi8(
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48)),
          off);
    }
    std::memcpy(p.sc, x.scales, 16);
    p.dv = _mm256_set1_ps(h2f(x.d));
    return p;
  }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &) {
    return signedLanes16(p.w, p.sc, *q.b);
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(q.dv, p.dv); }
};

/// Q2_K: 16 sub-blocks of 16, 2-bit codes, 4-bit scales and mins.
struct Q2_K {
  using W = BlockQ2_K;
  using A = BlockQ8_K;
  using Q = ActQ8_K;
  QCC_AVX2 static Q act(const A &a) { return loadQ8_K(a); }
  static constexpr Combine kind = Combine::KMin;
  struct P {
    __m256i u[8];
    __m256i mins; ///< the 16 4-bit mins as int16, bsums' order
    uint8_t sc[16];
    __m256 dv;
    float dmin;
  };
  QCC_AVX2 static P prep(const BlockQ2_K &x) {
    const __m256i m3 = _mm256_set1_epi8(3);
    P p;
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(x.qs + 32 * h);
      for (int j = 0; j < 4; ++j) // weights 128h + 32j + l
        p.u[4 * h + j] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
    }
    std::memcpy(p.sc, x.scales, 16);
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i *>(x.scales));
    p.mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(0xF)));
    p.dv = _mm256_set1_ps(h2f(x.d)), p.dmin = h2f(x.dmin);
    return p;
  }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &msum) {
    const A &a = *q.b;
    __m256i acc = _mm256_setzero_si256();
    for (int v = 0; v < 8; ++v)
      acc = _mm256_add_epi32(acc, dotU8(p.u[v], load32(a.qs + 32 * v),
                                        scale2(p.sc[2 * v] & 0xF, p.sc[2 * v + 1] & 0xF)));
    msum = hsum32(_mm256_madd_epi16(q.bsums, p.mins));
    return acc;
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(q.dv, p.dv); }
  QCC_AVX2 static float scaleMin(const P &p, const Q &q) { return q.d * p.dmin; }
};

/// Q3_K: 16 sub-blocks of 16, signed 6-bit scales, codes 0..7 stored +4.
struct Q3_K {
  using W = BlockQ3_K;
  using A = BlockQ8_K;
  using Q = ActQ8_K;
  QCC_AVX2 static Q act(const A &a) { return loadQ8_K(a); }
  static constexpr Combine kind = Combine::K;
  struct P {
    __m256i w[8];
    int8_t sc[16];
    __m256 dv;
  };
  QCC_AVX2 static P prep(const BlockQ3_K &x) {
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    P p;
    scalesQ3K(x.scales, p.sc);
    const __m256i hm = load32(x.hmask);
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(x.qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        // Stored as low 2 bits + 4 * high bit (0..7); the code is that - 4.
        const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3),
                                          _mm256_and_si256(hasBit(hm, 1 << (4 * h + j)), four));
        p.w[4 * h + j] = _mm256_sub_epi8(u, four);
      }
    }
    p.dv = _mm256_set1_ps(h2f(x.d));
    return p;
  }
  QCC_AVX2 static __m256i lanes(const P &p, const Q &q, int32_t &) {
    return signedLanes16(p.w, p.sc, *q.b);
  }
  QCC_AVX2 static __m256 scale(const P &p, const Q &q) { return _mm256_mul_ps(q.dv, p.dv); }
};

#undef QCC_AVX2
#define QCC_AVX2_FN __attribute__((target("avx2,fma,f16c")))

/// R weight rows (rowBytes apart) against T activation rows (actBytes
/// apart): y[t * ldy + r]. Each weight block is unpacked once for the T
/// tokens; every (row, token) sum evolves exactly as a lone dot product's.
template <typename K, int R, int T>
QCC_AVX2_FN void tile(const uint8_t *W, size_t rowBytes, const uint8_t *act, size_t actBytes,
                      int64_t nb, float *y, int64_t ldy) {
  __m256 F[R][T];
  float c[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t)
      F[r][t] = _mm256_setzero_ps(), c[r][t] = 0;
  for (int64_t i = 0; i < nb; ++i) {
    typename K::Q q[T];
    for (int t = 0; t < T; ++t)
      q[t] = K::act(reinterpret_cast<const typename K::A *>(act + t * actBytes)[i]);
    for (int r = 0; r < R; ++r) {
      const typename K::P p = K::prep(reinterpret_cast<const typename K::W *>(W + r * rowBytes)[i]);
      for (int t = 0; t < T; ++t) {
        int32_t msum = 0;
        const __m256 L = _mm256_cvtepi32_ps(K::lanes(p, q[t], msum));
        F[r][t] = _mm256_fmadd_ps(K::scale(p, q[t]), L, F[r][t]);
        if constexpr (K::kind == Combine::Q8_1)
          c[r][t] = c[r][t] + K::corr(p, q[t]);
        else if constexpr (K::kind == Combine::KMin)
          c[r][t] = __builtin_fmaf(K::scaleMin(p, q[t]), float(msum), c[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      const float s = sumLanes(F[r][t]);
      y[t * ldy + r] = K::kind == Combine::Q8_1 ? s + c[r][t] : s - c[r][t];
    }
}

/// rows x tokens in tiles of R x T, remainders in tiles of 1.
template <typename K, int R, int T>
void gemmOf(const void *W, size_t rowBytes, int64_t rows, const void *act, size_t actBytes,
            int64_t tokens, int64_t nb, float *y, int64_t ldy) {
  const auto *w = static_cast<const uint8_t *>(W);
  const auto *a = static_cast<const uint8_t *>(act);
  int64_t t = 0;
  for (; t + T <= tokens; t += T) {
    int64_t r = 0;
    for (; r + R <= rows; r += R)
      tile<K, R, T>(w + r * rowBytes, rowBytes, a + t * actBytes, actBytes, nb, y + t * ldy + r, ldy);
    for (; r < rows; ++r)
      tile<K, 1, T>(w + r * rowBytes, rowBytes, a + t * actBytes, actBytes, nb, y + t * ldy + r, ldy);
  }
  for (; t < tokens; ++t) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
      tile<K, 4, 1>(w + r * rowBytes, rowBytes, a + t * actBytes, actBytes, nb, y + t * ldy + r, ldy);
    for (; r < rows; ++r)
      tile<K, 1, 1>(w + r * rowBytes, rowBytes, a + t * actBytes, actBytes, nb, y + t * ldy + r, ldy);
  }
}

/// Tile shapes (measured on debtext-29m's pp512, Zen 3): the 32-weight
/// formats 4 rows x 3 tokens; the k-quants' unpacked super-block is large,
/// so one row's block serves 8 tokens. Decoding (one token) runs 4 rows.
template <typename K>
void gemmK(const void *W, size_t rb, int64_t rows, const void *act, size_t ab, int64_t tokens,
           int64_t nb, float *y, int64_t ldy) {
  if constexpr (K::kind == Combine::Q8_0 || K::kind == Combine::Q8_1)
    gemmOf<K, 4, 3>(W, rb, rows, act, ab, tokens, nb, y, ldy);
  else
    gemmOf<K, 1, 8>(W, rb, rows, act, ab, tokens, nb, y, ldy);
}

#undef QCC_AVX2_FN

} // namespace

bool has(Type w) { return traits(w).quantized; }

void gemm(Type w, const void *W, int64_t rows, int64_t n, const void *act, int64_t tokens,
          float *y, int64_t ldy) {
  const size_t rb = rowBytes(w, n), ab = activationRowBytes(w, n);
  const int64_t nl = n / QK, nk = n / QK_K;
  switch (w) {
  case Type::Q4_0: return gemmK<Q4_0>(W, rb, rows, act, ab, tokens, nl, y, ldy);
  case Type::Q4_1: return gemmK<Qx_1<BlockQ4_1>>(W, rb, rows, act, ab, tokens, nl, y, ldy);
  case Type::Q5_0: return gemmK<Q5_0>(W, rb, rows, act, ab, tokens, nl, y, ldy);
  case Type::Q5_1: return gemmK<Qx_1<BlockQ5_1>>(W, rb, rows, act, ab, tokens, nl, y, ldy);
  case Type::Q8_0: return gemmK<Q8_0>(W, rb, rows, act, ab, tokens, nl, y, ldy);
  case Type::IQ4_NL: return gemmK<IQ4_NL>(W, rb, rows, act, ab, tokens, nl, y, ldy);
  case Type::Q2_K: return gemmK<Q2_K>(W, rb, rows, act, ab, tokens, nk, y, ldy);
  case Type::Q3_K: return gemmK<Q3_K>(W, rb, rows, act, ab, tokens, nk, y, ldy);
  case Type::Q4_K: return gemmK<K4K5<BlockQ4_K>>(W, rb, rows, act, ab, tokens, nk, y, ldy);
  case Type::Q5_K: return gemmK<K4K5<BlockQ5_K>>(W, rb, rows, act, ab, tokens, nk, y, ldy);
  case Type::Q6_K: return gemmK<Q6_K>(W, rb, rows, act, ab, tokens, nk, y, ldy);
  default:
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t r = 0; r < rows; ++r)
        y[t * ldy + r] = dotRef(w, static_cast<const uint8_t *>(W) + r * rb,
                                static_cast<const uint8_t *>(act) + t * ab, n);
    return;
  }
}

void gemv(Type w, const void *W, int64_t rows, int64_t n, const void *act, float *y) {
  gemm(w, W, rows, n, act, 1, y, rows);
}

float dot(Type w, const void *wRow, const void *aRow, int64_t n) {
  float y;
  gemv(w, wRow, 1, n, aRow, &y);
  return y;
}

} // namespace qcc::kernels::avx2
