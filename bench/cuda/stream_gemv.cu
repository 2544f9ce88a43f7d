// An experiment for issue 10 (tried, not adopted; docs/BENCHMARKS.md,
// eighth round): a decoding step's single-token products with the weights
// streamed into shared memory by bulk copies (cp.async.bulk completing on
// mbarriers, a producer warp ahead of eight consumer warps) and chained in
// one persistent launch a layer (o, gate/up, down, the next q/k/v; a grid
// barrier between them), the RMSNorms and SwiGLU computed by every block
// while the weights stream. Against Kernels.cuh's linearVec and the
// rmsNorm / swiglu launches at the Llama-2-7B shape (Q4_G128): checks that
// every output is the same bits, then times 32 layers captured as a graph
// of programmatic launches, and one phase's input staging alone.
//
//   nvcc -O3 -std=c++17 -I. -DQCC_CUDA_PDL=1 -gencode=arch=compute_90a,code=sm_90a \
//        -o stream_gemv bench/cuda/stream_gemv.cu && ./stream_gemv 20
#include "runtime/cuda/Kernels.cuh"
#include "bench/cuda/Check.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <vector>

using namespace qcc_cuda;

namespace qcc_cuda {

// ---------------------------------------------------------------------------
// Streamed single-token products (Hopper): a producer warp copies the
// weights into a ring of shared-memory stages by bulk copies (cp.async.bulk,
// completing on an mbarrier), from the first instruction on: before the
// previous launch has finished (the weights are the one thing a launch may
// read before priorDone()), and while the eight consumer warps build the
// input row in shared memory. That row is the q8 row a producer wrote
// (Q8In), or the consumers compute it themselves from the float rows it is
// made of (NormIn: the RMSNorm of the residual row; SwiGLUIn: silu(g) u),
// the way rmsNorm / swiglu compute it, so that the launch those need
// disappears from a decoding step. A stage holds 16 rows (a unit, within a
// job), two a consumer warp; lane l takes blocks l + 32 p, l + 32 (p + KS),
// ... of part p of K and adds the parts in linearVec's order: the same bits
// as linearVec and linearRows.

/// Waits until phase `parity` of the mbarrier at shared address a completed.
__device__ __forceinline__ void mbarWait(uint32_t a, uint32_t parity) {
  uint32_t done = 0;
  while (!done)
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(done)
                 : "r"(a), "r"(parity)
                 : "memory");
}
__device__ __forceinline__ void mbarArrive(uint32_t a) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(a) : "memory");
}

// Consumer warps, rows a warp: the best of 8 x 2, 16 x 2, 16 x 1, 12 x 1
// on the H100 (docs/BENCHMARKS.md).
constexpr int kStreamWarps = 8, kStreamRows = 2, kStreamUnit = kStreamWarps * kStreamRows;

/// The input row in shared memory, by block of 32: the low and high 16
/// codes of each plane as int4 arrays (a warp's lanes read consecutive
/// blocks without bank conflicts), then (d, sum).
template <int K> struct StreamX {
  static constexpr int NB = K / 32;
  static constexpr int64_t bytes = (int64_t(NB) * 72 + 127) / 128 * 128;
  int4 *q0, *q1, *l0, *l1;
  float2 *ds;
  __device__ __forceinline__ explicit StreamX(uint8_t *p)
      : q0(reinterpret_cast<int4 *>(p)), q1(q0 + NB), l0(q1 + NB), l1(l0 + NB),
        ds(reinterpret_cast<float2 *>(l1 + NB)) {}
  __device__ __forceinline__ void put(int b, int lane, const Q8Lane &c) const {
    reinterpret_cast<int8_t *>(lane < 16 ? q0 : q1)[b * 16 + lane % 16] = c.q;
    reinterpret_cast<int8_t *>(lane < 16 ? l0 : l1)[b * 16 + lane % 16] = c.l;
    if (lane == 0)
      ds[b] = c.ds;
  }
  __device__ __forceinline__ XBlock get(int b) const { return XBlock{q0[b], q1[b], l0[b], l1[b], ds[b]}; }
};

/// Waits for the consumer warps (named barrier 1; the producer warp never
/// takes part).
__device__ __forceinline__ void consumersSync() {
  asm volatile("bar.sync 1, %0;" ::"n"(32 * kStreamWarps) : "memory");
}
/// The sum over the consumer warps, in blockReduce's order (rmsNorm's, its
/// eight warps' sums and zeros).
__device__ __forceinline__ float consumersSum(float v, float *part) {
  v = warpSum(v);
  const int w = threadIdx.x / 32, l = threadIdx.x % 32;
  if (l == 0)
    part[w] = v;
  consumersSync();
  v = l < kStreamWarps ? part[l] : 0.0f;
  return warpSum(v);
}

