// The decode step's floor for --target=cuda (issue 10), measured before the
// code generator exists: a W4 (ggml Q4_0 grid: 32 codes of 4 bits and one
// fp16 scale per block) matrix-vector product y = W x at Llama-2-7B shapes,
// against the device's measured copy bandwidth in the same run.
//
//   nvcc -O3 -gencode=arch=compute_90a,code=sm_90a -o w4_gemv w4_gemv.cu
//   ./w4_gemv [iterations]
//
// Weights are planar, the layout a GPU weights file would use: codes
// [rows x K/2] bytes (a block's 16 bytes contiguous, ggml's nibble order:
// element j in the low nibble of byte j, element j + 16 in the high one) and
// scales [rows x K/32] fp16. Activations x are fp16, products accumulate in
// fp32. Checked against a float64 reference on the host for every shape.
// Prints, per shape and for a whole 32-layer decode step (every layer's
// seven products back to back, captured as one CUDA graph), the time, the
// bytes moved and that over the copy bandwidth.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "Check.h"

constexpr int kWarps = 8; // rows per block of 256 threads: one warp a row

/// The sum of v over the warp's lanes (every lane gets it).
__device__ inline float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// sum over a block of 32 of code * x, codes in [0, 16) (ggml's nibble order:
/// element j low in byte j, element j + 16 high), x as int8: eight dp4a.
__device__ inline int dotQ4Q8(const uint4 &q, const int4 &x0, const int4 &x1) {
  const uint32_t w[4] = {q.x, q.y, q.z, q.w};
  const int lo[4] = {x0.x, x0.y, x0.z, x0.w}, hi[4] = {x1.x, x1.y, x1.z, x1.w};
  int isum = 0;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    isum = __dp4a(int(w[i] & 0x0F0F0F0Fu), lo[i], isum);
    isum = __dp4a(int((w[i] >> 4) & 0x0F0F0F0Fu), hi[i], isum);
  }
  return isum;
}

/// One warp per output row; lane l takes blocks l, l + 32, ...: one 16-byte
/// load of codes per block (coalesced across the warp: 512 contiguous
/// bytes) and its scale d; y[row] = sum over blocks of d * term(codes, b).
template <typename Term>
__device__ inline void rowPerWarp(const uint4 *__restrict__ codes, const __half *__restrict__ scales,
                                  float *__restrict__ y, int rows, int K, Term term) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= rows)
    return;
  const int blocks = K / 32;
  const uint4 *c = codes + size_t(row) * blocks;
  const __half *s = scales + size_t(row) * blocks;
  float acc = 0.f;
#pragma unroll 4
  for (int b = lane; b < blocks; b += 32)
    acc += __half2float(s[b]) * term(c[b], b);
  acc = warpSum(acc);
  if (lane == 0)
    y[row] = acc;
}

// v1: the block's 32 activations (fp16) from shared memory, float products.
__global__ void __launch_bounds__(kWarps * 32) w4Gemv(const uint4 *__restrict__ codes,
                                                      const __half *__restrict__ scales,
                                                      const __half *__restrict__ x, float *__restrict__ y,
                                                      int rows, int K) {
  extern __shared__ __align__(16) __half xs[];
  for (int i = threadIdx.x * 8; i < K; i += blockDim.x * 8)
    *reinterpret_cast<uint4 *>(xs + i) = *reinterpret_cast<const uint4 *>(x + i);
  __syncthreads();
  rowPerWarp(codes, scales, y, rows, K, [&](const uint4 &q, int b) {
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
    float sum = 0.f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int byte = (w[i] >> (8 * j)) & 0xff, e = 4 * i + j; // elements e and e + 16
        const float lo = float((byte & 15) - 8), hi = float((byte >> 4) - 8);
        sum += lo * __half2float(xs[b * 32 + e]) + hi * __half2float(xs[b * 32 + e + 16]);
      }
    }
    return sum;
  });
}

