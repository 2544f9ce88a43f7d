//===- kernel_check.cu - the CUDA products and attention against host oracles -===//
//
// qcc-cuda-kernel-check (built by CI where nvcc is, run by device_suite.sh on
// a GPU). The products: for each layout the kernels read, a matrix of random weights in
// that layout (ggml blocks converted to the device planes by Layout.cpp) at
// 7B-like sizes and at an awkward one (K = 1376: 43 blocks of 32, so the
// batched product's chunks of four end in a partial one; rows not a
// multiple of 32), times random activations of n tokens through
// launchLinear, for every n that picks a different kernel or grid:
// 1 (linearVec, K split in qccCudaKParts parts), 2-5 (linearVec a token
// count, whose every token must also give the bits of its run alone), 6-64
// (linearHalfBatch: 8- and 16-token tiles, 8 or 16 warps, several token
// columns) and prompts, K split or not (linearWgmma where K is an even
// number of blocks of 32, linearHalf where it is odd, and everywhere when
// the environment sets QCC_CUDA_WGMMA=0: device_suite.sh runs both). The oracle is the
// planes' values (planeValue) times the float activations in double; a
// kernel passes where every sampled output is within 3e-3 of the sum of
// |w x| over its row (the activations' 15-bit or half rounding and the
// weights' half rounding stay below 1e-3 of it; a weight or token taken from
// the wrong place is off by the order of the sum itself). The decoding
// attention: random q and half caches at positions that take one part of
// the keys, several, or all, and prompts, over F16 and FP8 caches, against
// the softmax in double (checkAttention); the RoPE and cache append against
// RoPE in double and the elements' rounding (checkAppend).
// Prints one line a case and "N passed, M failed"; exits 1 on a failure.
//
//===----------------------------------------------------------------------===//
#define QCC_CUDA_PDL 1 // as the generated models are built for sm_90a (EmitCUDA.cpp)
#define QCC_CUDA_WGMMA 1 // likewise
#include "runtime/cuda/Kernels.cuh"
#include "test/cuda/kernel_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <type_traits>
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
  // 2-5 tokens: the last one alone (the single-token product) gives the
  // same bits, as a sequence must alone and in a small batch.
  int64_t differ = 0;
  if (n > 1 && n < kMinSplitTokens) {
    float *d1;
    CHECK_CUDA(cudaMalloc(&d1, size_t(rows) * 4));
    LinJobs j1 = jobs;
    j1.j[0].out = d1;
    launchLinear<Layout, K, KS>(j1, rowsFrom(xq, K, n - 1), nullptr, HalfRows{hxx, hscale, hpart, partCap}, 1, s);
    CHECK_CUDA(cudaStreamSynchronize(s));
    CHECK_CUDA(cudaGetLastError());
    std::vector<float> alone(static_cast<size_t>(rows));
    CHECK_CUDA(cudaMemcpy(alone.data(), d1, alone.size() * 4, cudaMemcpyDeviceToHost));
    for (int64_t r = 0; r < rows; ++r)
      differ += std::memcmp(&alone[size_t(r)], &out[size_t(n - 1) * rows + size_t(r)], 4) != 0;
    cudaFree(d1);
  }
  const bool ok = worst <= 3e-3 && differ == 0;
  (ok ? passed : failed)++;
  std::printf("%s: layout %d, %lld x %d, KS %d, %d tokens: worst error %.2e of sum |w x| (row %lld, token %d)%s\n",
              ok ? "PASS" : "FAIL", Layout, (long long)rows, K, KS, n, worst, (long long)worstRow, worstTok,
              n > 1 && n < kMinSplitTokens
                  ? (differ ? "; the last token differs from its run alone" : "; the last token's bits as alone")
                  : "");
  if (differ)
    std::printf("  %lld of %lld rows differ\n", (long long)differ, (long long)rows);
  cudaFree(dx), cudaFree(dout), cudaFree(q), cudaFree(l), cudaFree(ds), cudaFree(hxx), cudaFree(hscale),
      cudaFree(hpart);
}

