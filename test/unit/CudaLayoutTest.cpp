//===- CudaLayoutTest.cpp - the GPU target's weight planes, off the GPU ---===//
//
// The planes runtime/cuda/Layout.cpp makes of each GGUF block format must
// encode exactly the values formats/ggml's scalar dequantization gives; and
// the integer arithmetic Kernels.cuh's dotQ8Row does on them (nibble masks,
// the Q6_K high bits, the -32 / -8 offsets, the block scales), replayed here
// on the host operation for operation, must give the dot product of those
// values with the int8-rounded activations.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/Layout.h"

#include "formats/ggml/BlockCodes.h"
#include "formats/ggml/GGMLTypes.h"
#include "frontends/Safetensors.h"
#include "test/common/GGMLTensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace qcc;
using ggml::Type;
using test::randomTensor;
using test::sharedScaleTensor;

namespace {

struct Planes {
  std::vector<uint8_t> mem;
  uint8_t *p[4];
  Planes(int layout, int64_t rows, int64_t cols) {
    auto b = cuda::planeBytes(layout, rows, cols);
    mem.resize(b[0] + b[1] + b[2] + b[3] + 64);
    size_t off = 0;
    for (int i = 0; i < 4; ++i) {
      p[i] = mem.data() + off;
      off += b[i];
    }
  }
};

// --- the kernel's arithmetic, replayed (see dotQ8Row) -----------------------
uint32_t word(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
int8_t byteOf(uint32_t v, int i) { return int8_t(v >> (8 * i)); }
int dp4a(uint32_t a, const int8_t *x) {
  int s = 0;
  for (int i = 0; i < 4; ++i)
    s += int(byteOf(a, i)) * int(x[i]);
  return s;
}
uint32_t vsub4(uint32_t a, uint32_t b) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i)
    r |= uint32_t(uint8_t(uint8_t(a >> (8 * i)) - uint8_t(b >> (8 * i)))) << (8 * i);
  return r;
}
float half2f(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return halfToFloat(h);
}

/// Row `row` of a layout's planes times one int8-rounded activation row.
float kernelDot(int layout, const Planes &P, int64_t cols, int64_t row, const int8_t *xq, const float *xd,
                const float *xs) {
  const int64_t NB = cols / 32;
  float acc = 0;
  for (int64_t b = 0; b < NB; ++b) {
    uint32_t c[8];
    float s0 = 0, s1 = 0, m0 = 0;
    if (layout == QCC_CUDA_Q8_0 || layout == QCC_CUDA_Q8_G128) {
      for (int i = 0; i < 8; ++i)
        c[i] = word(P.p[0] + row * cols + b * 32 + 4 * i);
      s0 = half2f(P.p[1] + (row * NB + b) / qccCudaBlocksPerScale(layout) * 2);
    } else {
      for (int i = 0; i < 4; ++i) {
        uint32_t v = word(P.p[0] + row * (cols / 2) + b * 16 + 4 * i);
        c[i] = v & 0x0F0F0F0Fu;
        c[4 + i] = (v >> 4) & 0x0F0F0F0Fu;
      }
      if (layout == QCC_CUDA_Q4_0) {
        s0 = half2f(P.p[1] + (row * NB + b) * 2);
      } else if (layout == QCC_CUDA_Q4_G128) {
        s0 = half2f(P.p[1] + (row * NB + b) / 4 * 2);
      } else if (layout == QCC_CUDA_Q4_1 || layout == QCC_CUDA_Q4_1_G128) {
        const uint8_t *dm = P.p[1] + (layout == QCC_CUDA_Q4_1 ? row * NB + b : (row * NB + b) / 4) * 4;
        s0 = half2f(dm);
        m0 = -half2f(dm + 2);
      } else if (layout == QCC_CUDA_Q4_K) {
        const uint8_t *sm = P.p[1] + (row * NB + b) * 2;
        const uint8_t *dd = P.p[2] + (row * (cols / 256) + b / 8) * 4;
        s0 = half2f(dd) * float(sm[0]);
        m0 = half2f(dd + 2) * float(sm[1]);
      } else if (layout == QCC_CUDA_Q6_K) {
        const uint8_t *hb = P.p[1] + row * (cols / 4) + b * 8;
        for (int g = 0; g < 4; ++g) {
          const uint32_t W = word(hb + 4 * (g / 2));
          const uint32_t ha = (g % 2 == 0 ? W << 4 : W) & 0x30303030u;
          const uint32_t hh = (g % 2 == 0 ? W << 2 : W >> 2) & 0x30303030u;
          c[g] = vsub4(c[g] | ha, 0x20202020u);
          c[4 + g] = vsub4(c[4 + g] | hh, 0x20202020u);
        }
        const int8_t *sc = reinterpret_cast<const int8_t *>(P.p[2]) + row * NB * 2 + b * 2;
        const float d = half2f(P.p[3] + (row * (cols / 256) + b / 8) * 2);
        s0 = d * float(sc[0]);
        s1 = d * float(sc[1]);
      }
    }
    const int8_t *x = xq + b * 32;
    int ia = 0, ib = 0;
    for (int i = 0; i < 4; ++i) {
      ia += dp4a(c[i], x + 4 * i);
      ib += dp4a(c[4 + i], x + 16 + 4 * i);
    }
    const float dx = xd[b];
    if (layout == QCC_CUDA_Q4_0 || layout == QCC_CUDA_Q4_G128)
      acc += s0 * (dx * float(ia + ib) - 8.0f * xs[b]);
    else if (layout == QCC_CUDA_Q8_0 || layout == QCC_CUDA_Q8_G128)
      acc += s0 * dx * float(ia + ib);
    else if (layout == QCC_CUDA_Q4_K || layout == QCC_CUDA_Q4_1 || layout == QCC_CUDA_Q4_1_G128)
      acc += s0 * dx * float(ia + ib) - m0 * xs[b];
    else
      acc += dx * (s0 * float(ia) + s1 * float(ib));
  }
  return acc;
}

