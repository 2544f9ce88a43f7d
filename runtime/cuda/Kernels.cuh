//===- Kernels.cuh - the device templates generated CUDA code instantiates -===//
//
// codegen/cuda emits, per model, a CUDA C++ file that includes this header
// and launches these templates with the model's shapes as template
// arguments (K, D, head sizes: constants the compiler unrolls and folds),
// one instantiation per (layout, shape) the model has. The host runtime
// (CudaModel.cpp) never sees them. Layouts of the weight planes: CudaABI.h.
//
// Numerics: a quantized layer's input row is held as two int8 planes per
// block of 32 (Q8Act: about 15 bits, so the results follow the float
// computation of the reference executor, not the 8-bit rounding of ggml's
// q8 activations). Up to 5 tokens multiply it in integers (dp4a): every sum
// of a block is exact, scales are applied in float. From 6 tokens (batched
// decoding, prompts) the rows are converted to half and multiplied by
// weights dequantized to half (each value rounded once) on tensor cores,
// summing in float. Float weights multiply float rows.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_CUDA_KERNELS_CUH
#define QCC_RUNTIME_CUDA_KERNELS_CUH

#include "runtime/cuda/CudaABI.h"

#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>

#include <algorithm>

#include <type_traits>
#include <utility>

/// Programmatic dependent launch (Hopper): the generated file defines it to 1
/// for sm_90a.
#ifndef QCC_CUDA_PDL
#define QCC_CUDA_PDL 0
#endif
/// Prompt products on warpgroups (wgmma, sm_90a): the generated file
/// defines it to 1 for sm_90a.
#ifndef QCC_CUDA_WGMMA
#define QCC_CUDA_WGMMA 0
#endif

namespace qcc_cuda {

// ---------------------------------------------------------------------------
// Launches. With QCC_CUDA_PDL every kernel is a programmatic dependent
// launch: it may start while the launch before it still runs (in a stream
// and in a captured graph), so a decode step's ~300 small kernels do not
// each pay the launch latency and the previous grid's tail. Every kernel
// therefore calls priorDone() before it reads an activation, the cache or
// the positions, or writes anything (the previous grid, and by induction
// every earlier one, has then finished and its writes are visible), and
// releaseNext() early so that the next launch can begin. Before priorDone()
// a kernel may only read what no launch of the call writes: the weights
// (the linears load their first weights there), the positions and
// sequences (copied before the call's first launch), and the cache rows
// that earlier calls wrote (the decoding attention loads its first keys
// there). Measured on the H100: +2-6 % decode with the two-row products
// (docs/BENCHMARKS.md).

/// Waits until the previous launch in the stream has completed.
__device__ __forceinline__ void priorDone() {
#if QCC_CUDA_PDL && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
/// Lets the next launch in the stream start (it waits in its priorDone()).
__device__ __forceinline__ void releaseNext() {
#if QCC_CUDA_PDL && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/// Whether the environment leaves a build's feature on: unless it sets the
/// variable `name` to 0 (to measure what the feature brings).
inline bool notTurnedOff(const char *name) {
  const char *e = getenv(name);
  return !(e && e[0] == '0');
}

/// Whether launches are programmatic: QCC_CUDA_PDL builds, unless the
/// environment sets QCC_CUDA_PDL=0.
inline bool programmaticLaunches() {
  static const bool on = QCC_CUDA_PDL && notTurnedOff("QCC_CUDA_PDL");
  return on;
}

/// kernel<<<grid, block, sharedBytes, s>>>(args...), as a programmatic dependent
/// launch where programmaticLaunches(). A launch error is left for
/// cudaGetLastError, as with <<<>>>.
template <typename... P, typename... A>
inline void launchShared(void (*kernel)(P...), dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t s,
                         A &&...args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = sharedBytes;
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  if (programmaticLaunches()) {
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
  }
  (void)cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...);
}
/// launchShared without dynamic shared memory.
template <typename... P, typename... A>
inline void launch(void (*kernel)(P...), dim3 grid, dim3 block, cudaStream_t s, A &&...args) {
  launchShared(kernel, grid, block, 0, s, std::forward<A>(args)...);
}

/// A row-major activation as two int8 planes per block of 32: with
/// d = max|x| / 127, x = d (q + l / 254) to within d / 508 (about 15 bits,
/// where one int8 plane alone, ggml's q8 blocks, keeps 8: their rounding is
/// what separates llama.cpp's results from the float computation). q, l
/// [n][K]; ds = (d, sum of the block's x as encoded) [n][K/32]. Products
/// with integer weight codes stay exact integer sums (dp4a) for each
/// plane.
struct Q8Act {
  int8_t *q, *l;
  float2 *ds;
};
/// Rows [t, ...) of a q8 activation of row length K.
inline Q8Act rowsFrom(Q8Act a, int64_t K, int64_t t) {
  if (!a.q)
    return a;
  return Q8Act{a.q + t * K, a.l + t * K, a.ds + t * (K / 32)};
}
constexpr float kLow = 1.0f / 254.0f; // the weight of the low plane

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ int warpSumInt(int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// The sum (Max: the maximum, of non-negative values) over the block; every
/// thread gets it. blockDim a multiple of 32.
template <bool Max> __device__ __forceinline__ float blockReduce(float v) {
  __shared__ float part[32];
  v = Max ? warpMax(v) : warpSum(v);
  const int w = threadIdx.x / 32, l = threadIdx.x % 32, nw = blockDim.x / 32;
  __syncthreads(); // a previous call's readers are done with part
  if (l == 0)
    part[w] = v;
  __syncthreads();
  v = l < nw ? part[l] : 0.0f;
  return Max ? warpMax(v) : warpSum(v);
}
__device__ __forceinline__ float blockSum(float v) { return blockReduce<false>(v); }
__device__ __forceinline__ float blockMax(float v) { return blockReduce<true>(v); }

/// One lane's value of a block of 32 in q8 form (Q8Act): its two codes and
/// the block's (d, sum), the same in every lane.
struct Q8Lane {
  int8_t q, l;
  float2 ds;
};
/// N blocks at once (lane l holding value l of each): the blocks'
/// reductions interleaved (warpMax's and warpSum's butterflies, so each
/// block gets quantizeLane's bits), their latencies overlapping.
template <int N> __device__ __forceinline__ void quantizeLanes(const float (&v)[N], Q8Lane (&c)[N]) {
  float a[N], sum[N];
  int qi[N], li[N];
#pragma unroll
  for (int j = 0; j < N; ++j)
    a[j] = fabsf(v[j]);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int j = 0; j < N; ++j)
      a[j] = fmaxf(a[j], __shfl_xor_sync(0xffffffffu, a[j], o));
#pragma unroll
  for (int j = 0; j < N; ++j) {
    const float d = a[j] / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const float r = v[j] * id;
    qi[j] = __float2int_rn(r);
    li[j] = __float2int_rn((r - float(qi[j])) * 254.0f);
    a[j] = d;
    sum[j] = float(qi[j]) + float(li[j]) * kLow;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int j = 0; j < N; ++j)
      sum[j] += __shfl_xor_sync(0xffffffffu, sum[j], o);
#pragma unroll
  for (int j = 0; j < N; ++j)
    c[j] = Q8Lane{int8_t(qi[j]), int8_t(li[j]), make_float2(a[j], a[j] * sum[j])};
}
__device__ __forceinline__ Q8Lane quantizeLane(float v) {
  const float in[1] = {v};
  Q8Lane c[1];
  quantizeLanes<1>(in, c);
  return c[0];
}

/// One warp's 32 values (one a lane) as block `at / 32` of a q8 activation
/// (`at`: the block's first element).
__device__ __forceinline__ void quantizeBlock(float v, int lane, const Q8Act &qa, size_t at) {
  const Q8Lane c = quantizeLane(v);
  qa.q[at + lane] = c.q;
  qa.l[at + lane] = c.l;
  if (lane == 0)
    qa.ds[at / 32] = c.ds;
}

// ---------------------------------------------------------------------------
// Token rows: embedding, RMSNorm, quantization, SwiGLU, adds, RoPE. Block
// (t, s) of a launch over rowGrid(n, W) takes token t and slice s of the W
// elements (whole blocks of 32): W / 1024 slices a token for prompts, W /
// 256 for decoding steps (one sequence's token or a batch's), so that the
// rows spread over the GPU.

/// Calls of at least this many tokens are prompts: their products run in
/// half precision (linearHalf), their attention as attentionPrompt; fewer
/// are decoding steps of one or several sequences.
constexpr int kPromptTokens = 65;

/// Inputs of [kMinSplitTokens, kMaxSplitTokens] tokens go through the
/// batched half product (linearHalfBatch); fewer compute each token as it
/// is computed alone (a sequence gets the same bits alone and in a batch of
/// up to kMinSplitTokens - 1).
constexpr int kMinSplitTokens = 6, kMaxSplitTokens = kPromptTokens - 1;

constexpr int kRowThreads = 256;

/// The grid of a token-row kernel: a block a token and slice of 256
/// elements in decoding steps (at batch 16, 7B, H100, an RMSNorm of one
/// block a token took 14.8 us), of 1024 in prompts (a 512-token 7B prompt,
/// H100, against one block a token: SwiGLU 60 -> 37 us; the RMSNorms, whose
/// every slice sums the whole row, the embedding and RoPE with the cache
/// append take as long alone, but pp512 went from 17,870 to 18,340 tok/s:
/// more, shorter blocks overlap better with their neighbours' programmatic
/// launches, presumably, as ncu, which serializes them, sees no change).
/// The slices change no bit.
inline dim3 rowGrid(int64_t n, int W) {
  const int per = n < kPromptTokens ? kRowThreads : 4 * kRowThreads;
  return dim3(unsigned(n), unsigned((W + per - 1) / per));
}

/// This block's slice [lo, hi) of W elements.
template <int W> __device__ __forceinline__ void slice(int &lo, int &hi) {
  const int per = ((W + int(gridDim.y) - 1) / int(gridDim.y) + 31) / 32 * 32;
  lo = min(W, int(blockIdx.y) * per);
  hi = min(W, lo + per);
}

/// The first block of 32 of the slice starting at lo that this thread's
/// warp quantizes in quantizeRow.
__device__ __forceinline__ int firstQuantizedBlock(int lo) { return lo / 32 + int(threadIdx.x / 32); }

/// Row t of a q8 activation from value(i), i in this block's slice of
/// [0, D) (each warp takes blocks of 32 in turn).
template <int D, typename F>
__device__ __forceinline__ void quantizeRow(F value, Q8Act qa, int t) {
  static_assert(D % 32 == 0, "q8 rows need whole blocks of 32");
  const int lane = threadIdx.x % 32, nw = blockDim.x / 32;
  int lo, hi;
  slice<D>(lo, hi);
  for (int b = firstQuantizedBlock(lo); b < hi / 32; b += nw)
    quantizeBlock(value(b * 32 + lane), lane, qa, size_t(t) * D + b * 32);
}

template <int D>
__global__ void embed(const float *__restrict__ table, int64_t rows, const int32_t *__restrict__ tokens,
                      float *__restrict__ out) {
  priorDone();
  releaseNext();
  const int t = blockIdx.x;
  const int32_t id = tokens[t];
  const bool ok = id >= 0 && id < rows;
  int lo, hi;
  slice<D>(lo, hi);
  for (int i = lo + threadIdx.x; i < hi; i += blockDim.x)
    out[size_t(t) * D + i] = ok ? table[size_t(id) * D + i] : 0.0f;
}

/// The pair (a, b) rotated by the angle whose sine and cosine are sn, cs
/// (rounded the same way wherever RoPE is applied: ropeQKV and the fused
/// single-token q/k/v product give the same bits).
__device__ __forceinline__ float2 rotate(float a, float b, float sn, float cs) {
  return make_float2(__fsub_rn(__fmul_rn(a, cs), __fmul_rn(b, sn)), __fadd_rn(__fmul_rn(b, cs), __fmul_rn(a, sn)));
}

/// Thread i's part of the sum of squares of a row of D floats (of T
/// threads): rmsNorm's, and what bench/cuda/stream_gemv.cu's blocks sum to
/// give its bits.
template <int D, int T> __device__ __forceinline__ float sumSquares(const float *__restrict__ xr, int i) {
  float ss = 0.0f;
  if constexpr (D % 4 == 0) {
    // float4 loads, all in flight: every slice's block reads the row.
    constexpr int N = D / 4, R = (N + T - 1) / T;
    const float4 *x4 = reinterpret_cast<const float4 *>(xr);
    float4 v[R];
#pragma unroll
    for (int k = 0; k < R; ++k) // (past the row: its last four again, not added)
      v[k] = x4[min(i + k * T, N - 1)];
#pragma unroll
    for (int k = 0; k < R; ++k)
      if (N % T == 0 || i + k * T < N)
        ss += v[k].x * v[k].x + v[k].y * v[k].y + v[k].z * v[k].z + v[k].w * v[k].w;
  } else {
    for (; i < D; i += T)
      ss += xr[i] * xr[i];
  }
  return ss;
}
/// 1 / sqrt(mean(x^2) + eps) from the row's sum of squares.
template <int D> __device__ __forceinline__ float rmsScale(float ss, float eps) {
  return 1.0f / sqrtf(ss / float(D) + eps);
}
/// silu(g) u (swiglu's, and bench/cuda/stream_gemv.cu's to give its bits).
__device__ __forceinline__ float siluMul(float g, float u) { return g / (1.0f + expf(-g)) * u; }

/// out = w * x / sqrt(mean(x^2) + eps) per row; the float row (if out) and
/// its q8 form (if qa.q).
template <int D>
__global__ void rmsNorm(const float *__restrict__ x, const float *__restrict__ w, float eps,
                        float *__restrict__ out, Q8Act qa) {
  int lo, hi;
  slice<D>(lo, hi);
  // The weight of this thread's first element of quantizeRow, loaded before
  // the previous launch ends (a decoding step's slice: its only one).
  const int i0 = firstQuantizedBlock(lo) * 32 + int(threadIdx.x % 32);
  const float w0 = i0 < hi ? w[i0] : 0.0f;
  priorDone();
  releaseNext();
  const int t = blockIdx.x;
  const float *xr = x + size_t(t) * D;
  const float inv = rmsScale<D>(blockSum(sumSquares<D, kRowThreads>(xr, threadIdx.x)), eps); // every slice sums the whole row
  if (out)
    for (int i = lo + threadIdx.x; i < hi; i += blockDim.x)
      out[size_t(t) * D + i] = w[i] * (xr[i] * inv);
  if constexpr (D % 32 == 0)
    if (qa.q)
      quantizeRow<D>([&](int i) { return (i == i0 ? w0 : w[i]) * (xr[i] * inv); }, qa, t);
}

template <int D>
__global__ void quantizeRows(const float *__restrict__ x, Q8Act qa) {
  priorDone();
  releaseNext();
  const int t = blockIdx.x;
  quantizeRow<D>([&](int i) { return x[size_t(t) * D + i]; }, qa, t);
}

/// out = silu(g) * u; the float row (if out) and its q8 form (if qa.q).
template <int D>
__global__ void swiglu(const float *__restrict__ g, const float *__restrict__ u, float *__restrict__ out,
                       Q8Act qa) {
  priorDone();
  releaseNext();
  const int t = blockIdx.x;
  const size_t r = size_t(t) * D;
  auto f = [&](int i) { return siluMul(g[r + i], u[r + i]); };
  int lo, hi;
  slice<D>(lo, hi);
  if (out)
    for (int i = lo + threadIdx.x; i < hi; i += blockDim.x)
      out[r + i] = f(i);
  if constexpr (D % 32 == 0)
    if (qa.q)
      quantizeRow<D>(f, qa, t);
}

/// out = a + b ([n x D]).
template <int D>
__global__ void add(const float *__restrict__ a, const float *__restrict__ b, float *out) {
  priorDone();
  releaseNext();
  const int t = blockIdx.x;
  int lo, hi;
  slice<D>(lo, hi);
  for (int i = lo + threadIdx.x; i < hi; i += blockDim.x)
    out[size_t(t) * D + i] = a[size_t(t) * D + i] + b[size_t(t) * D + i];
}

// ---------------------------------------------------------------------------
// RoPE and attention over a KV cache [sequences][kvHeads][maxCtx][HD] of
// F16 elements, or of FP8 E4M3 codes with a float scale a (sequence, kv
// head, position) (CudaABI.h; `--kv-type fp8`: half the bytes a decoding
// step's attention streams).

/// A layer's caches as the kernels take them.
struct KvCache {
  void *k, *v;
  float *ks, *vs; ///< FP8: the scales [sequences][kvHeads][maxCtx]
  bool fp8;
};

/// Layer c's caches in the forward pass's state.
inline KvCache kvCache(const QccCudaState *S, int c) {
  const bool f8 = S->kvType == QCC_CUDA_KV_FP8;
  return KvCache{S->kcache[c], S->vcache[c], f8 ? static_cast<float *>(S->kscale[c]) : nullptr,
                 f8 ? static_cast<float *>(S->vscale[c]) : nullptr, f8};
}

/// A cache element: __half, or an E4M3 code.
template <bool F8> struct KvElem {
  using T = __half;
};
template <> struct KvElem<true> {
  using T = __nv_fp8_storage_t;
};
/// A cache's elements.
template <bool F8> __host__ __device__ __forceinline__ const typename KvElem<F8>::T *kvElems(const void *p) {
  return static_cast<const typename KvElem<F8>::T *>(p);
}
__host__ __device__ __forceinline__ float kvFloat(__half h) { return __half2float(h); }
__host__ __device__ __forceinline__ float kvFloat(__nv_fp8_storage_t c) {
  return __half2float(__half(__nv_cvt_fp8_to_halfraw(c, __NV_E4M3)));
}
/// E elements as floats (E4M3 codes two at a time).
template <typename T, int E> __device__ __forceinline__ void kvFloats(const T (&in)[E], float (&out)[E]) {
  if constexpr (std::is_same_v<T, __nv_fp8_storage_t> && E % 2 == 0) {
#pragma unroll
    for (int e = 0; e < E; e += 2) {
      const float2 f = __half22float2(
          __half2(__nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(in[e] | in[e + 1] << 8), __NV_E4M3)));
      out[e] = f.x, out[e + 1] = f.y;
    }
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e)
      out[e] = kvFloat(in[e]);
  }
}