/// One token's gate/up product with SwiGLU in the launch (SwigluOut, and
/// launchSwiglu, which picks it where its blocks fit) against the product
/// and the SwiGLU launch apart (RowsOut, swiglu): the float rows and the q8
/// planes bit for bit, twice (as a graph replays a step); the rows also
/// within 3e-3 of silu(g) u in double over the planes' values, g and u from
/// the oracle.
template <int Layout, int K, int D, int KS> void checkSwiglu(std::mt19937 &rng, cudaStream_t s) {
  const Matrix gate(Layout, D, K, unsigned(rng())), up(Layout, D, K, unsigned(rng()));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(K);
  for (int k = 0; k < K; ++k)
    x[size_t(k)] = nd(rng) * (k % 97 == 5 ? 20.0f : 1.0f);
  float *dx, *g, *u, *h[3];
  int8_t *q[3], *l[3];
  float2 *ds[3];
  int8_t *xqq, *xql;
  float2 *xds;
  CHECK_CUDA(cudaMalloc(&dx, K * 4));
  CHECK_CUDA(cudaMalloc(&xqq, K));
  CHECK_CUDA(cudaMalloc(&xql, K));
  CHECK_CUDA(cudaMalloc(&xds, K / 32 * sizeof(float2)));
  CHECK_CUDA(cudaMalloc(&g, D * 4));
  CHECK_CUDA(cudaMalloc(&u, D * 4));
  for (int i = 0; i < 3; ++i) {
    CHECK_CUDA(cudaMalloc(&h[i], D * 4));
    CHECK_CUDA(cudaMalloc(&q[i], D));
    CHECK_CUDA(cudaMalloc(&l[i], D));
    CHECK_CUDA(cudaMalloc(&ds[i], D / 32 * sizeof(float2)));
    CHECK_CUDA(cudaMemset(h[i], 0xFF, D * 4));
    CHECK_CUDA(cudaMemset(ds[i], 0xFF, D / 32 * sizeof(float2)));
  }
  CHECK_CUDA(cudaMemcpy(dx, x.data(), K * 4, cudaMemcpyHostToDevice));
  const Q8Act xq{xqq, xql, xds};
  launch(quantizeRows<K>, rowGrid(1, K), kRowThreads, s, static_cast<const float *>(dx), xq);
  LinJobs jobs{};
  jobs.count = 2;
  jobs.start[0] = 0, jobs.start[1] = D, jobs.start[2] = 2 * D;
  jobs.j[0] = LinJob{QccCudaWeight{{gate.dev[0], gate.dev[1], gate.dev[2], gate.dev[3]}}, g, nullptr, nullptr, D};
  jobs.j[1] = LinJob{QccCudaWeight{{up.dev[0], up.dev[1], up.dev[2], up.dev[3]}}, u, nullptr, nullptr, D};
  // Apart; in one launch (twice); through launchSwiglu.
  launchVec<Layout, K, rowsPerWarp<Layout>(1), KS>(jobs, Q8In{xq}, RowsOut{}, s);
  launch(swiglu<D>, rowGrid(1, D), kRowThreads, s, static_cast<const float *>(g), static_cast<const float *>(u), h[0],
         Q8Act{q[0], l[0], ds[0]});
  for (int rep = 0; rep < 2; ++rep)
    launchVec<Layout, K, 2, KS>(jobs, Q8In{xq}, SwigluOut<D>{h[1], Q8Act{q[1], l[1], ds[1]}, 0}, s);
  launchSwiglu<Layout, K, KS, D>(jobs, xq, h[2], Q8Act{q[2], l[2], ds[2]}, s, L2Ahead{});
  CHECK_CUDA(cudaStreamSynchronize(s));
  CHECK_CUDA(cudaGetLastError());
  std::vector<float> hv[3];
  std::vector<int8_t> qv[3], lv[3];
  std::vector<float2> dv[3];
  for (int i = 0; i < 3; ++i) {
    hv[i].resize(D), qv[i].resize(D), lv[i].resize(D), dv[i].resize(D / 32);
    CHECK_CUDA(cudaMemcpy(hv[i].data(), h[i], D * 4, cudaMemcpyDeviceToHost));
    CHECK_CUDA(cudaMemcpy(qv[i].data(), q[i], D, cudaMemcpyDeviceToHost));
    CHECK_CUDA(cudaMemcpy(lv[i].data(), l[i], D, cudaMemcpyDeviceToHost));
    CHECK_CUDA(cudaMemcpy(dv[i].data(), ds[i], D / 32 * sizeof(float2), cudaMemcpyDeviceToHost));
  }
  int differ = 0;
  for (int i = 1; i < 3; ++i)
    differ += std::memcmp(hv[i].data(), hv[0].data(), D * 4) != 0 || qv[i] != qv[0] || lv[i] != lv[0] ||
              std::memcmp(dv[i].data(), dv[0].data(), D / 32 * sizeof(float2)) != 0;
  double worst = 0.0;
  for (int r = 0; r < D; r += (r + 64 >= D ? 1 : 29)) {
    const std::vector<double> wg = gate.row(r), wu = up.row(r);
    double gv = 0.0, uv = 0.0, mg = 0.0, mu = 0.0;
    for (int k = 0; k < K; ++k) {
      gv += wg[size_t(k)] * x[size_t(k)], uv += wu[size_t(k)] * x[size_t(k)];
      mg += std::fabs(wg[size_t(k)] * x[size_t(k)]), mu += std::fabs(wu[size_t(k)] * x[size_t(k)]);
    }
    const double sg = 1.0 / (1.0 + std::exp(-gv)), ref = gv * sg * uv;
    // d(silu(g) u) = silu'(g) u dg + silu(g) du, silu' <= 1.1
    const double tol = 3e-3 * (1.1 * std::fabs(uv) * mg + std::fabs(gv * sg) * mu) + 1e-30;
    const double e = std::isfinite(hv[1][size_t(r)]) ? std::fabs(hv[1][size_t(r)] - ref) / tol : INFINITY;
    if (!(e <= worst))
      worst = e;
  }
  const bool ok = differ == 0 && worst <= 1.0;
  (ok ? passed : failed)++;
  std::printf("%s: layout %d, gate/up 2 x %d x %d, KS %d, with SwiGLU in the launch: %s; worst error %.2f of the "
              "bound\n",
              ok ? "PASS" : "FAIL", Layout, D, K, KS,
              differ ? "differs from the product and SwiGLU apart" : "the bits of the product and SwiGLU apart",
              worst);
  cudaFree(dx), cudaFree(xqq), cudaFree(xql), cudaFree(xds), cudaFree(g), cudaFree(u);
  for (int i = 0; i < 3; ++i)
    cudaFree(h[i]), cudaFree(q[i]), cudaFree(l[i]), cudaFree(ds[i]);
}

