//===- DotAVX2.cpp - AVX2 dot products on ggml blocks ---------------------===//
//
// Integer SIMD for every ggml block format: 32 weight codes at a time against 32 activation codes with
// vpmaddubsw / vpmaddwd, the sub-block scales applied to the int32 lanes, one
// horizontal sum per block, then DotCombine.h's float step, so the results
// equal dotRef's bit for bit. Every function carries its own target
// attribute: the file is built without -mavx2, and nothing here runs unless
// the CPU has AVX2 (kernels::dot checks).
//
//===----------------------------------------------------------------------===//
#include "runtime/kernels/DotCombine.h"
#include "runtime/kernels/QuantDot.h"

#include "formats/ggml/BlockCodes.h"

#include <immintrin.h>

#include <cstring>
#include <type_traits>

namespace qcc::kernels::avx2 {

using namespace ggml;

namespace {

#define QCC_AVX2 __attribute__((target("avx2,fma,f16c")))

/// fp16 -> fp32 in one instruction (exact, as frontends' halfToFloat is).
QCC_AVX2 inline float h2f(half h) { return _cvtsh_ss(h); }

QCC_AVX2 inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

/// 8 int32 lanes, each the sum of 4 products of unsigned u (0..255, where
/// every pair sums below 2^15) and signed a.
QCC_AVX2 inline __m256i dotU8(__m256i u, __m256i a) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), _mm256_set1_epi16(1));
}

/// The same for signed w (-128..127) and a (-127..127).
QCC_AVX2 inline __m256i dotI8(__m256i w, __m256i a) {
  return dotU8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

QCC_AVX2 inline __m256i load32(const void *p) {
  return _mm256_loadu_si256(static_cast<const __m256i *>(p));
}

/// 16 bytes of packed nibbles -> 32 bytes: the low nibbles, then the high ones.
QCC_AVX2 inline __m256i nibbles16(const uint8_t *q) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(q));
  const __m128i m = _mm_set1_epi8(0xF);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/// 32 bits -> 32 bytes, byte e 0xFF where bit e is set.
QCC_AVX2 inline __m256i bitsToBytes(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(int(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

/// Per-byte test of bit `mask` in 32 bytes: 0xFF where set.
QCC_AVX2 inline __m256i hasBit(__m256i v, int mask) {
  const __m256i m = _mm256_set1_epi8(char(mask));
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, m), m);
}

struct Q4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  QCC_AVX2 static float step(float sum, const BlockQ4_0 &xb, const BlockQ8_0 &yb) {
    const __m256i w = _mm256_sub_epi8(nibbles16(xb.qs), _mm256_set1_epi8(8));
    const int32_t isum = hsum(dotI8(w, load32(yb.qs)));
    return combineQ8(sum, h2f(xb.d), h2f(yb.d), isum);
  }
};

struct Q8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  QCC_AVX2 static float step(float sum, const BlockQ8_0 &xb, const BlockQ8_0 &yb) {
    const int32_t isum = hsum(dotI8(load32(xb.qs), load32(yb.qs)));
    return combineQ8(sum, h2f(xb.d), h2f(yb.d), isum);
  }
};

/// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins; chunk c of
/// 64 weights holds sub-block 2c in the low nibbles and 2c + 1 in the high
/// ones; Q5_K's fifth bits are bits 2c and 2c + 1 of qh[l].
template <typename B> struct K4K5 {
  using W = B;
  using A = BlockQ8_K;
  QCC_AVX2 static float step(float sum, const B &xb, const BlockQ8_K &yb) {
    constexpr bool five = std::is_same_v<B, BlockQ5_K>;
    const __m256i m4 = _mm256_set1_epi8(0xF), sixteen = _mm256_set1_epi8(16);
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s)
      scaleMinK4(s, xb.scales, sc[s], mn[s]);
    __m256i qh = _mm256_setzero_si256();
    if constexpr (five)
      qh = load32(xb.qh);
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(xb.qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (five) {
        lo = _mm256_or_si256(lo, _mm256_and_si256(hasBit(qh, 1 << (2 * c)), sixteen));
        hi = _mm256_or_si256(hi, _mm256_and_si256(hasBit(qh, 2 << (2 * c)), sixteen));
      }
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(dotU8(lo, load32(yb.qs + 64 * c)),
                                                     _mm256_set1_epi32(sc[2 * c])));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(dotU8(hi, load32(yb.qs + 64 * c + 32)),
                                                     _mm256_set1_epi32(sc[2 * c + 1])));
    }
    int32_t msum = 0;
    for (int s = 0; s < 8; ++s)
      msum += mn[s] * (yb.bsums[2 * s] + yb.bsums[2 * s + 1]);
    return combineK(sum, yb.d, h2f(xb.d), hsum(acc), h2f(xb.dmin), msum);
  }
};