/// E4M3's largest finite value: a head's row is stored as x / s, s = max|x|
/// / kFp8Max.
constexpr float kFp8Max = 448.0f;

/// A warp stores one head's row, value(d) for d = lane + 32 i < HD, as E4M3
/// codes at dst and its scale at *scale.
template <int HD, typename F>
__device__ __forceinline__ void storeHeadFp8(F value, __nv_fp8_storage_t *dst, float *scale, int lane) {
  constexpr int E = (HD + 31) / 32;
  float x[E], amax = 0.0f;
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int d = lane + 32 * e;
    x[e] = d < HD ? value(d) : 0.0f;
    amax = fmaxf(amax, fabsf(x[e]));
  }
  amax = warpMax(amax);
  const float inv = amax > 0.0f ? kFp8Max / amax : 0.0f;
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int d = lane + 32 * e;
    if (d < HD)
      dst[d] = __nv_cvt_float_to_fp8(x[e] * inv, __NV_SATFINITE, __NV_E4M3);
  }
  if (lane == 0)
    *scale = amax / kFp8Max;
}

template <int HALF> struct RopeFreq {
  float f[HALF];
};

/// Pair j of a head's RoPE at position fp: its elements e0, e1 ((2j, 2j+1)
/// if interleaved, else (j, j + HD/2)) and the angle's sine and cosine
/// (computed the same way by every kernel that rotates).
template <int HD, bool Interleaved> struct RopePair {
  /// Pair j's elements in a head's row.
  __device__ __forceinline__ static int first(int j) { return Interleaved ? 2 * j : j; }
  __device__ __forceinline__ static int second(int j) { return Interleaved ? 2 * j + 1 : j + HD / 2; }
  int e0, e1;
  float sn, cs;
  __device__ __forceinline__ RopePair(int j, float fp, const RopeFreq<HD / 2> &freq) : e0(first(j)), e1(second(j)) {
    sincosf(fp * freq.f[j], &sn, &cs);
  }
  /// (x[e0], x[e1]) of a head's row x, rotated.
  __device__ __forceinline__ float2 rotated(const float *x) const { return rotate(x[e0], x[e1], sn, cs); }
};

/// Rotates H heads of HD features of row t at position pos[t].
template <int H, int HD, bool Interleaved>
__global__ void rope(const float *__restrict__ x, float *__restrict__ out, const int32_t *__restrict__ pos,
                     RopeFreq<HD / 2> freq) {
  priorDone();
  releaseNext();
  constexpr int half = HD / 2;
  const int t = blockIdx.x;
  const float p = float(pos[t]);
  int lo, hi;
  slice<H * half>(lo, hi);
  for (int i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    const RopePair<HD, Interleaved> r(i % half, p, freq);
    const size_t b = size_t(t) * H * HD + (i / half) * HD;
    const float2 o = r.rotated(x + b);
    out[b + r.e0] = o.x;
    out[b + r.e1] = o.y;
  }
}

template <int KV, int HD>
__global__ void kvAppend(const float *__restrict__ k, const float *__restrict__ v, __half *__restrict__ kc,
                         __half *__restrict__ vc, const int32_t *__restrict__ pos, const int32_t *__restrict__ seq,
                         int64_t maxCtx) {
  priorDone();
  releaseNext();
  const int t = blockIdx.x;
  const int64_t p = pos[t], sq = seq[t];
  int lo, hi;
  slice<KV * HD>(lo, hi);
  for (int i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    const int g = i / HD, e = i % HD;
    const size_t at = (size_t(sq * KV + g) * maxCtx + p) * HD + e;
    kc[at] = __float2half_rn(k[size_t(t) * KV * HD + i]);
    vc[at] = __float2half_rn(v[size_t(t) * KV * HD + i]);
  }
}

/// RoPE of q and k and the cache append of k and v in one launch (the
/// attention's q/k from RoPE ops used by it alone): q rotated into qOut, k
/// rotated and v converted into sequence seq[t]'s F16 cache at position
/// pos[t].
template <int H, int KV, int HD, bool Interleaved>
__global__ void ropeQKV(const float *__restrict__ q, const float *__restrict__ k, const float *__restrict__ v,
                        float *__restrict__ qOut, __half *__restrict__ kc, __half *__restrict__ vc,
                        const int32_t *__restrict__ pos, const int32_t *__restrict__ seq, int64_t maxCtx,
                        RopeFreq<HD / 2> freq) {
  priorDone();
  releaseNext();
  constexpr int half = HD / 2;
  const int t = blockIdx.x;
  const int64_t p = pos[t], sq = seq[t];
  const float fp = float(p);
  int lo, hi;
  slice<(H + KV) * half>(lo, hi);
  for (int i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    const int h = i / half;
    const RopePair<HD, Interleaved> r(i % half, fp, freq);
    if (h < H) {
      const size_t b = size_t(t) * H * HD + h * HD;
      const float2 o = r.rotated(q + b);
      qOut[b + r.e0] = o.x;
      qOut[b + r.e1] = o.y;
    } else {
      const int g = h - H;
      const size_t b = size_t(t) * KV * HD + g * HD, at = (size_t(sq * KV + g) * maxCtx + p) * HD;
      const float2 o = r.rotated(k + b);
      kc[at + r.e0] = __float2half_rn(o.x);
      kc[at + r.e1] = __float2half_rn(o.y);
      vc[at + r.e0] = __float2half_rn(v[b + r.e0]);
      vc[at + r.e1] = __float2half_rn(v[b + r.e1]);
    }
  }
}

/// The cache append of n tokens' k and v into FP8 caches, a warp a head
/// (a block: 8 of token blockIdx.x's heads, q's then k's then v's); where
/// Rope, k rotated first (as ropeQKV rotates it, the same bits) and q
/// rotated into qOut.
template <int H, int KV, int HD, bool Interleaved, bool Rope>
__global__ void __launch_bounds__(256) kvAppendFp8(const float *__restrict__ q, const float *__restrict__ k,
                                                   const float *__restrict__ v, float *__restrict__ qOut, KvCache c,
                                                   const int32_t *__restrict__ pos, const int32_t *__restrict__ seq,
                                                   int64_t maxCtx, RopeFreq<HD / 2> freq) {
  priorDone();
  releaseNext();
  constexpr int half = HD / 2, qHeads = Rope ? H : 0;
  const int t = blockIdx.x, lane = threadIdx.x % 32, head = blockIdx.y * 8 + threadIdx.x / 32;
  const int64_t p = pos[t], sq = seq[t];
  const float fp = float(p);
  if (head < qHeads) {
    const size_t b = size_t(t) * H * HD + head * HD;
    for (int j = lane; j < half; j += 32) {
      const RopePair<HD, Interleaved> r(j, fp, freq);
      const float2 o = r.rotated(q + b);
      qOut[b + r.e0] = o.x;
      qOut[b + r.e1] = o.y;
    }
    return;
  }
  const int g = (head - qHeads) % KV;
  const bool isV = head - qHeads >= KV;
  if (head - qHeads >= 2 * KV)
    return;
  const size_t b = size_t(t) * KV * HD + g * HD, at = size_t(sq * KV + g) * maxCtx + p;
  if (isV) {
    storeHeadFp8<HD>([&](int d) { return v[b + d]; }, static_cast<__nv_fp8_storage_t *>(c.v) + at * HD, c.vs + at,
                     lane);
    return;
  }
  storeHeadFp8<HD>(
      [&](int d) {
        if constexpr (!Rope) {
          return k[b + d];
        } else {
          const RopePair<HD, Interleaved> r(Interleaved ? d / 2 : d % half, fp, freq);
          const float2 o = r.rotated(k + b);
          return d == r.e0 ? o.x : o.y;
        }
      },
      static_cast<__nv_fp8_storage_t *>(c.k) + at * HD, c.ks + at, lane);
}

/// kvAppendFp8's grid for n tokens.
template <int H, int KV> inline dim3 appendGrid(int64_t n) { return dim3(unsigned(n), unsigned((H + 2 * KV + 7) / 8)); }

/// RoPE of q and k and the cache append of k and v (ropeQKV, or
/// kvAppendFp8 for FP8 caches).
template <int H, int KV, int HD, bool Interleaved>
inline void launchRopeAppend(const float *q, const float *k, const float *v, float *qOut, const KvCache &c,
                             const int32_t *pos, const int32_t *seq, int64_t maxCtx, RopeFreq<HD / 2> freq, int64_t n,
                             cudaStream_t s) {
  if (c.fp8)
    launch(kvAppendFp8<H, KV, HD, Interleaved, true>, appendGrid<H, KV>(n), 256, s, q, k, v, qOut, c, pos, seq,
           maxCtx, freq);
  else
    launch(ropeQKV<H, KV, HD, Interleaved>, rowGrid(n, (H + KV) * HD / 2), kRowThreads, s, q, k, v, qOut,
           static_cast<__half *>(c.k), static_cast<__half *>(c.v), pos, seq, maxCtx, freq);
}

/// The cache append of k and v (kvAppend, or kvAppendFp8).
template <int KV, int HD>
inline void launchAppend(const float *k, const float *v, const KvCache &c, const int32_t *pos, const int32_t *seq,
                         int64_t maxCtx, int64_t n, cudaStream_t s) {
  if (c.fp8)
    launch(kvAppendFp8<0, KV, HD, false, false>, appendGrid<0, KV>(n), 256, s, nullptr, k, v, nullptr, c, pos, seq,
           maxCtx, RopeFreq<HD / 2>{});
  else
    launch(kvAppend<KV, HD>, rowGrid(n, KV * HD), kRowThreads, s, k, v, static_cast<__half *>(c.k),
           static_cast<__half *>(c.v), pos, seq, maxCtx);
}

/// Keys a warp of the attention loads at once: measured at 7B shapes on the
/// H100, tg128 +7 % with 4 against one at a time, +1.5 % more with 8.
constexpr int kAttnKeys = 8;
/// Warps of a block of the decoding attention (each takes kAttnKeys keys
/// at a time). 16 measured no faster at tg128's depths (H100, 7B layer, us
/// at depth 1 / 64 / 127 / 255: 51.2 / 52.7 / 54.8 / 56.9 against 8's 50.8
/// / 53.4 / 54.7 / 57.9), and 8 keep the bits the warps' order gives.
constexpr int kAttnWarps = 8;

/// The first key position p attends to: the sliding window's start, else 0.
__device__ __forceinline__ int64_t firstKey(int64_t p, int64_t window) {
  return window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
}

/// Whether a lane holds a head's E = HD / 32 consecutive elements d = E
/// lane + e, loaded at once as a KvPack (FP8 caches where HD is 32, 64 or
/// 128), rather than d = lane + 32 e.
template <int HD, bool F8> constexpr bool kvPacked = F8 && (HD == 32 || HD == 64 || HD == 128);

/// E consecutive cache elements, loaded at once.
template <typename T, int E> struct alignas(sizeof(T) * E) KvPack {
  T v[E];
};

/// The cache rows of kAttnKeys consecutive keys as a warp holds them (a
/// lane's E elements of each key's and value's row; F8: their scales).
template <typename T, int E> struct KeyRows {
  T k[kAttnKeys][E], v[kAttnKeys][E];
  float ks[kAttnKeys], vs[kAttnKeys]; // (F8)
};

/// Loads keys jw + u in [lo, hi] (u < kAttnKeys) of the rows at kb / vb
/// (this sequence's keys of the group; `row` their first scale) into c;
/// the others keep what c holds (Keep) or are zeros.
template <int HD, bool F8, bool Keep = false, typename T, int E>
__device__ __forceinline__ void loadKeys(KeyRows<T, E> &c, const T *__restrict__ kb, const T *__restrict__ vb,
                                         const float *__restrict__ kscale, const float *__restrict__ vscale,
                                         size_t row, int64_t jw, int64_t lo, int64_t hi) {
  constexpr bool packed = kvPacked<HD, F8>;
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int u = 0; u < kAttnKeys; ++u) {
    const bool in = jw + u >= lo && jw + u <= hi;
    if (Keep && !in)
      continue;
    if constexpr (packed) {
      using P = KvPack<T, E>;
      const P kp = in ? *reinterpret_cast<const P *>(kb + (jw + u) * HD + lane * E) : P{};
      const P vp = in ? *reinterpret_cast<const P *>(vb + (jw + u) * HD + lane * E) : P{};
#pragma unroll
      for (int e = 0; e < E; ++e)
        c.k[u][e] = kp.v[e], c.v[u][e] = vp.v[e];
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const int d = lane + 32 * e;
        c.k[u][e] = in && d < HD ? kb[(jw + u) * HD + d] : T();
        c.v[u][e] = in && d < HD ? vb[(jw + u) * HD + d] : T();
      }
    }
    if constexpr (F8) {
      c.ks[u] = in ? kscale[row + jw + u] : 0.0f;
      c.vs[u] = in ? vscale[row + jw + u] : 0.0f;
    }
  }
}

/// Where token t's keys in head h are: this sequence's rows of the head's
/// group (kb, vb; `row` the first one's index).
template <int H, int KV, int HD, typename T> struct KeysOf {
  size_t row;
  const T *kb, *vb;
  __device__ __forceinline__ KeysOf(int t, int h, const T *kc, const T *vc, const int32_t *__restrict__ seq,
                                    int64_t maxCtx)
      : row((size_t(seq[t]) * KV + h / (H / KV)) * maxCtx), kb(kc + row * HD), vb(vc + row * HD) {}
};

/// The keys of token t's first chunk (a warp's first kAttnKeys of [j0,
/// j1]) that earlier calls wrote: below its position minus t (a call's
/// tokens of one sequence are consecutive positions), so that a launch may
/// load them before priorDone() (the positions too: they are copied before
/// the call's first launch). `from` is where the rest begins.
template <int H, int KV, int HD, bool F8, typename T, int E>
__device__ __forceinline__ void loadEarlierKeys(KeyRows<T, E> &c, int64_t &from, int t, int h, int64_t j0, int64_t j1,
                                                const T *kc, const T *vc, const float *kscale, const float *vscale,
                                                const int32_t *__restrict__ pos, const int32_t *__restrict__ seq,
                                                int64_t maxCtx) {
  const KeysOf<H, KV, HD, T> at(t, h, kc, vc, seq, maxCtx);
  const int64_t jw = j0 + threadIdx.x / 32 * kAttnKeys;
  from = int64_t(pos[t]) - t;
  loadKeys<HD, F8>(c, at.kb, at.vb, kscale, vscale, at.row, jw, jw, min(j1, from - 1));
}

/// Keys [j0, j1] of token t's attention in head h by one block (at most
/// kAttnWarps warps): the warps take the keys in turn, kAttnKeys at a time,
/// each with an online softmax whose maximum, sum and unnormalized output
/// it leaves in sm[w], sl[w], sacc[w]. A lane holds E elements of the head,
/// d = lane + 32 e. F8: the caches hold E4M3 codes (c.fp8), a key's scale
/// applied to its score and a value's to its weight; a lane's elements are
/// d = E lane + e where HD is 32, 64 or 128 (one load of a key's codes).
/// Early: `first` holds the warp's first chunk's keys below `from`
/// (loadEarlierKeys; else both are unused).
template <int H, int KV, int HD, bool F8, bool Early, typename T = typename KvElem<F8>::T>
__device__ __forceinline__ void attendKeys(int t, int h, int64_t j0, int64_t j1, const float *__restrict__ q,
                                           const T *__restrict__ kc, const T *__restrict__ vc,
                                           const float *__restrict__ kscale, const float *__restrict__ vscale,
                                           const int32_t *__restrict__ seq, int64_t maxCtx, float scale,
                                           const KeyRows<T, (HD + 31) / 32> &first, int64_t from,
                                           float (&sm)[kAttnWarps], float (&sl)[kAttnWarps],
                                           float (&sacc)[kAttnWarps][(HD + 31) / 32 * 32]) {
  constexpr int E = (HD + 31) / 32;
  constexpr bool packed = kvPacked<HD, F8>;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
  auto dim = [&](int e) { return packed ? lane * E + e : lane + 32 * e; };
  float qv[E], acc[E];
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int d = dim(e);
    qv[e] = d < HD ? q[size_t(t) * H * HD + h * HD + d] : 0.0f;
    acc[e] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const KeysOf<H, KV, HD, T> at(t, h, kc, vc, seq, maxCtx);
  // A warp takes kAttnKeys keys at a time, their rows loaded before any is
  // used (several loads in flight instead of one key's latency after
  // another; keys past j1 stay zero). F16: the online softmax key by key;
  // F8: the keys' scores reduced together, one correction for all of them
  // (measured at 7B depths 0-4096 on the H100, the faster form for each;
  // docs/BENCHMARKS.md, seventh round). consume: the chunk of keys [jw,
  // jw + kAttnKeys) of [j0, j1], from its rows.
  auto consume = [&](const KeyRows<T, E> &cur, int64_t jw) {
    const auto &kr = cur.k;
    const auto &vr = cur.v;
    const auto &ks = cur.ks;
    const auto &vs = cur.vs;
    if constexpr (!F8) {
      // The keys' scores first (their warp sums in flight together), then
      // the online softmax key by key.
      float sc[kAttnKeys];
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u) {
        sc[u] = 0.0f;
#pragma unroll
        for (int e = 0; e < E; ++e)
          sc[u] += qv[e] * kvFloat(kr[u][e]);
      }
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u)
        sc[u] = warpSum(sc[u]) * scale;
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u) {
        if (jw + u > j1)
          break;
        const float mn = fmaxf(m, sc[u]), corr = expf(m - mn), pj = expf(sc[u] - mn);
        l = l * corr + pj;
#pragma unroll
        for (int e = 0; e < E; ++e)
          acc[e] = acc[e] * corr + pj * kvFloat(vr[u][e]);
        m = mn;
      }
    } else {
      float sc[kAttnKeys];
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u) {
        float kf[E];
        kvFloats(kr[u], kf);
        sc[u] = 0.0f;
#pragma unroll
        for (int e = 0; e < E; ++e)
          sc[u] += qv[e] * kf[e];
      }
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u)
        sc[u] = warpSum(sc[u]);
      float mn = m;
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u) {
        sc[u] = jw + u > j1 ? -INFINITY : sc[u] * ks[u] * scale;
        mn = fmaxf(mn, sc[u]);
      }
      const float corr = expf(m - mn); // (key jw is in: mn is finite)
      l *= corr;
