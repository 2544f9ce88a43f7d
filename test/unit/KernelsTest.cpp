//===- KernelsTest.cpp - the float32 op kernels against naive references ===//
#include "runtime/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace qcc;

TEST(Kernels, ExpWithinTwoUlp) {
  double worst = 0;
  for (float x = -87.0f; x < 88.5f; x += 0.000731f) {
    double ref = std::exp(double(x));
    float got = kernels::expf(x);
    double ulp = std::nextafter(float(ref), INFINITY) - float(ref);
    worst = std::max(worst, std::fabs(double(got) - ref) / ulp);
  }
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(kernels::expf(0.0f), 1.0f);
  EXPECT_EQ(kernels::expf(-INFINITY), 0.0f);
  EXPECT_EQ(kernels::expf(-1000.0f), 0.0f);
  EXPECT_TRUE(std::isinf(kernels::expf(INFINITY)) || kernels::expf(INFINITY) > 3e38f);
  EXPECT_TRUE(std::isnan(kernels::expf(std::numeric_limits<float>::quiet_NaN())));
}

// Causal (optionally windowed) GQA attention, one query at a time, in double.
static std::vector<float> naiveAttention(const std::vector<float> &Q, const std::vector<float> &K,
                                         const std::vector<float> &V, int64_t n, int64_t p0,
                                         int64_t heads, int64_t kvHeads, int64_t hd, float scale,
                                         int64_t window) {
  std::vector<float> out(n * heads * hd);
  const int64_t group = heads / kvHeads;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t g = h / group, last = p0 + t;
      const int64_t first = window > 0 ? std::max<int64_t>(0, last - window + 1) : 0;
      std::vector<double> w(last + 1, 0);
      double mx = -INFINITY, sum = 0;
      for (int64_t j = first; j <= last; ++j) {
        double s = 0;
        for (int64_t i = 0; i < hd; ++i)
          s += double(Q[t * heads * hd + h * hd + i]) * K[j * kvHeads * hd + g * hd + i];
        w[j] = s * scale;
        mx = std::max(mx, w[j]);
      }
      for (int64_t j = first; j <= last; ++j)
        sum += (w[j] = std::exp(w[j] - mx));
      for (int64_t i = 0; i < hd; ++i) {
        double o = 0;
        for (int64_t j = first; j <= last; ++j)
          o += w[j] / sum * V[j * kvHeads * hd + g * hd + i];
        out[t * heads * hd + h * hd + i] = float(o);
      }
    }
  return out;
}

TEST(Kernels, BlockedAttentionMatchesNaive) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0, 1);
  const int64_t heads = 4, kvHeads = 2, hd = 16;
  // Prompt lengths around the 64-row query block, a continuation (p0 > 0),
  // single-token decode and a sliding window.
  struct Case { int64_t n, p0, window; };
  for (Case c : {Case{1, 0, 0}, Case{63, 0, 0}, Case{64, 0, 0}, Case{150, 0, 0}, Case{70, 30, 0},
                 Case{1, 99, 0}, Case{150, 0, 40}, Case{90, 17, 33}}) {
    const int64_t P = c.p0 + c.n;
    std::vector<float> Q(c.n * heads * hd), K(P * kvHeads * hd), V(P * kvHeads * hd);
    for (auto *v : {&Q, &K, &V})
      for (float &x : *v)
        x = nd(rng);
    std::vector<float> got(c.n * heads * hd);
    std::vector<std::vector<float>> scratch;
    kernels::attention(Q.data(), K.data(), V.data(), got.data(), c.n, c.p0, heads, kvHeads, hd,
                       0.25f, c.window, scratch);
    std::vector<float> ref =
        naiveAttention(Q, K, V, c.n, c.p0, heads, kvHeads, hd, 0.25f, c.window);
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(got[i], ref[i], 1e-4f) << "n=" << c.n << " p0=" << c.p0 << " window=" << c.window
                                         << " at " << i;
  }
}

TEST(Kernels, SwiGLU) {
  std::vector<float> g = {-100.0f, -3.0f, 0.0f, 0.5f, 10.0f, 80.0f}, u = {1, 2, 3, 4, 5, 6}, o(6);
  kernels::swiglu(g.data(), u.data(), o.data(), 6);
  for (size_t i = 0; i < g.size(); ++i) {
    double ref = double(g[i]) / (1 + std::exp(-double(g[i]))) * u[i];
    EXPECT_NEAR(o[i], ref, 1e-6 * std::max(1.0, std::fabs(ref))) << g[i];
  }
}