/// The q8 row of value(i), i in [0, K), into shared memory: warp w takes
/// blocks w, w + 8, ..., loading 16 blocks' values before quantizing them
/// (the loads in flight together).
template <int K, typename F> __device__ __forceinline__ void stageRow(const StreamX<K> &xs, F value) {
  constexpr int NB = K / 32, PER = (NB + kStreamWarps - 1) / kStreamWarps, CH = PER < 16 ? PER : 16;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int c0 = 0; c0 < PER; c0 += CH) {
    float v[CH];
    // (Rows of whole rounds of blocks need no bounds: straight-line code,
    // the blocks' reductions interleaved.)
    constexpr bool whole = NB % (kStreamWarps * CH) == 0;
#pragma unroll
    for (int j = 0; j < CH; ++j) { // (past the row: the last block again, unused)
      const int b = warp + kStreamWarps * (c0 + j);
      v[j] = value((whole ? b : min(b, NB - 1)) * 32 + lane);
    }
    Q8Lane c[CH];
    quantizeLanes<CH>(v, c);
#pragma unroll
    for (int j = 0; j < CH; ++j) {
      const int b = warp + kStreamWarps * (c0 + j);
      if (whole || b < NB)
        xs.put(b, lane, c[j]);
    }
  }
}

/// Staged inputs of a streamed product (one token), each building the q8
/// row in shared memory as the launch it replaces would have written it.
struct Q8Stream {
  Q8Act x;
  template <int K> __device__ __forceinline__ void stage(const StreamX<K> &xs, float *) const {
    const int4 *q = reinterpret_cast<const int4 *>(x.q), *l = reinterpret_cast<const int4 *>(x.l);
    constexpr int NB = K / 32, T = 32 * kStreamWarps, R = (NB + T - 1) / T;
    int4 v[R][4];
    float2 d[R];
#pragma unroll
    for (int k = 0; k < R; ++k) { // all loads in flight (past the row: the last block again)
      const int b = min(int(threadIdx.x) + k * T, NB - 1);
      v[k][0] = q[2 * b], v[k][1] = q[2 * b + 1], v[k][2] = l[2 * b], v[k][3] = l[2 * b + 1], d[k] = x.ds[b];
    }
#pragma unroll
    for (int k = 0; k < R; ++k)
      if (const int b = int(threadIdx.x) + k * T; b < NB)
        xs.q0[b] = v[k][0], xs.q1[b] = v[k][1], xs.l0[b] = v[k][2], xs.l1[b] = v[k][3], xs.ds[b] = d[k];
  }
};
/// w x / sqrt(mean(x^2) + eps) of the float row x (rmsNorm).
struct NormIn {
  const float *x, *w;
  float eps;
  template <int K> __device__ __forceinline__ void stage(const StreamX<K> &xs, float *part) const {
    // The first kRowThreads threads sum as rmsNorm's block does, the other
    // warps add zeros: rmsNorm's bits.
    const float ss = threadIdx.x < kRowThreads ? sumSquares<K, kRowThreads>(x, threadIdx.x) : 0.0f;
    const float inv = rmsScale<K>(consumersSum(ss, part), eps);
    stageRow<K>(xs, [&](int i) { return w[i] * (x[i] * inv); });
  }
};
/// silu(g) u of the float rows g, u (swiglu).
struct SwiGLUIn {
  const float *g, *u;
  template <int K> __device__ __forceinline__ void stage(const StreamX<K> &xs, float *) const {
    stageRow<K>(xs, [&](int i) { return siluMul(g[i], u[i]); });
  }
};

/// A product of a chain: its jobs (one token), input and output.
template <int Layout_, int K_, int KS_, class In_, class Out_> struct Phase {
  static constexpr int Layout = Layout_, K = K_, KS = KS_;
  LinJobs jobs;
  In_ in;
  Out_ out;
};
template <int Layout, int K, int KS, class In, class Out>
inline Phase<Layout, K, KS, In, Out> phase(const LinJobs &jobs, const In &in, const Out &out) {
  return Phase<Layout, K, KS, In, Out>{jobs, in, out};
}

/// Weights of a row a unit holds (a chunk): 128 blocks of 32, a multiple
/// of every part's stride (32 KS blocks), so that a lane meets its blocks
/// chunk after chunk in linearVec's order.
constexpr int kChunk = 4096;

