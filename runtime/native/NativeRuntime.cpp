//===- NativeRuntime.cpp - the microkernels compiled models call ----------===//
//
// The microkernels of NativeABI.h (embedding rows, a linear layer's steps,
// KV-cache attention's steps) and the NativeModel that owns their state.
// The generated code decides what runs in parallel and how it is split
// (qcc_rt_parallel_for: contiguous ranges of output rows, tokens or
// attention units, bounds on multiples of its grain); the threads are the
// model's ThreadPool, started once. Every unit's result is computed the same
// way whichever thread takes it, so results do not depend on the thread
// count.
//
//===----------------------------------------------------------------------===//
#include "runtime/native/NativeModel.h"
#include "runtime/native/ThreadPool.h"

#include "formats/ggml/GGMLTypes.h"
#include "frontends/Error.h"
#include "frontends/GGUF.h"
#include "runtime/Kernels.h"
#include "runtime/kernels/QuantDot.h"
#include "runtime/kernels/QuantLinear.h"

#include "llvm/ADT/StringExtras.h"

#include <immintrin.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#include <omp.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

using namespace llvm;
using qcc::ggml::Type;

struct QccRt {
  qcc::KVType kv = qcc::KVType::F16;
  /// Quantized layers multiply the unrounded float activations by their
  /// exactly dequantized weights (the reference executor's arithmetic; an
  /// oracle for other targets) instead of ggml's int8-rounded activations.
  bool floatActivations = false;
  int64_t maxCtx = 0;
  /// Per layer: keys and values of every cached position, [maxCtx x kvDim]
  /// as F16 or as Q8_0 blocks.
  struct Slot {
    int64_t kvDim = 0;
    std::vector<uint8_t> k, v;
  };
  std::vector<Slot> slots;
  std::vector<uint8_t> act;                // quantized activations
  std::vector<float> actF;                 // activations rounded to F16 / BF16
  std::vector<std::vector<float>> scratch; // per thread
  /// Per thread: one KV head's F16 keys and values of a prompt call as
  /// floats, converted once for all its query blocks (rows [0, len)).
  struct HeadRows {
    int64_t call = -1, g = -1, len = 0;
    std::vector<float> k, v;
  };
  std::vector<HeadRows> headRows;
  int64_t promptCalls = 0;
  std::unique_ptr<qcc::ThreadPool> pool;
  /// The weights regrouped for the 8-row kernels, all in one buffer
  /// 2 MiB-aligned and marked for transparent huge pages (a decoding step
  /// streams all of them; fewer TLB misses), and where each matrix starts in
  /// it, by its address in the file. One buffer: a huge page per matrix
  /// would hold up to 2 MiB of padding each (debtext-29m: 127 MiB resident
  /// for 17 MiB of weights).
  struct Buffer {
    uint8_t *p = nullptr;
    Buffer() = default;
    explicit Buffer(size_t n) {
      constexpr size_t kHuge = size_t(2) << 20;
      const size_t bytes = (n + kHuge - 1) / kHuge * kHuge;
      p = static_cast<uint8_t *>(std::aligned_alloc(kHuge, bytes));
      if (!p)
        throw std::bad_alloc();
      madvise(p, bytes, MADV_HUGEPAGE);
    }
    Buffer(Buffer &&o) noexcept : p(o.p) { o.p = nullptr; }
    Buffer &operator=(Buffer &&o) noexcept {
      std::swap(p, o.p);
      return *this;
    }
    ~Buffer() { std::free(p); }
    uint8_t *data() const { return p; }
  };
  Buffer packedWeights;
  std::unordered_map<const void *, const uint8_t *> repacked;
  /// The activation side table of the product under way (repacked weights).
  qcc::kernels::ActivationSide side;
  /// The regrouped rows of that product's weight (null: the lanes kernels).
  const uint8_t *packed = nullptr;
};

namespace {

size_t kvRowBytes(qcc::KVType kv, int64_t kvDim) {
  return kv == qcc::KVType::F16 ? size_t(kvDim) * 2 : size_t(kvDim / 32) * sizeof(qcc::ggml::BlockQ8_0);
}

std::vector<float> &threadScratch(QccRt *rt, int thread, size_t n) {
  auto &s = rt->scratch[thread];
  if (s.size() < n)
    s.resize(n);
  return s;
}

/// The scalar steps of the F16 loops' tails, one definition (a fused
/// multiply-add) for the single- and multi-query kernels alike.
inline float tailFma(float a, float b, float c) { return std::fmaf(a, b, c); }

/// The one reduction tree of eight float lanes every dot product here ends
/// with: low half + high half, then two pairwise adds.
inline float reduce8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}

