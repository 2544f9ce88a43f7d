//===- BlockCodes.cpp - blocks as integers ---------------------------------===//
//
// decodeBlock reads each format the way Dequantize.cpp does, but stops before
// the float arithmetic: the codes with their offsets applied, and the integer
// sub-block scales and mins.
//
//===----------------------------------------------------------------------===//
#include "formats/ggml/BlockCodes.h"
#include "frontends/Safetensors.h"

#include <cstring>

namespace qcc::ggml {

namespace {
void legacy(BlockCodes &o, float d) {
  o.n = o.subLen = QK;
  o.scale[0] = 1;
  o.min[0] = 0;
  o.d = d;
}

void nibbles(const uint8_t *qs, int offset, BlockCodes &o) {
  for (int j = 0; j < QK / 2; ++j) {
    o.code[j] = int8_t((qs[j] & 0xF) - offset);
    o.code[j + QK / 2] = int8_t((qs[j] >> 4) - offset);
  }
}

void fifthBit(const uint8_t *qhBytes, BlockCodes &o) {
  uint32_t qh;
  std::memcpy(&qh, qhBytes, 4);
  for (int j = 0; j < QK / 2; ++j) {
    o.code[j] = int8_t(o.code[j] + (((qh >> j) & 1) << 4));
    o.code[j + QK / 2] = int8_t(o.code[j + QK / 2] + (((qh >> (j + 16)) & 1) << 4));
  }
}

/// Q4_K / Q5_K: 8 sub-blocks of 32; chunk c of 64 weights holds sub-block 2c
/// in the low nibbles and 2c + 1 in the high ones.
template <typename B> void k4k5(const B &x, const uint8_t *qh, BlockCodes &o) {
  o.n = QK_K, o.subLen = 32, o.hasMin = true;
  o.d = halfToFloat(x.d), o.dmin = halfToFloat(x.dmin);
  for (int s = 0; s < 8; ++s) {
    uint8_t sc, m;
    scaleMinK4(s, x.scales, sc, m);
    o.scale[s] = sc, o.min[s] = m;
  }
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      int lo = x.qs[32 * c + l] & 0xF, hi = x.qs[32 * c + l] >> 4;
      if (qh) {
        lo += (qh[l] >> (2 * c)) & 1 ? 16 : 0;
        hi += (qh[l] >> (2 * c + 1)) & 1 ? 16 : 0;
      }
      o.code[64 * c + l] = int8_t(lo);
      o.code[64 * c + 32 + l] = int8_t(hi);
    }
}
} // namespace

void decodeBlock(Type t, const void *block, BlockCodes &o) {
  o.hasMin = false;
  o.dmin = o.m = 0;
  switch (t) {
  case Type::Q4_0: {
    auto &x = *static_cast<const BlockQ4_0 *>(block);
    legacy(o, halfToFloat(x.d));
    nibbles(x.qs, 8, o);
    return;
  }
  case Type::Q4_1: {
    auto &x = *static_cast<const BlockQ4_1 *>(block);
    legacy(o, halfToFloat(x.d));
    o.m = halfToFloat(x.m);
    nibbles(x.qs, 0, o);
    return;
  }
  case Type::Q5_0: {
    auto &x = *static_cast<const BlockQ5_0 *>(block);
    legacy(o, halfToFloat(x.d));
    nibbles(x.qs, 16, o);
    fifthBit(x.qh, o);
    return;
  }
  case Type::Q5_1: {
    auto &x = *static_cast<const BlockQ5_1 *>(block);
    legacy(o, halfToFloat(x.d));
    o.m = halfToFloat(x.m);
    nibbles(x.qs, 0, o);
    fifthBit(x.qh, o);
    return;
  }
  case Type::Q8_0: {
    auto &x = *static_cast<const BlockQ8_0 *>(block);
    legacy(o, halfToFloat(x.d));
    std::memcpy(o.code, x.qs, QK);
    return;
  }
  case Type::IQ4_NL: {
    auto &x = *static_cast<const BlockIQ4_NL *>(block);
    legacy(o, halfToFloat(x.d));
    for (int j = 0; j < QK / 2; ++j) {
      o.code[j] = kIQ4NL[x.qs[j] & 0xF];
      o.code[j + QK / 2] = kIQ4NL[x.qs[j] >> 4];
    }
    return;
  }
  case Type::Q2_K: {
    auto &x = *static_cast<const BlockQ2_K *>(block);
    o.n = QK_K, o.subLen = 16, o.hasMin = true;
    o.d = halfToFloat(x.d), o.dmin = halfToFloat(x.dmin);
    for (int s = 0; s < 16; ++s)
      o.scale[s] = x.scales[s] & 0xF, o.min[s] = x.scales[s] >> 4;
    for (int e = 0; e < QK_K; ++e)
      o.code[e] = int8_t((x.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3);
    return;
  }
  case Type::Q3_K: {
    auto &x = *static_cast<const BlockQ3_K *>(block);
    o.n = QK_K, o.subLen = 16;
    o.d = halfToFloat(x.d);
    int8_t sc[16];
    scalesQ3K(x.scales, sc);
    for (int s = 0; s < 16; ++s)
      o.scale[s] = sc[s], o.min[s] = 0;
    for (int e = 0; e < QK_K; ++e) {
      const int n = e / 128, j = (e % 128) / 32, l = e % 32;
      const int low = (x.qs[32 * n + l] >> (2 * j)) & 3;
      const int hbit = (x.hmask[l] >> (4 * n + j)) & 1;
      o.code[e] = int8_t(low - (hbit ? 0 : 4));
    }
    return;
  }
  case Type::Q4_K: {
    auto &x = *static_cast<const BlockQ4_K *>(block);
    k4k5(x, nullptr, o);
    return;
  }
  case Type::Q5_K: {
    auto &x = *static_cast<const BlockQ5_K *>(block);
    k4k5(x, x.qh, o);
    return;
  }
  case Type::Q6_K: {
    auto &x = *static_cast<const BlockQ6_K *>(block);
    o.n = QK_K, o.subLen = 16;
    o.d = halfToFloat(x.d);
    for (int s = 0; s < 16; ++s)
      o.scale[s] = x.scales[s], o.min[s] = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t *ql = x.ql + 64 * h, *qh = x.qh + 32 * h;
      int8_t *c = o.code + 128 * h;
      for (int l = 0; l < 32; ++l) {
        c[l] = int8_t(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        c[l + 32] = int8_t(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        c[l + 64] = int8_t(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        c[l + 96] = int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    return;
  }
  default:
    o.n = 0; // float types have no integer view
    return;
  }
}

bool sharesScales128(Type t, const uint8_t *data, int64_t rows, int64_t cols) {
  if ((t != Type::Q4_0 && t != Type::Q4_1 && t != Type::Q8_0) || cols % 128 != 0)
    return false;
  // The blocks start with their scales: d (Q4_0, Q8_0), d and m (Q4_1).
  const size_t bb = rowBytes(t, 32), sb = t == Type::Q4_1 ? 4 : 2;
  const int64_t n = rows * (cols / 32); // blocks; a row's blocks come in whole runs of four
  for (int64_t i = 0; i < n; i += 4)
    for (int j = 1; j < 4; ++j)
      if (std::memcmp(data + (i + j) * bb, data + i * bb, sb) != 0)
        return false;
  return true;
}

} // namespace qcc::ggml
