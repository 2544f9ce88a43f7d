//===- RTNTest.cpp - generic round-to-nearest -----------------------------===//
#include "quant/RTN.h"
#include "quant/GPTQ.h"
#include "quant/Grids.h"
#include "frontends/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <omp.h>
#include <random>

using namespace qcc;

namespace {
double mse(const rtn::Params &p, const std::vector<float> &x, const std::vector<uint8_t> &q,
           int64_t rows, int64_t n) {
  std::vector<float> y(n);
  size_t rb = rtn::rowBytes(p, n);
  double e = 0;
  for (int64_t r = 0; r < rows; ++r) {
    rtn::dequantizeRow(p, q.data() + r * rb, y.data(), n);
    for (int64_t i = 0; i < n; ++i)
      e += double(y[i] - x[r * n + i]) * (y[i] - x[r * n + i]);
  }
  return e / double(rows * n);
}
} // namespace

TEST(RTN, HandCheckedLayout) {
  rtn::Params p{2, 4, false};
  std::vector<float> x = {0.0f, 0.5f, 1.0f, 1.5f};
  std::vector<uint8_t> q(rtn::rowBytes(p, 4));
  ASSERT_EQ(q.size(), 12u);
  rtn::quantizeRows(p, x.data(), q.data(), 1, 4);
  float s, z;
  std::memcpy(&s, q.data(), 4);
  std::memcpy(&z, q.data() + 4, 4);
  EXPECT_FLOAT_EQ(s, 0.5f);
  EXPECT_EQ(z, 0.0f);
  EXPECT_EQ(std::vector<uint8_t>(q.begin() + 8, q.end()), (std::vector<uint8_t>{0, 1, 2, 3}));
  std::vector<float> y(4);
  rtn::dequantizeRow(p, q.data(), y.data(), 4);
  EXPECT_EQ(y, x);
  // symmetric: -1, 0, 1 on a 3-bit grid -> codes offset by 4
  rtn::Params ps{3, 0, true};
  std::vector<float> xs = {-1.0f, 0.0f, 1.0f, 0.25f};
  std::vector<uint8_t> qs(rtn::rowBytes(ps, 4));
  rtn::quantizeRows(ps, xs.data(), qs.data(), 1, 4);
  std::vector<float> ys(4);
  rtn::dequantizeRow(ps, qs.data(), ys.data(), 4);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(ys[i], xs[i], 0.13f) << i;
  std::memcpy(&z, qs.data() + 4, 4);
  EXPECT_EQ(z, 4.0f);
}

TEST(RTN, SearchBeatsMaxAbsAtEveryWidth) {
  std::mt19937 rng(3);
  std::student_t_distribution<float> dist(5.0f);
  const int64_t rows = 64, n = 256;
  std::vector<float> x(rows * n);
  for (auto &v : x)
    v = 0.02f * dist(rng);
  for (unsigned bits = 2; bits <= 8; ++bits)
    for (bool sym : {false, true})
      for (int64_t group : {int64_t(32), int64_t(128), int64_t(0)}) {
        rtn::Params p{bits, group, sym};
        std::vector<uint8_t> a(rtn::rowBytes(p, n) * rows), b(a.size());
        rtn::quantizeRows(p, x.data(), a.data(), rows, n);
        rtn::quantizeRowsMaxAbs(p, x.data(), b.data(), rows, n);
        double es = mse(p, x, a, rows, n), em = mse(p, x, b, rows, n);
        EXPECT_LT(es, em) << "bits " << bits << " sym " << sym << " group " << group;
        // and more bits, less error
        if (bits > 2) {
          rtn::Params lower{bits - 1, group, sym};
          std::vector<uint8_t> c(rtn::rowBytes(lower, n) * rows);
          rtn::quantizeRows(lower, x.data(), c.data(), rows, n);
          EXPECT_LT(es, mse(lower, x, c, rows, n));
        }
      }
}

TEST(RTN, GPUGridHasHalfScalesAndAZeroFloor) {
  // The grid GPTQ / AWQ / compressed-tensors files store: fp16 scales, and for
  // GPTQ v1 zero points of at least 1, even for an all-positive group.
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  const int64_t n = 64;
  std::vector<float> x(n);
  for (auto &v : x)
    v = nd(rng);
  for (int64_t i = 32; i < 64; ++i) // second group all positive: a searched zero of 0
    x[i] = std::fabs(x[i]) + 0.01f;
  for (bool sym : {true, false}) {
    rtn::Params p{4, 32, sym};
    p.fp16Scale = true;
    p.zeroMin = 1;
    std::vector<uint8_t> q(rtn::rowBytes(p, n));
    rtn::quantizeRows(p, x.data(), q.data(), 1, n);
    for (int g = 0; g < 2; ++g) {
      float s, z;
      std::memcpy(&s, q.data() + g * 40, 4);
      std::memcpy(&z, q.data() + g * 40 + 4, 4);
      EXPECT_EQ(s, halfToFloat(floatToHalf(s))) << "scale " << s << " is not an fp16 value";
      EXPECT_EQ(z, std::nearbyint(z));
      EXPECT_GE(z, 1.0f);
    }
    rtn::Params plain{4, 32, sym};
    std::vector<uint8_t> q0(rtn::rowBytes(plain, n));
    rtn::quantizeRows(plain, x.data(), q0.data(), 1, n);
    // Within 2x of the unconstrained grid's error (the zero floor costs the all-positive group).
    EXPECT_LT(mse(p, x, q, 1, n), 2.0 * mse(plain, x, q0, 1, n) + 1e-9) << (sym ? "sym" : "asym");
  }
}

TEST(GPTQ, LeavesTheThreadCountAsItWas) {
  // GPTQ runs LAPACK on one thread; OpenBLAS's OpenMP build changes OpenMP's
  // thread count with its own, and under LLVM's libomp it reports one. Every
  // parallel loop after the first GPTQ call ran on one thread until the
  // count was put back.
  const int before = omp_get_max_threads();
  omp_set_num_threads(2);
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int64_t rows = 4, n = 32, T = 64;
  std::vector<float> W(rows * n), X(T * n);
  for (float &v : W)
    v = g(rng);
  for (float &v : X)
    v = g(rng);
  std::vector<double> H(n * n, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        H[i * n + j] += double(X[t * n + i]) * X[t * n + j];
  rtn::Params p;
  p.bits = 4;
  p.group = 16;
  quant::RTNGrid grid(p, rows, n);
  quant::gptq(W.data(), rows, n, H.data(), nullptr, grid, quant::GPTQOptions());
  EXPECT_EQ(omp_get_max_threads(), 2);
  omp_set_num_threads(before);
}