/// Eight elements as floats: F16 / BF16 converted (exactly), F32 loaded.
inline __m256 load8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
inline __m256 load8(const float *p) { return _mm256_loadu_ps(p); }
/// A BF16 value (its bits), a type of its own for the conversions.
struct BF16 {
  uint16_t bits;
};
inline __m256 load8(const BF16 *p) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
/// One element as a float, as load8 converts it.
inline float toFloat(float v) { return v; }
inline float toFloat(uint16_t h) { return _cvtsh_ss(h); }
inline float toFloat(BF16 h) {
  const uint32_t b = uint32_t(h.bits) << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

float dotF16(const float *q, const uint16_t *k, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(k + i), acc);
  float r = reduce8(acc);
  for (; i < n; ++i)
    r = tailFma(q[i], _cvtsh_ss(k[i]), r);
  return r;
}

void axpyF16(float *out, float w, const uint16_t *v, int64_t n) {
  const __m256 wv = _mm256_set1_ps(w);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i,
                     _mm256_fmadd_ps(wv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i))),
                                     _mm256_loadu_ps(out + i)));
  for (; i < n; ++i)
    out[i] = tailFma(w, _cvtsh_ss(v[i]), out[i]);
}

/// dotF16 for up to 4 queries against one key row, its conversion shared:
/// each result the bits dotF16 gives for that query alone.
void dotsF16(const float *const *q, int nq, const uint16_t *k, int64_t n, float *out) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 kv = load8(k + i);
    for (int c = 0; c < nq; ++c)
      acc[c] = _mm256_fmadd_ps(_mm256_loadu_ps(q[c] + i), kv, acc[c]);
  }
  for (int c = 0; c < nq; ++c) {
    float r = reduce8(acc[c]);
    for (int64_t t = i; t < n; ++t)
      r = tailFma(q[c][t], _cvtsh_ss(k[t]), r);
    out[c] = r;
  }
}


/// dotF16 of four queries against two key rows (n a multiple of 8) times
/// `scale`, into S[c * ld + j] and S[c * ld + j + 1]: each the bits of
/// dotF16(q[c], key) * scale. The eight accumulators take the same fused
/// multiply-adds lane by lane, and their reduction is reduce8's tree (low
/// half + high half, then two pairwise adds) run on all eight at once.
template <typename E>
void scores4x2(const float *const *q, const E *k0, const E *k1, int64_t n, float scale, float *S, int64_t ld,
               int64_t j) {
  __m256 a[4], b[4];
  for (int c = 0; c < 4; ++c)
    a[c] = _mm256_setzero_ps(), b[c] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 x0 = load8(k0 + i), x1 = load8(k1 + i);
    for (int c = 0; c < 4; ++c) {
      const __m256 qc = _mm256_loadu_ps(q[c] + i);
      a[c] = _mm256_fmadd_ps(qc, x0, a[c]);
      b[c] = _mm256_fmadd_ps(qc, x1, b[c]);
    }
  }
  // [x.lo + x.hi | y.lo + y.hi]
  auto halves = [](__m256 x, __m256 y) {
    return _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20), _mm256_permute2f128_ps(x, y, 0x31));
  };
  const __m256 ha = _mm256_hadd_ps(halves(a[0], a[1]), halves(a[2], a[3]));
  const __m256 hb = _mm256_hadd_ps(halves(b[0], b[1]), halves(b[2], b[3]));
  // Lanes a0 a2 b0 b2 | a1 a3 b1 b3, scaled, then a0 b0 a1 b1 | a2 b2 a3 b3.
  const __m256 r = _mm256_permutevar8x32_ps(_mm256_mul_ps(_mm256_hadd_ps(ha, hb), _mm256_set1_ps(scale)),
                                            _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
  const __m128 lo = _mm256_castps256_ps128(r), hi = _mm256_extractf128_ps(r, 1);
  _mm_storel_pi(reinterpret_cast<__m64 *>(S + j), lo);
  _mm_storeh_pi(reinterpret_cast<__m64 *>(S + ld + j), lo);
  _mm_storel_pi(reinterpret_cast<__m64 *>(S + 2 * ld + j), hi);
  _mm_storeh_pi(reinterpret_cast<__m64 *>(S + 3 * ld + j), hi);
}