struct Q6_K {
  using W = BlockQ6_K;
  using A = BlockQ8_K;
  QCC_AVX2 static float step(float sum, const BlockQ6_K &xb, const BlockQ8_K &yb) {
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(0x0C),
                  m48 = _mm256_set1_epi8(0x30);
    const int8_t *sc = xb.scales;
    __m256i acc = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = load32(xb.ql + 64 * h), l1 = load32(xb.ql + 64 * h + 32),
                    qh = load32(xb.qh + 32 * h);
      // The six-bit codes 0..63 of weights 128h + 32k + l, k = 0..3.
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m12), 2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m48)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48))};
      for (int k = 0; k < 4; ++k) {
        const int s = 8 * h + 2 * k; // lanes 0-3: sub-block s, lanes 4-7: s + 1
        const __m256i scale = _mm256_set_epi32(sc[s + 1], sc[s + 1], sc[s + 1], sc[s + 1], sc[s],
                                               sc[s], sc[s], sc[s]);
        acc = _mm256_add_epi32(
            acc, _mm256_mullo_epi32(dotU8(q[k], load32(yb.qs + 128 * h + 32 * k)), scale));
      }
    }
    // The codes above are stored +32: sum((q - 32) a) = sum(q a) - 32 sum(a).
    int32_t offset = 0;
    for (int s = 0; s < 16; ++s)
      offset += sc[s] * yb.bsums[s];
    return combineK(sum, yb.d, h2f(xb.d), hsum(acc) - 32 * offset);
  }
};

/// Q4_1 / Q5_1 codes (0..31) against Q8_1.
template <typename B> struct Qx_1 {
  using W = B;
  using A = BlockQ8_1;
  QCC_AVX2 static float step(float sum, const B &xb, const BlockQ8_1 &yb) {
    __m256i u = nibbles16(xb.qs);
    if constexpr (std::is_same_v<B, BlockQ5_1>) {
      uint32_t qh;
      std::memcpy(&qh, xb.qh, 4);
      u = _mm256_or_si256(u, _mm256_and_si256(bitsToBytes(qh), _mm256_set1_epi8(16)));
    }
    const int32_t isum = hsum(dotU8(u, load32(yb.qs)));
    return combineQ8_1(sum, h2f(xb.d), h2f(yb.d), isum, h2f(xb.m),
                      h2f(yb.s));
  }
};

struct Q5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  QCC_AVX2 static float step(float sum, const BlockQ5_0 &xb, const BlockQ8_0 &yb) {
    uint32_t qh;
    std::memcpy(&qh, xb.qh, 4);
    const __m256i u =
        _mm256_or_si256(nibbles16(xb.qs), _mm256_and_si256(bitsToBytes(qh), _mm256_set1_epi8(16)));
    const __m256i w = _mm256_sub_epi8(u, _mm256_set1_epi8(16));
    return combineQ8(sum, h2f(xb.d), h2f(yb.d), hsum(dotI8(w, load32(yb.qs))));
  }
};

struct IQ4_NL {
  using W = BlockIQ4_NL;
  using A = BlockQ8_0;
  QCC_AVX2 static float step(float sum, const BlockIQ4_NL &xb, const BlockQ8_0 &yb) {
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(kIQ4NL)));
    const __m256i w = _mm256_shuffle_epi8(table, nibbles16(xb.qs));
    return combineQ8(sum, h2f(xb.d), h2f(yb.d), hsum(dotI8(w, load32(yb.qs))));
  }
};

/// Sub-block scales for the two halves of a 32-weight vector of 16-weight sub-blocks.
QCC_AVX2 inline __m256i pairScale(int lo, int hi) {
  return _mm256_set_epi32(hi, hi, hi, hi, lo, lo, lo, lo);
}

struct Q2_K {
  using W = BlockQ2_K;
  using A = BlockQ8_K;
  QCC_AVX2 static float step(float sum, const BlockQ2_K &xb, const BlockQ8_K &yb) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const uint8_t *sc = xb.scales;
    __m256i acc = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(xb.qs + 32 * h);
      for (int j = 0; j < 4; ++j) { // weights 128h + 32j + l: sub-blocks 8h + 2j, + 1
        const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
        const int s = 8 * h + 2 * j;
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(dotU8(u, load32(yb.qs + 128 * h + 32 * j)),
                                                       pairScale(sc[s] & 0xF, sc[s + 1] & 0xF)));
      }
    }
    int32_t msum = 0;
    for (int s = 0; s < 16; ++s)
      msum += (sc[s] >> 4) * yb.bsums[s];
    return combineK(sum, yb.d, h2f(xb.d), hsum(acc), h2f(xb.dmin), msum);
  }
};