#pragma unroll
      for (int e = 0; e < E; ++e)
        acc[e] *= corr;
#pragma unroll
      for (int u = 0; u < kAttnKeys; ++u) {
        const float pj = expf(sc[u] - mn);
        l += pj;
        float vf[E];
        kvFloats(vr[u], vf);
#pragma unroll
        for (int e = 0; e < E; ++e)
          acc[e] += pj * vs[u] * vf[e];
      }
      m = mn;
    }
  };
  int64_t jw = j0 + warp * kAttnKeys;
  if constexpr (Early)
    if (jw <= j1) { // the first chunk: its rows below `from` are in `first`
      KeyRows<T, E> cur = first;
      loadKeys<HD, F8, true>(cur, at.kb, at.vb, kscale, vscale, at.row, jw, max(jw, from), j1);
      consume(cur, jw);
      jw += nw * kAttnKeys;
    }
  for (; jw <= j1; jw += nw * kAttnKeys) {
    KeyRows<T, E> cur;
    loadKeys<HD, F8>(cur, at.kb, at.vb, kscale, vscale, at.row, jw, jw, j1);
    consume(cur, jw);
  }
  if (lane == 0)
    sm[warp] = m, sl[warp] = l;
#pragma unroll
  for (int e = 0; e < E; ++e)
    sacc[warp][dim(e)] = acc[e];
  __syncthreads();
}

/// The block's softmax from its warps' (attendKeys, over `keys` keys): its
/// maximum M and sum L (returned) and, for each d of the head, its
/// unnormalized output o, handed to put(d, o, L). The warps that took no
/// key are left out (their terms are exact zeros: the same bits).
template <int HD, typename Put>
__device__ __forceinline__ float2 mergeWarps(const float (&sm)[kAttnWarps], const float (&sl)[kAttnWarps],
                                             const float (&sacc)[kAttnWarps][(HD + 31) / 32 * 32], int64_t keys,
                                             Put put) {
  const int nw = int(min(int64_t(blockDim.x / 32), (keys + kAttnKeys - 1) / kAttnKeys));
  float M = -INFINITY;
  for (int w = 0; w < nw; ++w)
    M = fmaxf(M, sm[w]);
  float L = 0.0f;
  for (int w = 0; w < nw; ++w)
    L += sl[w] * expf(sm[w] - M);
  for (int d = threadIdx.x; d < HD; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < nw; ++w)
      o += sacc[w][d] * expf(sm[w] - M);
    put(d, o, L);
  }
  return make_float2(M, L);
}

/// Row (t, h) of the attention's output is written, and kept in shared
/// memory (o): its q8 form too, this head's blocks of 32 (the output
/// projection's input).
template <int H, int HD> __device__ __forceinline__ void quantizeHead(int t, int h, const float *o, const Q8Act &qa) {
  if constexpr (HD % 32 == 0) {
    if (qa.q) {
      __syncthreads();
      const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
      constexpr int D = H * HD;
      for (int b = warp; b < HD / 32; b += nw)
        quantizeBlock(o[b * 32 + lane], lane, qa, size_t(t) * D + h * HD + b * 32);
    }
  }
}

/// Token t's attention in head h by one block: keys [first, p] of the
/// token's position p (first: the sliding window's start, else 0), the
/// warps' softmaxes merged (Early, first, from: as attendKeys takes them;
/// unused unless Early).
template <int H, int KV, int HD, bool F8, bool Early = false, typename T = typename KvElem<F8>::T>
__device__ __forceinline__ void attendToken(int t, int h, const float *__restrict__ q, const T *__restrict__ kc,
                                            const T *__restrict__ vc, const float *__restrict__ ks,
                                            const float *__restrict__ vs, float *__restrict__ out,
                                            const int32_t *__restrict__ pos, const int32_t *__restrict__ seq,
                                            int64_t maxCtx, float scale, int64_t window, const Q8Act &qa,
                                            const KeyRows<T, (HD + 31) / 32> &first = {}, int64_t from = 0) {
  __shared__ float sm[kAttnWarps], sl[kAttnWarps], sacc[kAttnWarps][(HD + 31) / 32 * 32], so[HD];
  const int64_t p = pos[t];
  attendKeys<H, KV, HD, F8, Early>(t, h, firstKey(p, window), p, q, kc, vc, ks, vs, seq, maxCtx, scale, first, from,
                                   sm, sl, sacc);
  mergeWarps<HD>(sm, sl, sacc, p - firstKey(p, window) + 1,
                 [&](int d, float o, float L) { out[size_t(t) * H * HD + h * HD + d] = so[d] = o / L; });
  quantizeHead<H, HD>(t, h, so, qa);
}

/// One token's attention a block (small batches of prompt tokens' fallback).
template <int H, int KV, int HD, bool F8, typename T = typename KvElem<F8>::T>
__global__ void __launch_bounds__(32 * kAttnWarps)
    attention(const float *__restrict__ q, const T *__restrict__ kc, const T *__restrict__ vc,
              const float *__restrict__ ks, const float *__restrict__ vs, float *__restrict__ out,
              const int32_t *__restrict__ pos, const int32_t *__restrict__ seq, int64_t maxCtx, float scale,
              int64_t window, Q8Act qa) {
  priorDone();
  releaseNext();
  attendToken<H, KV, HD, F8>(blockIdx.x, blockIdx.y, q, kc, vc, ks, vs, out, pos, seq, maxCtx, scale, window, qa);
}

// Decoding steps: a token's keys split across blocks (flash decoding), so
// that a long context's cache streams through every SM, not one block a
// head. Block (t, h, s) takes part s of the keys, parts of at least
// kAttnSplitKeys; where one part holds them all (short contexts) it is
// attendToken, bit for bit, and the other blocks return. Otherwise each
// part's block leaves its softmax (maximum, sum, unnormalized output) in
// AttnParts, and the block that finishes last (a counter a (t, h), reset
// by it) merges the parts in order 0, 1, ... The parts depend on the
// position alone, not on the batch, so a sequence gets the same bits alone
// and in a batch.

constexpr int kAttnMaxSplits = 8;   ///< parts a token's keys split into at most
constexpr int kAttnSplitKeys = 256; ///< keys a part takes at least

/// The partial softmaxes of a decoding step's split attention (tokens below
/// kPromptTokens) and their counters; the counters start at zero.
template <int H, int HD> struct AttnParts {
  float part[kPromptTokens - 1][H][kAttnMaxSplits][HD + 2]; ///< (max, sum, output[HD])
  int count[kPromptTokens - 1][H];
};
template <int H, int HD> __device__ AttnParts<H, HD> attnParts;

/// Keys a part of a token's keys [first, p] takes: a multiple of
/// kAttnKeys, at least kAttnSplitKeys.
__device__ __forceinline__ int64_t splitKeys(int64_t len, int splits) {
  const int64_t per = (len + splits - 1) / splits;
  return max(int64_t(kAttnSplitKeys), (per + kAttnKeys - 1) / kAttnKeys * kAttnKeys);
}

/// Early: one token (a sequence's decoding step), whose first keys are
/// loaded before the previous launch ends. Not for several: loads of the
/// next launch's blocks while this one's last ones run, and the registers
/// the early rows take, measured slower (H100, 7B; 16 tokens at depth 64
/// through the one-block-a-token kernel: 10.7 against 8.7 us; 4 at depth
/// 700: 30.8 against 23.4).
template <int H, int KV, int HD, bool F8, bool Early, typename T = typename KvElem<F8>::T>
__global__ void __launch_bounds__(32 * kAttnWarps)
    attentionSplit(const float *__restrict__ q, const T *__restrict__ kc, const T *__restrict__ vc,
                   const float *__restrict__ ks, const float *__restrict__ vs, float *__restrict__ out,
                   const int32_t *__restrict__ pos, const int32_t *__restrict__ seq, int64_t maxCtx, float scale,
                   int64_t window, Q8Act qa) {
  const int t = blockIdx.x, h = blockIdx.y, part = blockIdx.z, splits = gridDim.z;
  const int64_t p = pos[t], first = firstKey(p, window), len = p - first + 1;
  const int64_t per = splitKeys(len, splits);
  const int active = int((len + per - 1) / per);
  if (part >= active)
    return; // (reads and writes nothing)
  const int64_t j0 = first + part * per, j1 = min(p, j0 + per - 1);
  KeyRows<T, (HD + 31) / 32> early{};
  int64_t from = 0;
  if constexpr (Early)
    loadEarlierKeys<H, KV, HD, F8>(early, from, t, h, j0, j1, kc, vc, ks, vs, pos, seq, maxCtx);
  priorDone();
  releaseNext();
  if (active == 1) {
    attendToken<H, KV, HD, F8, Early>(t, h, q, kc, vc, ks, vs, out, pos, seq, maxCtx, scale, window, qa, early, from);
    return;
  }
  __shared__ float sm[kAttnWarps], sl[kAttnWarps], sacc[kAttnWarps][(HD + 31) / 32 * 32];
  __shared__ int last;
  attendKeys<H, KV, HD, F8, Early>(t, h, j0, j1, q, kc, vc, ks, vs, seq, maxCtx, scale, early, from, sm, sl, sacc);
  AttnParts<H, HD> &P = attnParts<H, HD>;
  float *mine = P.part[t][h][part];
  const float2 ML = mergeWarps<HD>(sm, sl, sacc, j1 - j0 + 1, [&](int d, float o, float) { mine[2 + d] = o; });
  if (threadIdx.x == 0)
    mine[0] = ML.x, mine[1] = ML.y;
  __threadfence(); // this part is visible before the counter says so
  __syncthreads();
  if (threadIdx.x == 0)
    last = atomicAdd(&P.count[t][h], 1) == active - 1;
  __syncthreads();
  if (!last)
    return;
  __threadfence(); // the other parts' writes, seen through L2 (__ldcg)
  float Mall = -INFINITY;
  for (int s = 0; s < active; ++s)
    Mall = fmaxf(Mall, __ldcg(&P.part[t][h][s][0]));
  float Lall = 0.0f;
  for (int s = 0; s < active; ++s)
    Lall += __ldcg(&P.part[t][h][s][1]) * expf(__ldcg(&P.part[t][h][s][0]) - Mall);
  __shared__ float so[HD];
  for (int d = threadIdx.x; d < HD; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < active; ++s)
      o += __ldcg(&P.part[t][h][s][2 + d]) * expf(__ldcg(&P.part[t][h][s][0]) - Mall);
    out[size_t(t) * H * HD + h * HD + d] = so[d] = o / Lall;
  }
  if (threadIdx.x == 0)
    P.count[t][h] = 0; // for the next step
  quantizeHead<H, HD>(t, h, so, qa);
}

// ---------------------------------------------------------------------------
// Linear layers: y[t][r] = sum_k W[r][k] x[t][k] (+ bias[r]) (+ add[t][r]),
// up to three matrices of one input in one launch (q/k/v, gate/up), their
// rows one after the other; each job's rows a multiple of 32 when there are
// several. By tokens per call (launchLinear): one to five stream the weights
// once through a dp4a matrix-vector product (a warp per row or two); six to
// 64 (batched decoding) through half-precision tensor-core products on
// weights dequantized in registers (linearHalfBatch, 32 rows a block);
// prompts through half-precision tiles of 128 rows staged in shared memory
// (linearHalf). Both half products are below.

struct LinJob {
  QccCudaWeight w;
  float *out;
  const float *add, *bias;
  int64_t ldo; ///< out / add row stride
};
struct LinJobs {
  LinJob j[3];
  int start[4]; ///< first row of each job in the launch's row space; start[count] = total
  int count;
};

/// Output (t, row) of job J: v with the job's bias and residual.
__device__ __forceinline__ void storeOut(const LinJob &J, int t, int64_t row, float v) {
  const size_t o = size_t(t) * J.ldo + row;
  J.out[o] = v + (J.bias ? J.bias[row] : 0.0f) + (J.add ? J.add[o] : 0.0f);
}

/// The job that row r of the launch belongs to, with its first row and end.
/// (Constant indices only: a dynamically indexed parameter array would be
/// copied to local memory by every thread.)
__device__ __forceinline__ const LinJob &jobOf(const LinJobs &jobs, int r, int &first, int &end) {
  if (jobs.count > 2 && r >= jobs.start[2]) {
    first = jobs.start[2], end = jobs.start[3];
    return jobs.j[2];
  }
  if (jobs.count > 1 && r >= jobs.start[1]) {
    first = jobs.start[1], end = jobs.start[2];
    return jobs.j[1];
  }
  first = 0, end = jobs.start[1];
  return jobs.j[0];
}

constexpr int kRowsPerBlock = 8; // warps per block of the matrix-vector product

__device__ __forceinline__ uint32_t lo4(uint32_t v) { return v & 0x0F0F0F0Fu; }
__device__ __forceinline__ uint32_t hi4(uint32_t v) { return (v >> 4) & 0x0F0F0F0Fu; }

/// The high two bits of Q6_K codes for word i (0..3) of a block's nibbles,
/// placed at bits 4-5 of each byte: for the low nibbles (weights 4i..4i+3)
/// and the high ones (16+4i..).
__device__ __forceinline__ void q6High(uint2 hb, int i, uint32_t &ha, uint32_t &hh) {
  const uint32_t W = i < 2 ? hb.x : hb.y;
  ha = (i % 2 == 0 ? W << 4 : W) & 0x30303030u;
  hh = (i % 2 == 0 ? W << 2 : W >> 2) & 0x30303030u;
}

/// Four words of weight codes times 16 activations in both planes:
/// sum(c q) + sum(c l) / 254, each sum exact (dp4a).
__device__ __forceinline__ float halfDot(const uint32_t *c, int4 q, int4 l) {
  int hq = 0, hl = 0;
  hq = __dp4a(int(c[0]), q.x, hq);
  hq = __dp4a(int(c[1]), q.y, hq);
  hq = __dp4a(int(c[2]), q.z, hq);
  hq = __dp4a(int(c[3]), q.w, hq);
  hl = __dp4a(int(c[0]), l.x, hl);
  hl = __dp4a(int(c[1]), l.y, hl);
  hl = __dp4a(int(c[2]), l.z, hl);
  hl = __dp4a(int(c[3]), l.w, hl);
  return float(hq) + float(hl) * kLow;
}

/// *p, marked evict-first where Stream.
template <bool Stream, typename T> __device__ __forceinline__ T ld(const T *p) {
  if constexpr (Stream)
    return __ldcs(p);
  else
    return *p;
}

/// Layouts holding Q4_0's codes (nibbles, offset 8) and one half d a scale:
/// a block's (Q4_0) or a group of four blocks' (Q4_G128, the sym g128 grids).
template <int Layout> constexpr bool q4Codes = Layout == QCC_CUDA_Q4_0 || Layout == QCC_CUDA_Q4_G128;
/// Layouts of unsigned nibbles with a half2 (d, m) a scale, w = d q + m: a
/// block's (Q4_1) or a group of four blocks' (Q4_1_G128, the asym g128 grids).
template <int Layout> constexpr bool q4MinCodes = Layout == QCC_CUDA_Q4_1 || Layout == QCC_CUDA_Q4_1_G128;
/// Layouts of int8 codes with one half d a scale: a block's (Q8_0) or a
/// group of four blocks' (Q8_G128, the sym 8-bit g128 grids).
template <int Layout> constexpr bool q8Codes = Layout == QCC_CUDA_Q8_0 || Layout == QCC_CUDA_Q8_G128;
/// Layouts whose block sums enter with a min (w = s q - m): Q4_K, Q4_1.
template <int Layout> constexpr bool hasMin = Layout == QCC_CUDA_Q4_K || q4MinCodes<Layout>;
/// Plane 1's scale of block b of a row, as its bits: half d (Q4_0, Q4_G128,
/// Q8_0, Q8_G128) or half2 (d, m) (Q4_1, Q4_1_G128).
template <int Layout, int K, bool Stream = false>
__device__ __forceinline__ uint32_t blockScale(const QccCudaWeight &w, int64_t row, int b) {
  constexpr int S = qccCudaBlocksPerScale(Layout);
  const int64_t i = row * (K / 32 / S) + b / S;
  if constexpr (q4MinCodes<Layout>)
    return ld<Stream>(static_cast<const uint32_t *>(w.p[1]) + i);
  else
    return ld<Stream>(static_cast<const unsigned short *>(w.p[1]) + i);
}
/// (d, -m) of a half2 (d, m) scale: Q4_1's min as the subtracted offset the
/// K-quants' arithmetic takes.
__device__ __forceinline__ float2 scaleMin(uint32_t dm) {
  const float2 f = __half22float2(*reinterpret_cast<const __half2 *>(&dm));
  return make_float2(f.x, -f.y);
}

/// A block of 32 weights of a row as loaded: codes and scales (CudaABI.h).
template <int Layout> struct WBlock {
  uint4 c, c1;  ///< codes: nibbles (c) or int8 (c, c1: Q8_0, Q8_G128)
  uint2 hb;     ///< Q6_K: the high bits
  uint32_t sc;  ///< Q4_0 / Q4_G128 / Q8_0 / Q8_G128: half d; Q4_1(_G128): half2 (d, m); Q4_K: uchar2 (sc, m);
                ///< Q6_K: char2 scales
  uint32_t sup; ///< Q4_K: half2 (d, dmin); Q6_K: half d
};

/// Block b of a row (Stream: read once, evict first).
template <int Layout, int K, bool Stream = true>
__device__ __forceinline__ WBlock<Layout> loadBlock(const QccCudaWeight &w, int64_t row, int b) {
  constexpr int NB = K / 32;
  const uint8_t *p0 = static_cast<const uint8_t *>(w.p[0]);
  WBlock<Layout> o;
  if constexpr (q8Codes<Layout>) {
    const uint4 *src = reinterpret_cast<const uint4 *>(p0 + row * K + b * 32);
    o.c = ld<Stream>(src), o.c1 = ld<Stream>(src + 1);
  } else {
    o.c = ld<Stream>(reinterpret_cast<const uint4 *>(p0 + row * (K / 2) + b * 16));
  }
  if constexpr (q4Codes<Layout> || q4MinCodes<Layout> || q8Codes<Layout>) {
    o.sc = blockScale<Layout, K, Stream>(w, row, b);
  } else if constexpr (Layout == QCC_CUDA_Q4_K) {
    o.sc = static_cast<const unsigned short *>(w.p[1])[row * NB + b];
    o.sup = static_cast<const uint32_t *>(w.p[2])[row * (K / 256) + b / 8];
  } else if constexpr (Layout == QCC_CUDA_Q6_K) {
    o.hb = ld<Stream>(reinterpret_cast<const uint2 *>(static_cast<const uint8_t *>(w.p[1]) + row * (K / 4) + b * 8));
    o.sc = static_cast<const unsigned short *>(w.p[2])[row * NB + b];
    o.sup = static_cast<const unsigned short *>(w.p[3])[row * (K / 256) + b / 8];
  }
  return o;
}

