//===- IntPackTest.cpp - GPU checkpoint packings ---------------------------===//
#include "formats/intpack/IntPack.h"
#include "formats/intpack/ToGGML.h"

#include <cmath>

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace qcc::intpack;

TEST(IntPack, DenseRoundTripEveryWidth) {
  std::mt19937 rng(3);
  for (int bits = 1; bits <= 8; ++bits)
    for (int64_t n : {1, 7, 32, 33, 100, 256}) {
      std::vector<uint8_t> v(n), back(n);
      for (auto &x : v)
        x = uint8_t(rng() & ((1u << bits) - 1));
      std::vector<uint32_t> w(packedWords(n, bits));
      packDense(v.data(), n, 1, bits, w.data(), 1);
      unpackDense(w.data(), 1, n, bits, back.data(), 1);
      EXPECT_EQ(v, back) << bits << " bits, n=" << n;
    }
}

TEST(IntPack, FourBitWordsHoldEightCodesLowNibbleFirst) {
  std::vector<uint8_t> v = {1, 2, 3, 4, 5, 6, 7, 8};
  uint32_t w = 0;
  packDense(v.data(), 8, 1, 4, &w, 1);
  EXPECT_EQ(w, 0x87654321u);
}

TEST(IntPack, ThreeBitStraddlesLikeGPTQ) {
  // 32 three-bit codes fill exactly three words: codes 0-9 in bits 0-29 of
  // word 0, code 10 split (2 low bits at 30-31, 1 high bit at bit 0 of word 1),
  // codes 11-20 from bit 1, code 21 split 1 + 2, codes 22-31 from bit 2.
  std::vector<uint8_t> v(32);
  for (int k = 0; k < 32; ++k)
    v[k] = uint8_t(k % 8);
  std::vector<uint32_t> w(3);
  packDense(v.data(), 32, 1, 3, w.data(), 1);
  uint32_t expect0 = 0, expect1 = 0, expect2 = 0;
  for (int k = 0; k < 10; ++k)
    expect0 |= uint32_t(v[k]) << (3 * k);
  expect0 |= uint32_t(v[10] & 3) << 30;
  expect1 |= uint32_t(v[10] >> 2);
  for (int k = 11; k < 21; ++k)
    expect1 |= uint32_t(v[k]) << (3 * (k - 11) + 1);
  expect1 |= uint32_t(v[21] & 1) << 31;
  expect2 |= uint32_t(v[21] >> 1);
  for (int k = 22; k < 32; ++k)
    expect2 |= uint32_t(v[k]) << (3 * (k - 22) + 2);
  EXPECT_EQ(w[0], expect0);
  EXPECT_EQ(w[1], expect1);
  EXPECT_EQ(w[2], expect2);
}

TEST(IntPack, StridedColumns) {
  // A [4 x 3] row-major matrix packed by columns into [1 x 3] words.
  std::vector<uint8_t> m = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, back(12);
  std::vector<uint32_t> w(3);
  for (int c = 0; c < 3; ++c)
    packDense(&m[c], 4, 3, 8, &w[c], 3);
  EXPECT_EQ(w[0], 0x0A070401u);
  for (int c = 0; c < 3; ++c)
    unpackDense(&w[c], 3, 4, 8, &back[c], 3);
  EXPECT_EQ(m, back);
}

TEST(IntPack, AWQInterleave) {
  std::vector<uint8_t> v = {0, 1, 2, 3, 4, 5, 6, 7}, back(8);
  uint32_t w;
  packAWQ(v.data(), 8, &w);
  // nibble k holds element 0 2 4 6 1 3 5 7
  EXPECT_EQ(w, 0x75316420u);
  unpackAWQ(&w, 8, back.data());
  EXPECT_EQ(v, back);
}

static GroupQuant randomQuant(int bits, int64_t out, int64_t in, int64_t group, bool sym,
                              bool permuted, unsigned seed) {
  std::mt19937 rng(seed);
  GroupQuant g;
  g.bits = bits, g.out = out, g.in = in, g.groupSize = group, g.symmetric = sym;
  const int64_t ng = g.groups();
  g.q.resize(out * in);
  for (auto &c : g.q)
    c = uint8_t(rng() % (1u << bits));
  for (int64_t i = 0; i < out * ng; ++i) {
    g.scale.push_back(float(1 + rng() % 1000) / 4096.0f);
    g.zero.push_back(sym ? int16_t(1 << (bits - 1)) : int16_t(1 + rng() % ((1u << bits) - 1)));
  }
  if (permuted) {
    for (int64_t i = 0; i < in; ++i)
      g.gIdx.push_back(int32_t(i / group));
    std::shuffle(g.gIdx.begin(), g.gIdx.end(), rng);
  }
  return g;
}