/// f(std::integral_constant<int, KS>) for ks, a qccCudaKParts value (1, 2
/// or 4), as a template argument.
template <class F> void withKParts(int ks, F f) {
  if (ks == 4)
    f(std::integral_constant<int, 4>{});
  else if (ks == 2)
    f(std::integral_constant<int, 2>{});
  else
    f(std::integral_constant<int, 1>{});
}

/// checkSwiglu with the parts of K the generated code gives the launch.
template <int Layout, int K, int D> void checkSwiglu(std::mt19937 &rng, cudaStream_t s) {
  withKParts(qccCudaKParts(2 * D, K), [&](auto ks) { checkSwiglu<Layout, K, D, decltype(ks)::value>(rng, s); });
}

/// Every token count that picks its own kernel or grid, with the parts of K
/// the generated code gives this launch (qccCudaKParts, EmitCUDA.cpp).
template <int Layout, int K> void checkAll(int64_t rows, std::mt19937 &rng, cudaStream_t s) {
  const Matrix m(Layout, rows, K, unsigned(rng()));
  for (int n : {1, 2, 3, 4, 5, 6, 8, 13, 16, 40, 64, 65, 130})
    withKParts(qccCudaKParts(rows, K), [&](auto ks) { check<Layout, K, decltype(ks)::value>(m, n, rng, s); });
}