__device__ __forceinline__ float halfBits(uint32_t v) { return __half2float(__ushort_as_half((unsigned short)v)); }

/// A loaded block as eight words of signed-or-unsigned codes (weights
/// 4i..4i+3 in c[i], 16+4i.. in c[4+i]) and its scales.
template <int Layout> struct Codes {
  uint32_t c[8];
  float s0 = 0, s1 = 0, m0 = 0;
};
template <int Layout> __device__ __forceinline__ Codes<Layout> decode(const WBlock<Layout> &wb) {
  Codes<Layout> o;
  if constexpr (q8Codes<Layout>) {
    o.c[0] = wb.c.x, o.c[1] = wb.c.y, o.c[2] = wb.c.z, o.c[3] = wb.c.w;
    o.c[4] = wb.c1.x, o.c[5] = wb.c1.y, o.c[6] = wb.c1.z, o.c[7] = wb.c1.w;
    o.s0 = halfBits(wb.sc);
  } else {
    const uint32_t v[4] = {wb.c.x, wb.c.y, wb.c.z, wb.c.w};
#pragma unroll
    for (int i = 0; i < 4; ++i)
      o.c[i] = lo4(v[i]), o.c[4 + i] = hi4(v[i]);
    if constexpr (q4Codes<Layout>) {
      o.s0 = halfBits(wb.sc);
    } else if constexpr (q4MinCodes<Layout>) {
      const float2 dm = scaleMin(wb.sc);
      o.s0 = dm.x, o.m0 = dm.y;
    } else if constexpr (Layout == QCC_CUDA_Q4_K) {
      const float2 dd = __half22float2(*reinterpret_cast<const __half2 *>(&wb.sup));
      o.s0 = dd.x * float(wb.sc & 0xFF);
      o.m0 = dd.y * float(wb.sc >> 8);
    } else if constexpr (Layout == QCC_CUDA_Q6_K) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        uint32_t ha, hh;
        q6High(wb.hb, i, ha, hh);
        o.c[i] = __vsub4(o.c[i] | ha, 0x20202020u);
        o.c[4 + i] = __vsub4(o.c[4 + i] | hh, 0x20202020u);
      }
      const float d = halfBits(wb.sup);
      o.s0 = d * float(int8_t(wb.sc & 0xFF));
      o.s1 = d * float(int8_t(wb.sc >> 8));
    }
  }
  return o;
}

/// Block b of token row xr of a q8 activation, both planes.
struct XBlock {
  int4 qa, qb, la, lb;
  float2 ds;
};
template <int K> __device__ __forceinline__ XBlock loadX(const Q8Act &x, size_t xr, int b) {
  const int4 *xq = reinterpret_cast<const int4 *>(x.q + xr * K + b * 32);
  const int4 *xl = reinterpret_cast<const int4 *>(x.l + xr * K + b * 32);
  return XBlock{__ldg(xq), __ldg(xq + 1), __ldg(xl), __ldg(xl + 1), __ldg(x.ds + xr * (K / 32) + b)};
}

/// The block's sum of w * x.
template <int Layout> __device__ __forceinline__ float blockDot(const Codes<Layout> &w, const XBlock &x) {
  const float fa = halfDot(w.c, x.qa, x.la), fb = halfDot(w.c + 4, x.qb, x.lb);
  if constexpr (q4Codes<Layout>)
    return w.s0 * (x.ds.x * (fa + fb) - 8.0f * x.ds.y);
  else if constexpr (q8Codes<Layout>)
    return w.s0 * x.ds.x * (fa + fb);
  else if constexpr (hasMin<Layout>)
    return w.s0 * x.ds.x * (fa + fb) - w.m0 * x.ds.y;
  else
    return x.ds.x * (w.s0 * fa + w.s1 * fb);
}

/// a = 0.
template <int R, int NC> __device__ __forceinline__ void zero(float (&a)[R][NC]) {
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int t = 0; t < NC; ++t)
      a[r][t] = 0.0f;
}

/// ldmatrix.x4: four 8x8 matrices of 16-bit elements (rows of 16 bytes at
/// the addresses lanes 8m..8m+7 give for matrix m); lane (g, i) receives
/// word i of row g of each (Trans: of each matrix's transpose, i.e.
/// elements 2i, 2i + 1 of column g).
template <bool Trans = false> __device__ __forceinline__ void ldmatrix4(uint32_t (&r)[4], const void *rowAddr) {
  const unsigned a = unsigned(__cvta_generic_to_shared(rowAddr));
  if constexpr (Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

// ---------------------------------------------------------------------------
// Half-precision tensor-core products (batches of 6 tokens or more). An
// int8 product scales every 32-weight block's integer sum into float per
// (row, token): at these sizes those conversions, not the tensor cores,
// bound it. Here the activation rows are converted once to half (each
// token's row scaled by a power of two that keeps it in range) and the
// products run as f16 x f16 -> f32 mma.sync m16n8k16 over whole rows: for
// prompts each block of 128 weight rows is dequantized to half in shared
// memory once per tile of tokens (linearHalf); for batched decoding each
// lane dequantizes its weights in registers (linearHalfBatch).

/// A prompt's activations in half precision: token t's row is
/// scale[t] * x[t][0 .. K) (a power of two; [maxTokens][max K] of scratch).
/// Row-major for the prompt products; for batched decoding (Blocked) the
/// rows are interleaved in 16-byte pieces, piece j of token t at
/// x[(j * n + t) * 8] (n: the call's tokens), so that a warp's load of one
/// piece of eight consecutive tokens is one 128-byte line.
struct HalfRows {
  __half *x;
  float *scale;
  float *part;     ///< split-K launches' partial results, kHalfSplit x partCap
  int64_t partCap; ///< tokens x rows a split-K launch may have
};

/// Parts of K a prompt product is split into where its 128x128 tiles alone
/// would leave SMs without two blocks (the partial sums added in a fixed
/// order by halfSplitSum).
constexpr int kHalfSplit = 2;

/// Weights of a row that one block of halfRows converts.
constexpr int kHalfRowsSpan = 8 * 256;

/// q8 rows to HalfRows (Blocked: interleaved, as above), a block per token
/// and kHalfRowsSpan of its weights: x = d (q + l / 254) times 2^-e, e such
/// that the row's largest magnitude (below 128 d) stays under 2^14 (each of
/// a row's blocks finds the same e).
template <int K, bool Blocked> __global__ void __launch_bounds__(256) halfRows(Q8Act a, HalfRows h) {
  constexpr int NB = K / 32;
  priorDone();
  releaseNext();
  const int t = blockIdx.x, n = gridDim.x;
  const float2 *ds = a.ds + size_t(t) * NB;
  float dmax = 0.0f;
  for (int b = threadIdx.x; b < NB; b += blockDim.x)
    dmax = fmaxf(dmax, ds[b].x);
  dmax = blockMax(dmax);
  int e = 0;
  if (dmax > 0.0f) {
    frexpf(dmax * 128.0f, &e);
    e = max(e - 14, -100);
  }
  if (threadIdx.x == 0 && blockIdx.y == 0)
    h.scale[t] = ldexpf(1.0f, e);
  const float inv = ldexpf(1.0f, -e);
  const int8_t *q = a.q + size_t(t) * K, *l = a.l + size_t(t) * K;
  for (int k = (blockIdx.y * blockDim.x + threadIdx.x) * 8; k < K; k += 8 * blockDim.x * gridDim.y) {
    const float d = ds[k / 32].x * inv;
    const int2 qv = *reinterpret_cast<const int2 *>(q + k), lv = *reinterpret_cast<const int2 *>(l + k);
    const int8_t *qq = reinterpret_cast<const int8_t *>(&qv), *ll = reinterpret_cast<const int8_t *>(&lv);
    uint4 o;
    uint32_t *ow = reinterpret_cast<uint32_t *>(&o);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const __half2 v = __floats2half2_rn(d * (float(qq[2 * j]) + float(ll[2 * j]) * kLow),
                                          d * (float(qq[2 * j + 1]) + float(ll[2 * j + 1]) * kLow));
      ow[j] = *reinterpret_cast<const uint32_t *>(&v);
    }
    *reinterpret_cast<uint4 *>(h.x + (Blocked ? (size_t(k / 8) * n + t) * 8 : size_t(t) * K + k)) = o;
  }
}

/// halfRows over n tokens.
template <int K, bool Blocked> inline void launchHalfRows(const Q8Act &xq, const HalfRows &hx, int n, cudaStream_t s) {
  launch(halfRows<K, Blocked>, dim3(unsigned(n), unsigned((K + kHalfRowsSpan - 1) / kHalfRowsSpan)), 256, s, xq, hx);
}

__device__ __forceinline__ uint32_t h2bits(__half2 v) { return *reinterpret_cast<uint32_t *>(&v); }
__device__ __forceinline__ __half2 bitsh2(uint32_t v) { return *reinterpret_cast<__half2 *>(&v); }

/// A loaded block's 32 weights in half (word w: weights 2w, 2w + 1), each
/// the format's value rounded once: Q4_0 / Q4_G128 / Q8_0 / Q8_G128 as d * code, Q4_1 /
/// Q4_1_G128 as d * code + m (the codes made exact halves by the 1024 + c bit
/// pattern, the product rounded by hmul2 / hfma2); Q4_K / Q6_K as s * code -
/// m in float.
template <int Layout> __device__ __forceinline__ void dequantHalf(const WBlock<Layout> &wb, uint32_t (&o)[16]) {
  if constexpr (q4Codes<Layout> || q4MinCodes<Layout>) {
    // Byte j: weight j (low nibble), 16 + j (high).
    const uint32_t v[4] = {wb.c.x, wb.c.y, wb.c.z, wb.c.w};
    const __half2 sc = bitsh2(wb.sc); // d (its low half), Q4_1: (d, m)
    const __half2 d2 = __low2half2(sc), m2 = __high2half2(sc);
    const __half2 off = __float2half2_rn(q4Codes<Layout> ? 1032.0f : 1024.0f); // 1024 + the codes' offset
    auto value = [&](uint32_t nibbles) {
      const __half2 c = __hsub2(bitsh2(nibbles | 0x64006400u), off);
      return h2bits(q4Codes<Layout> ? __hmul2(c, d2) : __hfma2(c, d2, m2));
    };
#pragma unroll
    for (int q = 0; q < 4; ++q)
#pragma unroll
      for (int p = 0; p < 2; ++p) {
        const uint32_t t = __byte_perm(v[q], 0, p ? 0x4342 : 0x4140); // bytes 2p, 2p + 1 as 16-bit lanes
        o[2 * q + p] = value(t & 0x000F000Fu);
        o[8 + 2 * q + p] = value((t >> 4) & 0x000F000Fu);
      }
  } else if constexpr (q8Codes<Layout>) {
    const __half d = __ushort_as_half((unsigned short)wb.sc);
    const __half2 d2 = __halves2half2(d, d);
    const uint32_t v[8] = {wb.c.x, wb.c.y, wb.c.z, wb.c.w, wb.c1.x, wb.c1.y, wb.c1.z, wb.c1.w};
    const __half2 off = __float2half2_rn(1152.0f); // 1024 + 128
#pragma unroll
    for (int q = 0; q < 8; ++q)
#pragma unroll
      for (int p = 0; p < 2; ++p) {
        const uint32_t t = __byte_perm(v[q], 0, p ? 0x4342 : 0x4140) ^ 0x00800080u; // c + 128
        o[2 * q + p] = h2bits(__hmul2(__hsub2(bitsh2(t | 0x64006400u), off), d2));
      }
  } else {
    // decode(): word k holds codes of weights 4k .. 4k + 3 (Q4_K unsigned
    // nibbles, Q6_K signed bytes); a byte b becomes the float 2^23 + b.
    const Codes<Layout> c = decode<Layout>(wb);
    constexpr bool sgn = Layout == QCC_CUDA_Q6_K;
    constexpr float base = sgn ? 8388608.0f + 128.0f : 8388608.0f;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const uint32_t w = sgn ? c.c[k] ^ 0x80808080u : c.c[k];
      const float s = sgn && k >= 4 ? c.s1 : c.s0;
      float f[4];
#pragma unroll
      for (int j = 0; j < 4; ++j)
        f[j] = fmaf(s, __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7540 + j)) - base, -c.m0);
      o[2 * k] = h2bits(__floats2half2_rn(f[0], f[1]));
      o[2 * k + 1] = h2bits(__floats2half2_rn(f[2], f[3]));
    }
  }
}

__device__ __forceinline__ void mmaF16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void cpAsync16(void *dst, const void *src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(unsigned(__cvta_generic_to_shared(dst))), "l"(src)
               : "memory");
}
__device__ __forceinline__ void cpAsync4(void *dst, const void *src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(uint32_t(__cvta_generic_to_shared(dst))), "l"(src)
               : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
/// Waits until at most N of this thread's cp.async groups are pending.
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}
__device__ __forceinline__ void cpAsyncWaitAll() { cpAsyncWait<0>(); }

/// A tile shape of the half product: BM rows by BN tokens a block, its
/// warps WM x WN each MT 16-row by NT 8-token tiles; stages of KB blocks of
/// 32 weights (two when K allows).
template <int K, int BM_, int BN_, int WM_, int WN_> struct HalfShape {
  static constexpr int BM = BM_, BN = BN_, WM = WM_, WN = WN_, THREADS = 32 * WM * WN;
  static constexpr int MT = BM / WM / 16, NT = BN / WN / 8;
  static constexpr int NB = K / 32, KB = NB % 2 == 0 ? 2 : 1, BK = 32 * KB, LD = BK + 8;
  static constexpr int AP = (BM * KB + THREADS - 1) / THREADS; // (row, block) pairs a thread loads
  static constexpr size_t bytes = size_t(2) * (BM + BN) * LD * sizeof(__half); // two stages of A, B
  static_assert(NT % 2 == 0 && MT >= 1, "tile shape");
};

/// A warp's 16-row tile of a prompt product, mma's C fragments (lane g =
/// lane / 4, i = lane % 4: rows rt + g | + 8, tokens tb + 8 j + 2 i, + 1 in
/// acc[j]) scaled by the tokens' HalfRows scales: into the jobs' outputs,
/// or for a part of K (gridDim.z > 1) as partial sums, [part][token][launch
/// row]. Jobs of a launch with several have multiples of 32 rows, so a
/// 16-row tile has one job.
template <int NT>
__device__ __forceinline__ void storeHalfTile(const LinJobs &jobs, const HalfRows &x, int n, int total, int rt, int tb,
                                              const float (&acc)[NT][4]) {
  const int lane = threadIdx.x % 32, g = lane / 4, i = lane % 4;
  if (rt >= total)
    return;
  float sc[NT][2];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 2; ++e)
      sc[nt][e] = x.scale[min(tb + nt * 8 + 2 * i + e, n - 1)];
  if (gridDim.z > 1) {
    float *P = x.part + size_t(blockIdx.z) * n * total;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = rt + g + (e >= 2 ? 8 : 0), t = tb + nt * 8 + 2 * i + (e & 1);
        if (row < total && t < n)
          P[size_t(t) * total + row] = acc[nt][e] * sc[nt][e & 1];
      }
    return;
  }
  int first, end;
  const LinJob &J = jobOf(jobs, rt, first, end);
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t row = rt - first + g + (e >= 2 ? 8 : 0);
      const int t = tb + nt * 8 + 2 * i + (e & 1);
      if (row < end - first && t < n)
        storeOut(J, t, row, acc[nt][e] * sc[nt][e & 1]);
    }
}

