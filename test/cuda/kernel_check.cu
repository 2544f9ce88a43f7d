//===- kernel_check.cu - the CUDA products and attention against host oracles -===//
//
// qcc-cuda-kernel-check (built by CI where nvcc is, run by device_suite.sh on
// a GPU). The products: for each layout the kernels read, a matrix of random weights in
// that layout (ggml blocks converted to the device planes by Layout.cpp) at
// 7B-like sizes and at an awkward one (K = 1376: 43 blocks of 32, so the
// batched product's chunks of four end in a partial one; rows not a
// multiple of 32), times random activations of n tokens through
// launchLinear, for every n that picks a different kernel or grid:
// 1 (linearVec, K split in qccCudaKParts parts), 2-5 (linearRows), 6-64
// (linearHalfBatch: 8- and 16-token tiles, 8 or 16 warps, several token
// columns) and prompts (linearHalf, K split or not). The oracle is the
// planes' values (planeValue) times the float activations in double; a
// kernel passes where every sampled output is within 3e-3 of the sum of
// |w x| over its row (the activations' 15-bit or half rounding and the
// weights' half rounding stay below 1e-3 of it; a weight or token taken from
// the wrong place is off by the order of the sum itself). The decoding
// attention: random q and half caches at positions that take one part of
// the keys, several, or all, against the softmax in double (checkAttention).
// Prints one line a case and "N passed, M failed"; exits 1 on a failure.
//
//===----------------------------------------------------------------------===//
#define QCC_CUDA_PDL 1 // as the generated models are built (EmitCUDA.cpp)
#include "runtime/cuda/Kernels.cuh"
#include "test/cuda/kernel_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

using namespace qcc_cuda;

namespace {

int passed = 0, failed = 0;

#define CHECK_CUDA(x)                                                                                              \
  do {                                                                                                             \
    cudaError_t e_ = (x);                                                                                          \
    if (e_ != cudaSuccess) {                                                                                       \
      std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__);              \
      std::exit(2);                                                                                                \
    }                                                                                                              \
  } while (0)

/// A rows x K matrix of random weights in `layout`, on the host and the device.
struct Matrix {
  int layout;
  int64_t rows, K;
  std::vector<uint8_t> host[4];
  void *dev[4] = {nullptr, nullptr, nullptr, nullptr};

  Matrix(int layout, int64_t rows, int64_t K, unsigned seed) : layout(layout), rows(rows), K(K) {
    randomPlanes(layout, rows, K, seed, host);
    for (int p = 0; p < 4; ++p)
      if (!host[p].empty()) {
        CHECK_CUDA(cudaMalloc(&dev[p], host[p].size()));
        CHECK_CUDA(cudaMemcpy(dev[p], host[p].data(), host[p].size(), cudaMemcpyHostToDevice));
      }
  }
  ~Matrix() {
    for (void *p : dev)
      if (p)
        cudaFree(p);
  }
  /// Row r's weights as the planes encode them.
  std::vector<double> row(int64_t r) const {
    std::vector<double> v(static_cast<size_t>(K));
    planeRow(layout, host, K, r, v.data());
    return v;
  }
};