/// n F16 or BF16 values as floats (exact), eight at a time.
void upcastRows(Type t, const uint8_t *src, int64_t n, float *dst) {
  auto run = [&](const auto *h) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, load8(h + i));
    for (; i < n; ++i)
      dst[i] = toFloat(h[i]);
  };
  if (t == Type::F16)
    run(reinterpret_cast<const uint16_t *>(src));
  else
    run(reinterpret_cast<const BF16 *>(src));
}

/// Float weights' dot products: lane l of eight sums w[k] * a[k] for k = l
/// (mod 8) in order, the lanes meet in reduce8's tree, the tail follows in
/// order. A (row, token) gets these operations whatever tile it is in, so
/// the compiled model stays batch-invariant.

/// R rows of W (in apart; F32, or F16 / BF16 converted as loaded) against T
/// tokens of X (in apart): y[t * ldy + r]. Decoding (T = 1) streams the
/// weights once: each row's next R rows on are prefetched as it is read.
template <int R, int T, typename E>
void floatTile(const E *W, const float *X, int64_t in, float *y, int64_t ldy) {
  __m256 acc[T][R];
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r)
      acc[t][r] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= in; k += 8) {
    __m256 w[R];
    for (int r = 0; r < R; ++r) {
      if (T == 1 && k % (64 / sizeof(E)) == 0)
        _mm_prefetch(reinterpret_cast<const char *>(W + (r + R) * in + k), _MM_HINT_T0);
      w[r] = load8(W + r * in + k);
    }
    for (int t = 0; t < T; ++t) {
      const __m256 a = _mm256_loadu_ps(X + t * in + k);
      for (int r = 0; r < R; ++r)
        acc[t][r] = _mm256_fmadd_ps(w[r], a, acc[t][r]);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) {
      float s = reduce8(acc[t][r]);
      for (int64_t kk = k; kk < in; ++kk)
        s = tailFma(toFloat(W[r * in + kk]), X[t * in + kk], s);
      y[t * ldy + r] = s;
    }
}

template <int R, typename E>
void floatTile(int tokens, const E *W, const float *X, int64_t in, float *y, int64_t ldy) {
  if (tokens == 3)
    floatTile<R, 3>(W, X, in, y, ldy);
  else if (tokens == 2)
    floatTile<R, 2>(W, X, in, y, ldy);
  else
    floatTile<R, 1>(W, X, in, y, ldy);
}

/// axpyF16 for up to 4 outputs sharing one value row's conversion; w[c] = 0
/// entries are skipped (rows a query does not see).
void axpysF16(float *const *out, const float *w, const bool *use, int nq, const uint16_t *v,
              int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i)));
    for (int c = 0; c < nq; ++c)
      if (use[c])
        _mm256_storeu_ps(out[c] + i, _mm256_fmadd_ps(_mm256_set1_ps(w[c]), vv, _mm256_loadu_ps(out[c] + i)));
  }
  for (; i < n; ++i)
    for (int c = 0; c < nq; ++c)
      if (use[c])
        out[c][i] = tailFma(w[c], _cvtsh_ss(v[i]), out[c][i]);
}

/// o = sum over j in [j0, j1] of (S[j] * inv) * V[j] for a head of C * 8
/// values (row j at v + j * ld), the accumulators held in registers:
/// element by element the same fused multiply-adds in the same order as
/// axpyF16 from o = 0.
template <int C, typename E>
void weightedSum(float *o, const float *S, float inv, const E *v, int64_t ld, int64_t j0, int64_t j1) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c)
    acc[c] = _mm256_setzero_ps();
  for (int64_t j = j0; j <= j1; ++j) {
    const __m256 w = _mm256_set1_ps(S[j] * inv);
    const E *r = v + j * ld;
    for (int c = 0; c < C; ++c)
      acc[c] = _mm256_fmadd_ps(w, load8(r + 8 * c), acc[c]);
  }
  for (int c = 0; c < C; ++c)
    _mm256_storeu_ps(o + 8 * c, acc[c]);
}

/// weightedSum where the head size allows it (64 or 128 values); false
/// otherwise (callers then run axpyF16 row by row, the same arithmetic).
template <typename E>
bool weightedSum(int64_t hd, float *o, const float *S, float inv, const E *v, int64_t ld, int64_t j0,
                 int64_t j1) {
  if (hd == 64)
    weightedSum<8>(o, S, inv, v, ld, j0, j1);
  else if (hd == 128)
    weightedSum<16>(o, S, inv, v, ld, j0, j1);
  else
    return false;
  return true;
}