/// Prompts: a block multiplies S::BM rows by S::BN tokens. Each stage (KB
/// blocks of 32 weights) the block's threads dequantize the rows' blocks
/// into shared memory (a thread: AP (row, block) pairs, loaded a stage ahead
/// into registers) and copy the tokens' half rows in (cp.async, a stage
/// ahead); the warps read A (rows x k) and B (tokens x k) fragments with
/// ldmatrix. Fragments (PTX ISA, m16n8k16 f16): lane (g = lane / 4, i =
/// lane % 4) holds C rows g | g + 8, tokens 2i, 2i + 1.
template <int Layout, int K, class S>
__global__ void __launch_bounds__(S::THREADS) linearHalf(LinJobs jobs, HalfRows x, int n) {
  constexpr int KB = S::KB, BK = S::BK, LD = S::LD, MT = S::MT, NT = S::NT, AP = S::AP, BM = S::BM, BN = S::BN;
  // Stages [s0, s1): all of K, or part blockIdx.z of gridDim.z.
  const int s0 = int(blockIdx.z) * (S::NB / KB) / int(gridDim.z), s1 = int(blockIdx.z + 1) * (S::NB / KB) / int(gridDim.z);
  extern __shared__ __align__(16) unsigned char halfSmem[];
  auto As = reinterpret_cast<__half(*)[BM][LD]>(halfSmem);
  auto Bs = reinterpret_cast<__half(*)[BN][LD]>(halfSmem + 2 * BM * LD * sizeof(__half));
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / S::WN, wn = warp % S::WN;
  const int t0 = blockIdx.x * BN, r0 = blockIdx.y * BM;
  const int total = jobs.start[jobs.count];
  // This thread's share of A: block aBlk[p] of each stage of row aRow[p].
  int aRow[AP], aBlk[AP];
  const QccCudaWeight *aW[AP];
  int64_t aLocal[AP];
  WBlock<Layout> wb[AP];
  int first, end;
#pragma unroll
  for (int p = 0; p < AP; ++p) {
    const int idx = tid + p * S::THREADS;
    aRow[p] = idx / KB, aBlk[p] = idx % KB;
    const int r = min(r0 + aRow[p], total - 1);
    aW[p] = &jobOf(jobs, r, first, end).w;
    aLocal[p] = r - first;
    if (idx < BM * KB) // the weights: before the previous launch has finished
      wb[p] = loadBlock<Layout, K, false>(*aW[p], aLocal[p], s0 * KB + aBlk[p]);
  }
  priorDone();
  releaseNext();
  auto storeA = [&](int buf) {
#pragma unroll
    for (int p = 0; p < AP; ++p) {
      if (tid + p * S::THREADS >= BM * KB)
        break;
      uint32_t h[16];
      dequantHalf<Layout>(wb[p], h);
      uint4 *dst = reinterpret_cast<uint4 *>(&As[buf][aRow[p]][aBlk[p] * 32]);
#pragma unroll
      for (int q = 0; q < 4; ++q)
        dst[q] = make_uint4(h[4 * q], h[4 * q + 1], h[4 * q + 2], h[4 * q + 3]);
    }
  };
  auto loadA = [&](int stage) {
#pragma unroll
    for (int p = 0; p < AP; ++p)
      if (tid + p * S::THREADS < BM * KB)
        wb[p] = loadBlock<Layout, K, false>(*aW[p], aLocal[p], stage * KB + aBlk[p]);
  };
  auto loadB = [&](int stage, int buf) {
    constexpr int chunks = BN * BK / 8;
#pragma unroll
    for (int c = tid; c < chunks; c += S::THREADS) {
      const int tok = c / (BK / 8), kc = c % (BK / 8);
      cpAsync16(&Bs[buf][tok][kc * 8], x.x + size_t(min(t0 + tok, n - 1)) * K + stage * BK + kc * 8);
    }
    cpAsyncCommit();
  };
  float acc[MT][NT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
      acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.0f;
  loadB(s0, 0);
  storeA(0);
  cpAsyncWaitAll();
  __syncthreads();
  // ldmatrix addresses: lane supplies row lane % 8 of matrix lane / 8.
  const int mat = lane / 8, mr = lane % 8;
  const int aRowF = wm * MT * 16 + (mat % 2) * 8 + mr, aColF = (mat / 2) * 8;
  const int bTokF = wn * NT * 8 + (mat / 2) * 8 + mr, bColF = (mat % 2) * 8;
  for (int st = s0; st < s1; ++st) {
    const int cur = (st - s0) & 1;
    const bool more = st + 1 < s1;
    if (more) {
      loadA(st + 1);
      loadB(st + 1, cur ^ 1);
    }
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      uint32_t a[MT][4], b[NT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        ldmatrix4(a[mt], &As[cur][aRowF + mt * 16][kk * 16 + aColF]);
#pragma unroll
      for (int np = 0; np < NT / 2; ++np) {
        uint32_t r[4];
        ldmatrix4(r, &Bs[cur][bTokF + np * 16][kk * 16 + bColF]);
        b[2 * np][0] = r[0], b[2 * np][1] = r[1], b[2 * np + 1][0] = r[2], b[2 * np + 1][1] = r[3];
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
          mmaF16(acc[mt][nt], a[mt], b[nt][0], b[nt][1]);
    }
    if (more) {
      storeA(cur ^ 1);
      cpAsyncWaitAll();
    }
    __syncthreads();
  }
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
    storeHalfTile<NT>(jobs, x, n, total, r0 + wm * MT * 16 + mt * 16, t0 + wn * NT * 8, acc[mt]);
}

// ---------------------------------------------------------------------------
// Batched decoding (kMinSplitTokens .. kMaxSplitTokens tokens): the
// half-precision mma on weights dequantized in registers, K split across a
// block's warps. The int8 split-K product it replaced loaded each weight as
// 4-byte fragments and scaled every block's integer sums into float per
// (row, token); here each lane loads whole blocks (16 bytes) and the block
// scales enter with the dequantization, as in the prompt product.

constexpr int kBatchWarps = 8; // warps sharing a 32-row tile of linearHalfBatch (or twice that)

/// A block takes 32 rows (two 16-row tiles) by NT * 8 tokens (block id = row
/// tile * columns + token column); its W warps split K in chunks of four
/// blocks of 32 weights (warp w: chunks w, w + W, ...), the warps' sums added
/// in a fixed order at the end. Lane (g = lane / 4, i = lane % 4) loads block
/// 4c + i of rows g, g + 8, 16 + g, 24 + g (a quad reads a row's four
/// consecutive blocks, 64 bytes), dequantizes them to half (dequantHalf), and
/// loads the same block of token g's half row (64 bytes; x is Blocked, so
/// each of the warp's four 16-byte loads of them reads four whole lines,
/// where row-major rows took sixteen half-used ones). The mma sums over k,
/// so which weights sit in a lane's k slots is free as long as A and B
/// agree: at step s of a chunk (eight steps of 16) lane (g, i) puts weights
/// 4s .. 4s + 3 of its own block in its slots (2i, 2i + 1, 2i + 8, 2i + 9),
/// and no fragment needs what another lane loaded. Fragments (PTX ISA,
/// m16n8k16 f16): A words (row g | g + 8, k 2i.. | 2i + 8..), B words
/// (token g, the same k), C (rows g | g + 8, tokens 2i, 2i + 1). Registers:
/// at most 128, two blocks of kBatchWarps an SM.
template <int Layout, int K, int NT, int W>
__global__ void __launch_bounds__(32 * W, 2 * kBatchWarps / W) linearHalfBatch(LinJobs jobs, HalfRows x, int n, int columns) {
  constexpr int NB = K / 32, NC = (NB + 3) / 4;
  __shared__ float part[W - 1][2 * NT * 4][32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, i = lane % 4;
  const int r0 = int(blockIdx.x / unsigned(columns)) * 32; // below the rows: the grid is their 32-row tiles
  int first, end;
  const LinJob &J = jobOf(jobs, r0, first, end);
  int64_t rows[4];
#pragma unroll
  for (int r = 0; r < 4; ++r)
    rows[r] = min(r0 - first + 8 * r + g, end - first - 1);
  WBlock<Layout> wb[4];
  auto loadW = [&](int c) {
    const int b = min(4 * c + i, NB - 1);
#pragma unroll
    for (int r = 0; r < 4; ++r)
      wb[r] = loadBlock<Layout, K, false>(J.w, rows[r], b);
  };
  // A chunk's weights are loaded an iteration ahead (Q8_0's and Q6_K's
  // larger blocks: in the iteration, where two chunks would spill registers).
  constexpr bool ahead = !q8Codes<Layout> && Layout != QCC_CUDA_Q6_K;
  if (warp < NC) // the weights: before the previous launch has finished
    loadW(warp);
  priorDone();
  releaseNext();
  const int t0 = int(blockIdx.x % unsigned(columns)) * NT * 8;
  const uint4 *xr[NT]; // token g's first piece (x: Blocked)
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
    xr[nt] = reinterpret_cast<const uint4 *>(x.x) + min(t0 + nt * 8 + g, n - 1);
  float acc[2][NT][4];
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
      acc[m][nt][0] = acc[m][nt][1] = acc[m][nt][2] = acc[m][nt][3] = 0.0f;
  for (int c = warp; c < NC; c += W) {
    const int b = 4 * c + i;
    if (!ahead && c != warp)
      loadW(c);
    WBlock<Layout> cur[4];
#pragma unroll
    for (int r = 0; r < 4; ++r)
      cur[r] = wb[r];
    if (ahead && c + W < NC)
      loadW(c + W);
    uint32_t h[4][16];
#pragma unroll
    for (int r = 0; r < 4; ++r)
      dequantHalf<Layout>(cur[r], h[r]);
#pragma unroll
    for (int s = 0; s < 8; ++s) {
      const uint32_t a0[4] = {h[0][2 * s], h[1][2 * s], h[0][2 * s + 1], h[1][2 * s + 1]};
      const uint32_t a1[4] = {h[2][2 * s], h[3][2 * s], h[2][2 * s + 1], h[3][2 * s + 1]};
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        // Token g's weights 8q .. 8q + 7 of block b (past K: they weigh 0).
        const uint4 v = b < NB ? __ldg(xr[nt] + size_t(4 * b + s / 2) * n) : make_uint4(0, 0, 0, 0);
        const uint32_t b0 = s % 2 ? v.z : v.x, b1 = s % 2 ? v.w : v.y;
        mmaF16(acc[0][nt], a0, b0, b1);
        mmaF16(acc[1][nt], a1, b0, b1);
      }
    }
  }
  if (warp > 0)
#pragma unroll
    for (int m = 0; m < 2; ++m)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          part[warp - 1][(m * NT + nt) * 4 + e][lane] = acc[m][nt][e];
  __syncthreads();
  if (warp > 0)
    return;
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float v = acc[m][nt][e];
        for (int w = 0; w < W - 1; ++w)
          v += part[w][(m * NT + nt) * 4 + e][lane];
        const int64_t row = r0 - first + 16 * m + g + (e >= 2 ? 8 : 0);
        const int t = t0 + nt * 8 + 2 * i + (e & 1);
        if (row < end - first && t < n)
          storeOut(J, t, row, v * x.scale[t]);
      }
}

/// The GPU's multiprocessors.
inline int smCount() {
  static const int sms = [] {
    int dev = 0, v = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev);
    return v > 0 ? v : 1;
  }();
  return sms;
}

/// The kHalfSplit parts of a split-K prompt product added in order, with the
/// jobs' biases and residuals: a thread an output.
__global__ void __launch_bounds__(256) halfSplitSum(LinJobs jobs, HalfRows x, int n) {
  priorDone();
  releaseNext();
  const int total = jobs.start[jobs.count];
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= int64_t(n) * total)
    return;
  const int t = int(k / total), r = int(k % total);
  float v = x.part[k];
#pragma unroll
  for (int p = 1; p < kHalfSplit; ++p)
    v += x.part[size_t(p) * n * total + k];
  int first, end;
  const LinJob &J = jobOf(jobs, r, first, end);
  storeOut(J, t, r - first, v);
}

// ---------------------------------------------------------------------------
// Prompts on Hopper (QCC_CUDA_WGMMA builds, sm_90a): warpgroup products
// (`wgmma`) that read both operands from shared memory, asynchronously, so
// that the threads dequantize the next stage's weights while the tensor
// cores multiply this one. linearHalf's mma.sync reads every fragment
// through ldmatrix into registers, and that shared-memory traffic, not the
// tensor cores, bounded it (docs/BENCHMARKS.md, fourth round).

#if QCC_CUDA_WGMMA && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define QCC_CUDA_WGMMA_DEVICE 1
#else
#define QCC_CUDA_WGMMA_DEVICE 0
#endif

/// A shared-memory operand of wgmma in the 128-byte swizzle (PTX ISA, matrix
/// descriptor): K-major rows of 64 halves (128 bytes), 8-row groups of 1024
/// bytes (1024-byte aligned), the 16-byte chunk c of row r stored at chunk
/// c ^ (r % 8) (swizzled); a 16-wide K step starts 32 bytes further.
__device__ __forceinline__ uint64_t smemDesc128(const void *p) {
  const uint32_t a = uint32_t(__cvta_generic_to_shared(p));
  return uint64_t((a >> 4) & 0x3FFF) | uint64_t(1) << 16 | uint64_t(1024 >> 4) << 32 | uint64_t(1) << 62;
}
/// Where chunk c (16 bytes) of row r goes in that layout.
__device__ __forceinline__ uint32_t swizzle128(int r, int c) {
  return uint32_t((r / 8) * 1024 + (r % 8) * 128 + ((c ^ (r % 8)) * 16));
}

/// An instruction of sm_90a's (nothing where the build is not for it).
#if QCC_CUDA_WGMMA_DEVICE
#define QCC_SM90A_ASM(...) asm volatile(__VA_ARGS__)
#else
#define QCC_SM90A_ASM(...) ((void)0)
#endif
__device__ __forceinline__ void wgmmaFence() { QCC_SM90A_ASM("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmmaCommit() { QCC_SM90A_ASM("wgmma.commit_group.sync.aligned;" ::: "memory"); }
/// Waits until at most N of this warpgroup's wgmma groups are pending.
template <int N> __device__ __forceinline__ void wgmmaWait() {
  QCC_SM90A_ASM("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
}
/// Orders this thread's shared-memory writes (st.shared, cp.async) before
/// the async proxy's reads (wgmma); a barrier must follow.
__device__ __forceinline__ void fenceAsyncShared() { QCC_SM90A_ASM("fence.proxy.async.shared::cta;" ::: "memory"); }

#define QCC_WG_F8(d, j)                                                                                            \
  "+f"(d[j][0]), "+f"(d[j][1]), "+f"(d[j][2]), "+f"(d[j][3]), "+f"(d[j + 1][0]), "+f"(d[j + 1][1]),                \
      "+f"(d[j + 1][2]), "+f"(d[j + 1][3])

/// d (64 rows x N tokens, the warpgroup's accumulators) += A (64 x 16) B^T
/// (N x 16), f16 in, f32 sums. Thread (warp w of the group, g = lane / 4,
/// i = lane % 4) holds rows 16 w + g | + 8 and tokens 8 j + 2 i, + 1 in
/// d[j], mma.sync's C fragment for each 8-token tile j.
template <int N> __device__ __forceinline__ void wgmmaF16(float (&d)[N / 8][4], uint64_t a, uint64_t b) {
#if QCC_CUDA_WGMMA_DEVICE
  if constexpr (N == 128)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, "
                 "%21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, "
                 "%41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, "
                 "%61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
                 : QCC_WG_F8(d, 0), QCC_WG_F8(d, 2), QCC_WG_F8(d, 4), QCC_WG_F8(d, 6), QCC_WG_F8(d, 8),
                   QCC_WG_F8(d, 10), QCC_WG_F8(d, 12), QCC_WG_F8(d, 14)
                 : "l"(a), "l"(b), "r"(1));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, "
                 "%21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
                 : QCC_WG_F8(d, 0), QCC_WG_F8(d, 2), QCC_WG_F8(d, 4), QCC_WG_F8(d, 6)
                 : "l"(a), "l"(b), "r"(1));
#else
  (void)d, (void)a, (void)b;
#endif
}
#undef QCC_WG_F8

/// A tile of the warpgroup product: 128 rows (two warpgroups of 64) by BN
/// tokens a block; stages of two blocks of 32 weights (one 128-byte row of
/// the swizzle) in Stages buffers of shared memory; a thread's (row, block)
/// pair loaded Ahead stages before it is dequantized; MinBlocks blocks an
/// SM (registers capped at 128 a thread). Measured on the H100 (7B shape,
/// Q4_0 g128, pp512): 3 stages, 2 blocks an SM, 2 ahead 18.0k tokens/s;
/// 1 ahead 17.9k; 4 stages, 1 block an SM (168 registers) 15.8k; 4 stages
/// and 3 ahead 16.2k; 5 stages 15.8k; without the swizzle (8 x 8 core
/// matrices in the interleaved layout) 10.5-12.6k.
template <int K, int BN_> struct WgShape {
  static constexpr int BM = 128, BN = BN_, THREADS = 256, NT = BN / 8, Stages = 3, Ahead = 2, MinBlocks = 2;
  static constexpr int NB = K / 32, KB = 2, BK = 64;
  static constexpr uint32_t AStage = BM * 128, BStage = BN * 128;
  static constexpr size_t bytes = size_t(Stages) * (AStage + BStage) + 1024; // + alignment
  static_assert(Stages >= 3 && NB % KB == 0 && BM * KB == THREADS, "stages, a pair a thread");
};

/// Prompts on warpgroups: a block multiplies S::BM rows by S::BN tokens (the
/// grid, the split of K and the outputs as linearHalf). Each stage, a
/// warpgroup multiplies its 64 rows by the BN tokens in BK / 16 wgmma steps,
/// and while they run the threads dequantize the next stage's weights
/// (dequantHalf; pair (row, block of 32) idx a thread: rows idx % 8 + 8
/// (idx / 8KB), block idx / 8 % KB, so the 8 rows of a core matrix come from
/// 8 threads of a quarter warp, and its 16-byte stores hit 8 different bank
/// groups), load the weights of the stage Ahead after that into registers,
/// and start the tokens' half rows of stage + Stages - 2 (cp.async). One
/// stage's wgmma group stays in flight across the barrier that opens the
/// next: a buffer is written only after both warpgroups have waited for the
/// group that read it.
template <int Layout, int K, class S>
__global__ void __launch_bounds__(S::THREADS, S::MinBlocks) linearWgmma(LinJobs jobs, HalfRows x, int n) {
  constexpr int KB = S::KB, BK = S::BK, BM = S::BM, BN = S::BN, NT = S::NT, St = S::Stages;
  constexpr int Ahead = S::Ahead, Pre = St - 2; // stages of weights in registers, of tokens in flight
  const int steps = S::NB / KB;
  const int s0 = int(blockIdx.z) * steps / int(gridDim.z), s1 = int(blockIdx.z + 1) * steps / int(gridDim.z);
  extern __shared__ __align__(1024) unsigned char wgSmem[];
  unsigned char *As = wgSmem + ((1024 - uint32_t(__cvta_generic_to_shared(wgSmem)) % 1024) % 1024);
  unsigned char *Bs = As + St * S::AStage;
  const int tid = threadIdx.x, warp = tid / 32;
  const int t0 = blockIdx.x * BN, r0 = blockIdx.y * BM;
  const int total = jobs.start[jobs.count];
  // This thread's (row, block) pair (S::THREADS = BM x KB of them).
  const int aRow = tid % 8 + 8 * (tid / (8 * KB)), aBlk = tid / 8 % KB;
  int first, end;
  const int aR = min(r0 + aRow, total - 1);
  const QccCudaWeight &aW = jobOf(jobs, aR, first, end).w;
  const int64_t aLocal = aR - first;
  WBlock<Layout> wb[Ahead]; // stages st + 1 .. st + Ahead
  auto loadA = [&](WBlock<Layout> &w, int stage) { w = loadBlock<Layout, K, false>(aW, aLocal, stage * KB + aBlk); };
  auto storeA = [&](int buf) { // wb[0] into buffer buf, then the registers move up a stage
    uint32_t h[16];
    dequantHalf<Layout>(wb[0], h);
#pragma unroll
    for (int q = 0; q < 4; ++q)
      *reinterpret_cast<uint4 *>(As + buf * S::AStage + swizzle128(aRow, aBlk * 4 + q)) =
          make_uint4(h[4 * q], h[4 * q + 1], h[4 * q + 2], h[4 * q + 3]);
#pragma unroll
    for (int j = 0; j + 1 < Ahead; ++j)
      wb[j] = wb[j + 1];
  };
  auto loadB = [&](int stage) { // one cp.async group a stage, empty past the end
    if (stage < s1) {
      constexpr int chunks = BN * BK / 8;
      const int buf = (stage - s0) % St;
#pragma unroll
      for (int c = tid; c < chunks; c += S::THREADS) {
        const int r8 = c % 8, kc = c / 8 % (BK / 8), tok = c / 8 / (BK / 8) * 8 + r8;
        cpAsync16(Bs + buf * S::BStage + swizzle128(tok, kc),
                  x.x + size_t(min(t0 + tok, n - 1)) * K + stage * BK + kc * 8);
      }
    }
    cpAsyncCommit();
  };
#pragma unroll
  for (int j = 0; j < Ahead; ++j) // the weights: before the previous launch has finished
    if (s0 + j < s1)
      loadA(wb[j], s0 + j);
  priorDone();
  releaseNext();
#pragma unroll
  for (int j = 0; j < Pre; ++j)
    loadB(s0 + j);
  storeA(0);
  if (s0 + Ahead < s1)
    loadA(wb[Ahead - 1], s0 + Ahead);
  float acc[NT][4];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
    acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;
  const int wg = warp / 4;
  for (int st = s0; st < s1; ++st) {
    // Stage st's tokens have landed (of the Pre groups in flight, all but
    // the newest Pre - 1), its weights were stored by the last iteration.
    cpAsyncWait<Pre - 1>();
    fenceAsyncShared();
    __syncthreads();
    const int cur = (st - s0) % St;
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk)
      wgmmaF16<BN>(acc, smemDesc128(As + cur * S::AStage + wg * 8 * 1024 + kk * 32),
                   smemDesc128(Bs + cur * S::BStage + kk * 32));
    wgmmaCommit();
    wgmmaWait<1>(); // this warpgroup's stage st - 1 done (the other's: at the next barrier)
    if (st + 1 < s1) {
      storeA((st + 1 - s0) % St); // last read by stage st + 1 - St <= st - 2
      if (st + 1 + Ahead < s1)
        loadA(wb[Ahead - 1], st + 1 + Ahead);
    }
    loadB(st + Pre); // its buffer last read by stage st - 2
  }
  wgmmaWait<0>();
  storeHalfTile<NT>(jobs, x, n, total, r0 + warp * 16, t0, acc);
}