/// Where a phase's units lie in a ring slot: plane p of local row r at
/// at(p) + r cap(p), from the 16-byte boundary at or below the chunk's
/// first byte in the row (bulk copies move multiples of 16 bytes between
/// 16-byte aligned addresses; the planes are padded to 256 bytes, so a copy
/// stays inside them).
template <class P> struct ChainGeo {
  static constexpr int C = (P::K + kChunk - 1) / kChunk; ///< chunks a row
  static constexpr int KC = P::K < kChunk ? P::K : kChunk;
  __host__ __device__ static constexpr int64_t cap(int p) {
    return qccCudaPlaneRowBytes(P::Layout, KC, p) ? (qccCudaPlaneRowBytes(P::Layout, KC, p) + 15) / 16 * 16 + 16 : 0;
  }
  __host__ __device__ static constexpr int64_t at(int p) { return p == 0 ? 0 : at(p - 1) + kStreamUnit * cap(p - 1); }
  static constexpr int64_t bytes = at(4);
};

/// Rows [16 g, 16 g + 16) of a launch's row space, within one job (each
/// job's rows start a new group): its job, first row in the job and rows.
__device__ __forceinline__ void streamGroup(const LinJobs &jobs, int g, int &job, int &r0, int &nr) {
  job = 0, r0 = 0, nr = 0;
  int first = 0;
#pragma unroll
  for (int j = 0; j < 3; ++j) {
    if (j >= jobs.count)
      break;
    const int rows = jobs.start[j + 1] - jobs.start[j], groups = (rows + kStreamUnit - 1) / kStreamUnit;
    if (g < first + groups) {
      job = j, r0 = (g - first) * kStreamUnit, nr = min(kStreamUnit, rows - r0);
      return;
    }
    first += groups;
  }
}
__host__ __device__ __forceinline__ int streamGroups(const LinJobs &jobs) {
  int g = 0;
  for (int j = 0; j < jobs.count; ++j)
    g += (jobs.start[j + 1] - jobs.start[j] + kStreamUnit - 1) / kStreamUnit;
  return g;
}

/// The grid-wide barrier between a chain's phases: every block adds one to
/// a counter that only grows (launch after launch), and waits until the
/// round's last block has added its own.
__device__ unsigned gChainBarrier;
__device__ __forceinline__ void chainBarrier() {
  consumersSync(); // this block's stores are done
  if (threadIdx.x == 0) {
    unsigned old, now;
    asm volatile("atom.add.release.gpu.u32 %0, [%1], 1;" : "=r"(old) : "l"(&gChainBarrier) : "memory");
    const unsigned target = (old / gridDim.x + 1) * gridDim.x;
    do
      asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(now) : "l"(&gChainBarrier) : "memory");
    while (int(now - target) < 0);
  }
  consumersSync();
}

/// The producer warp's copies of a phase's units, from unit index k on.
template <class P>
__device__ __forceinline__ void chainProduce(const P &ph, int &k, uint8_t *ring, int64_t slotBytes, int stages,
                                             uint32_t full, uint32_t empty, uint64_t policy) {
  using G = ChainGeo<P>;
  const int lane = threadIdx.x % 32, groups = streamGroups(ph.jobs);
  for (int g = blockIdx.x; g < groups; g += gridDim.x) {
    int job, r0, nr;
    streamGroup(ph.jobs, g, job, r0, nr);
    const QccCudaWeight &w = job == 0 ? ph.jobs.j[0].w : job == 1 ? ph.jobs.j[1].w : ph.jobs.j[2].w;
    for (int c = 0; c < G::C; ++c, ++k) {
      const int slot = k % stages;
      if (k >= stages)
        mbarWait(empty + 8 * slot, (k / stages - 1) & 1);
      // Lane l copies the planes of local row l (a unit's rows: 32).
      const int r = lane, cols = min(kChunk, P::K - c * kChunk);
      int64_t src[4] = {}, len[4] = {};
      int bytes = 0;
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        const int64_t rb = qccCudaPlaneRowBytes(P::Layout, P::K, p);
        if (!rb || r >= nr || r >= kStreamUnit)
          continue;
        const int64_t a = (r0 + r) * rb + qccCudaPlaneRowBytes(P::Layout, int64_t(c) * kChunk, p);
        const int64_t e = a + qccCudaPlaneRowBytes(P::Layout, cols, p);
        src[p] = a / 16 * 16, len[p] = (e + 15) / 16 * 16 - src[p];
        bytes += int(len[p]);
      }
      bytes = warpSumInt(bytes);
      if (lane == 0)
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(full + 8 * slot), "r"(bytes)
                     : "memory");
      __syncwarp();
      const uint32_t dst = unsigned(__cvta_generic_to_shared(ring + slotBytes * slot));
#pragma unroll
      for (int p = 0; p < 4; ++p)
        if (len[p])
          asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint "
                       "[%0], [%1], %2, [%3], %4;" ::"r"(dst + unsigned(G::at(p) + r * G::cap(p))),
                       "l"(static_cast<const uint8_t *>(w.p[p]) + src[p]), "r"(uint32_t(len[p])),
                       "r"(full + 8 * slot), "l"(policy)
                       : "memory");
    }
  }
}