/// The head at element `off` of a Q8_0 row, `n` elements (off and n multiples of 32).
float dotQ8(const float *q, const qcc::ggml::BlockQ8_0 *row, int64_t off, int64_t n) {
  float r = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    const auto &blk = row[off / 32 + b];
    __m256 acc = _mm256_setzero_ps();
    for (int j = 0; j < 32; j += 8) {
      __m256 kv = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk.qs + j))));
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + b * 32 + j), kv, acc);
    }
    r += reduce8(acc) * _cvtsh_ss(blk.d);
  }
  return r;
}

void axpyQ8(float *out, float w, const qcc::ggml::BlockQ8_0 *row, int64_t off, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const auto &blk = row[off / 32 + b];
    const __m256 wv = _mm256_set1_ps(w * _cvtsh_ss(blk.d));
    for (int j = 0; j < 32; j += 8) {
      __m256 kv = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk.qs + j))));
      float *o = out + b * 32 + j;
      _mm256_storeu_ps(o, _mm256_fmadd_ps(wv, kv, _mm256_loadu_ps(o)));
    }
  }
}

/// y[i][r0 .. r0+nr) += addend[i][r0 .. r0+nr) for tokens i in [i0, i1)
/// (rows `out` apart), if there is an addend.
void addRows(const float *addend, float *y, int64_t out, int64_t r0, int64_t nr, int64_t i0, int64_t i1) {
  if (addend)
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t r = 0; r < nr; ++r)
        y[i * out + r0 + r] += addend[i * out + r0 + r];
}

void storeKV(QccRt *rt, uint8_t *dst, const float *src, int64_t kvDim) {
  if (rt->kv == qcc::KVType::F16) {
    auto *d = reinterpret_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < kvDim; ++i)
      d[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
  } else {
    qcc::ggml::quantizeRows(Type::Q8_0, src, dst, 1, kvDim);
  }
}

/// Rows [r0, r0+nr) of float weights `Wr` (F32, or F16 / BF16 converted as
/// loaded) times n float activation rows, in tiles of 4 rows x 3 tokens.
template <typename T>
void floatRows(const T *Wr, const float *x, int64_t n, int64_t in, int64_t out, float *y, int64_t r0, int64_t nr,
               const float *addend) {
  for (int64_t i = 0; i < n; i += 3) {
    const int tt = int(std::min<int64_t>(3, n - i));
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4)
      floatTile<4>(tt, Wr + r * in, x + i * in, in, y + i * out + r0 + r, out);
    for (; r < nr; ++r)
      floatTile<1>(tt, Wr + r * in, x + i * in, in, y + i * out + r0 + r, out);
    addRows(addend, y, out, r0, nr, i, i + tt);
  }
}
} // namespace