/// launchLinear<Layout, K, KS> of m over n random tokens, against the oracle.
template <int Layout, int K, int KS> void check(const Matrix &m, int n, std::mt19937 &rng, cudaStream_t s) {
  const int64_t rows = m.rows;
  // Activations: normal, with a few large channels, as a norm's output has.
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(n) * K);
  for (int t = 0; t < n; ++t)
    for (int k = 0; k < K; ++k)
      x[size_t(t) * K + k] = nd(rng) * (k % 97 == 5 ? 20.0f : 1.0f);
  float *dx, *dout, *hscale, *hpart;
  int8_t *q, *l;
  float2 *ds;
  __half *hxx;
  const int64_t partCap = int64_t(n) * rows;
  CHECK_CUDA(cudaMalloc(&dx, x.size() * 4));
  CHECK_CUDA(cudaMalloc(&dout, size_t(n) * rows * 4));
  CHECK_CUDA(cudaMalloc(&q, x.size()));
  CHECK_CUDA(cudaMalloc(&l, x.size()));
  CHECK_CUDA(cudaMalloc(&ds, x.size() / 32 * sizeof(float2)));
  CHECK_CUDA(cudaMalloc(&hxx, x.size() * 2));
  CHECK_CUDA(cudaMalloc(&hscale, size_t(n) * 4));
  CHECK_CUDA(cudaMalloc(&hpart, size_t(kHalfSplit) * partCap * 4));
  CHECK_CUDA(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemset(dout, 0xFF, size_t(n) * rows * 4)); // NaN where nothing is written
  const Q8Act xq{q, l, ds};
  launch(quantizeRows<K>, rowGrid(n, K), kRowThreads, s, static_cast<const float *>(dx), xq);
  LinJobs jobs{};
  jobs.count = 1;
  jobs.start[0] = 0, jobs.start[1] = int(rows);
  jobs.j[0].w = QccCudaWeight{{m.dev[0], m.dev[1], m.dev[2], m.dev[3]}};
  jobs.j[0].out = dout;
  jobs.j[0].ldo = rows;
  launchLinear<Layout, K, KS>(jobs, xq, nullptr, HalfRows{hxx, hscale, hpart, partCap}, n, s);
  CHECK_CUDA(cudaStreamSynchronize(s));
  CHECK_CUDA(cudaGetLastError());
  std::vector<float> out(size_t(n) * rows);
  CHECK_CUDA(cudaMemcpy(out.data(), dout, out.size() * 4, cudaMemcpyDeviceToHost));
  // Sampled rows: a prime stride, and the last two tiles whole.
  double worst = 0.0;
  int64_t worstRow = -1;
  int worstTok = -1;
  for (int64_t r = 0; r < rows; r += (r + 64 >= rows ? 1 : 37)) {
    const std::vector<double> w = m.row(r);
    for (int t = 0; t < n; ++t) {
      double ref = 0.0, mag = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double p = w[size_t(k)] * double(x[size_t(t) * K + size_t(k)]);
        ref += p, mag += std::fabs(p);
      }
      const double got = out[size_t(t) * rows + size_t(r)];
      const double e = std::isfinite(got) ? std::fabs(got - ref) / (mag + 1e-30) : INFINITY;
      if (!(e <= worst)) // NaN-safe
        worst = e, worstRow = r, worstTok = t;
    }
  }
  const bool ok = worst <= 3e-3;
  (ok ? passed : failed)++;
  std::printf("%s: layout %d, %lld x %d, KS %d, %d tokens: worst error %.2e of sum |w x| (row %lld, token %d)\n",
              ok ? "PASS" : "FAIL", Layout, (long long)rows, K, KS, n, worst, (long long)worstRow, worstTok);
  cudaFree(dx), cudaFree(dout), cudaFree(q), cudaFree(l), cudaFree(ds), cudaFree(hxx), cudaFree(hscale),
      cudaFree(hpart);
}

/// Every token count that picks its own kernel or grid, with the parts of K
/// the generated code gives this launch (qccCudaKParts, EmitCUDA.cpp).
template <int Layout, int K> void checkAll(int64_t rows, std::mt19937 &rng, cudaStream_t s) {
  const Matrix m(Layout, rows, K, unsigned(rng()));
  const int ks = qccCudaKParts(rows, K);
  for (int n : {1, 3, 6, 8, 13, 16, 40, 64, 65, 130}) {
    if (ks == 4)
      check<Layout, K, 4>(m, n, rng, s);
    else if (ks == 2)
      check<Layout, K, 2>(m, n, rng, s);
    else
      check<Layout, K, 1>(m, n, rng, s);
  }
}

