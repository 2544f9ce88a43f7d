//===- Kernels.cuh - the device templates generated CUDA code instantiates -===//
//
// codegen/cuda emits, per model, a CUDA C++ file that includes this header
// and launches these templates with the model's shapes as template
// arguments (K, D, head sizes: constants the compiler unrolls and folds),
// one instantiation per (layout, shape) the model has. The host runtime
// (CudaModel.cpp) never sees them. Layouts of the weight planes: CudaABI.h.
//
// Numerics follow the CPU target: a quantized layer's input row is rounded
// to int8 per block of 32 (scale amax / 127, round half away from zero, as
// ggml's q8 blocks) and multiplied in integers (dp4a); every sum of a block
// is exact; scales are applied in float. Float weights multiply float rows.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_CUDA_KERNELS_CUH
#define QCC_RUNTIME_CUDA_KERNELS_CUH

#include "runtime/cuda/CudaABI.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

namespace qcc_cuda {

/// A row-major activation rounded to int8 per block of 32: q [n][K],
/// d (scale) and s (d * sum of the block's q) [n][K/32].
struct Q8Act {
  int8_t *q;
  float *d, *s;
};
/// Rows [t, ...) of a q8 activation of row length K.
inline Q8Act rowsFrom(Q8Act a, int64_t K, int64_t t) {
  if (!a.q)
    return a;
  return Q8Act{a.q + t * K, a.d + t * (K / 32), a.s + t * (K / 32)};
}

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

/// The sum over the block (every thread gets it); blockDim a multiple of 32.
__device__ __forceinline__ float blockSum(float v) {
  __shared__ float part[32];
  v = warpSum(v);
  const int w = threadIdx.x / 32, l = threadIdx.x % 32, nw = blockDim.x / 32;
  __syncthreads(); // a previous call's readers are done with part
  if (l == 0)
    part[w] = v;
  __syncthreads();
  return warpSum(l < nw ? part[l] : 0.0f);
}

/// One warp rounds the 32 values it holds (one per lane) to a q8 block.
__device__ __forceinline__ void quantizeBlock(float v, int lane, int8_t *q, float *d, float *s) {
  const float amax = warpMax(fabsf(v));
  const float scale = amax / 127.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  const int qi = int(roundf(v * inv));
  q[lane] = int8_t(qi);
  const int sum = warpSumInt(qi);
  if (lane == 0) {
    *d = scale;
    *s = scale * float(sum);
  }
}

// ---------------------------------------------------------------------------
// Token rows: embedding, RMSNorm, quantization, SwiGLU, adds.

template <int D>
__global__ void embed(const float *__restrict__ table, int64_t rows, const int32_t *__restrict__ tokens,
                      float *__restrict__ out) {
  const int t = blockIdx.x;
  const int32_t id = tokens[t];
  const bool ok = id >= 0 && id < rows;
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    out[size_t(t) * D + i] = ok ? table[size_t(id) * D + i] : 0.0f;
}

/// out = w * x / sqrt(mean(x^2) + eps) per row; the float row (if out) and
/// its q8 form (if qa.q; D % 32 == 0).
template <int D>
__global__ void rmsNorm(const float *__restrict__ x, const float *__restrict__ w, float eps,
                        float *__restrict__ out, Q8Act qa) {
  const int t = blockIdx.x;
  const float *xr = x + size_t(t) * D;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    ss += xr[i] * xr[i];
  ss = blockSum(ss);
  const float inv = 1.0f / sqrtf(ss / float(D) + eps);
  if (out)
    for (int i = threadIdx.x; i < D; i += blockDim.x)
      out[size_t(t) * D + i] = w[i] * (xr[i] * inv);
  if constexpr (D % 32 == 0) {
    if (qa.q) {
      const int lane = threadIdx.x % 32, nw = blockDim.x / 32;
      for (int b = threadIdx.x / 32; b < D / 32; b += nw) {
        const int i = b * 32 + lane;
        quantizeBlock(w[i] * (xr[i] * inv), lane, qa.q + size_t(t) * D + b * 32,
                      qa.d + size_t(t) * (D / 32) + b, qa.s + size_t(t) * (D / 32) + b);
      }
    }
  }
}

template <int D>
__global__ void quantizeRows(const float *__restrict__ x, Q8Act qa) {
  static_assert(D % 32 == 0, "q8 rows need whole blocks");
  const int t = blockIdx.x, lane = threadIdx.x % 32, nw = blockDim.x / 32;
  for (int b = threadIdx.x / 32; b < D / 32; b += nw)
    quantizeBlock(x[size_t(t) * D + b * 32 + lane], lane, qa.q + size_t(t) * D + b * 32,
                  qa.d + size_t(t) * (D / 32) + b, qa.s + size_t(t) * (D / 32) + b);
}

/// out = silu(g) * u; the float row (if out) and its q8 form (if qa.q).
template <int D>
__global__ void swiglu(const float *__restrict__ g, const float *__restrict__ u, float *__restrict__ out,
                       Q8Act qa) {
  const int t = blockIdx.x;
  const size_t r = size_t(t) * D;
  auto f = [&](int i) {
    const float a = g[r + i];
    return a / (1.0f + expf(-a)) * u[r + i];
  };
  if (out)
    for (int i = threadIdx.x; i < D; i += blockDim.x)
      out[r + i] = f(i);
  if constexpr (D % 32 == 0) {
    if (qa.q) {
      const int lane = threadIdx.x % 32, nw = blockDim.x / 32;
      for (int b = threadIdx.x / 32; b < D / 32; b += nw)
        quantizeBlock(f(b * 32 + lane), lane, qa.q + r + b * 32, qa.d + size_t(t) * (D / 32) + b,
                      qa.s + size_t(t) * (D / 32) + b);
    }
  }
}

/// out = a + b ([n x D]; b broadcast over rows if bcast).
template <int D>
__global__ void add(const float *__restrict__ a, const float *__restrict__ b, bool bcast, float *out) {
  const int t = blockIdx.x;
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    out[size_t(t) * D + i] = a[size_t(t) * D + i] + b[bcast ? i : size_t(t) * D + i];
}

// ---------------------------------------------------------------------------
// RoPE and attention over an F16 KV cache [kvHeads][maxCtx][HD].

template <int HALF> struct RopeFreq {
  float f[HALF];
};

/// Rotates H heads of HD features of each row at position *pos0 + t:
/// pairs (2i, 2i+1) if interleaved, else (i, i + HD/2).
template <int H, int HD, bool Interleaved>
__global__ void rope(const float *__restrict__ x, float *__restrict__ out, const int32_t *__restrict__ pos0,
                     RopeFreq<HD / 2> freq) {
  constexpr int half = HD / 2;
  const int t = blockIdx.x;
  const float pos = float(*pos0 + t);
  for (int i = threadIdx.x; i < H * half; i += blockDim.x) {
    const int h = i / half, k = i % half;
    float s, c;
    sincosf(pos * freq.f[k], &s, &c);
    const size_t i0 = size_t(t) * H * HD + h * HD + (Interleaved ? 2 * k : k);
    const size_t i1 = i0 + (Interleaved ? 1 : half);
    const float a = x[i0], b = x[i1];
    out[i0] = a * c - b * s;
    out[i1] = b * c + a * s;
  }
}

template <int KV, int HD>
__global__ void kvAppend(const float *__restrict__ k, const float *__restrict__ v, __half *__restrict__ kc,
                         __half *__restrict__ vc, const int32_t *__restrict__ pos0, int64_t maxCtx) {
  const int t = blockIdx.x;
  const int64_t p = *pos0 + t;
  for (int i = threadIdx.x; i < KV * HD; i += blockDim.x) {
    const int g = i / HD, e = i % HD;
    const size_t at = (size_t(g) * maxCtx + p) * HD + e;
    kc[at] = __float2half_rn(k[size_t(t) * KV * HD + i]);
    vc[at] = __float2half_rn(v[size_t(t) * KV * HD + i]);
  }
}

/// One block per (token, head); its warps take the keys in turn with an
/// online softmax each, then merge. Keys [first, p] of the token's
/// position p (first: the sliding window's start, else 0).
template <int H, int KV, int HD>
__global__ void __launch_bounds__(256) attention(const float *__restrict__ q, const __half *__restrict__ kc,
                                                 const __half *__restrict__ vc, float *__restrict__ out,
                                                 const int32_t *__restrict__ pos0, int64_t maxCtx, float scale,
                                                 int64_t window) {
  constexpr int E = (HD + 31) / 32;
  __shared__ float sm[8], sl[8], sacc[8][E * 32];
  const int t = blockIdx.x, h = blockIdx.y, g = h / (H / KV);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
  const int64_t p = *pos0 + t, first = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
  float qv[E], acc[E];
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int d = lane + 32 * e;
    qv[e] = d < HD ? q[size_t(t) * H * HD + h * HD + d] : 0.0f;
    acc[e] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const __half *kb = kc + size_t(g) * maxCtx * HD, *vb = vc + size_t(g) * maxCtx * HD;
  for (int64_t j = first + warp; j <= p; j += nw) {
    const __half *kr = kb + j * HD, *vr = vb + j * HD;
    float s = 0.0f;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = lane + 32 * e;
      if (d < HD)
        s += qv[e] * __half2float(kr[d]);
    }
    s = warpSum(s) * scale;
    const float mn = fmaxf(m, s), corr = expf(m - mn), pj = expf(s - mn);
    l = l * corr + pj;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = lane + 32 * e;
      acc[e] = acc[e] * corr + (d < HD ? pj * __half2float(vr[d]) : 0.0f);
    }
    m = mn;
  }
  if (lane == 0)
    sm[warp] = m, sl[warp] = l;