extern "C" {

void qcc_rt_embed(QccRt *rt, int32_t type, const void *w, int64_t vocab, int64_t d,
                  const int32_t *tokens, int64_t n, float *out) {
  const Type t = Type(type);
  const size_t rb = qcc::ggml::rowBytes(t, d);
  for (int64_t i = 0; i < n; ++i) {
    int64_t id = tokens[i];
    if (id < 0 || id >= vocab)
      id = 0; // callers validate ids; never read out of bounds
    qcc::ggml::dequantizeRow(t, static_cast<const uint8_t *>(w) + id * rb, out + i * d, d);
  }
}

void qcc_rt_parallel_for(QccRt *rt, int64_t begin, int64_t end, int64_t grain, QccTaskFn fn,
                         void *ctx) {
  if (end <= begin)
    return;
  rt->pool->parallelFor(end - begin, std::max<int64_t>(grain, 1),
                        [&](int64_t b, int64_t e, int thread) { fn(ctx, begin + b, begin + e, thread); });
}

void qcc_rt_linear_prepare(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t n) {
  const Type t = Type(type);
  rt->packed = nullptr;
  if (qcc::ggml::traits(t).quantized && rt->floatActivations)
    return;
  if (qcc::ggml::traits(t).quantized) {
    const size_t ab = qcc::ggml::activationRowBytes(t, in);
    if (rt->act.size() < ab * n)
      rt->act.resize(ab * n);
    auto packed = rt->repacked.find(w);
    if (packed != rt->repacked.end()) {
      rt->packed = packed->second;
      rt->side.reserve(t, n, in);
    }
  } else if (t != Type::F32 && rt->actF.size() < size_t(n * in)) {
    rt->actF.resize(n * in);
  }
}

void qcc_rt_linear_activations(QccRt *rt, int32_t type, const void *, int64_t in, const float *x,
                               int64_t begin, int64_t end) {
  const Type t = Type(type);
  if (qcc::ggml::traits(t).quantized && rt->floatActivations)
    return;
  if (qcc::ggml::traits(t).quantized) {
    qcc::kernels::quantizeActivationRows(t, x, begin, end, in, rt->act.data(),
                                         rt->packed ? &rt->side : nullptr);
    return;
  }
  // F16 / BF16 weights take activations rounded to their type first, as
  // ggml computes them (and the interpreter).
  if (t != Type::F32)
    for (int64_t i = begin; i < end; ++i)
      qcc::ggml::roundActivations(t, x + i * in, rt->actF.data() + i * in, in);
}

void qcc_rt_linear_rows(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t out,
                        const float *x, int64_t n, const float *addend, float *y, int64_t r0,
                        int64_t nr, int64_t thread) {
  if (rt->floatActivations) {
    const Type t = Type(type);
    const size_t rb = qcc::ggml::rowBytes(t, in);
    std::vector<float> &buf = threadScratch(rt, int(thread), size_t(nr * in));
    for (int64_t r = 0; r < nr; ++r)
      qcc::ggml::dequantizeRow(t, static_cast<const uint8_t *>(w) + (r0 + r) * rb, buf.data() + r * in, in);
    floatRows(buf.data(), x, n, in, out, y, r0, nr, addend);
    return;
  }
  // Repacked rows are regrouped by eight; r0 and nr are then multiples of 8.
  qcc::kernels::gemmRowRange(Type(type), static_cast<const uint8_t *>(w), rt->packed, r0, nr, in,
                             rt->act.data(), rt->side, n, y, out);
  addRows(addend, y, out, r0, nr, 0, n);
}

void qcc_rt_linear_rows_float(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t out,
                              const float *x, int64_t n, const float *addend, float *y, int64_t r0,
                              int64_t nr, int64_t thread) {
  // Tiles of 4 rows x 3 tokens; F16 / BF16 converted as loaded for up to 3
  // tokens (a decoding step reads each weight once), otherwise upcast for
  // the block first. Conversions are exact: every path computes the
  // same products.
  const Type t = Type(type);
  const auto *W = static_cast<const uint8_t *>(w);
  if (t != Type::F32)
    x = rt->actF.data();
  const size_t rb = qcc::ggml::rowBytes(t, in);
  auto rows = [&](const auto *Wr) { floatRows(Wr, x, n, in, out, y, r0, nr, addend); };
  if (t == Type::F32) {
    rows(reinterpret_cast<const float *>(W + r0 * rb));
  } else if (t == Type::F16 && n <= 3) {
    rows(reinterpret_cast<const uint16_t *>(W + r0 * rb));
  } else if (t == Type::BF16 && n <= 3) {
    rows(reinterpret_cast<const BF16 *>(W + r0 * rb));
  } else {
    std::vector<float> &buf = threadScratch(rt, int(thread), size_t(nr * in));
    upcastRows(t, W + r0 * rb, nr * in, buf.data());
    rows(static_cast<const float *>(buf.data()));
  }
}

/// Prompt processing over an F16 cache takes queries in blocks of this many.
constexpr int64_t kQueryBlock = 4;

int64_t qcc_rt_attention_begin(QccRt *rt, int64_t layer, const float *k, const float *v, int64_t n,
                               int64_t pos0, int64_t heads, int64_t kvHeads, int64_t hd) {
  const int64_t kvDim = kvHeads * hd;
  if (pos0 + n > rt->maxCtx) {
    fprintf(stderr, "qcc: internal error: %lld tokens past a context of %lld\n",
            (long long)(pos0 + n), (long long)rt->maxCtx);
    abort();
  }
  if (size_t(layer) >= rt->slots.size())
    rt->slots.resize(layer + 1);
  QccRt::Slot &s = rt->slots[layer];
  const size_t rowB = kvRowBytes(rt->kv, kvDim);
  if (s.k.empty()) {
    s.kvDim = kvDim;
    s.k.resize(rowB * rt->maxCtx);
    s.v.resize(rowB * rt->maxCtx);
  }
  for (int64_t i = 0; i < n; ++i) {
    storeKV(rt, s.k.data() + (pos0 + i) * rowB, k + i * kvDim, kvDim);
    storeKV(rt, s.v.data() + (pos0 + i) * rowB, v + i * kvDim, kvDim);
  }
  if (rt->kv == qcc::KVType::F16 && n > 1) {
    ++rt->promptCalls; // the threads' converted rows belong to the previous call
    return heads * ((n + kQueryBlock - 1) / kQueryBlock);
  }
  return heads * n;
}

void qcc_rt_attention_units(QccRt *rt, int64_t layer, const float *q, int64_t n, int64_t pos0,
                            int64_t heads, int64_t kvHeads, int64_t hd, float scale,
                            int64_t window, float *out, int64_t u0, int64_t u1, int64_t threadIndex) {
  const int64_t kvDim = kvHeads * hd, qDim = heads * hd, group = heads / kvHeads;
  QccRt::Slot &s = rt->slots[layer];
  const size_t rowB = kvRowBytes(rt->kv, kvDim);
  const int thread = int(threadIndex);
  const bool f16 = rt->kv == qcc::KVType::F16;
  if (f16 && n > 1) {
    // Prompt processing: blocks of 4 queries of one head share each key and
    // value row's conversion; every query's scores, softmax and sums are
    // the same operations in the same order as the one-query path below.
    constexpr int64_t QB = kQueryBlock;
    const int64_t blocks = (n + QB - 1) / QB, call = rt->promptCalls;
    for (int64_t hb = u0; hb < u1; ++hb) {
      const int64_t h = hb / blocks, i0 = hb % blocks * QB, g = h / group;
      const int nq = int(std::min(QB, n - i0));
      const int64_t pLast = pos0 + i0 + nq - 1;
      // This head's rows as floats, extended to the block's last position
      // (a thread's blocks come in order).
      QccRt::HeadRows &hr = rt->headRows[thread];
      if (hr.call != call || hr.g != g)
        hr.call = call, hr.g = g, hr.len = 0;
      if (hr.k.size() < size_t((pLast + 1) * hd))
        hr.k.resize(rt->maxCtx * hd), hr.v.resize(rt->maxCtx * hd);
      for (; hr.len <= pLast; ++hr.len) {
        upcastRows(Type::F16, s.k.data() + hr.len * rowB + g * hd * 2, hd, hr.k.data() + hr.len * hd);
        upcastRows(Type::F16, s.v.data() + hr.len * rowB + g * hd * 2, hd, hr.v.data() + hr.len * hd);
      }
      const int64_t lo = window > 0 ? std::max<int64_t>(0, pos0 + i0 - window + 1) : 0;
      std::vector<float> &S = threadScratch(rt, thread, size_t(QB * (pLast + 1)));
      const float *qs[QB];
      int64_t first[QB], last[QB];
      for (int c = 0; c < nq; ++c) {
        qs[c] = q + (i0 + c) * qDim + h * hd;
        last[c] = pos0 + i0 + c;
        first[c] = window > 0 ? std::max<int64_t>(0, last[c] - window + 1) : 0;
      }
      int64_t j = lo;
      for (; nq == QB && hd % 8 == 0 && j < pLast; j += 2)
        scores4x2(qs, hr.k.data() + j * hd, hr.k.data() + (j + 1) * hd, hd, scale, S.data(), pLast + 1, j);
      for (; j <= pLast; ++j) {
        float d[QB];
        dotsF16(qs, nq, reinterpret_cast<const uint16_t *>(s.k.data() + j * rowB) + g * hd, hd, d);
        for (int c = 0; c < nq; ++c)
          S[c * (pLast + 1) + j] = d[c] * scale;
      }
      float inv[QB];
      for (int c = 0; c < nq; ++c) {
        float *Sc = S.data() + c * (pLast + 1);
        float mx = -INFINITY;
        for (int64_t j = first[c]; j <= last[c]; ++j)
          mx = std::max(mx, Sc[j]);
        float sum = 0;
        for (int64_t j = first[c]; j <= last[c]; ++j) {
          Sc[j] = qcc::kernels::expf(Sc[j] - mx);
          sum += Sc[j];
        }
        inv[c] = 1.0f / sum;
      }
      float *os[QB];
      bool done = true;
      for (int c = 0; c < nq; ++c) {
        os[c] = out + (i0 + c) * qDim + h * hd;
        done = done && weightedSum(hd, os[c], S.data() + c * (pLast + 1), inv[c], hr.v.data(), hd,
                                   first[c], last[c]);
      }
      if (done)
        continue;
      for (int c = 0; c < nq; ++c)
        std::fill(os[c], os[c] + hd, 0.0f);
      for (int64_t j = lo; j <= pLast; ++j) {
        float w[QB];
        bool use[QB];
        for (int c = 0; c < nq; ++c) {
          use[c] = j >= first[c] && j <= last[c];
          w[c] = use[c] ? S[c * (pLast + 1) + j] * inv[c] : 0.0f;
        }
        axpysF16(os, w, use, nq, reinterpret_cast<const uint16_t *>(s.v.data() + j * rowB) + g * hd, hd);
      }
    }
    return;
  }
  // (head, query) pairs.
  for (int64_t hi = u0; hi < u1; ++hi) {
    const int64_t h = hi / n, i = hi % n;
    const int64_t p = pos0 + i, g = h / group;
    const int64_t first = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
    std::vector<float> &S = threadScratch(rt, thread, size_t(p + 1));
    const float *qh = q + i * qDim + h * hd;
    float mx = -INFINITY;
    for (int64_t j = first; j <= p; ++j) {
      const uint8_t *row = s.k.data() + j * rowB;
      float d = f16 ? dotF16(qh, reinterpret_cast<const uint16_t *>(row) + g * hd, hd)
                    : dotQ8(qh, reinterpret_cast<const qcc::ggml::BlockQ8_0 *>(row), g * hd, hd);
      S[j] = d * scale;
      mx = std::max(mx, S[j]);
    }
    float sum = 0;
    for (int64_t j = first; j <= p; ++j) {
      S[j] = qcc::kernels::expf(S[j] - mx);
      sum += S[j];
    }
    const float inv = 1.0f / sum;
    float *o = out + i * qDim + h * hd;
    if (f16 && weightedSum(hd, o, S.data(), inv, reinterpret_cast<const uint16_t *>(s.v.data()) + g * hd,
                           int64_t(rowB / 2), first, p))
      continue;
    std::fill(o, o + hd, 0.0f);
    for (int64_t j = first; j <= p; ++j) {
      const uint8_t *row = s.v.data() + j * rowB;
      if (f16)
        axpyF16(o, S[j] * inv, reinterpret_cast<const uint16_t *>(row) + g * hd, hd);
      else
        axpyQ8(o, S[j] * inv, reinterpret_cast<const qcc::ggml::BlockQ8_0 *>(row), g * hd, hd);
    }
  }
}

} // extern "C"