/// Lets Kernel use `bytes` of dynamic shared memory (past the default 48 KB;
/// once, on the first call: a failure surfaces as the launch's error).
template <auto Kernel> inline void allowShared(size_t bytes) {
  static const cudaError_t set = cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
  (void)set;
}

/// A prompt product's Kernel of tile shape S (its shared memory sized once),
/// K in `parts` parts (then halfSplitSum).
template <auto Kernel, class S>
inline void launchHalfTiles(const LinJobs &jobs, const HalfRows &hx, int n, int parts, cudaStream_t s) {
  allowShared<Kernel>(S::bytes);
  const int total = jobs.start[jobs.count];
  const unsigned rowTiles = unsigned((total + S::BM - 1) / S::BM);
  launchShared(Kernel, dim3(unsigned((n + S::BN - 1) / S::BN), rowTiles, unsigned(parts)), S::THREADS, S::bytes, s,
               jobs, hx, n);
  if (parts > 1)
    launch(halfSplitSum, dim3(unsigned((int64_t(n) * total + 255) / 256)), 256, s, jobs, hx, n);
}

/// Prompt tiles: 128 rows by 128 tokens where those give every SM two
/// blocks; where they nearly do with K split in kHalfSplit parts (the
/// 4096-row o and down products of a 7B prompt), that; else 128 rows by 64
/// tokens (QCC_CUDA_NO_SPLIT in the environment: never split K, to measure
/// what the split brings). Measured on the H100 (7B shape, pp512, linearHalf):
/// the split instead of 64-token tiles, o 104 -> 64 + 13 us (the sum), down
/// 236 -> 156 + 13 us, pp512 +24 % (Q4_0), +35 % (Q4_K_M).
template <auto BigKernel, class Big, auto SmallKernel, class Small>
inline void launchPromptTiles(const LinJobs &jobs, const HalfRows &hx, int n, cudaStream_t s) {
  const int total = jobs.start[jobs.count];
  const int64_t bigBlocks = int64_t((total + Big::BM - 1) / Big::BM) * ((n + Big::BN - 1) / Big::BN);
  static const bool noSplit = getenv("QCC_CUDA_NO_SPLIT") != nullptr;
  if (bigBlocks >= 2 * smCount())
    launchHalfTiles<BigKernel, Big>(jobs, hx, n, 1, s);
  else if (Big::NB / Big::KB >= 4 * kHalfSplit && int64_t(n) * total <= hx.partCap && !noSplit &&
           16 * kHalfSplit * bigBlocks >= 15 * 2 * smCount())
    launchHalfTiles<BigKernel, Big>(jobs, hx, n, kHalfSplit, s);
  else
    launchHalfTiles<SmallKernel, Small>(jobs, hx, n, 1, s);
}

/// linearHalf's tiles: warps 2 x 4 (64 x 32 each) a 128 x 128 block, 4 x 2 a
/// 128 x 64 one. Warp tiles of 64 x 64 (four warps a block of 128 x 128, or
/// eight of 256 x 128) took 230 registers and ran 20-25 % slower, with half
/// the warps an SM.
template <int K> using HalfBig = HalfShape<K, 128, 128, 2, 4>;
template <int K> using HalfSmall = HalfShape<K, 128, 64, 4, 2>;

/// Whether prompts run on warpgroups (linearWgmma) in QCC_CUDA_WGMMA
/// builds: unless the environment sets QCC_CUDA_WGMMA=0 (linearHalf).
inline bool wgmmaPrompts() {
  static const bool on = notTurnedOff("QCC_CUDA_WGMMA");
  return on;
}

/// Converts the prompt's rows to half and multiplies them.
template <int Layout, int K>
inline void launchHalf(const LinJobs &jobs, const Q8Act &xq, const HalfRows &hx, int n, cudaStream_t s) {
  launchHalfRows<K, false>(xq, hx, n, s);
  if constexpr (QCC_CUDA_WGMMA && K / 32 % 2 == 0) { // stages of two blocks of 32
    if (wgmmaPrompts()) {
      using Big = WgShape<K, 128>;
      using Small = WgShape<K, 64>;
      launchPromptTiles<linearWgmma<Layout, K, Big>, Big, linearWgmma<Layout, K, Small>, Small>(jobs, hx, n, s);
      return;
    }
  }
  launchPromptTiles<linearHalf<Layout, K, HalfBig<K>>, HalfBig<K>, linearHalf<Layout, K, HalfSmall<K>>, HalfSmall<K>>(
      jobs, hx, n, s);
}

// ---------------------------------------------------------------------------
// Prompt attention on tensor cores (flash attention): a block takes 64
// queries of one head, its 4 warps 16 each, and walks the keys 64 at a time
// through shared memory (cp.async, a tile ahead): S = q k^T by mma (q split
// into two halves, hi + lo, so that the scores keep float's precision against
// the half cache), the online softmax on the S fragments, then O += P v by
// mma (P in half; v's fragments by ldmatrix.trans). FP8 caches: the codes
// and scales come in by cp.async to a second pair of buffers, a tile
// ahead; each tile is converted to half in the one pair of half tiles
// before its mma: the keys' codes exactly (E4M3 is a subset of half), each
// key's scale then multiplying its score in float, and the values as code
// x scale rounded to half.

constexpr int kFlashQueries = 64, kFlashKeys = 64;

template <int HD, bool F8> struct FlashShape {
  static constexpr int LD = HD + 8;  // halves a key's row takes in shared memory
  static constexpr int LD8 = HD + 16; // bytes an FP8 key's row takes
  static constexpr int tiles = F8 ? 1 : 2; // half tiles of K and of V
  static constexpr size_t half = size_t(tiles) * 2 * kFlashKeys * LD * sizeof(__half);
  // FP8: two tiles each of K and V codes, and their scales.
  static constexpr size_t bytes = half + (F8 ? size_t(2) * 2 * kFlashKeys * (LD8 + sizeof(float)) : 0);
};

__device__ __forceinline__ uint32_t packHalf2(float a, float b) { return h2bits(__floats2half2_rn(a, b)); }

/// Queries [64 blockIdx.x, +64) of head blockIdx.y. A tile whose tokens are
/// not all of one sequence (packed prompts of several) takes attendToken for
/// each token instead. Keys outside a query's [first, p] weigh 0; key rows
/// are read only within the tile's [min first, max p] (rows past it are
/// clamped to it, so no unwritten cache row is read).
template <int H, int KV, int HD, bool F8>
__global__ void __launch_bounds__(128) attentionPrompt(const float *__restrict__ q, KvCache c, float *__restrict__ out,
                                                       const int32_t *__restrict__ pos,
                                                       const int32_t *__restrict__ seq, int64_t maxCtx, float scale,
                                                       int64_t window, Q8Act qa, int n) {
  static_assert(HD % 16 == 0 && HD <= 128, "head_dim");
  using Sh = FlashShape<HD, F8>;
  constexpr int LD = Sh::LD, LD8 = Sh::LD8, KT = HD / 16, DT = HD / 8, D = H * HD;
  extern __shared__ __align__(16) unsigned char flashSmem[];
  auto Ks = reinterpret_cast<__half(*)[kFlashKeys][LD]>(flashSmem);
  auto Vs = reinterpret_cast<__half(*)[kFlashKeys][LD]>(flashSmem + Sh::tiles * kFlashKeys * LD * sizeof(__half));
  // (F8) codes and scales, two tiles each.
  auto K8 = reinterpret_cast<uint8_t(*)[kFlashKeys][LD8]>(flashSmem + Sh::half);
  auto V8 = reinterpret_cast<uint8_t(*)[kFlashKeys][LD8]>(flashSmem + Sh::half + 2 * kFlashKeys * LD8);
  auto Kd = reinterpret_cast<float(*)[kFlashKeys]>(flashSmem + Sh::half + 4 * kFlashKeys * LD8);
  auto Vd = reinterpret_cast<float(*)[kFlashKeys]>(flashSmem + Sh::half + 4 * kFlashKeys * LD8 +
                                                   2 * kFlashKeys * sizeof(float));
  __shared__ int lo, hi, mixed;
  const int h = blockIdx.y, grp = h / (H / KV), t0 = blockIdx.x * kFlashQueries;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, i = lane % 4;
  priorDone();
  releaseNext();
  if (threadIdx.x == 0)
    lo = INT_MAX, hi = -1, mixed = 0;
  __syncthreads();
  const int s0 = seq[t0];
  if (threadIdx.x < kFlashQueries && t0 + int(threadIdx.x) < n) {
    const int t = t0 + threadIdx.x, p = pos[t];
    const int first = int(firstKey(p, window));
    atomicMin(&lo, first);
    atomicMax(&hi, p);
    if (seq[t] != s0)
      mixed = 1;
  }
  __syncthreads();
  if (mixed) {
    for (int t = t0; t < min(t0 + kFlashQueries, n); ++t) {
      __syncthreads(); // the previous token's readers of attendToken's shared memory are done
      attendToken<H, KV, HD, F8>(t, h, q, kvElems<F8>(c.k), kvElems<F8>(c.v), c.ks, c.vs, out, pos, seq, maxCtx, scale,
                                 window, qa);
    }
    return;
  }
  const int kLo = lo, kHi = hi;
  const size_t cacheRow = (size_t(s0) * KV + grp) * maxCtx, cache = cacheRow * HD;
  const __half *kb = static_cast<const __half *>(c.k) + cache, *vb = static_cast<const __half *>(c.v) + cache;
  const uint8_t *kb8 = static_cast<const uint8_t *>(c.k) + cache, *vb8 = static_cast<const uint8_t *>(c.v) + cache;
  // This thread's rows (g, g + 8 of the warp's 16): position and first key
  // (a row past n: no key).
  int rp[2], rf[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int t = t0 + warp * 16 + g + 8 * r;
    rp[r] = t < n ? pos[t] : -1;
    rf[r] = t < n ? int(firstKey(rp[r], window)) : 0;
  }
  // q's A fragments, hi and lo halves.
  uint32_t qh[KT][4], ql[KT][4];
#pragma unroll
  for (int kk = 0; kk < KT; ++kk)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int t = min(t0 + warp * 16 + g + (e % 2) * 8, n - 1);
      const float2 v = *reinterpret_cast<const float2 *>(q + size_t(t) * D + h * HD + kk * 16 + (e / 2) * 8 + 2 * i);
      const __half2 vh = __floats2half2_rn(v.x, v.y);
      const float2 back = __half22float2(vh);
      qh[kk][e] = h2bits(vh);
      ql[kk][e] = packHalf2(v.x - back.x, v.y - back.y);
    }
  auto loadTile = [&](int j0, int buf) {
    if constexpr (F8) {
      // 64 rows of K and V codes, HD / 16 chunks of 16 bytes each; their
      // scales.
      for (int i = threadIdx.x; i < kFlashKeys * (HD / 16); i += blockDim.x) {
        const int r = i / (HD / 16), ch = i % (HD / 16);
        const int64_t j = max(min(j0 + r, kHi), kLo);
        cpAsync16(&K8[buf][r][ch * 16], kb8 + j * HD + ch * 16);
        cpAsync16(&V8[buf][r][ch * 16], vb8 + j * HD + ch * 16);
      }
      if (threadIdx.x < kFlashKeys) {
        const int64_t j = max(min(j0 + int(threadIdx.x), kHi), kLo);
        cpAsync4(&Kd[buf][threadIdx.x], c.ks + cacheRow + j);
        cpAsync4(&Vd[buf][threadIdx.x], c.vs + cacheRow + j);
      }
    } else {
      // 64 rows of K and V, HD / 8 chunks of 16 bytes each.
      for (int i = threadIdx.x; i < kFlashKeys * (HD / 8); i += blockDim.x) {
        const int r = i / (HD / 8), ch = i % (HD / 8);
        const int64_t j = max(min(j0 + r, kHi), kLo);
        cpAsync16(&Ks[buf][r][ch * 8], kb + j * HD + ch * 8);
        cpAsync16(&Vs[buf][r][ch * 8], vb + j * HD + ch * 8);
      }
    }
    cpAsyncCommit();
  };
  // (F8) Tile buf into the half tiles: K's codes, V's codes x scales.
  auto convertTile = [&](int buf) {
    for (int i = threadIdx.x; i < 2 * kFlashKeys * (HD / 8); i += blockDim.x) {
      const bool isV = i >= kFlashKeys * (HD / 8);
      const int r = (i % (kFlashKeys * (HD / 8))) / (HD / 8), ch = i % (HD / 8);
      const uint2 codes = *reinterpret_cast<const uint2 *>(&(isV ? V8 : K8)[buf][r][ch * 8]);
      uint32_t hw[4];
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        const uint32_t word = w < 2 ? codes.x : codes.y;
        const __half2_raw raw =
            __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(word >> (16 * (w % 2))), __NV_E4M3);
        if (isV) {
          const float2 f = __half22float2(__half2(raw));
          const float sc = Vd[buf][r];
          hw[w] = packHalf2(f.x * sc, f.y * sc);
        } else {
          hw[w] = uint32_t(raw.x) | uint32_t(raw.y) << 16;
        }
      }
      *reinterpret_cast<uint4 *>(&(isV ? Vs : Ks)[0][r][ch * 8]) = make_uint4(hw[0], hw[1], hw[2], hw[3]);
    }
  };
  float o[DT][4];
#pragma unroll
  for (int d = 0; d < DT; ++d)
    o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const float sl2 = scale * 1.4426950408889634f; // scores in log2 units
  const int jStart = kLo / kFlashKeys * kFlashKeys;
  // The warp's own last key: tiles past it (later queries' keys) it skips.
  const int warpHi = __reduce_max_sync(0xffffffffu, max(rp[0], rp[1]));
  const int warpLo = __reduce_min_sync(0xffffffffu, min(rp[0] < 0 ? INT_MAX : rf[0], rp[1] < 0 ? INT_MAX : rf[1]));
  loadTile(jStart, 0);
  const int mat = lane / 8, mr = lane % 8;
  for (int j0 = jStart, it = 0; j0 <= kHi; j0 += kFlashKeys, ++it) {
    const int buf = it & 1, hb = F8 ? 0 : buf; // hb: the half tiles
    cpAsyncWaitAll();
    __syncthreads(); // tile j0 is in; every warp is done with the other buffer (and with the half tiles)
    if (j0 + kFlashKeys <= kHi)
      loadTile(j0 + kFlashKeys, buf ^ 1);
    if constexpr (F8) {
      convertTile(buf);
      __syncthreads();
    }
    if (j0 > warpHi || j0 + kFlashKeys <= warpLo)
      continue;
    float sc[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
      sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KT; ++kk)
#pragma unroll
      for (int np = 0; np < 4; ++np) {
        uint32_t r[4]; // keys 16 np + (mat / 2) 8 + mr, dims 16 kk + (mat % 2) 8
        ldmatrix4(r, &Ks[hb][np * 16 + (mat / 2) * 8 + mr][kk * 16 + (mat % 2) * 8]);
        mmaF16(sc[2 * np], qh[kk], r[0], r[1]);
        mmaF16(sc[2 * np], ql[kk], r[0], r[1]);
        mmaF16(sc[2 * np + 1], qh[kk], r[2], r[3]);
        mmaF16(sc[2 * np + 1], ql[kk], r[2], r[3]);
      }
    // Mask, scale, online softmax (a row's 4 lanes share its max and sum).
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2, col = nt * 8 + 2 * i + (e & 1), j = j0 + col;
        const float v =
            j >= rf[r] && j <= rp[r] ? (F8 ? sc[nt][e] * Kd[buf][col] * sl2 : sc[nt][e] * sl2) : -INFINITY;
        sc[nt][e] = v;
        mx[r] = fmaxf(mx[r], v);
      }
    float corr[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float mn = fmaxf(m[r], mx[r]);
      corr[r] = mn == -INFINITY ? 1.0f : exp2f(m[r] - mn);
      m[r] = mn;
      l[r] *= corr[r]; // (a lane's share of the row's sum)
    }
    uint32_t pa[4][4]; // P's A fragments, keys 16 kk ..
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      float pv[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2;
        pv[e] = m[r] == -INFINITY ? 0.0f : exp2f(sc[nt][e] - m[r]);
        l[r] += pv[e];
      }
      pa[nt / 2][(nt % 2) * 2] = packHalf2(pv[0], pv[1]);
      pa[nt / 2][(nt % 2) * 2 + 1] = packHalf2(pv[2], pv[3]);
    }
    // (pa[kk]: the A fragment of keys 16 kk..: a0 row g / keys 2i, a1 row
    // g + 8, a2 row g / keys 8 + 2i, a3 row g + 8 / keys 8 + 2i.)