#pragma unroll
  for (int e = 0; e < E; ++e)
    sacc[warp][lane + 32 * e] = acc[e];
  __syncthreads();
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
    out[size_t(t) * H * HD + h * HD + d] = o / L;
  }
}

// ---------------------------------------------------------------------------
// Linear layers: y[t][r] = sum_k W[r][k] x[t][k] (+ bias[r]) (+ add[t][r]).
// One warp per output row, NC tokens per block column (grid.y over tokens);
// up to three matrices of one input in one launch (q/k/v, gate/up).

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

constexpr int kRowsPerBlock = 8; // warps per block

__device__ __forceinline__ int lo4(uint32_t v) { return int(v & 0x0F0F0F0Fu); }
__device__ __forceinline__ int hi4(uint32_t v) { return int((v >> 4) & 0x0F0F0F0Fu); }

template <int Layout, int K, int NC>
__device__ __forceinline__ void dotQ8Row(const QccCudaWeight &w, int64_t row, const Q8Act &x, int t0, int nc,
                                         int lane, float (&acc)[NC]) {
  constexpr int NB = K / 32;
  const uint8_t *p0 = static_cast<const uint8_t *>(w.p[0]);
#pragma unroll 4
  for (int b = lane; b < NB; b += 32) {
    uint32_t c[8];
    float s0 = 0, s1 = 0, m0 = 0; // per-layout scales
    if constexpr (Layout == QCC_CUDA_Q8_0) {
      const uint4 *src = reinterpret_cast<const uint4 *>(p0 + row * K + b * 32);
      const uint4 a = __ldg(src), bb = __ldg(src + 1);
      c[0] = a.x, c[1] = a.y, c[2] = a.z, c[3] = a.w, c[4] = bb.x, c[5] = bb.y, c[6] = bb.z, c[7] = bb.w;
      s0 = __half2float(static_cast<const __half *>(w.p[1])[row * NB + b]);
    } else {
      const uint4 a = __ldg(reinterpret_cast<const uint4 *>(p0 + row * (K / 2) + b * 16));
      const uint32_t v[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
        c[i] = lo4(v[i]), c[4 + i] = hi4(v[i]);
      if constexpr (Layout == QCC_CUDA_Q4_0) {
        s0 = __half2float(static_cast<const __half *>(w.p[1])[row * NB + b]);
      } else if constexpr (Layout == QCC_CUDA_Q4_K) {
        const uchar2 sm = static_cast<const uchar2 *>(w.p[1])[row * NB + b];
        const float2 dd = __half22float2(static_cast<const __half2 *>(w.p[2])[row * (K / 256) + b / 8]);
        s0 = dd.x * float(sm.x);
        m0 = dd.y * float(sm.y);
      } else if constexpr (Layout == QCC_CUDA_Q6_K) {
        const uint2 hb = __ldg(reinterpret_cast<const uint2 *>(static_cast<const uint8_t *>(w.p[1]) +
                                                               row * (K / 4) + b * 8));
#pragma unroll
        for (int g = 0; g < 4; ++g) {
          const uint32_t W = g < 2 ? hb.x : hb.y;
          const uint32_t ha = (g % 2 == 0 ? W << 4 : W) & 0x30303030u;
          const uint32_t hh = (g % 2 == 0 ? W << 2 : W >> 2) & 0x30303030u;
          c[g] = __vsub4(c[g] | ha, 0x20202020u);
          c[4 + g] = __vsub4(c[4 + g] | hh, 0x20202020u);
        }
        const char2 sc = static_cast<const char2 *>(w.p[2])[row * NB + b];
        const float d = __half2float(static_cast<const __half *>(w.p[3])[row * (K / 256) + b / 8]);
        s0 = d * float(sc.x);
        s1 = d * float(sc.y);
      }
    }
#pragma unroll
    for (int t = 0; t < NC; ++t) {
      if (t < nc) {
        const size_t xr = size_t(t0 + t);
        const int4 *xq = reinterpret_cast<const int4 *>(x.q + xr * K + b * 32);
        const int4 xa = xq[0], xb = xq[1];
        const float dx = x.d[xr * NB + b];
        int ia = 0, ib = 0;
        ia = __dp4a(int(c[0]), xa.x, ia);
        ia = __dp4a(int(c[1]), xa.y, ia);
        ia = __dp4a(int(c[2]), xa.z, ia);
        ia = __dp4a(int(c[3]), xa.w, ia);
        ib = __dp4a(int(c[4]), xb.x, ib);
        ib = __dp4a(int(c[5]), xb.y, ib);
        ib = __dp4a(int(c[6]), xb.z, ib);
        ib = __dp4a(int(c[7]), xb.w, ib);
        if constexpr (Layout == QCC_CUDA_Q4_0)
          acc[t] += s0 * (dx * float(ia + ib) - 8.0f * x.s[xr * NB + b]);
        else if constexpr (Layout == QCC_CUDA_Q8_0)
          acc[t] += s0 * dx * float(ia + ib);
        else if constexpr (Layout == QCC_CUDA_Q4_K)
          acc[t] += s0 * dx * float(ia + ib) - m0 * x.s[xr * NB + b];
        else
          acc[t] += dx * (s0 * float(ia) + s1 * float(ib));
      }
    }
  }
}

template <int Layout, int K, int NC>
__global__ void __launch_bounds__(32 * kRowsPerBlock) linearQ8(LinJobs jobs, Q8Act x, int n) {
  const int lane = threadIdx.x % 32;
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.x / 32;
  if (r >= jobs.start[jobs.count])
    return;
  int jb = 0;
  while (jb + 1 < jobs.count && r >= jobs.start[jb + 1])
    ++jb;
  const LinJob &J = jobs.j[jb];
  const int64_t row = r - jobs.start[jb];
  const int t0 = blockIdx.y * NC, nc = min(NC, n - t0);
  float acc[NC];
#pragma unroll
  for (int t = 0; t < NC; ++t)
    acc[t] = 0.0f;
  dotQ8Row<Layout, K, NC>(J.w, row, x, t0, nc, lane, acc);
#pragma unroll
  for (int t = 0; t < NC; ++t) {
    const float v = warpSum(acc[t]);
    if (lane == 0 && t < nc) {
      const size_t o = size_t(t0 + t) * J.ldo + row;
      J.out[o] = v + (J.bias ? J.bias[row] : 0.0f) + (J.add ? J.add[o] : 0.0f);
    }
  }
}

/// Float weights (F16 or F32 rows) times float rows.
template <int Layout, int K, int NC>
__global__ void __launch_bounds__(32 * kRowsPerBlock) linearFloat(LinJobs jobs, const float *__restrict__ x, int n) {
  const int lane = threadIdx.x % 32;
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.x / 32;
  if (r >= jobs.start[jobs.count])
    return;
  int jb = 0;
  while (jb + 1 < jobs.count && r >= jobs.start[jb + 1])
    ++jb;
  const LinJob &J = jobs.j[jb];
  const int64_t row = r - jobs.start[jb];
  const int t0 = blockIdx.y * NC, nc = min(NC, n - t0);
  float acc[NC];
#pragma unroll
  for (int t = 0; t < NC; ++t)
    acc[t] = 0.0f;
  if constexpr (Layout == QCC_CUDA_F16 && K % 8 == 0) {
    const uint4 *wr = reinterpret_cast<const uint4 *>(static_cast<const __half *>(J.w.p[0]) + row * K);
    for (int i = lane; i < K / 8; i += 32) {
      const uint4 u = __ldg(wr + i);
      const __half2 *h2 = reinterpret_cast<const __half2 *>(&u);
      float wv[8];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 f = __half22float2(h2[k]);
        wv[2 * k] = f.x, wv[2 * k + 1] = f.y;
      }
#pragma unroll
      for (int t = 0; t < NC; ++t)
        if (t < nc) {
          const float4 *xr = reinterpret_cast<const float4 *>(x + size_t(t0 + t) * K + i * 8);
          const float4 a = xr[0], b = xr[1];
          acc[t] += wv[0] * a.x + wv[1] * a.y + wv[2] * a.z + wv[3] * a.w + wv[4] * b.x + wv[5] * b.y +
                    wv[6] * b.z + wv[7] * b.w;
        }
    }
  } else {
    for (int i = lane; i < K; i += 32) {
      float wv;
      if constexpr (Layout == QCC_CUDA_F16)
        wv = __half2float(static_cast<const __half *>(J.w.p[0])[row * K + i]);
      else
        wv = static_cast<const float *>(J.w.p[0])[row * K + i];
#pragma unroll
      for (int t = 0; t < NC; ++t)
        if (t < nc)
          acc[t] += wv * x[size_t(t0 + t) * K + i];
    }
  }
#pragma unroll
  for (int t = 0; t < NC; ++t) {
    const float v = warpSum(acc[t]);
    if (lane == 0 && t < nc) {
      const size_t o = size_t(t0 + t) * J.ldo + row;
      J.out[o] = v + (J.bias ? J.bias[row] : 0.0f) + (J.add ? J.add[o] : 0.0f);
    }
  }
}