/// The consumer warps' part of a phase: the input row staged, then each
/// group's chunks in turn, two rows a warp.
template <class P>
__device__ __forceinline__ void chainConsume(const P &ph, int &k, uint8_t *smem, uint8_t *ring, int64_t slotBytes,
                                             int stages, uint32_t full, uint32_t empty, float *part) {
  using G = ChainGeo<P>;
  constexpr int K = P::K, KS = P::KS, NB = K / 32;
  const StreamX<K> xs(smem);
  ph.in.template stage<K>(xs, part);
  consumersSync();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, groups = streamGroups(ph.jobs);
  for (int g = blockIdx.x; g < groups; g += gridDim.x) {
    int job, r0, nr;
    streamGroup(ph.jobs, g, job, r0, nr);
    float pa[KS][kStreamRows] = {};
    for (int c = 0; c < G::C; ++c, ++k) {
      const int slot = k % stages;
      mbarWait(full + 8 * slot, (k / stages) & 1);
      const uint8_t *st = ring + slotBytes * slot;
      QccCudaWeight ws[kStreamRows]; // the rows' planes from the chunk's first block
#pragma unroll
      for (int r = 0; r < kStreamRows; ++r) {
        const int lr = warp * kStreamRows + r;
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          const int64_t rb = qccCudaPlaneRowBytes(P::Layout, K, p);
          ws[r].p[p] = rb ? st + G::at(p) + lr * G::cap(p) +
                                ((r0 + lr) * rb + qccCudaPlaneRowBytes(P::Layout, int64_t(c) * kChunk, p)) % 16
                          : nullptr;
        }
      }
      const int b0 = c * (kChunk / 32), b1 = min(NB, b0 + kChunk / 32);
#pragma unroll
      for (int pt = 0; pt < KS; ++pt)
#pragma unroll 4
        for (int b = b0 + lane + 32 * pt; b < b1; b += 32 * KS) {
          const XBlock xb = xs.get(b);
#pragma unroll
          for (int r = 0; r < kStreamRows; ++r)
            pa[pt][r] += blockDot<P::Layout>(decode<P::Layout>(loadBlock<P::Layout, G::KC, false>(ws[r], 0, b - b0)), xb);
        }
      __syncwarp();
      if (lane == 0)
        mbarArrive(empty + 8 * slot); // this warp is done with the slot
    }
    int64_t row[kStreamRows];
    float v[kStreamRows];
#pragma unroll
    for (int r = 0; r < kStreamRows; ++r) {
      float acc = pa[0][r];
#pragma unroll
      for (int pt = 1; pt < KS; ++pt)
        acc += pa[pt][r];
      row[r] = r0 + warp * kStreamRows + r, v[r] = warpSum(acc);
    }
    if (lane == 0 && warp * kStreamRows < nr)
      ph.out.template store<kStreamRows>(ph.jobs, (ph.jobs.start[job] + int(row[0])) / kStreamRows, row, v);
  }
}

__host__ __device__ constexpr int64_t largest(int64_t a) { return a; }
template <class... T> __host__ __device__ constexpr int64_t largest(int64_t a, T... b) {
  return a > largest(b...) ? a : largest(b...);
}
template <class... P> struct ChainShape {
  static constexpr int64_t slot = largest(ChainGeo<P>::bytes...); ///< a ring slot
  static constexpr int64_t x = largest(StreamX<P::K>::bytes...);  ///< the input row
};