/// A decoding step's attention (launchAttention below kPromptTokens tokens:
/// attentionSplit, keys in parts past kAttnSplitKeys) of tokens at
/// `positions` (token i of sequence i, GQA H / KV, a sliding window or none)
/// against softmax(q k / sqrt(HD)) v in double over the half caches; run
/// twice, as a graph replays a step (the parts' counters must be back at
/// zero).
template <int H, int KV, int HD>
void checkAttention(const std::vector<int> &positions, int64_t window, std::mt19937 &rng, cudaStream_t s) {
  const int n = int(positions.size());
  int64_t maxCtx = 0;
  for (int p : positions)
    maxCtx = std::max<int64_t>(maxCtx, p + 1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(size_t(n) * H * HD);
  for (float &v : q)
    v = nd(rng);
  const size_t cacheElems = size_t(n) * KV * maxCtx * HD;
  std::vector<__half> kc(cacheElems), vc(cacheElems);
  for (size_t i = 0; i < cacheElems; ++i)
    kc[i] = __float2half(nd(rng)), vc[i] = __float2half(nd(rng));
  std::vector<int32_t> pos(positions.begin(), positions.end()), seq(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    seq[size_t(i)] = i;
  float *dq, *dout;
  __half *dk, *dv;
  int32_t *dpos, *dseq;
  CHECK_CUDA(cudaMalloc(&dq, q.size() * 4));
  CHECK_CUDA(cudaMalloc(&dout, q.size() * 4));
  CHECK_CUDA(cudaMalloc(&dk, cacheElems * 2));
  CHECK_CUDA(cudaMalloc(&dv, cacheElems * 2));
  CHECK_CUDA(cudaMalloc(&dpos, size_t(n) * 4));
  CHECK_CUDA(cudaMalloc(&dseq, size_t(n) * 4));
  CHECK_CUDA(cudaMemcpy(dq, q.data(), q.size() * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dk, kc.data(), cacheElems * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dv, vc.data(), cacheElems * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dpos, pos.data(), size_t(n) * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dseq, seq.data(), size_t(n) * 4, cudaMemcpyHostToDevice));
  const float scale = 1.0f / std::sqrt(float(HD));
  std::vector<float> runs[2];
  for (auto &out : runs) {
    CHECK_CUDA(cudaMemset(dout, 0xFF, q.size() * 4));
    launchAttention<H, KV, HD>(dq, dk, dv, dout, dpos, dseq, maxCtx, scale, window, Q8Act{}, n, s);
    CHECK_CUDA(cudaStreamSynchronize(s));
    CHECK_CUDA(cudaGetLastError());
    out.resize(q.size());
    CHECK_CUDA(cudaMemcpy(out.data(), dout, q.size() * 4, cudaMemcpyDeviceToHost));
  }
  double worst = 0.0;
  for (int t = 0; t < n; ++t)
    for (int h = 0; h < H; ++h) {
      const int g = h / (H / KV);
      const int64_t p = pos[size_t(t)], first = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
      const __half *kb = &kc[(size_t(t) * KV + g) * maxCtx * HD], *vb = &vc[(size_t(t) * KV + g) * maxCtx * HD];
      std::vector<double> w(size_t(p - first + 1));
      double mx = -INFINITY, sum = 0.0;
      for (int64_t j = first; j <= p; ++j) {
        double d = 0.0;
        for (int e = 0; e < HD; ++e)
          d += double(q[(size_t(t) * H + h) * HD + e]) * double(__half2float(kb[j * HD + e]));
        w[size_t(j - first)] = d * scale, mx = std::max(mx, d * scale);
      }
      for (double &v : w)
        v = std::exp(v - mx), sum += v;
      for (int e = 0; e < HD; ++e) {
        double o = 0.0;
        for (int64_t j = first; j <= p; ++j)
          o += w[size_t(j - first)] * double(__half2float(vb[j * HD + e]));
        o /= sum;
        for (const auto &out : runs) {
          const double got = out[(size_t(t) * H + h) * HD + e];
          const double err = std::isfinite(got) ? std::fabs(got - o) : INFINITY;
          if (!(err <= worst))
            worst = err;
        }
      }
    }
  const bool ok = worst <= 1e-3 && runs[0] == runs[1];
  (ok ? passed : failed)++;
  std::printf("%s: attention H %d, KV %d, HD %d, window %lld, positions", ok ? "PASS" : "FAIL", H, KV, HD,
              (long long)window);
  for (int p : positions)
    std::printf(" %d", p);
  std::printf(": worst error %.2e (values ~1), %s twice\n", worst, runs[0] == runs[1] ? "the same bits" : "NOT the same");
  cudaFree(dq), cudaFree(dout), cudaFree(dk), cudaFree(dv), cudaFree(dpos), cudaFree(dseq);
}

} // namespace

int main() {
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) {
    std::fprintf(stderr, "qcc-cuda-kernel-check: no CUDA device\n");
    return 2;
  }
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreate(&s));
  std::mt19937 rng(7);
  // 7B-like: 8480 rows (more 32-row tiles than two an SM: 8 warps a batched
  // tile) and 4136 (fewer: 16 warps; a partial last tile), K = 4096 (K split
  // in 4 for one token); K = 1376 (43 blocks: a partial chunk; no split).
  checkAll<QCC_CUDA_Q4_0, 4096>(8480, rng, s);
  checkAll<QCC_CUDA_Q4_G128, 4096>(4136, rng, s);
  checkAll<QCC_CUDA_Q4_1_G128, 4096>(8480, rng, s);
  checkAll<QCC_CUDA_Q4_K, 4096>(4136, rng, s);
  checkAll<QCC_CUDA_Q6_K, 4096>(4136, rng, s);
  checkAll<QCC_CUDA_Q4_0, 1376>(4136, rng, s);
  checkAll<QCC_CUDA_Q4_1, 1376>(4136, rng, s);
  checkAll<QCC_CUDA_Q8_0, 1376>(4136, rng, s);
  // Decoding attention: one part (short), a few, all kAttnMaxSplits, a
  // partial last part; a batch of tokens at different positions; GQA; a
  // sliding window that starts past 0.
  checkAttention<32, 8, 128>({5}, 0, rng, s);
  checkAttention<32, 8, 128>({700}, 0, rng, s);
  checkAttention<32, 8, 128>({4321}, 0, rng, s);
  checkAttention<32, 8, 128>({0, 255, 256, 1999, 3000, 77}, 0, rng, s);
  checkAttention<32, 8, 128>({3000, 1500}, 1024, rng, s);
  checkAttention<8, 4, 64>({2500, 9, 600}, 0, rng, s);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
