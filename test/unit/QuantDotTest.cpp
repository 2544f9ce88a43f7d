//===- QuantDotTest.cpp - dot products on ggml blocks ---------------------===//
//
// The scalar reference against an independent oracle (the formats' own
// dequantizers and a float64 sum), llama.cpp's activation formats against
// their definitions, and every SIMD variant against the reference, bit for
// bit, on random blocks (random bytes: every code, scale and min pattern).
//
//===----------------------------------------------------------------------===//
#include "formats/ggml/GGMLTypes.h"
#include "frontends/Safetensors.h"
#include "runtime/kernels/QuantDot.h"
#include "runtime/kernels/QuantLinear.h"

#include <omp.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace qcc;
using namespace qcc::ggml;

namespace {

const Type kQuantized[] = {Type::Q4_0, Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::IQ4_NL,
                           Type::Q2_K, Type::Q3_K, Type::Q4_K, Type::Q5_K, Type::Q6_K};

std::vector<float> randomRow(std::mt19937 &rng, int64_t n, float outlier) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float &v : x)
    v = g(rng);
  for (int64_t i = 0; i < n; i += 97) // a few large channels, as real activations have
    x[i] *= outlier;
  return x;
}

std::vector<uint8_t> quantizeAct(Type w, const std::vector<float> &x) {
  std::vector<uint8_t> a(activationRowBytes(w, int64_t(x.size())));
  quantizeActivations(w, x.data(), a.data(), int64_t(x.size()));
  return a;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/// Overwrites the fp16 scale fields of random-byte blocks with finite values.
void finiteScales(Type t, uint8_t *row, int64_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-0.05f, 0.05f);
  const TypeTraits &tr = traits(t);
  for (int64_t b = 0; b < n / tr.blockSize; ++b) {
    uint8_t *blk = row + b * tr.blockBytes;
    auto put = [&](size_t off) {
      half h = floatToHalf(u(rng));
      std::memcpy(blk + off, &h, 2);
    };
    switch (t) {
    case Type::Q4_0: case Type::Q8_0: case Type::Q5_0: case Type::IQ4_NL: put(0); break;
    case Type::Q4_1: case Type::Q5_1: case Type::Q4_K: case Type::Q5_K: put(0); put(2); break;
    case Type::Q2_K: put(offsetof(BlockQ2_K, d)); put(offsetof(BlockQ2_K, dmin)); break;
    case Type::Q3_K: put(offsetof(BlockQ3_K, d)); break;
    case Type::Q6_K: put(offsetof(BlockQ6_K, d)); break;
    default: break;
    }
  }
}

} // namespace

TEST(QuantDot, ReferenceEqualsTheDequantizedProduct) {
  std::mt19937 rng(7);
  const int64_t n = 1024;
  for (Type t : kQuantized) {
    SCOPED_TRACE(traits(t).name);
    for (int rep = 0; rep < 4; ++rep) {
      std::vector<float> w = randomRow(rng, n, 1.0f + 3.0f * rep), x = randomRow(rng, n, 8.0f);
      std::vector<uint8_t> wq(rowBytes(t, n));
      quantizeRows(t, w.data(), wq.data(), 1, n);
      std::vector<uint8_t> aq = quantizeAct(t, x);
      std::vector<float> wd(n), ad(n);
      dequantizeRow(t, wq.data(), wd.data(), n);
      dequantizeActivations(t, aq.data(), ad.data(), n);
      double oracle = 0, wmax = 0, asum = 0;
      for (int64_t i = 0; i < n; ++i) {
        oracle += double(wd[i]) * ad[i];
        wmax = std::max(wmax, std::fabs(double(wd[i])));
        asum += std::fabs(double(ad[i]));
      }
      if (activationType(t) == ActType::Q8_1) {
        // Q8_1 stores d * sum(q) rounded to fp16; the kernels use it for the offset term.
        for (int64_t b = 0; b < n / QK; ++b) {
          const auto &ab = reinterpret_cast<const BlockQ8_1 *>(aq.data())[b];
          const half mh = t == Type::Q4_1 ? reinterpret_cast<const BlockQ4_1 *>(wq.data())[b].m
                                          : reinterpret_cast<const BlockQ5_1 *>(wq.data())[b].m;
          double s = 0;
          for (int j = 0; j < QK; ++j)
            s += ad[b * QK + j];
          oracle += double(halfToFloat(mh)) * (double(halfToFloat(ab.s)) - s);
        }
      }
      const float got = kernels::dotRef(t, wq.data(), aq.data(), n);
      EXPECT_NEAR(got, oracle, 4e-5 * wmax * asum) << "rep " << rep;
    }
  }
}