#pragma unroll
    for (int d = 0; d < DT; ++d) {
      o[d][0] *= corr[0], o[d][1] *= corr[0];
      o[d][2] *= corr[1], o[d][3] *= corr[1];
    }
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int dp = 0; dp < DT / 2; ++dp) {
        uint32_t r[4]; // keys 16 kk + (mat % 2) 8 + mr, dims 16 dp + (mat / 2) 8
        ldmatrix4<true>(r, &Vs[hb][kk * 16 + (mat % 2) * 8 + mr][dp * 16 + (mat / 2) * 8]);
        mmaF16(o[2 * dp], pa[kk], r[0], r[1]);
        mmaF16(o[2 * dp + 1], pa[kk], r[2], r[3]);
      }
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    const int t = t0 + warp * 16 + g + 8 * r;
    if (t < n) {
      const float inv = 1.0f / l[r];
#pragma unroll
      for (int d = 0; d < DT; ++d)
        *reinterpret_cast<float2 *>(out + size_t(t) * D + h * HD + d * 8 + 2 * i) =
            make_float2(o[d][2 * r] * inv, o[d][2 * r + 1] * inv);
    }
  }
  if constexpr (HD % 32 == 0) {
    // The rows' q8 form, this head's blocks of 32 (the output projection's
    // input).
    if (qa.q) {
      __syncwarp();
      for (int rr = 0; rr < 16; ++rr) {
        const int t = t0 + warp * 16 + rr;
        if (t >= n)
          break;
#pragma unroll
        for (int b = 0; b < HD / 32; ++b)
          quantizeBlock(out[size_t(t) * D + h * HD + b * 32 + lane], lane, qa, size_t(t) * D + h * HD + b * 32);
      }
    }
  }
}

/// The attention of n tokens (head_dim HD) over caches of element F8 ? E4M3
/// : F16.
template <int H, int KV, int HD, bool F8>
inline void launchAttentionOf(const float *q, const KvCache &c, float *out, const int32_t *pos, const int32_t *seq,
                              int64_t maxCtx, float scale, int64_t window, Q8Act qa, int n, cudaStream_t s) {
  if constexpr (HD % 16 == 0 && HD <= 128) {
    if (n >= kPromptTokens) {
      constexpr size_t bytes = FlashShape<HD, F8>::bytes;
      allowShared<attentionPrompt<H, KV, HD, F8>>(bytes);
      launchShared(attentionPrompt<H, KV, HD, F8>, dim3(unsigned((n + kFlashQueries - 1) / kFlashQueries), H), 128,
                   bytes, s, q, c, out, pos, seq, maxCtx, scale, window, qa, n);
      return;
    }
  }
  // Parts of a decoding token's keys: enough blocks for two an SM at batch
  // 1, the same up to kMinSplitTokens - 1 tokens (a sequence's bits do not
  // depend on the batch), then as many as give each SM a block (at 7B's 32
  // heads none from 6 tokens on: splitting measured 4 % slower at batch 8,
  // the same at 16, with 1024 tokens of context). QCC_CUDA_ATTN_SPLITS in
  // the environment sets them (1: never split).
  static const int perToken = [] {
    const char *e = getenv("QCC_CUDA_ATTN_SPLITS");
    const int v = e ? atoi(e) : (2 * smCount() + H - 1) / H;
    return v < 1 ? 1 : v > kAttnMaxSplits ? kAttnMaxSplits : v;
  }();
  const int splits =
      n < kMinSplitTokens ? perToken : std::min(perToken, std::max(1, (smCount() + n * H - 1) / (n * H)));
  if (splits > 1 && n < kPromptTokens)
    launch(n == 1 ? attentionSplit<H, KV, HD, F8, true> : attentionSplit<H, KV, HD, F8, false>,
           dim3(unsigned(n), H, unsigned(splits)), 32 * kAttnWarps, s, q, kvElems<F8>(c.k), kvElems<F8>(c.v),
           static_cast<const float *>(c.ks), static_cast<const float *>(c.vs), out, pos, seq, maxCtx, scale, window, qa);
  else
    launch(attention<H, KV, HD, F8>, dim3(unsigned(n), H), 32 * kAttnWarps, s, q, kvElems<F8>(c.k), kvElems<F8>(c.v),
           static_cast<const float *>(c.ks), static_cast<const float *>(c.vs), out, pos, seq, maxCtx, scale, window,
           qa);
}

/// The attention of n tokens (head_dim HD).
template <int H, int KV, int HD>
inline void launchAttention(const float *q, const KvCache &c, float *out, const int32_t *pos, const int32_t *seq,
                            int64_t maxCtx, float scale, int64_t window, Q8Act qa, int n, cudaStream_t s) {
  if (c.fp8)
    launchAttentionOf<H, KV, HD, true>(q, c, out, pos, seq, maxCtx, scale, window, qa, n, s);
  else
    launchAttentionOf<H, KV, HD, false>(q, c, out, pos, seq, maxCtx, scale, window, qa, n, s);
}

/// Float weights (F16 or F32 rows) times float rows.
template <int Layout, int K, int NC>
__device__ __forceinline__ void dotFloatRow(const QccCudaWeight &w, int64_t row, const float *__restrict__ x, int t0,
                                            int nc, int lane, float (&acc)[NC]) {
  if constexpr (Layout == QCC_CUDA_F16 && K % 8 == 0) {
    const uint4 *wr = reinterpret_cast<const uint4 *>(static_cast<const __half *>(w.p[0]) + row * K);
    for (int k = lane; k < K / 8; k += 32) {
      const uint4 u = __ldg(wr + k);
      const __half2 *h2 = reinterpret_cast<const __half2 *>(&u);
      float wv[8];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const float2 f = __half22float2(h2[q]);
        wv[2 * q] = f.x, wv[2 * q + 1] = f.y;
      }
#pragma unroll
      for (int t = 0; t < NC; ++t)
        if (t < nc) {
          const float4 *xr = reinterpret_cast<const float4 *>(x + size_t(t0 + t) * K + k * 8);
          const float4 a = xr[0], b = xr[1];
          acc[t] += wv[0] * a.x + wv[1] * a.y + wv[2] * a.z + wv[3] * a.w + wv[4] * b.x + wv[5] * b.y +
                    wv[6] * b.z + wv[7] * b.w;
        }
    }
  } else {
    for (int k = lane; k < K; k += 32) {
      float wv;
      if constexpr (Layout == QCC_CUDA_F16)
        wv = __half2float(static_cast<const __half *>(w.p[0])[row * K + k]);
      else
        wv = static_cast<const float *>(w.p[0])[row * K + k];
#pragma unroll
      for (int t = 0; t < NC; ++t)
        if (t < nc)
          acc[t] += wv * x[size_t(t0 + t) * K + k];
    }
  }
}

/// Asks L2 for one weight row, all planes, a warp's lanes taking 128-byte
/// lines in turn: issued before priorDone(), the row arrives while the
/// previous launch finishes.
template <int Layout, int K>
__device__ __forceinline__ void prefetchRow(const QccCudaWeight &w, int64_t row, int lane) {
#if QCC_CUDA_PDL
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t rb = qccCudaPlaneRowBytes(Layout, K, i);
    if (rb == 0)
      continue;
    const char *base = static_cast<const char *>(w.p[i]) + row * rb;
    for (int64_t o = int64_t(lane) * 128; o < rb; o += 32 * 128)
      asm volatile("prefetch.global.L2 [%0];" ::"l"(base + o));
  }
#else
  (void)w, (void)row, (void)lane;
#endif
}

/// Float weights (F16 or F32 rows) times float rows: a row a warp
/// (kRowsPerBlock warps a block), for NC tokens from a column's first.
/// Block id = row block * columns + token column, so that the columns of a
/// row block run together and its second column reads the weights from L2.
template <int Layout, int K, int NC>
__global__ void __launch_bounds__(32 * kRowsPerBlock) linearRows(LinJobs jobs, const float *xf, int n, int columns) {
  static_assert(Layout == QCC_CUDA_F16 || Layout == QCC_CUDA_F32, "quantized rows go through linearVec");
  const int lane = threadIdx.x % 32;
  const int col = int(blockIdx.x % unsigned(columns)), rb = int(blockIdx.x / unsigned(columns));
  const int r0 = rb * kRowsPerBlock + int(threadIdx.x / 32);
  if (r0 >= jobs.start[jobs.count])
    return;
  int first, end;
  const LinJob &J = jobOf(jobs, r0, first, end);
  const int64_t row = r0 - first;
  prefetchRow<Layout, K>(J.w, row, lane); // before the previous launch ends
  priorDone();
  releaseNext();
  const int t0 = col * NC, nc = min(NC, n - t0);
  float acc[NC] = {};
  dotFloatRow<Layout, K, NC>(J.w, row, xf, t0, nc, lane, acc);
#pragma unroll
  for (int t = 0; t < NC; ++t) {
    const float v = warpSum(acc[t]);
    if (lane == 0 && t < nc)
      storeOut(J, t0 + t, row, v);
  }
}

// ---------------------------------------------------------------------------
// Products of 1-5 tokens (a decoding step of up to five sequences). The
// grid is at most as many blocks as stay resident; block b takes groups b,
// b + gridDim.x, ... of kRowsPerBlock warps, KS warps a row slot when K is
// split (short launches, whose rows alone would leave the GPU's warps idle:
// each of the KS warps sums a part of K, and the parts are added in a fixed
// order). Out says which rows a slot's warps take and
// where their sums go: the jobs' rows (+ bias, + residual), or, for a q/k/v
// launch, RoPE of the q and k rows and the cache append of k and v (RoPE's
// launch is then skipped), with the operations of the unfused launches in
// the same order (the epilogue's additions, rotate), so a sequence decoded
// alone gives the bits it gives in a batch of a few.

/// Weights the next product launch reads: its jobs' planes, job after job
/// (p[j * planesPerJob + k]: plane k of job j, whose rows[j] rows take
/// bytes[...] bytes). As each block of a decoding step's product finishes,
/// it prefetches its share of the first rows the next product reads into
/// L2, so that DRAM keeps streaming through the launches between the two
/// (RMSNorm, the attention, SwiGLU) and the next product's first loads hit
/// L2 (docs/BENCHMARKS.md, thirteenth round: 7B W4 g128 tg128 +1.1 %).
struct L2Ahead {
  static constexpr int kMax = 12;
  const char *p[kMax];
  int64_t bytes[kMax];
  int count;
  int planesPerJob;
  int64_t rows[3];
  int64_t per; ///< bytes a block prefetches (launchVec sets it)
};

/// Bytes of the next product a product prefetches: about a microsecond of
/// the H100's DRAM bandwidth, the gap a launch between two products leaves
/// (measured at 7B W4 g128, tg128 tok/s: 2 MB 602.4, 3 MB 598.5, 4 MB
/// 597.0, 6 MB 592.0, 10 MB 581.1, none 595.6; more delays the product's
/// own last loads). QCC_CUDA_L2_AHEAD_MB in the environment sets it.
inline int64_t aheadBytes() {
  static const int64_t b = [] {
    const char *e = getenv("QCC_CUDA_L2_AHEAD_MB");
    const double mb = e ? atof(e) : 2.0;
    return mb > 0 ? int64_t(mb * 1048576) : int64_t(0);
  }();
  return b;
}

/// Block b's share of `a`: bytes [b per, (b + 1) per) of its ranges
/// together, one L2 prefetch a 128-byte line, the block's threads taking
/// lines in turn (sm_90; elsewhere nothing). (Bulk prefetches by one thread
/// a block, cp.async.bulk.prefetch.L2, measured slower: 595.9 against 601.7
/// tok/s at 3 MB.)
__device__ __forceinline__ void prefetchShare(const L2Ahead &a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (a.per == 0)
    return;
  const int64_t lo = int64_t(blockIdx.x) * a.per, hi = lo + a.per;
  int64_t base = 0;
  for (int i = 0; i < a.count && base < hi; base += a.bytes[i], ++i)
    for (int64_t x = max(lo, base) + 128 * int64_t(threadIdx.x), end = min(hi, base + a.bytes[i]); x < end;
         x += 128 * int64_t(blockDim.x))
      asm volatile("prefetch.global.L2 [%0];" ::"l"(a.p[i] + (x - base)) : "memory");
#endif
}

/// Input: the q8 row its producer wrote.
struct Q8In {
  Q8Act x;
};

/// Output: the jobs' rows, R consecutive rows of one job a slot (token t's).
struct RowsOut {
  static int slots(const LinJobs &jobs, int R) { return (jobs.start[jobs.count] + R - 1) / R; }
  template <int R>
  __device__ __forceinline__ bool map(const LinJobs &jobs, int wi, int64_t (&row)[R], QccCudaWeight (&w)[R]) const {
    const int r0 = wi * R;
    if (r0 >= jobs.start[jobs.count])
      return false;
    int first, end;
    const LinJob &J = jobOf(jobs, r0, first, end); // R divides a job's 32-row tiles
#pragma unroll
    for (int r = 0; r < R; ++r)
      row[r] = min(r0 + r, end - 1) - first, w[r] = J.w;
    return true;
  }
  template <int R>
  __device__ __forceinline__ void store(const LinJobs &jobs, int wi, const int64_t (&row)[R], const float (&v)[R],
                                        int t = 0) const {
    const int r0 = wi * R;
    int first, end;
    const LinJob &J = jobOf(jobs, r0, first, end);
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (r0 + r < end)
        storeOut(J, t, row[r], v[r]);
  }
};

/// Output: RoPE of the q rows (the first job, H heads) into q and of the k
/// rows (KV heads) into this token's place in the key cache, and the v rows
/// into the value cache: a slot takes a rotated pair of rows (pairs (2i,
/// 2i+1) if interleaved, else (i, i + HD/2)) of one head.
template <int H, int KV, int HD, bool Interleaved> struct RopeOut {
  float *q;
  __half *kc, *vc;
  const int32_t *pos, *seq;
  int64_t maxCtx;
  RopeFreq<HD / 2> freq;
  static constexpr int kHalf = HD / 2, kQPairs = H * kHalf, kKPairs = KV * kHalf;
  static int slots(const LinJobs &, int) { return kQPairs + 2 * kKPairs; }
  /// Slot wi's job, head and pair index in the head.
  __device__ __forceinline__ static bool place(int wi, int &job, int &head, int &j) {
    int p = wi;
    job = p < kQPairs ? 0 : p < kQPairs + kKPairs ? 1 : 2;
    p -= job == 0 ? 0 : job == 1 ? kQPairs : kQPairs + kKPairs;
    head = p / kHalf, j = p % kHalf;
    return wi < kQPairs + 2 * kKPairs;
  }
  __device__ __forceinline__ static int e0(int j) { return RopePair<HD, Interleaved>::first(j); }
  __device__ __forceinline__ static int e1(int j) { return RopePair<HD, Interleaved>::second(j); }
  template <int R>
  __device__ __forceinline__ bool map(const LinJobs &jobs, int wi, int64_t (&row)[R], QccCudaWeight (&w)[R]) const {
    static_assert(R == 2, "a slot takes a rotated pair");
    int job, head, j;
    if (!place(wi, job, head, j))
      return false;
    row[0] = head * HD + e0(j), row[1] = head * HD + e1(j);
    int first, end;
    w[0] = w[1] = jobOf(jobs, jobs.start[job], first, end).w;
    return true;
  }
  template <int R>
  __device__ __forceinline__ void store(const LinJobs &, int wi, const int64_t (&)[R], const float (&v)[R],
                                        int = 0) const { // (one token)
    int job, head, j;
    place(wi, job, head, j);
    const float a = v[0] + 0.0f + 0.0f, b = v[1] + 0.0f + 0.0f; // as the unfused rows are stored, then read
    const int64_t p = pos[0];
    const size_t at = (size_t(int64_t(seq[0]) * KV + head) * maxCtx + p) * HD;
    if (job == 2) {
      vc[at + e0(j)] = __float2half_rn(a);
      vc[at + e1(j)] = __float2half_rn(b);
      return;
    }
    const RopePair<HD, Interleaved> r(j, float(p), freq);
    const float2 o = rotate(a, b, r.sn, r.cs);
    if (job == 0) {
      q[head * HD + e0(j)] = o.x;
      q[head * HD + e1(j)] = o.y;
    } else {
      kc[at + e0(j)] = __float2half_rn(o.x);
      kc[at + e1(j)] = __float2half_rn(o.y);
    }
  }
};