// Activations quantized to int8 per block of 32 (a scale and the block's
// sum, as ggml's Q8_1), so a block is eight dp4a: codes c in [0, 16) against
// x codes, then d_w * (d_x * sum(c * q) - 8 * d_x * sum(q)).
__global__ void __launch_bounds__(kWarps * 32) w4GemvQ8(const uint4 *__restrict__ codes,
                                                        const __half *__restrict__ scales,
                                                        const int8_t *__restrict__ xq,
                                                        const float2 *__restrict__ xds, float *__restrict__ y,
                                                        int rows, int K) {
  extern __shared__ __align__(16) uint8_t smem[];
  int8_t *xs = reinterpret_cast<int8_t *>(smem);
  float2 *ds = reinterpret_cast<float2 *>(smem + K);
  for (int i = threadIdx.x * 16; i < K; i += blockDim.x * 16)
    *reinterpret_cast<uint4 *>(xs + i) = *reinterpret_cast<const uint4 *>(xq + i);
  for (int i = threadIdx.x; i < K / 32; i += blockDim.x)
    ds[i] = xds[i];
  __syncthreads();
  rowPerWarp(codes, scales, y, rows, K, [&](const uint4 &q, int b) {
    const int isum = dotQ4Q8(q, *reinterpret_cast<const int4 *>(xs + b * 32),
                             *reinterpret_cast<const int4 *>(xs + b * 32 + 16));
    const float2 xd = ds[b]; // (scale, scale * sum of codes)
    return xd.x * float(isum) - 8.f * xd.y;
  });
}

// v2 without the shared-memory staging of x (each block of 8 rows copied
// 5 KB of x for 16 KB of weights, then waited on a barrier): x and its
// scales read through the read-only cache (they stay in L1), and R rows per
// warp, so that each lane has R independent weight loads in flight.
template <int R>
__global__ void __launch_bounds__(kWarps * 32) w4GemvQ8Direct(const uint4 *__restrict__ codes,
                                                              const __half *__restrict__ scales,
                                                              const int8_t *__restrict__ xq,
                                                              const float2 *__restrict__ xds,
                                                              float *__restrict__ y, int rows, int K) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x * kWarps + warp) * R;
  if (row0 >= rows)
    return;
  const int blocks = K / 32;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r)
    acc[r] = 0.f;
#pragma unroll 2
  for (int b = lane; b < blocks; b += 32) {
    const int4 x0 = __ldg(reinterpret_cast<const int4 *>(xq + b * 32));
    const int4 x1 = __ldg(reinterpret_cast<const int4 *>(xq + b * 32 + 16));
    const float2 xd = __ldg(xds + b);
    uint4 q[R];
    float d[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int row = min(row0 + r, rows - 1);
      q[r] = __ldcs(codes + size_t(row) * blocks + b); // streamed once: evict first
      d[r] = __half2float(scales[size_t(row) * blocks + b]);
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      acc[r] += d[r] * (xd.x * float(dotQ4Q8(q[r], x0, x1)) - 8.f * xd.y);
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    acc[r] = warpSum(acc[r]);
    if (lane == 0 && row0 + r < rows)
      y[row0 + r] = acc[r];
  }
}

// v3 specialised for its K (as generated code is for the model's shapes):
// the block loop is unrolled completely, so every lane issues all its
// weight loads before the first multiply. With `pdl`, the kernel lets the
// next launch in the stream start its blocks early (programmatic dependent
// launch) and waits for the previous one only before reading x.
template <int K, bool pdl>
__global__ void __launch_bounds__(kWarps * 32) w4GemvQ8K(const uint4 *__restrict__ codes,
                                                         const __half *__restrict__ scales,
                                                         const int8_t *__restrict__ xq,
                                                         const float2 *__restrict__ xds, float *__restrict__ y,
                                                         int rows) {
  constexpr int blocks = K / 32, per = (blocks + 31) / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = min(blockIdx.x * kWarps + warp, rows - 1);
  const uint4 *c = codes + size_t(row) * blocks;
  const __half *s = scales + size_t(row) * blocks;
  uint4 q[per];
  float d[per];
#pragma unroll
  for (int i = 0; i < per; ++i) {
    const int b = lane + 32 * i;
    if (b < blocks) {
      q[i] = __ldcs(c + b);
      d[i] = __half2float(s[b]);
    }
  }
  if (pdl) {
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
  }
  float acc = 0.f;
#pragma unroll
  for (int i = 0; i < per; ++i) {
    const int b = lane + 32 * i;
    if (b < blocks) {
      const int4 x0 = __ldg(reinterpret_cast<const int4 *>(xq + b * 32));
      const int4 x1 = __ldg(reinterpret_cast<const int4 *>(xq + b * 32 + 16));
      const float2 xd = __ldg(xds + b);
      acc += d[i] * (xd.x * float(dotQ4Q8(q[i], x0, x1)) - 8.f * xd.y);
    }
  }
  acc = warpSum(acc);
  if (lane == 0 && blockIdx.x * kWarps + warp < rows)
    y[row] = acc;
}