/// Single-token products in one launch, each phase's input computed from
/// the previous phases' outputs (a grid barrier between phases), the
/// weights streaming through `stages` ring slots throughout. One block an
/// SM, all resident (the barrier needs every block).
template <class... P>
__global__ void __launch_bounds__(32 * (kStreamWarps + 1), 1) linearChain(int stages, P... ph) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  using Sh = ChainShape<P...>;
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ float part[kStreamWarps];
  uint8_t *ring = smem + Sh::x;
  const uint32_t full = unsigned(__cvta_generic_to_shared(ring + Sh::slot * stages)), empty = full + 8 * stages;
  const int warp = threadIdx.x / 32;
  if (threadIdx.x == 0) {
    for (int i = 0; i < stages; ++i) {
      asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(full + 8 * i) : "memory");
      asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(empty + 8 * i), "n"(kStreamWarps) : "memory");
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  int k = 0;
  if (warp == kStreamWarps) { // the producer
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    (chainProduce(ph, k, ring, Sh::slot, stages, full, empty, policy), ...);
    return;
  }
  priorDone();
  releaseNext();
  int i = 0;
  auto consume = [&](const auto &p) {
    if (i++)
      chainBarrier(); // the previous phases' outputs are written
    chainConsume(p, k, smem, ring, Sh::slot, stages, full, empty, part);
  };
  (consume(ph), ...);
#endif
}

/// The ring's slots for a chain (at most 8), in the block's shared memory
/// less room for a small kernel beside it.
template <class... P> inline int chainStages() {
  static const int n = [] {
    int dev = 0, optin = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    int64_t budget = int64_t(optin) - 16384;
    if (const char *e = getenv("QCC_CUDA_STREAM_SMEM"))
      budget = atoi(e);
    const int64_t fit = (budget - ChainShape<P...>::x) / (ChainShape<P...>::slot + 16);
    return int(fit < 2 ? 2 : fit > 8 ? 8 : fit);
  }();
  return n;
}

/// Launches a chain of single-token products (linearChain).
template <class... P> inline void launchChain(cudaStream_t s, const P &...ph) {
  using Sh = ChainShape<P...>;
  const int stages = chainStages<P...>();
  const size_t bytes = size_t(Sh::x + Sh::slot * stages + 16 * stages);
  static const bool sized = [&] {
    cudaFuncSetAttribute(linearChain<P...>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
    return true;
  }();
  (void)sized;
  launchShared(linearChain<P...>, dim3(unsigned(smCount())), dim3(32 * (kStreamWarps + 1)), bytes, s, stages, ph...);
}

} // namespace qcc_cuda

__global__ void tick(float *p) {
  priorDone();
  releaseNext();
  if (threadIdx.x == 0)
    p[0] += 1.0f;
}

struct Mat {
  int64_t rows, K;
  QccCudaWeight w;
  size_t bytes;
};

static Mat makeMat(int layout, int64_t rows, int64_t K, std::mt19937 &rng) {
  Mat m{rows, K, {}, 0};
  size_t off[5] = {0};
  for (int p = 0; p < 4; ++p)
    off[p + 1] = off[p] + (size_t(rows * qccCudaPlaneRowBytes(layout, K, p)) + 255) / 256 * 256;
  // One host pattern a shape (the copies differ in address, which is what
  // the timing needs): random codes, small positive half scales.
  static std::map<std::pair<int64_t, int64_t>, std::vector<uint8_t>> cache;
  std::vector<uint8_t> &h = cache[{rows, K}];
  if (h.empty()) {
    h.resize(off[4]);
    uint64_t st = rng() | 1;
    for (size_t i = 0; i + 8 <= h.size(); i += 8) {
      st ^= st << 13, st ^= st >> 7, st ^= st << 17;
      memcpy(&h[i], &st, 8);
    }
    const int sp = layout == QCC_CUDA_Q4_K ? 2 : 1;
    const int64_t n = (off[sp + 1] - off[sp]) / 2;
    uint16_t *s = reinterpret_cast<uint16_t *>(h.data() + off[sp]);
    for (int64_t i = 0; i < n; ++i) {
      __half v = __float2half(0.001f + 0.001f * float(rng() % 1000) / 1000.0f);
      s[i] = *reinterpret_cast<uint16_t *>(&v);
    }
  }
  uint8_t *d;
  CHECK(cudaMalloc(&d, off[4]));
  CHECK(cudaMemcpy(d, h.data(), off[4], cudaMemcpyHostToDevice));
  for (int p = 0; p < 4; ++p)
    m.w.p[p] = qccCudaPlaneRowBytes(layout, K, p) ? d + off[p] : nullptr;
  m.bytes = 0;
  for (int p = 0; p < 4; ++p)
    m.bytes += size_t(rows * qccCudaPlaneRowBytes(layout, K, p));
  return m;
}