namespace qcc {

Expected<std::unique_ptr<NativeModel>> NativeModel::create(QccForwardFn forward,
                                                          const char *signature, int64_t vocab,
                                                          std::shared_ptr<gguf::Reader> file,
                                                          int64_t maxContext, KVType kv,
                                                          bool floatActivations) {
  std::unique_ptr<NativeModel> m(new NativeModel());
  const std::string &path = file->path();
  // The code reads tensors at fixed offsets: each must be in this file with
  // the type, offset and size the code was compiled for.
  const uint8_t *base = nullptr;
  int64_t end = 0;
  for (const gguf::TensorInfo &t : file->tensors()) {
    if (!base)
      base = t.data - t.offset;
    end = std::max<int64_t>(end, int64_t(t.offset + t.nbytes));
  }
  SmallVector<StringRef> lines;
  StringRef(signature).split(lines, '\n', -1, false);
  for (StringRef line : lines) {
    SmallVector<StringRef> f;
    line.split(f, ' ');
    uint64_t type = 0, offset = 0, bytes = 0;
    if (f.size() != 4 || f[1].getAsInteger(10, type) || f[2].getAsInteger(10, offset) ||
        f[3].getAsInteger(10, bytes))
      return fileError(path, "internal error: malformed compiled signature line '{0}'", line);
    const gguf::TensorInfo *t = file->tensor(f[0]);
    if (!t)
      return fileError(path, "is not the file this model was compiled for: no tensor '{0}'", f[0]);
    if (uint64_t(t->type) != type || t->offset != offset || t->nbytes != bytes)
      return fileError(path,
                       "is not the file this model was compiled for: tensor '{0}' has another "
                       "type, offset or size",
                       f[0]);
  }
  if (lines.empty() || !base)
    return fileError(path, "has no tensors for the compiled model");
  if (maxContext < 1)
    return fileError(path, "the context must hold at least one token");
  if (kv == KVType::FP8)
    return fileError(path, "the CPU target keeps its KV cache in f16 or q8_0 (--kv-type fp8 is the GPU's)");
  if (kv == KVType::Q8_0) {
    const int64_t hd = [&]() -> int64_t {
      for (auto &[key, val] : file->metadata())
        if (StringRef(key).ends_with(".attention.key_length"))
          return val.i ? val.i : int64_t(val.u);
      auto arch = file->getString("general.architecture");
      if (!arch) {
        consumeError(arch.takeError());
        return 0;
      }
      auto e = file->getInt(*arch + ".embedding_length");
      auto h = file->getInt(*arch + ".attention.head_count");
      if (!e || !h) {
        consumeError(e.takeError());
        consumeError(h.takeError());
        return 0;
      }
      return *h ? *e / *h : 0;
    }();
    if (hd % 32 != 0)
      return fileError(path, "a Q8_0 KV cache needs a head size that is a multiple of 32 (it is {0})",
                       hd);
  }
  m->fn_ = forward;
  m->file_ = std::move(file);
  m->data_ = base;
  m->dataBytes_ = end;
  m->vocab_ = vocab;
  m->maxCtx_ = maxContext;
  // The compiled forward allocates its activations per call and frees each
  // after its last use. glibc hands large blocks back to the kernel on free
  // (mmap'd blocks, heap top trimming), so every call page-faulted its
  // buffers in again (6 % of a 512-token prompt on debtext-29m): keep freed
  // memory in the process instead.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  m->rt_ = new QccRt();
  m->rt_->kv = kv;
  m->rt_->floatActivations = floatActivations;
  m->rt_->maxCtx = maxContext;
  const int threads = std::max(1, omp_get_max_threads());
  m->rt_->scratch.resize(threads);
  m->rt_->headRows.resize(threads);
  m->rt_->pool = std::make_unique<ThreadPool>(threads);
  // Q4_0 / Q8_0 / Q4_K / Q6_K matrices run on rows regrouped by eight
  // (kernels/Repack.h), each at a 64-byte aligned offset of one buffer.
  std::vector<std::pair<const gguf::TensorInfo *, size_t>> packed;
  size_t total = 0;
  std::unordered_set<const void *> seen;
  for (StringRef line : lines) {
    const gguf::TensorInfo *t = m->file_->tensor(line.split(' ').first);
    if (t->ne.size() != 2 || !kernels::repackable(t->type, t->ne[1]) || !seen.insert(t->data).second)
      continue;
    packed.push_back({t, total});
    total += (kernels::repackedBytes(t->type, t->ne[1], t->ne[0]) + 63) / 64 * 64;
  }
  if (total)
    m->rt_->packedWeights = QccRt::Buffer(total);
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  for (auto [t, offset] : packed) {
    uint8_t *dst = m->rt_->packedWeights.data() + offset;
    kernels::repack(t->type, t->data, t->ne[1], t->ne[0], dst);
    m->rt_->repacked.emplace(t->data, dst);
    // The kernels read the regrouped copy: drop the file's pages of this
    // tensor from the process (the mapping is read-only, so a later read,
    // e.g. an embedding row of a tied matrix, faults them back in from the
    // page cache). Resident memory is then about one copy of the weights.
    const uintptr_t lo = (uintptr_t(t->data) + page - 1) & ~(page - 1);
    const uintptr_t hi = (uintptr_t(t->data) + t->nbytes) & ~(page - 1);
    if (hi > lo)
      madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_DONTNEED);
  }
  return m;
}

NativeModel::~NativeModel() { delete rt_; }

void NativeModel::reset() { cacheLen_ = 0; }

void NativeModel::forward(ArrayRef<int32_t> tokens, float *logits, bool lastOnly) {
  const int64_t n = tokens.size();
  if (n == 0)
    return;
  if (cacheLen_ + n > maxCtx_) {
    fprintf(stderr, "qcc: internal error: %lld tokens past a context of %lld\n",
            (long long)(cacheLen_ + n), (long long)maxCtx_);
    abort();
  }
  QccMemRef1D w{const_cast<uint8_t *>(data_), const_cast<uint8_t *>(data_), 0, dataBytes_, 1};
  QccMemRef1D t{const_cast<int32_t *>(tokens.data()), const_cast<int32_t *>(tokens.data()), 0, n, 1};
  const int64_t m = lastOnly ? 1 : n;
  QccMemRef2D l{logits, logits, 0, {m, vocab_}, {vocab_, 1}};
  fn_(rt_, &w, &t, cacheLen_, &l);
  cacheLen_ += n;
}

} // namespace qcc