template <bool pdl>
void launchK(int K, int rows, const uint4 *codes, const __half *scales, const int8_t *xq, const float2 *xds,
             float *y, cudaStream_t st) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((rows + kWarps - 1) / kWarps);
  cfg.blockDim = dim3(kWarps * 32);
  cfg.stream = st;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  if (K == 4096)
    CHECK(cudaLaunchKernelEx(&cfg, w4GemvQ8K<4096, pdl>, codes, scales, xq, xds, y, rows));
  else
    CHECK(cudaLaunchKernelEx(&cfg, w4GemvQ8K<11008, pdl>, codes, scales, xq, xds, y, rows));
}

// The read-only ceiling: every 16 bytes of a buffer read once (streamed),
// folded into one word per thread so that nothing is optimised away.
__global__ void readAll(const uint4 *__restrict__ p, size_t n, uint32_t *__restrict__ out) {
  uint32_t acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const uint4 v = __ldcs(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u) // practically never: keeps the loads
    out[0] = acc;
}

struct Shape {
  int rows, K;
};

struct Matrix {
  int rows, K;
  uint4 *codes;
  __half *scales;
  size_t bytes() const { return size_t(rows) * K / 2 + size_t(rows) * K / 32 * 2; }
};

Matrix randomMatrix(int rows, int K, std::mt19937 &rng, std::vector<uint8_t> *hostCodes = nullptr,
                    std::vector<__half> *hostScales = nullptr) {
  Matrix m{rows, K, nullptr, nullptr};
  std::vector<uint8_t> c(size_t(rows) * K / 2);
  std::vector<__half> s(size_t(rows) * K / 32);
  for (auto &v : c)
    v = uint8_t(rng());
  std::uniform_real_distribution<float> u(0.001f, 0.02f);
  for (auto &v : s)
    v = __float2half(u(rng));
  CHECK(cudaMalloc(&m.codes, c.size()));
  CHECK(cudaMalloc(&m.scales, s.size() * 2));
  CHECK(cudaMemcpy(m.codes, c.data(), c.size(), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(m.scales, s.data(), s.size() * 2, cudaMemcpyHostToDevice));
  if (hostCodes)
    *hostCodes = std::move(c);
  if (hostScales)
    *hostScales = std::move(s);
  return m;
}

const int8_t *gXq;   // the activations quantized (v2)
const float2 *gXds;
int gVersion = 1;
void launch(const Matrix &m, const __half *x, float *y, cudaStream_t st) {
  const int grid = (m.rows + kWarps - 1) / kWarps;
  if (gVersion == 1)
    w4Gemv<<<grid, kWarps * 32, m.K * sizeof(__half), st>>>(m.codes, m.scales, x, y, m.rows, m.K);
  else if (gVersion == 2)
    w4GemvQ8<<<grid, kWarps * 32, m.K + m.K / 32 * sizeof(float2), st>>>(m.codes, m.scales, gXq, gXds, y,
                                                                         m.rows, m.K);
  else if (gVersion == 3)
    w4GemvQ8Direct<1><<<grid, kWarps * 32, 0, st>>>(m.codes, m.scales, gXq, gXds, y, m.rows, m.K);
  else if (gVersion == 4)
    w4GemvQ8Direct<2><<<(m.rows + 2 * kWarps - 1) / (2 * kWarps), kWarps * 32, 0, st>>>(m.codes, m.scales, gXq,
                                                                                      gXds, y, m.rows, m.K);
  else if (gVersion == 6)
    launchK<false>(m.K, m.rows, m.codes, m.scales, gXq, gXds, y, st);
  else if (gVersion == 7)
    launchK<true>(m.K, m.rows, m.codes, m.scales, gXq, gXds, y, st);
  else
    w4GemvQ8Direct<4><<<(m.rows + 4 * kWarps - 1) / (4 * kWarps), kWarps * 32, 0, st>>>(m.codes, m.scales, gXq,
                                                                                      gXds, y, m.rows, m.K);
}

int main(int argc, char **argv) {
  const int iters = argc > 1 ? atoi(argv[1]) : 50;
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("device: %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  cudaStream_t st;
  CHECK(cudaStreamCreate(&st));
  cudaEvent_t e0, e1;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreate(&e1));
  // The median over `reps` runs of what `enqueue` puts on the stream, in ms
  // (CUDA events around each run).
  auto medianMs = [&](int reps, auto enqueue) {
    std::vector<float> v;
    for (int i = 0; i < reps; ++i) {
      CHECK(cudaEventRecord(e0, st));
      enqueue(i);
      CHECK(cudaEventRecord(e1, st));
      CHECK(cudaEventSynchronize(e1));
      float ms;
      CHECK(cudaEventElapsedTime(&ms, e0, e1));
      v.push_back(ms);
    }
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };

  // The ceiling: a 4 GiB device-to-device copy (bytes read + written).
  const size_t copyBytes = size_t(2) << 30;
  void *a, *b;
  CHECK(cudaMalloc(&a, copyBytes));
  CHECK(cudaMalloc(&b, copyBytes));
  CHECK(cudaMemset(a, 1, copyBytes));
  const double bw = 2.0 * copyBytes / (medianMs(10, [&](int) {
                                         CHECK(cudaMemcpyAsync(b, a, copyBytes, cudaMemcpyDeviceToDevice, st));
                                       }) *
                                       1e-3);
  printf("copy bandwidth (read + write): %.0f GB/s\n", bw / 1e9);
  // A read-only stream over the same 2 GiB (a decode step only reads).
  {
    uint32_t *sink;
    CHECK(cudaMalloc(&sink, 4));
    const size_t n = copyBytes / 16;
    const float readMs = medianMs(10, [&](int) {
      readAll<<<prop.multiProcessorCount * 8, 512, 0, st>>>(static_cast<const uint4 *>(a), n, sink);
    });
    CHECK(cudaGetLastError());
    printf("read-only stream: %.0f GB/s (the fractions below are of the copy bandwidth; this is the "
           "tighter ceiling for reading weights)\n",
           copyBytes / (readMs * 1e-3) / 1e9);
    CHECK(cudaFree(sink));
  }
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));

  std::mt19937 rng(42);
  const int K0 = 11008;
  std::vector<__half> hx(K0);
  std::uniform_real_distribution<float> ux(-1.f, 1.f);
  for (auto &v : hx)
    v = __float2half(ux(rng));
  __half *dx;
  float *dy;
  CHECK(cudaMalloc(&dx, K0 * sizeof(__half)));
  CHECK(cudaMalloc(&dy, 11008 * sizeof(float) * 8));
  CHECK(cudaMemcpy(dx, hx.data(), K0 * sizeof(__half), cudaMemcpyHostToDevice));
  for (int K : {4096, 11008}) {
    CHECK(cudaFuncSetAttribute(w4Gemv, cudaFuncAttributeMaxDynamicSharedMemorySize, K * 2));
    CHECK(cudaFuncSetAttribute(w4GemvQ8, cudaFuncAttributeMaxDynamicSharedMemorySize, K + K / 32 * 8));
  }
  // x quantized per block of 32 (round to nearest, scale max|x| / 127).
  std::vector<int8_t> hq(K0);
  std::vector<float2> hds(K0 / 32);
  std::vector<double> xv(K0); // the values v2 multiplies
  for (int bl = 0; bl < K0 / 32; ++bl) {
    float mx = 0;
    for (int j = 0; j < 32; ++j)
      mx = std::max(mx, std::fabs(__half2float(hx[bl * 32 + j])));
    const float d = mx / 127.f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      const int q = d > 0 ? int(std::lrint(__half2float(hx[bl * 32 + j]) / d)) : 0;
      hq[bl * 32 + j] = int8_t(q);
      sum += q;
      xv[bl * 32 + j] = double(d) * q;
    }
    hds[bl] = make_float2(d, d * float(sum));
  }
  int8_t *dq;
  float2 *dds;
  CHECK(cudaMalloc(&dq, K0));
  CHECK(cudaMalloc(&dds, K0 / 32 * sizeof(float2)));
  CHECK(cudaMemcpy(dq, hq.data(), K0, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dds, hds.data(), K0 / 32 * sizeof(float2), cudaMemcpyHostToDevice));
  gXq = dq;
  gXds = dds;

  // Correctness and per-shape rates (one matrix; it fits in L2 for 4096 x
  // 4096, so rotate through 8 copies of each shape).
  for (gVersion = 1; gVersion <= 7; ++gVersion) {
  printf("\nkernel v%d (%s)\n| shape (rows x K) | max rel err | us | GB/s | of copy bw |\n|---|---:|---:|---:|---:|\n",
         gVersion, gVersion == 1   ? "fp16 x, float products"
         : gVersion == 2 ? "int8 x per 32, dp4a, x staged in shared memory"
                         : gVersion == 3 ? "dp4a, x through L1, 1 row a warp"
                                         : gVersion == 4 ? "dp4a, x through L1, 2 rows a warp"
                                                         : gVersion == 5 ? "dp4a, x through L1, 4 rows a warp"
                                                                         : gVersion == 6 ? "v3 specialised for K, unrolled"
                                                                                         : "v6 with programmatic dependent launch");
  for (Shape sh : {Shape{4096, 4096}, Shape{11008, 4096}, Shape{4096, 11008}}) {
    std::vector<uint8_t> hc;
    std::vector<__half> hs;
    std::vector<Matrix> ms;
    ms.push_back(randomMatrix(sh.rows, sh.K, rng, &hc, &hs));
    for (int i = 1; i < 8; ++i)
      ms.push_back(randomMatrix(sh.rows, sh.K, rng));
    CHECK(cudaMemset(dy, 0xff, sh.rows * sizeof(float))); // poison
    launch(ms[0], dx, dy, st);
    CHECK(cudaGetLastError());
    std::vector<float> y(sh.rows);
    CHECK(cudaMemcpy(y.data(), dy, sh.rows * sizeof(float), cudaMemcpyDeviceToHost));
    double worst = 0, norm = 0;
    std::vector<double> ref(sh.rows);
    for (int r = 0; r < sh.rows; ++r) {
      double acc = 0;
      for (int bl = 0; bl < sh.K / 32; ++bl) {
        const double d = __half2float(hs[size_t(r) * (sh.K / 32) + bl]);
        for (int j = 0; j < 16; ++j) {
          const uint8_t byte = hc[size_t(r) * (sh.K / 2) + bl * 16 + j];
          const double x0 = gVersion == 1 ? double(__half2float(hx[bl * 32 + j])) : xv[bl * 32 + j];
          const double x1 = gVersion == 1 ? double(__half2float(hx[bl * 32 + j + 16])) : xv[bl * 32 + j + 16];
          acc += d * ((byte & 15) - 8) * x0 + d * ((byte >> 4) - 8) * x1;
        }
      }
      ref[r] = acc;
      norm = std::max(norm, std::fabs(acc));
    }
    for (int r = 0; r < sh.rows; ++r)
      worst = std::max(worst, std::isfinite(y[r]) ? std::fabs(y[r] - ref[r]) : INFINITY);
    const float med = medianMs(iters, [&](int i) { launch(ms[i % 8], dx, dy, st); });
    CHECK(cudaGetLastError());
    const double us = med * 1e3, gbs = ms[0].bytes() / (us * 1e-6) / 1e9;
    printf("| %d x %d | %.1e | %.1f | %.0f | %.2f |\n", sh.rows, sh.K, worst / norm, us, gbs, gbs * 1e9 / bw);
    for (auto &m : ms) {
      CHECK(cudaFree(m.codes));
      CHECK(cudaFree(m.scales));
    }
  }

  }

  // A whole decode step's weight stream: 32 layers x (q, k, v, o 4096 x 4096;
  // gate, up 11008 x 4096; down 4096 x 11008), captured as one graph.
  std::vector<Matrix> layer;
  size_t total = 0;
  for (int l = 0; l < 32; ++l)
    for (Shape sh : {Shape{4096, 4096}, Shape{4096, 4096}, Shape{4096, 4096}, Shape{4096, 4096},
                     Shape{11008, 4096}, Shape{11008, 4096}, Shape{4096, 11008}}) {
      layer.push_back(randomMatrix(sh.rows, sh.K, rng));
      total += layer.back().bytes();
    }
  // The same step with the products that share an input in one launch each
  // (q, k, v as one 12288-row matrix; gate and up as one of 22016 rows), as
  // the code generator can lay them out: 4 launches a layer instead of 7.
  std::vector<Matrix> fused;
  size_t fusedTotal = 0;
  for (int l = 0; l < 32; ++l)
    for (Shape sh : {Shape{12288, 4096}, Shape{4096, 4096}, Shape{22016, 4096}, Shape{4096, 11008}}) {
      fused.push_back(randomMatrix(sh.rows, sh.K, rng));
      fusedTotal += fused.back().bytes();
    }
  float *dyBig;
  CHECK(cudaMalloc(&dyBig, 22016 * sizeof(float)));
  // One decode step's products captured as a graph; the median of its replays, ms.
  auto stepMs = [&](const std::vector<Matrix> &ms, float *y) {
    cudaGraph_t g;
    cudaGraphExec_t ge;
    CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    for (auto &m : ms)
      launch(m, dx, y, st);
    CHECK(cudaStreamEndCapture(st, &g));
    CHECK(cudaGraphInstantiate(&ge, g, 0));
    CHECK(cudaGraphLaunch(ge, st));
    CHECK(cudaStreamSynchronize(st));
    const float med = medianMs(std::max(5, iters / 5), [&](int) { CHECK(cudaGraphLaunch(ge, st)); });
    CHECK(cudaGetLastError());
    CHECK(cudaGraphExecDestroy(ge));
    CHECK(cudaGraphDestroy(g));
    return double(med);
  };
  for (gVersion = 3; gVersion <= 7; gVersion += (gVersion == 3 ? 3 : 1)) {
    const double ms = stepMs(fused, dyBig), gbs = fusedTotal / (ms * 1e-3) / 1e9;
    printf("\nv%d, fused launches: 7B decode step, weights only (%.2f GB, 128 products as one graph): %.3f ms, "
           "%.0f GB/s, %.2f of copy bandwidth; ceiling %.0f tok/s from this kernel\n",
           gVersion, fusedTotal / 1e9, ms, gbs, gbs * 1e9 / bw, 1e3 / ms);
  }
  for (gVersion = 1; gVersion <= 7; ++gVersion) {
    const double ms = stepMs(layer, dy), gbs = total / (ms * 1e-3) / 1e9;
    printf("\nv%d: 7B decode step, weights only (%.2f GB, 224 products as one graph): %.3f ms, %.0f GB/s, "
           "%.2f of copy bandwidth; ceiling %.0f tok/s from this kernel, %.0f tok/s at the copy "
           "bandwidth\n",
           gVersion, total / 1e9, ms, gbs, gbs * 1e9 / bw, 1e3 / ms, bw / total);
  }
  return 0;
}