struct Case {
  Type type;
  int layout;
  const char *name;
};

class CudaLayout : public ::testing::TestWithParam<Case> {};

TEST_P(CudaLayout, PlanesHoldTheFormatsValuesAndTheKernelsArithmeticUsesThem) {
  const Case c = GetParam();
  const int64_t rows = 5, cols = 512;
  std::vector<uint8_t> src = qccCudaBlocksPerScale(c.layout) > 1 ? sharedScaleTensor(c.type, rows, cols, 7)
                                 : randomTensor(c.type, rows, cols, 7);
  ASSERT_TRUE(cuda::layoutAccepts(c.layout, c.type, cols));
  Planes P(c.layout, rows, cols);
  cuda::convertRows(c.type, c.layout, src.data(), cols, 0, 2, P.p); // two calls: rows split as threads do
  cuda::convertRows(c.type, c.layout, src.data(), cols, 2, rows, P.p);
  const size_t rb = ggml::rowBytes(c.type, cols);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> ud(-2.0f, 2.0f);
  std::vector<int8_t> xq(cols);
  std::vector<float> xd(cols / 32), xs(cols / 32), xv(cols);
  for (int64_t b = 0; b < cols / 32; ++b) {
    xd[b] = 0.01f * float(b + 1);
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      xq[b * 32 + i] = int8_t(std::lround(ud(rng) * 63));
      sum += xq[b * 32 + i];
      xv[b * 32 + i] = xd[b] * float(xq[b * 32 + i]);
    }
    xs[b] = xd[b] * float(sum);
  }
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float> ref(cols);
    ggml::dequantizeRow(c.type, src.data() + r * rb, ref.data(), cols);
    double dot = 0, mag = 0;
    for (int64_t k = 0; k < cols; ++k) {
      ASSERT_EQ(cuda::planeValue(c.layout, P.p, cols, r, k), ref[k]) << "row " << r << " col " << k;
      dot += double(ref[k]) * xv[k];
      mag += std::fabs(double(ref[k]) * xv[k]);
    }
    if (c.layout == QCC_CUDA_F16 || c.layout == QCC_CUDA_F32)
      continue; // float rows multiply float activations
    const float got = kernelDot(c.layout, P, cols, r, xq.data(), xd.data(), xs.data());
    EXPECT_NEAR(got, dot, 1e-5 * mag + 1e-6) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, CudaLayout,
                         ::testing::Values(Case{Type::Q4_0, QCC_CUDA_Q4_0, "Q4_0"},
                                           Case{Type::Q4_0, QCC_CUDA_Q4_G128, "Q4_0_g128"},
                                           Case{Type::Q8_0, QCC_CUDA_Q8_0, "Q8_0"},
                                           Case{Type::Q8_0, QCC_CUDA_Q8_G128, "Q8_0_g128"},
                                           Case{Type::Q4_K, QCC_CUDA_Q4_K, "Q4_K"},
                                           Case{Type::Q6_K, QCC_CUDA_Q6_K, "Q6_K"},
                                           Case{Type::F16, QCC_CUDA_F16, "F16"}, Case{Type::Q5_K, QCC_CUDA_F32, "Q5_K"},
                                           Case{Type::BF16, QCC_CUDA_F32, "BF16"},
                                           Case{Type::Q4_1, QCC_CUDA_Q4_1, "Q4_1"},
                                           Case{Type::Q4_1, QCC_CUDA_Q4_1_G128, "Q4_1_g128"},
                                           Case{Type::Q4_1, QCC_CUDA_F32, "Q4_1_as_float"}),
                         [](const auto &info) { return std::string(info.param.name); });