TEST(QuantDot, ActivationFormatsFollowTheirDefinitions) {
  std::mt19937 rng(11);
  const int64_t n = 512;
  std::vector<float> x = randomRow(rng, n, 20.0f);
  std::fill(x.begin() + 256, x.begin() + 288, 0.0f); // an all-zero Q8_0 block
  // Q8_0 and Q8_1: d = fp16(max|x| / 127), q = round(x / d); Q8_1's s = fp16(d * sum q).
  for (Type w : {Type::Q4_0, Type::Q4_1}) {
    std::vector<uint8_t> a = quantizeAct(w, x);
    for (int64_t b = 0; b < n / QK; ++b) {
      float amax = 0;
      for (int j = 0; j < QK; ++j)
        amax = std::max(amax, std::fabs(x[b * QK + j]));
      const int8_t *qs;
      half d;
      if (w == Type::Q4_0) {
        const auto &blk = reinterpret_cast<const BlockQ8_0 *>(a.data())[b];
        qs = blk.qs, d = blk.d;
      } else {
        const auto &blk = reinterpret_cast<const BlockQ8_1 *>(a.data())[b];
        qs = blk.qs, d = blk.d;
        int sum = 0;
        for (int j = 0; j < QK; ++j)
          sum += qs[j];
        EXPECT_EQ(blk.s, floatToHalf(float(sum) * (amax / 127.0f)));
      }
      EXPECT_EQ(d, floatToHalf(amax / 127.0f));
      const float id = amax ? 127.0f / amax : 0.0f;
      for (int j = 0; j < QK; ++j) {
        EXPECT_LE(std::abs(int(qs[j])), 127);
        EXPECT_LE(std::fabs(float(qs[j]) - x[b * QK + j] * id), 0.5f + 1e-4f);
      }
    }
  }
  // Q8_K: the element of largest magnitude becomes -127, bsums are sums of 16 codes.
  std::vector<uint8_t> a = quantizeAct(Type::Q4_K, x);
  for (int64_t b = 0; b < n / QK_K; ++b) {
    const auto &blk = reinterpret_cast<const BlockQ8_K *>(a.data())[b];
    int64_t imax = b * QK_K;
    for (int64_t j = b * QK_K; j < (b + 1) * QK_K; ++j)
      if (std::fabs(x[j]) > std::fabs(x[imax]))
        imax = j;
    EXPECT_EQ(blk.qs[imax - b * QK_K], -127);
    EXPECT_FLOAT_EQ(blk.d * -127.0f, x[imax]);
    for (int s = 0; s < QK_K / 16; ++s) {
      int sum = 0;
      for (int j = 0; j < 16; ++j)
        sum += blk.qs[16 * s + j];
      EXPECT_EQ(blk.bsums[s], sum);
    }
  }
  // roundActivations is the same rounding, dequantized.
  std::vector<float> r(n), d(n);
  roundActivations(Type::Q6_K, x.data(), r.data(), n);
  dequantizeActivations(Type::Q6_K, a.data(), d.data(), n);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(bits(r[i]), bits(d[i])) << i;
}

