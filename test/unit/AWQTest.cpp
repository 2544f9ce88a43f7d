//===- AWQTest.cpp - AWQ's clipping search --------------------------------===//
#include "quant/AWQ.h"
#include "quant/RTN.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <random>

using namespace qcc;

namespace {
/// d_g^T H_gg d_g in float64 for every group of every row of the packed W.
std::vector<double> groupErrors(const rtn::Params &p, const std::vector<uint8_t> &q,
                                const std::vector<float> &W, const std::vector<float> &H,
                                int64_t rows, int64_t n) {
  const int64_t g = p.groupSize(n);
  const size_t rb = rtn::rowBytes(p, n);
  std::vector<float> y(n);
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r) {
    rtn::dequantizeRow(p, q.data() + r * rb, y.data(), n);
    for (int64_t b = 0; b < n; b += g) {
      double e = 0;
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j)
          e += double(y[b + i] - W[r * n + b + i]) * H[(b + i) * n + b + j] *
               double(y[b + j] - W[r * n + b + j]);
      out.push_back(e);
    }
  }
  return out;
}
} // namespace

TEST(AWQ, ClipSearchIsNeverWorseThanItsCandidates) {
  std::mt19937 rng(7);
  std::student_t_distribution<float> heavy(4.0f);
  std::normal_distribution<float> normal;
  const int64_t rows = 40, n = 256, T = 600;
  std::vector<float> W(rows * n), X(T * n), H(n * n, 0.0f), imp(n);
  for (float &w : W)
    w = 0.02f * heavy(rng);
  // Correlated inputs with a few loud channels: a shared factor plus noise.
  for (int64_t t = 0; t < T; ++t) {
    float f = normal(rng);
    for (int64_t j = 0; j < n; ++j)
      X[t * n + j] = (j % 37 == 0 ? 8.0f : 1.0f) * (0.6f * f + normal(rng));
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        H[i * n + j] += X[t * n + i] * X[t * n + j];
  for (int64_t j = 0; j < n; ++j)
    imp[j] = H[j * n + j];

  for (rtn::Params p : {rtn::Params{4, 128, false, true}, rtn::Params{4, 64, true, true},
                        rtn::Params{3, 128, false, false}}) {
    const size_t bytes = rtn::rowBytes(p, n) * rows;
    std::vector<uint8_t> clip(bytes), fit(bytes), minmax(bytes), clip1(bytes);
    quant::clipSearch(p, W.data(), rows, n, imp.data(), H.data(), clip.data());
    rtn::quantizeRows(p, W.data(), fit.data(), rows, n, imp.data());
    rtn::quantizeRows(p, W.data(), minmax.data(), rows, n, nullptr, /*minmax=*/true);
    std::vector<double> ec = groupErrors(p, clip, W, H, rows, n),
                        ef = groupErrors(p, fit, W, H, rows, n),
                        em = groupErrors(p, minmax, W, H, rows, n);
    double sc = 0, sf = 0;
    for (size_t k = 0; k < ec.size(); ++k) {
      // the search measures in float: allow its rounding, nothing more
      EXPECT_LE(ec[k], ef[k] * (1 + 1e-4) + 1e-9) << "group " << k << " bits " << p.bits;
      EXPECT_LE(ec[k], em[k] * (1 + 1e-4) + 1e-9) << "group " << k << " bits " << p.bits;
      sc += ec[k], sf += ef[k];
    }
    EXPECT_LT(sc, 0.99 * sf) << "bits " << p.bits; // the within-group correlations matter here

    // The same bytes whatever the number of threads.
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    quant::clipSearch(p, W.data(), rows, n, imp.data(), H.data(), clip1.data());
    omp_set_num_threads(3);
    std::vector<uint8_t> clip3(bytes);
    quant::clipSearch(p, W.data(), rows, n, imp.data(), H.data(), clip3.data());
    omp_set_num_threads(threads);
    EXPECT_EQ(clip, clip1);
    EXPECT_EQ(clip, clip3);
  }
}