static Q8Act makeX(int64_t K, std::mt19937 &rng) {
  std::vector<int8_t> q(K), l(K);
  std::vector<float2> ds(K / 32);
  for (auto &v : q)
    v = int8_t(int(rng() % 255) - 127);
  for (auto &v : l)
    v = int8_t(int(rng() % 255) - 127);
  for (auto &v : ds)
    v = make_float2(0.01f * float(1 + rng() % 100) / 100.0f, float(int(rng() % 2001) - 1000) * 0.01f);
  Q8Act a;
  CHECK(cudaMalloc(&a.q, K));
  CHECK(cudaMalloc(&a.l, K));
  CHECK(cudaMalloc(&a.ds, K / 32 * 8));
  CHECK(cudaMemcpy(a.q, q.data(), K, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(a.l, l.data(), K, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(a.ds, ds.data(), K / 32 * 8, cudaMemcpyHostToDevice));
  return a;
}

static LinJobs jobsOf(std::initializer_list<const Mat *> ms, float *out, const float *add) {
  LinJobs J{};
  J.count = int(ms.size());
  int i = 0, start = 0;
  for (const Mat *m : ms) {
    J.j[i] = LinJob{m->w, out + start, add ? add + start : nullptr, nullptr, m->rows};
    J.start[i] = start;
    start += int(m->rows);
    ++i;
  }
  J.start[i] = start;
  return J;
}

constexpr int kLayers = 32;

template <int Layout> struct Model {
  std::vector<Mat> q, k, v, o, g, u, d;
  size_t bytes = 0;
  void make(std::mt19937 &rng) {
    for (int l = 0; l < kLayers; ++l) {
      q.push_back(makeMat(Layout, 4096, 4096, rng)), k.push_back(makeMat(Layout, 4096, 4096, rng));
      v.push_back(makeMat(Layout, 4096, 4096, rng)), o.push_back(makeMat(Layout, 4096, 4096, rng));
      g.push_back(makeMat(Layout, 11008, 4096, rng)), u.push_back(makeMat(Layout, 11008, 4096, rng));
      d.push_back(makeMat(Layout, 4096, 11008, rng));
      bytes += q.back().bytes * 4 + g.back().bytes * 2 + d.back().bytes;
    }
  }
};

int main(int argc, char **argv) {
  int dev = 0;
  CHECK(cudaSetDevice(dev));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, dev));
  std::mt19937 rng(1);
  constexpr int L = QCC_CUDA_Q4_G128;
  Model<L> m;
  m.make(rng);
  Q8Act x4 = makeX(4096, rng), xa = makeX(4096, rng), x11 = makeX(11008, rng);
  float *bo, *bgu, *bd, *bqkv, *res, *dummy, *nw, *nw2;
  for (float **b : {&bo, &bgu, &bd, &bqkv, &res})
    CHECK(cudaMalloc(b, 22016 * 4));
  CHECK(cudaMalloc(&nw, 4096 * 4));
  CHECK(cudaMalloc(&nw2, 4096 * 4));
  CHECK(cudaMalloc(&dummy, 4));
  {
    std::vector<float> h(22016);
    for (auto &v : h)
      v = float(int(rng() % 2000) - 1000) * 0.001f;
    CHECK(cudaMemcpy(res, h.data(), 22016 * 4, cudaMemcpyHostToDevice));
    for (auto &v : h)
      v = 0.5f + float(rng() % 1000) * 0.001f;
    CHECK(cudaMemcpy(nw, h.data(), 4096 * 4, cudaMemcpyHostToDevice));
    for (auto &v : h)
      v = 0.3f + float(rng() % 1000) * 0.001f;
    CHECK(cudaMemcpy(nw2, h.data(), 4096 * 4, cudaMemcpyHostToDevice));
  }
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  const float eps = 1e-5f;
  auto tk = [&] { launch(tick, dim3(1), dim3(32), s, dummy); };
  // Layer l's products: o (x4 + residual res) -> bo; gate/up of
  // norm(bo) -> bgu; down of swiglu(bgu) + bo -> bd; q/k/v of layer l + 1
  // from norm(bd) -> bqkv.
  auto jo = [&](int l) { return jobsOf({&m.o[l]}, bo, res); };
  auto jg = [&](int l) { return jobsOf({&m.g[l], &m.u[l]}, bgu, nullptr); };
  auto jd = [&](int l) { return jobsOf({&m.d[l]}, bd, bo); };
  auto jq = [&](int l) { return jobsOf({&m.q[l % kLayers], &m.k[l % kLayers], &m.v[l % kLayers]}, bqkv, nullptr); };
  auto oldLayer = [&](int l) {
    launchVec<L, 4096, 2, 4>(jo(l), Q8In{x4}, RowsOut{}, s);
    launch(rmsNorm<4096>, rowGrid(1, 4096), kRowThreads, s, bo, nw, eps, nullptr, xa);
    launchVec<L, 4096, 2, 2>(jg(l), Q8In{xa}, RowsOut{}, s);
    launch(swiglu<11008>, rowGrid(1, 11008), kRowThreads, s, bgu, bgu + 11008, nullptr, x11);
    launchVec<L, 11008, 2, 4>(jd(l), Q8In{x11}, RowsOut{}, s);
    launch(rmsNorm<4096>, rowGrid(1, 4096), kRowThreads, s, bd, nw2, eps, nullptr, xa);
    launchVec<L, 4096, 2, 4>(jq(l + 1), Q8In{xa}, RowsOut{}, s);
  };
  auto po = [&](int l) { return phase<L, 4096, 4>(jo(l), Q8Stream{x4}, RowsOut{}); };
  auto pg = [&](int l) { return phase<L, 4096, 2>(jg(l), NormIn{bo, nw, eps}, RowsOut{}); };
  auto pd = [&](int l) { return phase<L, 11008, 4>(jd(l), SwiGLUIn{bgu, bgu + 11008}, RowsOut{}); };
  auto pq = [&](int l) { return phase<L, 4096, 4>(jq(l + 1), NormIn{bd, nw2, eps}, RowsOut{}); };
  auto chainLayer = [&](int l) { launchChain(s, po(l), pg(l), pd(l), pq(l)); };
  auto splitLayer = [&](int l) { // one launch a product, the norms and SwiGLU staged
    launchChain(s, po(l));
    launchChain(s, pg(l));
    launchChain(s, pd(l));
    launchChain(s, pq(l));
  };
  auto q8Layer = [&](int l) { // one launch a product, the norm and SwiGLU launches kept
    launchChain(s, po(l));
    launch(rmsNorm<4096>, rowGrid(1, 4096), kRowThreads, s, bo, nw, eps, nullptr, xa);
    launchChain(s, phase<L, 4096, 2>(jg(l), Q8Stream{xa}, RowsOut{}));
    launch(swiglu<11008>, rowGrid(1, 11008), kRowThreads, s, bgu, bgu + 11008, nullptr, x11);
    launchChain(s, phase<L, 11008, 4>(jd(l), Q8Stream{x11}, RowsOut{}));
    launch(rmsNorm<4096>, rowGrid(1, 4096), kRowThreads, s, bd, nw2, eps, nullptr, xa);
    launchChain(s, phase<L, 4096, 4>(jq(l + 1), Q8Stream{xa}, RowsOut{}));
  };
  printf("device %s, %d SMs; ring slots %d\n", prop.name, prop.multiProcessorCount,
         chainStages<decltype(po(0)), decltype(pg(0)), decltype(pd(0)), decltype(pq(0))>());

  // Bit equality of every output against the launches of today.
  {
    std::vector<float> ref[4], got(22016);
    float *bufs[4] = {bo, bgu, bd, bqkv};
    const int rows[4] = {4096, 22016, 4096, 12288};
    auto grab = [&](std::vector<float> *dst) {
      CHECK(cudaStreamSynchronize(s));
      CHECK(cudaGetLastError());
      for (int i = 0; i < 4; ++i) {
        dst[i].resize(rows[i]);
        CHECK(cudaMemcpy(dst[i].data(), bufs[i], rows[i] * 4, cudaMemcpyDeviceToHost));
        CHECK(cudaMemset(bufs[i], 0, rows[i] * 4));
      }
    };
    oldLayer(3);
    grab(ref);
    const char *vn[3] = {"one chain", "a launch a phase", "q8 inputs"};
    for (int v = 0; v < 3; ++v) {
      std::vector<float> out[4];
      if (v == 0) chainLayer(3);
      if (v == 1) splitLayer(3);
      if (v == 2) q8Layer(3);
      grab(out);
      int bad = 0;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < rows[i]; ++j)
          bad += out[i][j] != ref[i][j];
      printf("check %-18s: %d of 42496 outputs differ from linearVec and the launches\n", vn[v], bad);
    }
  }

  cudaEvent_t e0, e1;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreate(&e1));
  const int reps = argc > 1 ? atoi(argv[1]) : 20;
  auto timeGraph = [&](auto body) {
    cudaGraph_t g;
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    body();
    CHECK(cudaStreamEndCapture(s, &g));
    cudaGraphExec_t ge;
    CHECK(cudaGraphInstantiate(&ge, g, 0));
    CHECK(cudaGraphLaunch(ge, s));
    CHECK(cudaStreamSynchronize(s));
    CHECK(cudaGetLastError());
    std::vector<float> t;
    for (int r = 0; r < reps; ++r) {
      CHECK(cudaEventRecord(e0, s));
      CHECK(cudaGraphLaunch(ge, s));
      CHECK(cudaEventRecord(e1, s));
      CHECK(cudaEventSynchronize(e1));
      float ms;
      CHECK(cudaEventElapsedTime(&ms, e0, e1));
      t.push_back(ms);
    }
    CHECK(cudaGraphExecDestroy(ge));
    CHECK(cudaGraphDestroy(g));
    std::sort(t.begin(), t.end());
    return double(t[t.size() / 2]);
  };
  const char *names[5] = {"launches + linearVec", "one chain a layer", "a launch a phase", "launches + q8 phases",
                          "one chain, q8 inputs"};
  for (int pass = 0; pass < 2; ++pass)
    for (int var = 0; var < 5; ++var) {
      const double ms = timeGraph([&] {
        for (int l = 0; l < kLayers; ++l) {
          if (var == 0) oldLayer(l);
          if (var == 1) chainLayer(l);
          if (var == 2) splitLayer(l);
          if (var == 3) q8Layer(l);
          if (var == 4)
            launchChain(s, po(l), phase<L, 4096, 2>(jg(l), Q8Stream{xa}, RowsOut{}),
                        phase<L, 11008, 4>(jd(l), Q8Stream{x11}, RowsOut{}),
                        phase<L, 4096, 4>(jq(l + 1), Q8Stream{xa}, RowsOut{}));
          tk(); // the attention's place
        }
      });
      printf("pass %d %-22s: %.1f us a layer, %.0f GB/s of weights, %.0f tok/s for these launches alone\n", pass,
             names[var], 1000 * ms / kLayers, m.bytes / ms / 1e6, 1000 / ms);
    }
  // A phase's staging alone: 32 launches of a 16-row job, by input.
  {
    Mat small = makeMat(L, 16, 4096, rng), small11 = makeMat(L, 16, 11008, rng);
    LinJobs j4 = jobsOf({&small}, bo, nullptr), j11 = jobsOf({&small11}, bd, nullptr);
    const char *in[8] = {"q8 K=4096", "norm K=4096", "q8 K=11008", "swiglu K=11008", "linearVec K=4096",
                         "swiglu, moderate", "rmsNorm kernel", "swiglu kernel"};
    for (int v = 0; v < 8; ++v) {
      if (v == 5) {
        std::vector<float> h(22016);
        for (auto &x : h)
          x = float(int(rng() % 2000) - 1000) * 0.004f;
        CHECK(cudaMemcpy(bgu, h.data(), 22016 * 4, cudaMemcpyHostToDevice));
      }
      const double ms = timeGraph([&] {
        for (int l = 0; l < kLayers; ++l) {
          if (v == 0) launchChain(s, phase<L, 4096, 4>(j4, Q8Stream{x4}, RowsOut{}));
          if (v == 1) launchChain(s, phase<L, 4096, 4>(j4, NormIn{bo + 4096, nw, eps}, RowsOut{}));
          if (v == 2) launchChain(s, phase<L, 11008, 4>(j11, Q8Stream{x11}, RowsOut{}));
          if (v == 3) launchChain(s, phase<L, 11008, 4>(j11, SwiGLUIn{bgu, bgu + 11008}, RowsOut{}));
          if (v == 4) launchVec<L, 4096, 2, 4>(j4, Q8In{x4}, RowsOut{}, s);
          if (v == 5) launchChain(s, phase<L, 11008, 4>(j11, SwiGLUIn{bgu, bgu + 11008}, RowsOut{}));
          if (v == 6) launch(rmsNorm<4096>, rowGrid(1, 4096), kRowThreads, s, bo, nw, eps, nullptr, xa);
          if (v == 7) launch(swiglu<11008>, rowGrid(1, 11008), kRowThreads, s, bgu, bgu + 11008, nullptr, x11);
        }
      });
      printf("a 16-row launch, %-16s: %.2f us\n", in[v], 1000 * ms / kLayers);
    }
    const double ms = timeGraph([&] {
      for (int l = 0; l < kLayers; ++l)
        launchChain(s, phase<L, 4096, 4>(j4, Q8Stream{x4}, RowsOut{}), phase<L, 4096, 4>(j4, Q8Stream{x4}, RowsOut{}));
    });
    printf("a chain of two 16-row phases (one barrier): %.2f us\n", 1000 * ms / kLayers);
  }
  return 0;
}