// The compiler picks the g128 layouts only for Q4_0 / Q4_1 / Q8_0 tensors whose
// every run of four blocks shares its scales bit for bit; the runtime checks
// it again on load.
TEST(CudaLayout, SharedScalesAreDetectedExactly) {
  for (Type t : {Type::Q4_0, Type::Q4_1, Type::Q8_0}) {
    SCOPED_TRACE(ggml::traits(t).name);
    std::vector<uint8_t> g = sharedScaleTensor(t, 3, 384, 5);
    EXPECT_TRUE(ggml::sharesScales128(t, g.data(), 3, 384));
    EXPECT_FALSE(ggml::sharesScales128(t, g.data(), 3, 352)) << "rows of 11 blocks have no groups of 128";
    const size_t bb = ggml::rowBytes(t, 32);
    std::vector<uint8_t> d = g;
    d[(2 * 12 + 7) * bb] ^= 1; // row 2, group 1: one block's d one ulp off
    EXPECT_FALSE(ggml::sharesScales128(t, d.data(), 3, 384));
    if (t == Type::Q4_1) {
      std::vector<uint8_t> m = g;
      m[(2 * 12 + 7) * bb + 2] ^= 1; // the same block's m
      EXPECT_FALSE(ggml::sharesScales128(t, m.data(), 3, 384));
    }
    std::vector<uint8_t> r = randomTensor(t, 3, 384, 5);
    EXPECT_FALSE(ggml::sharesScales128(t, r.data(), 3, 384));
  }
  std::vector<uint8_t> q6 = randomTensor(Type::Q6_K, 3, 512, 5);
  EXPECT_FALSE(ggml::sharesScales128(Type::Q6_K, q6.data(), 3, 512)) << "no g128 layout for Q6_K";
  EXPECT_TRUE(cuda::layoutAccepts(QCC_CUDA_Q4_G128, Type::Q4_0, 384));
  EXPECT_FALSE(cuda::layoutAccepts(QCC_CUDA_Q4_G128, Type::Q4_0, 352));
  EXPECT_FALSE(cuda::layoutAccepts(QCC_CUDA_Q4_G128, Type::Q8_0, 384));
  EXPECT_TRUE(cuda::layoutAccepts(QCC_CUDA_Q4_1_G128, Type::Q4_1, 384));
  EXPECT_FALSE(cuda::layoutAccepts(QCC_CUDA_Q4_1_G128, Type::Q4_0, 384));
  EXPECT_TRUE(cuda::layoutAccepts(QCC_CUDA_Q8_G128, Type::Q8_0, 384));
  EXPECT_FALSE(cuda::layoutAccepts(QCC_CUDA_Q8_G128, Type::Q8_0, 352));
  EXPECT_FALSE(cuda::layoutAccepts(QCC_CUDA_Q8_G128, Type::Q4_0, 384));
}

} // namespace
