//===- linear_check.cu - every quantized product kernel against a host oracle -===//
//
// qcc-cuda-linear-check (built by CI where nvcc is, run by device_suite.sh on
// a GPU): for each layout the kernels read, a matrix of random weights in
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
// the wrong place is off by the order of the sum itself). Prints one line a
// case and "N passed, M failed"; exits 1 on a failure.
//
//===----------------------------------------------------------------------===//
#define QCC_CUDA_PDL 1 // as the generated models are built (EmitCUDA.cpp)
#include "runtime/cuda/Kernels.cuh"
#include "test/cuda/linear_check.h"

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

} // namespace

int main() {
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) {
    std::fprintf(stderr, "qcc-cuda-linear-check: no CUDA device\n");
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
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