/// Tokens per block column of a multi-token linear launch.
constexpr int kTokensPerColumn = 8;

/// Launches a linear over n tokens: one token per column for a decoding
/// step, kTokensPerColumn otherwise.
template <int Layout, int K>
inline void launchLinear(const LinJobs &jobs, const Q8Act &xq, const float *xf, int n, cudaStream_t s) {
  const unsigned blocks = unsigned((jobs.start[jobs.count] + kRowsPerBlock - 1) / kRowsPerBlock);
  constexpr bool quantized = Layout != QCC_CUDA_F16 && Layout != QCC_CUDA_F32;
  if (n == 1) {
    if constexpr (quantized)
      linearQ8<Layout, K, 1><<<dim3(blocks, 1), 32 * kRowsPerBlock, 0, s>>>(jobs, xq, n);
    else
      linearFloat<Layout, K, 1><<<dim3(blocks, 1), 32 * kRowsPerBlock, 0, s>>>(jobs, xf, n);
  } else {
    const unsigned cols = unsigned((n + kTokensPerColumn - 1) / kTokensPerColumn);
    if constexpr (quantized)
      linearQ8<Layout, K, kTokensPerColumn><<<dim3(blocks, cols), 32 * kRowsPerBlock, 0, s>>>(jobs, xq, n);
    else
      linearFloat<Layout, K, kTokensPerColumn><<<dim3(blocks, cols), 32 * kRowsPerBlock, 0, s>>>(jobs, xf, n);
  }
}

} // namespace qcc_cuda

#endif
