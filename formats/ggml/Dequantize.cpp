//===- Dequantize.cpp - scalar reference dequantization -------------------===//
//
// One function per format. The arithmetic follows ggml's evaluation order
// ((d * sc) * q - (dmin * m), ...) and this file is compiled with
// -ffp-contract=off, so results equal ggml's dequantization bit for bit.
//
//===----------------------------------------------------------------------===//
#include "formats/ggml/BlockCodes.h"
#include "frontends/Safetensors.h"

#include <cstring>

namespace qcc::ggml {

namespace {
inline float h2f(half h) { return halfToFloat(h); }

void dqQ4_0(const BlockQ4_0 *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += QK) {
    const float d = h2f(x[i].d);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = ((x[i].qs[j] & 0xF) - 8) * d;
      y[j + QK / 2] = ((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}
void dqQ4_1(const BlockQ4_1 *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += QK) {
    const float d = h2f(x[i].d), m = h2f(x[i].m);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = (x[i].qs[j] & 0xF) * d + m;
      y[j + QK / 2] = (x[i].qs[j] >> 4) * d + m;
    }
  }
}
void dqQ5_0(const BlockQ5_0 *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += QK) {
    const float d = h2f(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < QK / 2; ++j) {
      int x0 = ((x[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
      int x1 = ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
      y[j] = x0 * d;
      y[j + QK / 2] = x1 * d;
    }
  }
}
void dqQ5_1(const BlockQ5_1 *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += QK) {
    const float d = h2f(x[i].d), m = h2f(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < QK / 2; ++j) {
      int x0 = (x[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      int x1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = x0 * d + m;
      y[j + QK / 2] = x1 * d + m;
    }
  }
}
void dqQ8_0(const BlockQ8_0 *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += QK) {
    const float d = h2f(x[i].d);
    for (int j = 0; j < QK; ++j)
      y[j] = x[i].qs[j] * d;
  }
}
void dqIQ4_NL(const BlockIQ4_NL *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += QK) {
    const float d = h2f(x[i].d);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = d * kIQ4NL[x[i].qs[j] & 0xF];
      y[j + QK / 2] = d * kIQ4NL[x[i].qs[j] >> 4];
    }
  }
}
void dqQ2_K(const BlockQ2_K *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d), mn = h2f(x[i].dmin);
    for (int e = 0; e < QK_K; ++e) {
      int n = e / 128, j = (e % 128) / 32, l = e % 32;
      uint8_t sc = x[i].scales[e / 16];
      float dl = d * (sc & 0xF), ml = mn * (sc >> 4);
      y[e] = dl * ((x[i].qs[32 * n + l] >> (2 * j)) & 3) - ml;
    }
    y += QK_K;
  }
}
void dqQ3_K(const BlockQ3_K *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d);
    int8_t sc[16];
    scalesQ3K(x[i].scales, sc);
    for (int e = 0; e < QK_K; ++e) {
      int n = e / 128, j = (e % 128) / 32, l = e % 32;
      float dl = d * (sc[e / 16]);
      int low = (x[i].qs[32 * n + l] >> (2 * j)) & 3;
      int hbit = (x[i].hmask[l] >> (4 * n + j)) & 1;
      y[e] = dl * (low - (hbit ? 0 : 4));
    }
    y += QK_K;
  }
}
/// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scale/min codes; Q5_K adds a
/// fifth bit per weight from qh.
template <typename B, int Bits>
void dqK4K5(const B *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d), mn = h2f(x[i].dmin);
    for (int c = 0; c < 4; ++c) { // 64 weights: sub-blocks 2c (low nibbles), 2c+1 (high)
      uint8_t sc, m;
      scaleMinK4(2 * c, x[i].scales, sc, m);
      const float d1 = d * sc, m1 = mn * m;
      scaleMinK4(2 * c + 1, x[i].scales, sc, m);
      const float d2 = d * sc, m2 = mn * m;
      const uint8_t *q = x[i].qs + 32 * c;
      for (int l = 0; l < 32; ++l) {
        int lo = q[l] & 0xF, hi = q[l] >> 4;
        if constexpr (Bits == 5) {
          lo += x[i].qh[l] & uint8_t(1 << (2 * c)) ? 16 : 0;
          hi += x[i].qh[l] & uint8_t(2 << (2 * c)) ? 16 : 0;
        }
        y[l] = d1 * lo - m1;
        y[32 + l] = d2 * hi - m2;
      }
      y += 64;
    }
  }
}
void dqQ6_K(const BlockQ6_K *x, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d);
    for (int n = 0; n < 2; ++n) {
      const uint8_t *ql = x[i].ql + 64 * n, *qh = x[i].qh + 32 * n;
      const int8_t *sc = x[i].scales + 8 * n;
      for (int l = 0; l < 32; ++l) {
        int is = l / 16;
        int q1 = int8_t((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        int q2 = int8_t((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        int q3 = int8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        int q4 = int8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
    }
  }
}
} // namespace

void dequantizeRow(Type t, const void *in, float *y, int64_t n) {
  const int64_t nb = n / traits(t).blockSize;
  switch (t) {
  case Type::F32:
    std::memcpy(y, in, n * 4);
    return;
  case Type::F16: {
    const half *h = static_cast<const half *>(in);
    for (int64_t i = 0; i < n; ++i)
      y[i] = halfToFloat(h[i]);
    return;
  }
  case Type::BF16: {
    const uint16_t *h = static_cast<const uint16_t *>(in);
    for (int64_t i = 0; i < n; ++i)
      y[i] = bf16ToFloat(h[i]);
    return;
  }
  case Type::Q4_0: return dqQ4_0(static_cast<const BlockQ4_0 *>(in), y, nb);
  case Type::Q4_1: return dqQ4_1(static_cast<const BlockQ4_1 *>(in), y, nb);
  case Type::Q5_0: return dqQ5_0(static_cast<const BlockQ5_0 *>(in), y, nb);
  case Type::Q5_1: return dqQ5_1(static_cast<const BlockQ5_1 *>(in), y, nb);
  case Type::Q8_0: return dqQ8_0(static_cast<const BlockQ8_0 *>(in), y, nb);
  case Type::IQ4_NL: return dqIQ4_NL(static_cast<const BlockIQ4_NL *>(in), y, nb);
  case Type::Q2_K: return dqQ2_K(static_cast<const BlockQ2_K *>(in), y, nb);
  case Type::Q3_K: return dqQ3_K(static_cast<const BlockQ3_K *>(in), y, nb);
  case Type::Q4_K: return dqK4K5<BlockQ4_K, 4>(static_cast<const BlockQ4_K *>(in), y, nb);
  case Type::Q5_K: return dqK4K5<BlockQ5_K, 5>(static_cast<const BlockQ5_K *>(in), y, nb);
  case Type::Q6_K: return dqQ6_K(static_cast<const BlockQ6_K *>(in), y, nb);
  }
}

} // namespace qcc::ggml