/// Host copies of a layer's caches, [sequences][KV][maxCtx][HD]: F16
/// elements, or FP8 codes with a float scale a row (encoded as
/// storeHeadFp8 encodes, from normal values); value(i) what an element
/// stands for.
template <bool F8> struct HostCache {
  using T = typename KvElem<F8>::T;
  int64_t HD;
  std::vector<T> k, v;
  std::vector<float> ks, vs;
  T *dk = nullptr, *dv = nullptr;
  float *dks = nullptr, *dvs = nullptr;

  HostCache(size_t rows, int64_t HD, std::mt19937 &rng) : HD(HD), k(rows * HD), v(rows * HD), ks(rows), vs(rows) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(HD));
    for (int kv = 0; kv < 2; ++kv)
      for (size_t r = 0; r < rows; ++r) {
        float amax = 0.0f;
        for (float &e : x)
          e = nd(rng), amax = std::max(amax, std::fabs(e));
        T *dst = &(kv ? v : k)[r * HD];
        if constexpr (F8) {
          for (int64_t d = 0; d < HD; ++d)
            dst[d] = __nv_cvt_float_to_fp8(x[size_t(d)] * (kFp8Max / amax), __NV_SATFINITE, __NV_E4M3);
          (kv ? vs : ks)[r] = amax / kFp8Max;
        } else {
          for (int64_t d = 0; d < HD; ++d)
            dst[d] = __float2half(x[size_t(d)]);
        }
      }
    CHECK_CUDA(cudaMalloc(&dk, k.size() * sizeof(T)));
    CHECK_CUDA(cudaMalloc(&dv, v.size() * sizeof(T)));
    CHECK_CUDA(cudaMalloc(&dks, rows * 4));
    CHECK_CUDA(cudaMalloc(&dvs, rows * 4));
    CHECK_CUDA(cudaMemcpy(dk, k.data(), k.size() * sizeof(T), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dv, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dks, ks.data(), rows * 4, cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dvs, vs.data(), rows * 4, cudaMemcpyHostToDevice));
  }
  ~HostCache() { cudaFree(dk), cudaFree(dv), cudaFree(dks), cudaFree(dvs); }
  KvCache dev() const { return KvCache{dk, dv, F8 ? dks : nullptr, F8 ? dvs : nullptr, F8}; }
  double value(bool isV, size_t i) const {
    const T c = (isV ? v : k)[i];
    return double(kvFloat(c)) * (F8 ? (isV ? vs : ks)[i / HD] : 1.0f);
  }
};