/// Output: SwiGLU of the gate and up rows (jobs 0 and 1, D rows each) into
/// h and, by 32 rows, their q8 block into qa: a slot takes gate row i and up
/// row i, and a launch's block the 32 rows of one q8 block (launchVec
/// launches D / 32 blocks; block b's k-th group takes rows 32 b + k
/// slotsPerGroup ...), which it rounds once its groups are done (finishBlock),
/// so that no SwiGLU launch stands between the two products of a decoding
/// step. The bits of the product and the SwiGLU launch (swiglu) apart.
template <int D> struct SwigluOut {
  static_assert(D % 32 == 0, "a block of the launch takes a q8 block of 32 rows");
  float *h;
  Q8Act qa;
  int slotsPerGroup; ///< (launchVec sets it)
  static int slots(const LinJobs &, int) { return D; }
  template <int R>
  __device__ __forceinline__ bool map(const LinJobs &jobs, int wi, int64_t (&row)[R], QccCudaWeight (&w)[R]) const {
    static_assert(R == 2, "a slot takes a gate row and its up row");
    const int grp = wi / slotsPerGroup, b = grp % int(gridDim.x), k = grp / int(gridDim.x);
    const int i = b * 32 + k * slotsPerGroup + wi % slotsPerGroup;
    if (k * slotsPerGroup >= 32)
      return false;
    row[0] = row[1] = i;
    w[0] = jobs.j[0].w, w[1] = jobs.j[1].w;
    return true;
  }
  template <int R>
  __device__ __forceinline__ void store(const LinJobs &, int, const int64_t (&row)[R], const float (&v)[R],
                                        int = 0) const { // (one token)
    // As the unfused rows are stored (storeOut), then read by swiglu.
    h[row[0]] = siluMul(v[0] + 0.0f + 0.0f, v[1] + 0.0f + 0.0f);
  }
  /// After the block's last group: its 32 rows of h (written by its warps)
  /// as a q8 block.
  __device__ __forceinline__ void finishBlock() const {
    __syncthreads();
    if (qa.q && threadIdx.x < 32)
      quantizeBlock(h[blockIdx.x * 32 + threadIdx.x], int(threadIdx.x), qa, size_t(blockIdx.x) * 32);
  }
};
/// Whether Out has a launch's block take a q8 block of its rows
/// (finishBlock).
template <class O, class = void> constexpr bool kBlockFinishes = false;
template <class O> constexpr bool kBlockFinishes<O, std::void_t<decltype(&O::finishBlock)>> = true;

/// Items (blocks of 32 weights of each of a slot's R rows) a lane of the
/// matrix-vector product takes in a part of a row of K: lane l of part p
/// takes blocks l + 32 (p + KS i), i = 0 .. vecItems - 1 (the last ones
/// past the row where KS 32 does not divide K / 32).
template <int K, int KS> __host__ __device__ constexpr int vecItems() { return (K / 32 + 32 * KS - 1) / (32 * KS); }
/// Items a lane has in flight: a part's items, at most 4 for one token and
/// 2 for several (whose sums take registers too: no spills).
template <int K, int KS, int NC> __host__ __device__ constexpr int vecDepth() {
  constexpr int most = NC == 1 ? 4 : 2;
  return vecItems<K, KS>() < most ? vecItems<K, KS>() : most;
}

/// Blocks an SM must be able to hold (the register budget ptxas gets):
/// four (64 registers a thread) where a lane's part is one item and one
/// token, so that four blocks' loads are in flight; else two (128), the
/// registers for the items in flight and every token's sums. Measured on
/// the H100 at 7B shapes, Q4_G128: o 4.27 us with four against 4.58 with
/// two; gate/up 16.9 us with two against 24 (spilling) with four
/// (docs/BENCHMARKS.md, tenth round). At least three where a block takes
/// a q8 block of the output (Finishes: SwigluOut), so that the 344 blocks
/// of a 7B gate/up launch are on the H100's 132 SMs at once.
template <int K, int KS, int NC, bool Finishes = false> __host__ __device__ constexpr int vecMinBlocks() {
  return vecItems<K, KS>() == 1 && NC == 1 ? 4 : Finishes ? 3 : 2;
}

/// n tokens (at most NC): R rows a slot (as Out maps them), KS warps a
/// slot, kRowsPerBlock / KS slots a group, block b taking groups b, b +
/// gridDim.x, ... of `groups`. Each token's sums are the single-token
/// product's (the blocks of each part in the same order, the parts added in
/// the same order), so a sequence gets the same bits alone and in a batch of
/// up to NC.
///
/// The weights stream through a ring of D items of registers a lane: the
/// first group's first items are loaded before the previous launch ends
/// (weights are all a launch may read then), and as each item is decoded
/// the item D further on (in this group, or the block's next one) is
/// loaded into its place, so that loads stay in flight across the parts'
/// sums and the stores (docs/BENCHMARKS.md, tenth round: the layer's four
/// products 46.6 -> 41 us at the 7B shape).
template <int Layout, int K, int R, int KS, class Out, int NC = 1>
__global__ void __launch_bounds__(32 * kRowsPerBlock, vecMinBlocks<K, KS, NC, kBlockFinishes<Out>>())
    linearVec(LinJobs jobs, Q8In in, Out out, int groups, int n, L2Ahead ahead) {
  static_assert(kRowsPerBlock % KS == 0, "a block holds whole slots");
  constexpr int NB = K / 32, IT = vecItems<K, KS>(), D = vecDepth<K, KS, NC>();
  constexpr int ITP = (IT + D - 1) / D * D; // items a group, a multiple of D (the last ones past the row)
  constexpr bool keepX = IT == 1 && NC == 1; // a lane's activation block is the same in every group
  constexpr int slotsPerGroup = kRowsPerBlock / KS;
  __shared__ float partial[KS > 1 ? kRowsPerBlock : 1][R][NC][32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, part = warp % KS, slot = warp / KS;
  auto blockOf = [&](int it) { return lane + 32 * (part + KS * it); };
  auto inRow = [&](int it) { return it < IT && (NB % (32 * KS) == 0 || blockOf(it) < NB); };
  int grp = blockIdx.x;
  int64_t row[R];
  QccCudaWeight w[R];
  bool ok = grp < groups && out.template map<R>(jobs, grp * slotsPerGroup + slot, row, w);
  WBlock<Layout> ring[D][R];
#pragma unroll
  for (int it = 0; it < D; ++it)
    if (ok && inRow(it))
#pragma unroll
      for (int r = 0; r < R; ++r)
        ring[it][r] = loadBlock<Layout, K>(w[r], row[r], blockOf(it));
  priorDone();
  releaseNext();
  XBlock kept;
  if constexpr (keepX)
    if (inRow(0))
      kept = loadX<K>(in.x, 0, blockOf(0));
  for (; grp < groups; grp += gridDim.x) {
    int64_t nrow[R];
    QccCudaWeight nw[R];
    const int ng = grp + gridDim.x;
    const bool nok = ng < groups && out.template map<R>(jobs, ng * slotsPerGroup + slot, nrow, nw);
    float acc[R][NC];
    zero(acc);
#pragma unroll
    for (int it = 0; it < ITP; ++it) {
      Codes<Layout> c[R];
#pragma unroll
      for (int r = 0; r < R; ++r)
        c[r] = decode<Layout>(ring[it % D][r]);
      // The item loaded in its place: D on in this group, else in the next.
      const bool here = it + D < ITP;
      const int at = here ? it + D : it + D - ITP;
      const int64_t(&atRow)[R] = here ? row : nrow;
      const QccCudaWeight(&atW)[R] = here ? w : nw;
      if ((here ? ok : nok) && inRow(at))
#pragma unroll
        for (int r = 0; r < R; ++r)
          ring[it % D][r] = loadBlock<Layout, K>(atW[r], atRow[r], blockOf(at));
      if (!ok || !inRow(it))
        continue;
#pragma unroll
      for (int t = 0; t < NC; ++t) {
        if (t < n) {
          XBlock xb;
          if constexpr (keepX)
            xb = kept;
          else
            xb = loadX<K>(in.x, size_t(t), blockOf(it));
#pragma unroll
          for (int r = 0; r < R; ++r)
            acc[r][t] += blockDot<Layout>(c[r], xb);
        }
      }
    }
    bool mine = ok;
    if constexpr (KS > 1) {
      __syncthreads(); // the previous group's partial sums are read
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int t = 0; t < NC; ++t)
          partial[warp][r][t][lane] = acc[r][t];
      __syncthreads();
      if (part != 0)
        mine = false;
      else
#pragma unroll
        for (int k = 1; k < KS; ++k)
#pragma unroll
          for (int r = 0; r < R; ++r)
#pragma unroll
            for (int t = 0; t < NC; ++t)
              acc[r][t] += partial[warp + k][r][t][lane];
    }
    if (mine)
#pragma unroll
      for (int t = 0; t < NC; ++t) {
        if (t >= n)
          break;
        float v[R];
#pragma unroll
        for (int r = 0; r < R; ++r)
          v[r] = warpSum(acc[r][t]);
        if (lane == 0)
          out.template store<R>(jobs, grp * slotsPerGroup + slot, row, v, t);
      }
#pragma unroll
    for (int r = 0; r < R; ++r)
      row[r] = nrow[r], w[r] = nw[r];
    ok = nok;
  }
  if constexpr (kBlockFinishes<Out>)
    out.finishBlock();
  prefetchShare(ahead);
}

/// Blocks of `kernel` (of `threads` threads) the GPU holds at once; the
/// environment's QCC_CUDA_VEC_BLOCKS_PER_SM overrides the per-SM count (0:
/// one group a block, however many blocks that makes).
template <typename Kernel> inline int residentBlocks(Kernel kernel, int threads) {
  int perSM = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, kernel, threads, 0);
  if (const char *e = getenv("QCC_CUDA_VEC_BLOCKS_PER_SM"))
    perSM = atoi(e) > 0 ? atoi(e) : 1 << 20;
  return smCount() * (perSM > 0 ? perSM : 1);
}

/// A product of n <= NC tokens (Layout, K: the matrices'; R rows a slot;
/// KS parts of K).
template <int Layout, int K, int R, int KS, class Out, int NC = 1>
inline void launchVec(const LinJobs &jobs, const Q8In &in, const Out &out, cudaStream_t s, int n = 1,
                      L2Ahead ahead = L2Ahead{}) {
  constexpr int slotsPerGroup = kRowsPerBlock / KS;
  const int groups = (Out::slots(jobs, R) + slotsPerGroup - 1) / slotsPerGroup;
  static const int resident = residentBlocks(linearVec<Layout, K, R, KS, Out, NC>, 32 * kRowsPerBlock);
  // The first rows the next product reads (its jobs' rows in order), up to
  // aheadBytes() of their planes, split evenly over this launch's blocks.
  int64_t total = 0;
  if (ahead.count > 0) {
    const int P = ahead.planesPerJob;
    int64_t perRow = 0;
    for (int k = 0; k < P; ++k)
      perRow += ahead.bytes[k] / ahead.rows[0];
    int64_t left = perRow ? aheadBytes() / perRow : 0;
    for (int jb = 0; jb < ahead.count / P; ++jb) {
      const int64_t take = left < ahead.rows[jb] ? left : ahead.rows[jb];
      for (int k = 0; k < P; ++k) {
        int64_t &b = ahead.bytes[jb * P + k];
        b = b / ahead.rows[jb] * take;
        total += b;
      }
      left -= take;
    }
  }
  int blocks = groups < resident ? groups : resident;
  Out o = out;
  if constexpr (kBlockFinishes<Out>) {
    static_assert(32 % slotsPerGroup == 0, "a block's groups cover its 32 rows");
    o.slotsPerGroup = slotsPerGroup;
    blocks = Out::slots(jobs, R) / 32;
  }
  ahead.per = (total + blocks - 1) / blocks;
  launch(linearVec<Layout, K, R, KS, Out, NC>, dim3(unsigned(blocks)), 32 * kRowsPerBlock, s, jobs, in, o, groups,
         n, ahead);
}

/// Tokens per block column of a short multi-token matrix-vector launch.
constexpr int kTokensPerColumn = 8;

template <int Layout, int K, int NC>
inline void launchRows(const LinJobs &jobs, const float *xf, int n, cudaStream_t s) {
  const int total = jobs.start[jobs.count];
  const int columns = (n + NC - 1) / NC;
  const unsigned blocks = unsigned((total + kRowsPerBlock - 1) / kRowsPerBlock);
  launch(linearRows<Layout, K, NC>, dim3(blocks * unsigned(columns)), 32 * kRowsPerBlock, s, jobs, xf, n, columns);
}

/// The half rows of n tokens, then linearHalfBatch over `tiles` 32-row tiles
/// by `columns` token columns.
template <int Layout, int K, int NT, int W = kBatchWarps>
inline void launchHalfBatch(const LinJobs &jobs, const Q8Act &xq, const HalfRows &hx, int n, unsigned tiles,
                            int columns, cudaStream_t s) {
  launchHalfRows<K, true>(xq, hx, n, s);
  launch(linearHalfBatch<Layout, K, NT, W>, dim3(tiles * unsigned(columns)), 32 * W, s, jobs, hx, n, columns);
}

/// Rows a warp takes in quantized matrix-vector products: two (each
/// activation block loaded once for both) for several tokens and for Q4_0,
/// where that measured faster on the H100, and the 4-bit blocks of 16-17
/// bytes streamed like it (Q4_G128, Q4_1, Q4_1_G128: one row measured the
/// same, 431 against 430 tok/s at Q4_1 g128); one for the other
/// single-token products (Q4_K, Q6_K, Q8_0: more bytes or scales a block).
template <int Layout> constexpr int rowsPerWarp(int nc) {
  return nc > 1 || q4Codes<Layout> || q4MinCodes<Layout> ? 2 : 1;
}

/// Launches a linear over n tokens: the matrix-vector product (linearVec)
/// for one token and for up to kMinSplitTokens - 1 (a batch of 2-5
/// sequences: one token's arithmetic for each, NC = n); float weights a row
/// a warp (linearRows); the batched half product (8- or 16-token tiles, K
/// split across warps) for up to kMaxSplitTokens; past
/// that (prompts) the half product's large tiles. Both half products take
/// the input's half rows (hx). The thresholds are where the H100 measured
/// the faster kernel (docs/BENCHMARKS.md). KS: qccCudaKParts of the launch's
/// rows.
template <int Layout, int K, int KS = 1>
inline void launchLinear(const LinJobs &jobs, const Q8Act &xq, const float *xf, const HalfRows &hx, int n,
                         cudaStream_t s, const L2Ahead &ahead = L2Ahead{}) {
  const int total = jobs.start[jobs.count];
  constexpr bool quantized = Layout != QCC_CUDA_F16 && Layout != QCC_CUDA_F32;
  if constexpr (!quantized) {
    if (n == 1)
      launchRows<Layout, K, 1>(jobs, xf, n, s);
    else
      launchRows<Layout, K, kTokensPerColumn>(jobs, xf, n, s);
  } else if (n == 1) {
    launchVec<Layout, K, rowsPerWarp<Layout>(1), KS>(jobs, Q8In{xq}, RowsOut{}, s, 1, ahead);
  } else if (n < kMinSplitTokens) {
    // An instantiation a token count: its sums in registers, no more
    // (H100, 7B Q4_0 g128: batch 2 789 against 728 tok/s with one of five
    // for all, 3 946 / 891, 4 1051 / 997, 5 the same).
    constexpr int R = rowsPerWarp<Layout>(2);
    static_assert(kMinSplitTokens == 6, "an instantiation a token count");
    if (n == 2)
      launchVec<Layout, K, R, KS, RowsOut, 2>(jobs, Q8In{xq}, RowsOut{}, s, n, ahead);
    else if (n == 3)
      launchVec<Layout, K, R, KS, RowsOut, 3>(jobs, Q8In{xq}, RowsOut{}, s, n, ahead);
    else if (n == 4)
      launchVec<Layout, K, R, KS, RowsOut, 4>(jobs, Q8In{xq}, RowsOut{}, s, n, ahead);
    else
      launchVec<Layout, K, R, KS, RowsOut, 5>(jobs, Q8In{xq}, RowsOut{}, s, n, ahead);
  } else if (n <= kMaxSplitTokens) {
    const unsigned tiles = unsigned((total + 31) / 32);
    // Fewer 32-row tiles than two an SM (the 4096-row products of a 7B
    // batch): twice the warps a tile, so that more loads are in flight
    // (QCC_CUDA_NARROW_SPLIT in the environment: never, to measure it).
    static const bool narrow = getenv("QCC_CUDA_NARROW_SPLIT") != nullptr;
    const bool wide = !narrow && tiles < unsigned(2 * smCount());
    if (n <= 8)
      wide ? launchHalfBatch<Layout, K, 1, 2 * kBatchWarps>(jobs, xq, hx, n, tiles, 1, s)
           : launchHalfBatch<Layout, K, 1>(jobs, xq, hx, n, tiles, 1, s);
    else
      wide ? launchHalfBatch<Layout, K, 2, 2 * kBatchWarps>(jobs, xq, hx, n, tiles, (n + 15) / 16, s)
           : launchHalfBatch<Layout, K, 2>(jobs, xq, hx, n, tiles, (n + 15) / 16, s);
  } else {
    launchHalf<Layout, K>(jobs, xq, hx, n, s);
  }
}

/// One token's gate/up product (jobs 0 and 1, D rows each, KS parts of K)
/// and SwiGLU of its rows into qa (q8) and h (float, if given): one launch
/// (SwigluOut) where its D / 32 blocks fit on the GPU at once, else the
/// product (RowsOut) and a swiglu launch. (H100, 7B W4 g128 tg128: one
/// launch 604-612 tok/s against 600-602 apart, docs/BENCHMARKS.md,
/// fourteenth round; QCC_CUDA_FUSED_SWIGLU=0 in the environment: never, to
/// measure it.)
template <int Layout, int K, int KS, int D>
inline void launchSwiglu(const LinJobs &jobs, const Q8Act &xq, float *h, const Q8Act &qa, cudaStream_t s,
                         const L2Ahead &ahead) {
  // (Layouts whose products take a row a warp, Q4_K, Q6_K, Q8_0: two a
  // warp and three blocks an SM measured slower, 7B Q4_K_M 472 against 478.)
  static const bool fused = rowsPerWarp<Layout>(1) == 2 && notTurnedOff("QCC_CUDA_FUSED_SWIGLU") &&
                            D / 32 <= residentBlocks(linearVec<Layout, K, 2, KS, SwigluOut<D>>, 32 * kRowsPerBlock);
  if (fused) {
    launchVec<Layout, K, 2, KS>(jobs, Q8In{xq}, SwigluOut<D>{h ? h : jobs.j[0].out, qa, 0}, s, 1, ahead);
  } else {
    launchLinear<Layout, K, KS>(jobs, xq, nullptr, HalfRows{}, 1, s, ahead);
    launch(swiglu<D>, rowGrid(1, D), kRowThreads, s, static_cast<const float *>(jobs.j[0].out),
           static_cast<const float *>(jobs.j[1].out), h, qa);
  }
}

} // namespace qcc_cuda

#endif