TEST(IntPack, GPTQTensorsHaveTheLoadersShapes) {
  GroupQuant g = randomQuant(4, 64, 256, 128, false, true, 1);
  ASSERT_EQ(g.validate(), "");
  auto t = toGPTQ(g);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].suffix, "qweight");
  EXPECT_EQ(t[0].shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(t[1].suffix, "qzeros");
  EXPECT_EQ(t[1].shape, (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(t[2].shape, (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(t[3].shape, (std::vector<int64_t>{256}));
  // qweight column 5 unpacks to row 5's codes; qzeros hold zero - 1.
  auto *w = reinterpret_cast<const uint32_t *>(t[0].bytes.data());
  std::vector<uint8_t> col(256);
  unpackDense(w + 5, 64, 256, 4, col.data(), 1);
  EXPECT_TRUE(std::equal(col.begin(), col.end(), g.q.begin() + 5 * 256));
  auto *z = reinterpret_cast<const uint32_t *>(t[1].bytes.data());
  std::vector<uint8_t> zr(64);
  unpackDense(z + 8, 1, 64, 4, zr.data(), 1); // group 1
  for (int o = 0; o < 64; ++o)
    EXPECT_EQ(zr[o], g.zero[o * 2 + 1] - 1);
}

TEST(IntPack, ValidateNamesTheProblem) {
  GroupQuant g = randomQuant(4, 8, 64, 32, true, true, 2);
  EXPECT_EQ(g.validate(), "");
  g.gIdx[3] = 2;
  EXPECT_NE(g.validate().find("g_idx entry 2 outside [0, 2)"), std::string::npos);
  g.gIdx[3] = 0;
  g.q[0] = 16;
  EXPECT_NE(g.validate().find("code exceeds 15"), std::string::npos);
}

TEST(IntPack, DequantizeUsesTheGroupOfEachChannel) {
  GroupQuant g = randomQuant(3, 2, 64, 32, false, true, 4);
  std::vector<float> w(2 * 64);
  g.dequantize(w.data());
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 64; ++i) {
      int k = g.gIdx[i];
      EXPECT_EQ(w[o * 64 + i], g.scale[o * 2 + k] * float(int(g.q[o * 64 + i]) - g.zero[o * 2 + k]));
    }
}

// Groups moved into ggml blocks: the values ggml's own dequantization gives
// back are the group's, exactly where fp16 holds the scales (Q4_0, Q8_0),
// within the rounding of the minimum (Q4_1) or of the scales otherwise.
static void expectBlocksHold(const GroupQuant &g, qcc::ggml::Type t, double tol) {
  double worst = -1;
  std::vector<uint8_t> b = toGGML(g, t, &worst);
  std::vector<float> w(g.out * g.in), y(g.out * g.in);
  g.dequantize(w.data());
  const size_t rb = qcc::ggml::rowBytes(t, g.in);
  ASSERT_EQ(b.size(), rb * g.out);
  double maxDiff = 0;
  for (int64_t o = 0; o < g.out; ++o)
    qcc::ggml::dequantizeRow(t, b.data() + o * rb, y.data() + o * g.in, g.in);
  for (size_t i = 0; i < w.size(); ++i)
    maxDiff = std::max(maxDiff, double(std::fabs(w[i] - y[i])));
  EXPECT_LE(maxDiff, tol);
  EXPECT_LE(maxDiff, worst * 1.0001 + 1e-7); // the reported worst bounds what happened
  if (tol == 0)
    EXPECT_EQ(worst, 0);
}

TEST(ToGGML, SymmetricFourBitIsQ4_0Exactly) {
  GroupQuant g = randomQuant(4, 8, 256, 128, true, false, 5);
  EXPECT_EQ(losslessGGMLType(g), qcc::ggml::Type::Q4_0);
  expectBlocksHold(g, qcc::ggml::Type::Q4_0, 0);
}

TEST(ToGGML, ZeroPointsGoToQ4_1WithTheMinimumRoundedOnce) {
  GroupQuant g = randomQuant(4, 8, 256, 64, false, false, 6);
  EXPECT_NE(ggmlUnrepresentable(g, qcc::ggml::Type::Q4_0), ""); // some code - zero + 8 > 15
  EXPECT_EQ(losslessGGMLType(g), qcc::ggml::Type::Q4_1);
  expectBlocksHold(g, qcc::ggml::Type::Q4_1, 1e-3);
}

TEST(ToGGML, EightBitSymmetricIsQ8_0AndThreeBitFitsQ4_0) {
  GroupQuant g8 = randomQuant(8, 4, 128, 32, true, false, 7);
  EXPECT_EQ(losslessGGMLType(g8), qcc::ggml::Type::Q8_0);
  expectBlocksHold(g8, qcc::ggml::Type::Q8_0, 0);
  GroupQuant g3 = randomQuant(3, 4, 128, 32, false, false, 8);
  EXPECT_EQ(losslessGGMLType(g3), qcc::ggml::Type::Q4_0);
  expectBlocksHold(g3, qcc::ggml::Type::Q4_0, 0);
}

TEST(ToGGML, WhatBlocksCannotHold) {
  GroupQuant p = randomQuant(4, 4, 128, 32, true, true, 9);
  EXPECT_NE(ggmlUnrepresentable(p, qcc::ggml::Type::Q4_0).find("act-order"), std::string::npos);
  GroupQuant g16 = randomQuant(4, 4, 128, 16, true, false, 10);
  EXPECT_NE(ggmlUnrepresentable(g16, qcc::ggml::Type::Q4_0).find("blocks of 32"), std::string::npos);
  GroupQuant g8 = randomQuant(8, 4, 128, 32, false, false, 11);
  EXPECT_FALSE(losslessGGMLType(g8).has_value());
  EXPECT_NE(ggmlUnrepresentable(g8, qcc::ggml::Type::Q4_K), "");
}

TEST(ToGGML, ScalesFP16CannotHoldAreRoundedOnceAndCodesKept) {
  GroupQuant g = randomQuant(4, 4, 128, 32, true, false, 12);
  for (float &s : g.scale)
    s *= 1.0001f; // no longer fp16 values
  EXPECT_FALSE(scalesFitFP16(g));
  EXPECT_EQ(losslessGGMLType(g), qcc::ggml::Type::Q4_0);
  expectBlocksHold(g, qcc::ggml::Type::Q4_0, 1e-3);
}