/// launchAttention of tokens at `positions`, token i of sequence seqs[i]
/// (GQA H / KV, a sliding window or none), over random caches of F16 or FP8
/// elements, against softmax(q k / sqrt(HD)) v in double over the values
/// the caches encode; run twice, as a graph replays a step (the split
/// parts' counters must be back at zero). Below kPromptTokens tokens the
/// decoding kernels (attentionSplit: keys in parts past kAttnSplitKeys),
/// else the prompt's (attentionPrompt: tiles of 64 keys, FP8 converted to
/// half rows in shared memory).
template <int H, int KV, int HD, bool F8>
void checkAttention(const std::vector<int> &positions, const std::vector<int> &seqs, int64_t window,
                    std::mt19937 &rng, cudaStream_t s) {
  const int n = int(positions.size());
  int64_t maxCtx = 0;
  int sequences = 0;
  for (int i = 0; i < n; ++i)
    maxCtx = std::max<int64_t>(maxCtx, positions[size_t(i)] + 1), sequences = std::max(sequences, seqs[size_t(i)] + 1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(size_t(n) * H * HD);
  for (float &v : q)
    v = nd(rng);
  const HostCache<F8> cache(size_t(sequences) * KV * maxCtx, HD, rng);
  std::vector<int32_t> pos(positions.begin(), positions.end()), seq(seqs.begin(), seqs.end());
  float *dq, *dout;
  int32_t *dpos, *dseq;
  CHECK_CUDA(cudaMalloc(&dq, q.size() * 4));
  CHECK_CUDA(cudaMalloc(&dout, q.size() * 4));
  CHECK_CUDA(cudaMalloc(&dpos, size_t(n) * 4));
  CHECK_CUDA(cudaMalloc(&dseq, size_t(n) * 4));
  CHECK_CUDA(cudaMemcpy(dq, q.data(), q.size() * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dpos, pos.data(), size_t(n) * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dseq, seq.data(), size_t(n) * 4, cudaMemcpyHostToDevice));
  const float scale = 1.0f / std::sqrt(float(HD));
  std::vector<float> runs[2];
  for (auto &out : runs) {
    CHECK_CUDA(cudaMemset(dout, 0xFF, q.size() * 4));
    launchAttention<H, KV, HD>(dq, cache.dev(), dout, dpos, dseq, maxCtx, scale, window, Q8Act{}, n, s);
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
      const size_t base = (size_t(seq[size_t(t)]) * KV + g) * maxCtx * HD;
      std::vector<double> w(size_t(p - first + 1));
      double mx = -INFINITY, sum = 0.0;
      for (int64_t j = first; j <= p; ++j) {
        double d = 0.0;
        for (int e = 0; e < HD; ++e)
          d += double(q[(size_t(t) * H + h) * HD + e]) * cache.value(false, base + j * HD + e);
        w[size_t(j - first)] = d * scale, mx = std::max(mx, d * scale);
      }
      for (double &v : w)
        v = std::exp(v - mx), sum += v;
      for (int e = 0; e < HD; ++e) {
        double o = 0.0;
        for (int64_t j = first; j <= p; ++j)
          o += w[size_t(j - first)] * cache.value(true, base + j * HD + e);
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
  std::printf("%s: attention %s, H %d, KV %d, HD %d, window %lld, %d tokens at", ok ? "PASS" : "FAIL",
              F8 ? "fp8" : "f16", H, KV, HD, (long long)window, n);
  for (int i = 0; i < std::min(n, 6); ++i)
    std::printf(" %d", positions[size_t(i)]);
  std::printf("%s: worst error %.2e (values ~1), %s twice\n", n > 6 ? " ..." : "", worst,
              runs[0] == runs[1] ? "the same bits" : "NOT the same");
  cudaFree(dq), cudaFree(dout), cudaFree(dpos), cudaFree(dseq);
}

/// Decoding tokens: token i of sequence i.
template <int H, int KV, int HD, bool F8>
void checkDecode(const std::vector<int> &positions, int64_t window, std::mt19937 &rng, cudaStream_t s) {
  std::vector<int> seqs(positions.size());
  for (size_t i = 0; i < seqs.size(); ++i)
    seqs[i] = int(i);
  checkAttention<H, KV, HD, F8>(positions, seqs, window, rng, s);
}

/// A prompt of n tokens of one sequence at positions from, from + 1, ...
template <int H, int KV, int HD, bool F8>
void checkPrompt(int from, int n, int64_t window, std::mt19937 &rng, cudaStream_t s) {
  std::vector<int> positions(static_cast<size_t>(n)), seqs(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i)
    positions[size_t(i)] = from + i;
  checkAttention<H, KV, HD, F8>(positions, seqs, window, rng, s);
}

/// launchRopeAppend (RoPE of q and k, k and v into the caches) of n tokens
/// of sequences i % 2 at positions 3 + 5 i, F16 (ropeQKV) or FP8
/// (kvAppendFp8) caches, against RoPE in double: q within 1e-5, the cached
/// k and v within the element's rounding (half: 2^-11 relative; E4M3: 2^-4
/// relative, or 2^-10 of the row's max|x| below E4M3's normal range).
template <int H, int KV, int HD, bool F8> void checkAppend(int n, std::mt19937 &rng, cudaStream_t s) {
  using T = typename KvElem<F8>::T;
  constexpr int half = HD / 2;
  const int64_t maxCtx = 3 + 5 * n;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(size_t(n) * H * HD), k(size_t(n) * KV * HD), v(k.size());
  for (float &x : q)
    x = nd(rng);
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = nd(rng) * (i % 13 == 0 ? 30.0f : 1.0f), v[i] = nd(rng) * (i % 11 == 0 ? 1e-3f : 1.0f);
  RopeFreq<half> freq;
  for (int j = 0; j < half; ++j)
    freq.f[j] = std::pow(10000.0f, -2.0f * j / HD);
  std::vector<int32_t> pos(static_cast<size_t>(n)), seq(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    pos[size_t(i)] = 3 + 5 * i, seq[size_t(i)] = i % 2;
  const size_t rows = size_t(2) * KV * maxCtx;
  float *dq, *dk, *dv, *dqo, *dks, *dvs;
  T *dkc, *dvc;
  int32_t *dpos, *dseq;
  CHECK_CUDA(cudaMalloc(&dq, q.size() * 4));
  CHECK_CUDA(cudaMalloc(&dqo, q.size() * 4));
  CHECK_CUDA(cudaMalloc(&dk, k.size() * 4));
  CHECK_CUDA(cudaMalloc(&dv, v.size() * 4));
  CHECK_CUDA(cudaMalloc(&dkc, rows * HD * sizeof(T)));
  CHECK_CUDA(cudaMalloc(&dvc, rows * HD * sizeof(T)));
  CHECK_CUDA(cudaMalloc(&dks, rows * 4));
  CHECK_CUDA(cudaMalloc(&dvs, rows * 4));
  CHECK_CUDA(cudaMalloc(&dpos, size_t(n) * 4));
  CHECK_CUDA(cudaMalloc(&dseq, size_t(n) * 4));
  CHECK_CUDA(cudaMemcpy(dq, q.data(), q.size() * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dk, k.data(), k.size() * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dv, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dpos, pos.data(), size_t(n) * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dseq, seq.data(), size_t(n) * 4, cudaMemcpyHostToDevice));
  launchRopeAppend<H, KV, HD, false>(dq, dk, dv, dqo, KvCache{dkc, dvc, dks, dvs, F8}, dpos, dseq, maxCtx, freq, n, s);
  CHECK_CUDA(cudaStreamSynchronize(s));
  CHECK_CUDA(cudaGetLastError());
  std::vector<float> qo(q.size()), ks(rows), vs(rows);
  std::vector<T> kc(rows * HD), vc(rows * HD);
  CHECK_CUDA(cudaMemcpy(qo.data(), dqo, q.size() * 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(kc.data(), dkc, kc.size() * sizeof(T), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(vc.data(), dvc, vc.size() * sizeof(T), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(ks.data(), dks, rows * 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(vs.data(), dvs, rows * 4, cudaMemcpyDeviceToHost));
  // The rotated value of element d of a row x at position p.
  auto rot = [&](const float *x, int d, int p) {
    const int j = d % half, e0 = j, e1 = j + half;
    const double a = double(float(p) * freq.f[j]), c = std::cos(a), sn = std::sin(a); // the kernels' float angle
    return d == e0 ? x[e0] * c - x[e1] * sn : x[e1] * c + x[e0] * sn;
  };
  double worstQ = 0.0, worstKV = 0.0; // worstKV: in units of the allowed error
  for (int t = 0; t < n; ++t) {
    for (int i = 0; i < H * HD; ++i) {
      const double ref = rot(&q[size_t(t) * H * HD + (i / HD) * HD], i % HD, pos[size_t(t)]);
      worstQ = std::max(worstQ, std::fabs(qo[size_t(t) * H * HD + i] - ref));
    }
    for (int g = 0; g < KV; ++g)
      for (int isV = 0; isV < 2; ++isV) {
        const float *x = &(isV ? v : k)[(size_t(t) * KV + g) * HD];
        const size_t row = (size_t(seq[size_t(t)]) * KV + g) * maxCtx + pos[size_t(t)];
        double ref[HD], amax = 0.0;
        for (int d = 0; d < HD; ++d)
          ref[d] = isV ? double(x[d]) : rot(x, d, pos[size_t(t)]), amax = std::max(amax, std::fabs(ref[d]));
        for (int d = 0; d < HD; ++d) {
          const T c = (isV ? vc : kc)[row * HD + d];
          double got, tol;
          if constexpr (F8) {
            got = double(kvFloat(c)) * (isV ? vs : ks)[row];
            tol = std::max(std::fabs(ref[d]) * 0x1p-4, amax * 0x1p-10) * 1.01 + 1e-6 * amax;
          } else {
            got = double(kvFloat(c));
            tol = std::fabs(ref[d]) * 0x1p-11 * 1.01 + 1e-6 * amax;
          }
          const double e = std::fabs(got - ref[d]) / tol;
          if (!(e <= worstKV))
            worstKV = e;
        }
      }
  }
  const bool ok = worstQ <= 1e-5 && worstKV <= 1.0;
  (ok ? passed : failed)++;
  std::printf("%s: RoPE and cache append %s, H %d, KV %d, HD %d, %d tokens: q worst error %.1e, k/v worst error "
              "%.2f of the element's rounding\n",
              ok ? "PASS" : "FAIL", F8 ? "fp8" : "f16", H, KV, HD, n, worstQ, worstKV);
  cudaFree(dq), cudaFree(dqo), cudaFree(dk), cudaFree(dv), cudaFree(dkc), cudaFree(dvc), cudaFree(dks),
      cudaFree(dvs), cudaFree(dpos), cudaFree(dseq);
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
  checkAll<QCC_CUDA_Q8_G128, 4096>(4136, rng, s);
  // Gate/up with SwiGLU: 7B (344 blocks of 32 rows), an awkward width (43),
  // a row of K = 1376 and every layout family.
  checkSwiglu<QCC_CUDA_Q4_G128, 4096, 11008>(rng, s);
  checkSwiglu<QCC_CUDA_Q4_K, 4096, 1376>(rng, s);
  checkSwiglu<QCC_CUDA_Q4_0, 1376, 4096>(rng, s);
  checkSwiglu<QCC_CUDA_Q8_0, 1376, 1376>(rng, s);
  checkSwiglu<QCC_CUDA_Q4_1_G128, 4096, 2048>(rng, s);
  // Decoding attention: one part (short), a few, all kAttnMaxSplits, a
  // partial last part; a batch of tokens at different positions; GQA; a
  // sliding window that starts past 0. F16 and FP8 caches.
  checkDecode<32, 8, 128, false>({5}, 0, rng, s);
  checkDecode<32, 8, 128, false>({700}, 0, rng, s);
  checkDecode<32, 8, 128, false>({4321}, 0, rng, s);
  checkDecode<32, 8, 128, false>({0, 255, 256, 1999, 3000, 77}, 0, rng, s);
  checkDecode<32, 8, 128, false>({3000, 1500}, 1024, rng, s);
  checkDecode<8, 4, 64, false>({2500, 9, 600}, 0, rng, s);
  checkDecode<32, 8, 128, true>({5}, 0, rng, s);
  checkDecode<32, 8, 128, true>({4321}, 0, rng, s);
  checkDecode<32, 8, 128, true>({0, 255, 256, 1999, 3000, 77}, 0, rng, s);
  checkDecode<32, 8, 128, true>({3000, 1500}, 1024, rng, s);
  checkDecode<8, 4, 64, true>({2500, 9, 600}, 0, rng, s);
  // Prompt attention (65 tokens and more): from position 0, after a cached
  // context (tiles of keys before the prompt's), a sliding window, a last
  // tile of queries cut short.
  checkPrompt<32, 8, 128, false>(0, 200, 0, rng, s);
  checkPrompt<32, 8, 128, false>(300, 65, 0, rng, s);
  checkPrompt<8, 4, 64, false>(100, 130, 96, rng, s);
  checkPrompt<32, 8, 128, true>(0, 200, 0, rng, s);
  checkPrompt<32, 8, 128, true>(300, 65, 0, rng, s);
  checkPrompt<8, 4, 64, true>(100, 130, 96, rng, s);
  // Prompts of several sequences packed in one call: attendToken per token.
  {
    std::vector<int> positions(70), seqs(70);
    for (int i = 0; i < 70; ++i)
      positions[size_t(i)] = 40 + i / 3, seqs[size_t(i)] = i % 3;
    checkAttention<8, 4, 64, true>(positions, seqs, 0, rng, s);
  }
  // The cache append, F16 and FP8 (a row's outliers, tiny values).
  checkAppend<32, 8, 128, false>(6, rng, s);
  checkAppend<32, 8, 128, true>(6, rng, s);
  checkAppend<8, 4, 64, true>(70, rng, s);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