struct Q3_K {
  using W = BlockQ3_K;
  using A = BlockQ8_K;
  QCC_AVX2 static float step(float sum, const BlockQ3_K &xb, const BlockQ8_K &yb) {
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    int8_t sc[16];
    scalesQ3K(xb.scales, sc);
    const __m256i hm = load32(xb.hmask);
    __m256i acc = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(xb.qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        // Stored as low 2 bits + 4 * high bit (0..7); the code is that - 4.
        const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3),
                                          _mm256_and_si256(hasBit(hm, 1 << (4 * h + j)), four));
        const int s = 8 * h + 2 * j;
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(dotU8(u, load32(yb.qs + 128 * h + 32 * j)),
                                                       pairScale(sc[s], sc[s + 1])));
      }
    }
    int32_t offset = 0;
    for (int s = 0; s < 16; ++s)
      offset += sc[s] * yb.bsums[s];
    return combineK(sum, yb.d, h2f(xb.d), hsum(acc) - 4 * offset);
  }
};

/// R rows of K's weights (rowBytes apart) against one activation row: R
/// independent float chains, each summed exactly as a single row is.
template <typename K, int R>
QCC_AVX2 void rowsOf(const uint8_t *W, size_t rowBytes, const void *act, int64_t nb, float *out) {
  const auto *y = static_cast<const typename K::A *>(act);
  float s[R];
  for (int r = 0; r < R; ++r)
    s[r] = 0;
  for (int64_t i = 0; i < nb; ++i)
    for (int r = 0; r < R; ++r)
      s[r] = K::step(s[r], reinterpret_cast<const typename K::W *>(W + r * rowBytes)[i], y[i]);
  for (int r = 0; r < R; ++r)
    out[r] = s[r];
}

template <typename K>
void gemvOf(const void *W, size_t rowBytes, int64_t rows, const void *act, int64_t nb, float *y) {
  const auto *w = static_cast<const uint8_t *>(W);
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    rowsOf<K, 4>(w + r * rowBytes, rowBytes, act, nb, y + r);
  for (; r < rows; ++r)
    rowsOf<K, 1>(w + r * rowBytes, rowBytes, act, nb, y + r);
}

#undef QCC_AVX2

} // namespace

bool has(Type w) { return traits(w).quantized; }

void gemv(Type w, const void *W, int64_t rows, int64_t n, const void *act, float *y) {
  const size_t rb = rowBytes(w, n);
  const int64_t nl = n / QK, nk = n / QK_K;
  switch (w) {
  case Type::Q4_0: return gemvOf<Q4_0>(W, rb, rows, act, nl, y);
  case Type::Q4_1: return gemvOf<Qx_1<BlockQ4_1>>(W, rb, rows, act, nl, y);
  case Type::Q5_0: return gemvOf<Q5_0>(W, rb, rows, act, nl, y);
  case Type::Q5_1: return gemvOf<Qx_1<BlockQ5_1>>(W, rb, rows, act, nl, y);
  case Type::Q8_0: return gemvOf<Q8_0>(W, rb, rows, act, nl, y);
  case Type::IQ4_NL: return gemvOf<IQ4_NL>(W, rb, rows, act, nl, y);
  case Type::Q2_K: return gemvOf<Q2_K>(W, rb, rows, act, nk, y);
  case Type::Q3_K: return gemvOf<Q3_K>(W, rb, rows, act, nk, y);
  case Type::Q4_K: return gemvOf<K4K5<BlockQ4_K>>(W, rb, rows, act, nk, y);
  case Type::Q5_K: return gemvOf<K4K5<BlockQ5_K>>(W, rb, rows, act, nk, y);
  case Type::Q6_K: return gemvOf<Q6_K>(W, rb, rows, act, nk, y);
  default:
    for (int64_t r = 0; r < rows; ++r)
      y[r] = dotRef(w, static_cast<const uint8_t *>(W) + r * rb, act, n);
    return;
  }
}

float dot(Type w, const void *wRow, const void *aRow, int64_t n) {
  float y;
  gemv(w, wRow, 1, n, aRow, &y);
  return y;
}

} // namespace qcc::kernels::avx2