TEST(QuantDot, EveryVariantEqualsTheReferenceBitForBit) {
  if (!kernels::cpuHasAVX2())
    GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  int checked = 0;
  for (Type t : kQuantized) {
    if (!kernels::avx2::has(t))
      continue;
    SCOPED_TRACE(traits(t).name);
    for (int64_t n : {256, 512, 4096}) {
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<uint8_t> wq(rowBytes(t, n));
        if (rep % 2) { // random bytes: every code, scale and min pattern
          for (uint8_t &v : wq)
            v = uint8_t(byte(rng));
          finiteScales(t, wq.data(), n, rng);
        } else {
          std::vector<float> w = randomRow(rng, n, 4.0f);
          quantizeRows(t, w.data(), wq.data(), 1, n);
        }
        std::vector<float> x = randomRow(rng, n, rep % 3 ? 30.0f : 1.0f);
        if (rep == 4)
          std::fill(x.begin(), x.begin() + 256, 0.0f); // zero blocks
        std::vector<uint8_t> aq = quantizeAct(t, x);
        const float ref = kernels::dotRef(t, wq.data(), aq.data(), n);
        ASSERT_EQ(bits(kernels::avx2::dot(t, wq.data(), aq.data(), n)), bits(ref))
            << "n " << n << " rep " << rep;
        ASSERT_EQ(bits(kernels::dot(t, wq.data(), aq.data(), n)), bits(ref));
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 11 * 3 * 20); // every quantized format
}

TEST(QuantDot, MatrixVectorEqualsRowByRowBitForBit) {
  std::mt19937 rng(5);
  const int64_t n = 512;
  for (Type t : kQuantized) {
    SCOPED_TRACE(traits(t).name);
    for (int64_t rows : {1, 3, 4, 7, 9, 131}) { // remainders of the 4-row and 64-row steps
      std::vector<float> w = randomRow(rng, rows * n, 3.0f), x = randomRow(rng, n, 10.0f);
      std::vector<uint8_t> wq(rowBytes(t, n) * rows);
      quantizeRows(t, w.data(), wq.data(), rows, n);
      std::vector<uint8_t> aq = quantizeAct(t, x);
      std::vector<float> y(rows), yp(rows);
      kernels::gemv(t, wq.data(), rows, n, aq.data(), y.data());
      kernels::gemv(t, wq.data(), rows, n, aq.data(), yp.data(), /*parallel=*/true);
      for (int64_t r = 0; r < rows; ++r) {
        const float ref = kernels::dotRef(t, wq.data() + r * rowBytes(t, n), aq.data(), n);
        ASSERT_EQ(bits(y[r]), bits(ref)) << "rows " << rows << " row " << r;
        ASSERT_EQ(bits(yp[r]), bits(ref)) << "rows " << rows << " row " << r;
      }
    }
  }
}

TEST(QuantDot, MatrixMatrixEqualsEachDotBitForBit) {
  // Prompt processing: tiles of rows x tokens and their remainders, each
  // (row, token) result the same bits as the reference dot of that pair.
  std::mt19937 rng(7);
  const int64_t n = 512;
  for (Type t : kQuantized) {
    SCOPED_TRACE(traits(t).name);
    for (int64_t rows : {1, 5, 10}) {
      for (int64_t tokens : {1, 2, 3, 5, 9}) {
        std::vector<float> w = randomRow(rng, rows * n, 3.0f);
        std::vector<uint8_t> wq(rowBytes(t, n) * rows);
        quantizeRows(t, w.data(), wq.data(), rows, n);
        const size_t ab = activationRowBytes(t, n);
        std::vector<uint8_t> aq(ab * tokens);
        for (int64_t k = 0; k < tokens; ++k) {
          std::vector<uint8_t> row = quantizeAct(t, randomRow(rng, n, 10.0f));
          std::copy(row.begin(), row.end(), aq.begin() + k * ab);
        }
        const int64_t ldy = rows + 3; // a wider output row than the tile
        std::vector<float> y(tokens * ldy, -1.0f);
        kernels::gemm(t, wq.data(), rows, n, aq.data(), tokens, y.data(), ldy);
        for (int64_t k = 0; k < tokens; ++k) {
          for (int64_t r = 0; r < rows; ++r) {
            const float ref =
                kernels::dotRef(t, wq.data() + r * rowBytes(t, n), aq.data() + k * ab, n);
            ASSERT_EQ(bits(y[k * ldy + r]), bits(ref)) << rows << "x" << tokens << " at " << r << "," << k;
          }
          for (int64_t r = rows; r < ldy; ++r)
            ASSERT_EQ(y[k * ldy + r], -1.0f) << "wrote past the tile";
        }
      }
    }
  }
}

TEST(QuantDot, RepackedRowsEqualTheRowChainReferenceBitForBit) {
  // Q4_0 / Q8_0 / Q4_K / Q6_K regrouped eight rows at a time (what the thin
  // runtime runs), on every variant this CPU has (AVX2, AVX-512 VNNI, AMX
  // tiles of 16 tokens x 16 rows with their remainders): every (row, token)
  // result the bits of the row-chain reference on the original rows, for
  // random bytes (every code and scale) and real rows.
  if (!kernels::cpuHasAVX2())
    GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  EXPECT_FALSE(kernels::repackable(Type::Q4_0, 12));
  EXPECT_FALSE(kernels::repackable(Type::Q5_K, 16));
  for (Type t : {Type::Q4_0, Type::Q8_0, Type::Q4_K, Type::Q6_K})
  for (int64_t n : {256, 512}) {
    for (int64_t rows : {8, 24}) {
      for (int64_t tokens : {1, 2, 3, 4, 5, 9, 16, 17, 33}) {
        std::vector<uint8_t> wq(rowBytes(t, n) * rows);
        if (tokens % 2) {
          for (uint8_t &v : wq)
            v = uint8_t(byte(rng));
          for (int64_t r = 0; r < rows; ++r)
            finiteScales(t, wq.data() + r * rowBytes(t, n), n, rng);
        } else {
          std::vector<float> w = randomRow(rng, rows * n, 3.0f);
          // With four tokens, row 0 at the extremes the kernels' 16-bit
          // partial sums must hold: one weight of each block at the
          // maximum, the others at the far code (Q4_0: 15), against
          // activations that all round to 127.
          for (int64_t e = 0; tokens == 4 && e < n; ++e)
            w[e] = e % 32 == 0 ? 1.0f : -0.875f;
          quantizeRows(t, w.data(), wq.data(), rows, n);
        }
        ASSERT_TRUE(kernels::repackable(t, rows));
        std::vector<uint8_t> packed(kernels::repackedBytes(t, rows, n));
        kernels::repack(t, wq.data(), rows, n, packed.data());
        const size_t ab = activationRowBytes(t, n);
        std::vector<uint8_t> aq(ab * tokens);
        for (int64_t k = 0; k < tokens; ++k) {
          std::vector<uint8_t> row = quantizeAct(
              t, tokens == 4 && k == 0 ? std::vector<float>(n, 1.0f) : randomRow(rng, n, k == 2 ? 0.0f : 10.0f));
          std::copy(row.begin(), row.end(), aq.begin() + k * ab);
        }
        const int64_t ldy = rows + 1;
        std::vector<float> y(tokens * ldy, -1.0f);
        kernels::ActivationSide side;
        side.reserve(t, tokens, n);
        side.fill(t, aq.data(), 0, tokens, n);
        // Every variant this CPU runs (AVX2; AVX-512 VNNI where present).
        for (kernels::RepackIsa isa : kernels::repackIsas()) {
          std::fill(y.begin(), y.end(), -1.0f);
          kernels::gemmRepacked(isa, t, packed.data(), rows, n, aq.data(), side, tokens, y.data(), ldy);
          for (int64_t k = 0; k < tokens; ++k) {
            for (int64_t r = 0; r < rows; ++r) {
              const float ref = kernels::dotRowChainRef(t, wq.data() + r * rowBytes(t, n),
                                                        aq.data() + k * ab, n);
              ASSERT_EQ(bits(y[k * ldy + r]), bits(ref)) << traits(t).name << " " << kernels::isaName(isa) << " "
                                                         << n << " " << rows << "x" << tokens << " at " << r
                                                         << "," << k;
            }
            ASSERT_EQ(y[k * ldy + rows], -1.0f) << "wrote past the rows";
          }
        }
      }
    }
  }
  // The row chain and the lanes reference are two roundings of one sum.
  const Type t = Type::Q4_0;
  std::vector<float> w = randomRow(rng, 512, 3.0f), x = randomRow(rng, 512, 5.0f);
  std::vector<uint8_t> wq(rowBytes(t, 512));
  quantizeRows(t, w.data(), wq.data(), 1, 512);
  std::vector<uint8_t> aq = quantizeAct(t, x);
  const float a = kernels::dotRowChainRef(t, wq.data(), aq.data(), 512),
              b = kernels::dotRef(t, wq.data(), aq.data(), 512);
  EXPECT_NEAR(a, b, 1e-4 * (std::fabs(b) + 1));
}

TEST(QuantDot, QuantLinearEqualsEachDotAtAnyThreadCount) {
  // What calibration runs its rounded layers with: activations quantized per
  // token, chunks of tokens on OpenMP threads, repacked rows where the type
  // has them. Every (token, row) result is the reference dot of that pair
  // (the row-chain one for repacked rows) plus the bias, at 1 and 2 threads.
  if (!kernels::cpuHasAVX2())
    GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(13);
  const int64_t n = 256, T = 300; // two chunks of tokens, the second partial
  for (Type t : kQuantized) {
    for (int64_t rows : {8, 72, 13}) {
      SCOPED_TRACE(std::string(traits(t).name) + " rows " + std::to_string(rows));
      ASSERT_TRUE(kernels::QuantLinear::supported(t));
      std::vector<float> w = randomRow(rng, rows * n, 3.0f), x = randomRow(rng, T * n, 10.0f),
                         bias = randomRow(rng, rows, 1.0f);
      std::vector<uint8_t> wq(rowBytes(t, n) * rows);
      quantizeRows(t, w.data(), wq.data(), rows, n);
      kernels::QuantLinear lin(t, wq.data(), rows, n);
      std::vector<float> y1(T * rows), y2(T * rows);
      const int threads = omp_get_max_threads();
      omp_set_num_threads(1);
      lin.apply(x.data(), T, bias.data(), y1.data());
      omp_set_num_threads(2);
      lin.apply(x.data(), T, bias.data(), y2.data());
      omp_set_num_threads(threads);
      const bool chain = kernels::repackable(t, rows);
      for (int64_t k = 0; k < T; k += 7) {
        std::vector<uint8_t> a = quantizeAct(t, std::vector<float>(x.begin() + k * n, x.begin() + (k + 1) * n));
        for (int64_t r = 0; r < rows; ++r) {
          const uint8_t *wr = wq.data() + r * rowBytes(t, n);
          const float ref = (chain ? kernels::dotRowChainRef(t, wr, a.data(), n)
                                   : kernels::dotRef(t, wr, a.data(), n)) + bias[r];
          ASSERT_EQ(bits(y1[k * rows + r]), bits(ref)) << "token " << k << " row " << r;
        }
      }
      ASSERT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float))) << "thread count changed bits";
    }
  }
  EXPECT_FALSE(kernels::QuantLinear::supported(Type::F16));
}
