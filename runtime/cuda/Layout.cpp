//===- Layout.cpp - GGUF tensors in the planes the CUDA kernels read ------===//
#include "runtime/cuda/Layout.h"

#include "formats/ggml/BlockCodes.h"
#include "frontends/Safetensors.h" // halfToFloat

#include <cstring>
#include <vector>

namespace qcc::cuda {

using ggml::Type;

namespace {
/// The "nibbles" order of CudaABI.h from 32 codes in [0, 15].
void packNibbles(const uint8_t *q, uint8_t *out) {
  for (int j = 0; j < 16; ++j)
    out[j] = uint8_t((q[j] & 15) | ((q[j + 16] & 15) << 4));
}
uint16_t readHalf(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}
} // namespace

std::array<size_t, 4> planeBytes(int layout, int64_t rows, int64_t cols) {
  std::array<size_t, 4> b;
  for (int p = 0; p < 4; ++p)
    b[p] = size_t(rows) * size_t(qccCudaPlaneRowBytes(layout, cols, p));
  return b;
}

bool layoutAccepts(int layout, Type t, int64_t cols) {
  switch (layout) {
  case QCC_CUDA_Q4_0: return t == Type::Q4_0 && cols % 32 == 0;
  case QCC_CUDA_Q4_G128: return t == Type::Q4_0 && cols % 128 == 0;
  case QCC_CUDA_Q4_1: return t == Type::Q4_1 && cols % 32 == 0;
  case QCC_CUDA_Q4_1_G128: return t == Type::Q4_1 && cols % 128 == 0;
  case QCC_CUDA_Q8_0: return t == Type::Q8_0 && cols % 32 == 0;
  case QCC_CUDA_Q8_G128: return t == Type::Q8_0 && cols % 128 == 0;
  case QCC_CUDA_Q4_K: return t == Type::Q4_K && cols % 256 == 0;
  case QCC_CUDA_Q6_K: return t == Type::Q6_K && cols % 256 == 0;
  case QCC_CUDA_F16: return t == Type::F16;
  default: return true; // float rows: every type dequantizes
  }
}

void convertRows(Type t, int layout, const uint8_t *src, int64_t cols, int64_t r0, int64_t r1,
                 uint8_t *const planes[4]) {
  const size_t rb = ggml::rowBytes(t, cols);
  const int64_t nb = cols / 32;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t *row = src + size_t(r) * rb;
    switch (layout) {
    case QCC_CUDA_Q4_0:
    case QCC_CUDA_Q4_G128:
    case QCC_CUDA_Q4_1:
    case QCC_CUDA_Q4_1_G128: {
      // Nibbles as they are; each scale's first block gives its d (and m:
      // Q4_1 holds them together before its nibbles).
      const bool q41 = t == Type::Q4_1;
      const size_t bb = q41 ? sizeof(ggml::BlockQ4_1) : sizeof(ggml::BlockQ4_0), sb = q41 ? 4 : 2;
      const int per = qccCudaBlocksPerScale(layout);
      for (int64_t i = 0; i < nb; ++i) {
        const uint8_t *blk = row + i * bb;
        std::memcpy(planes[0] + (size_t(r) * nb + i) * 16, blk + sb, 16);
        if (i % per == 0)
          std::memcpy(planes[1] + (size_t(r) * nb + i) / per * sb, blk, sb);
      }
      break;
    }
    case QCC_CUDA_Q8_0:
    case QCC_CUDA_Q8_G128: {
      // Each scale's first block gives its d.
      auto *b = reinterpret_cast<const ggml::BlockQ8_0 *>(row);
      const int per = qccCudaBlocksPerScale(layout);
      for (int64_t i = 0; i < nb; ++i) {
        std::memcpy(planes[0] + (size_t(r) * nb + i) * 32, b[i].qs, 32);
        if (i % per == 0)
          std::memcpy(planes[1] + (size_t(r) * nb + i) / per * 2, &b[i].d, 2);
      }
      break;
    }
    case QCC_CUDA_Q4_K: {
      auto *b = reinterpret_cast<const ggml::BlockQ4_K *>(row);
      for (int64_t s = 0; s < cols / 256; ++s) {
        std::memcpy(planes[2] + (size_t(r) * (cols / 256) + s) * 4, &b[s].d, 2);
        std::memcpy(planes[2] + (size_t(r) * (cols / 256) + s) * 4 + 2, &b[s].dmin, 2);
        for (int sb = 0; sb < 8; ++sb) {
          // Sub-block sb: low (even) or high (odd) nibbles of 32 bytes.
          uint8_t q[32];
          const uint8_t *qs = b[s].qs + 32 * (sb / 2);
          for (int l = 0; l < 32; ++l)
            q[l] = sb % 2 ? qs[l] >> 4 : qs[l] & 15;
          const size_t blk = size_t(r) * nb + s * 8 + sb;
          packNibbles(q, planes[0] + blk * 16);
          uint8_t sc, m;
          ggml::scaleMinK4(sb, b[s].scales, sc, m);
          planes[1][blk * 2] = sc;
          planes[1][blk * 2 + 1] = m;
        }
      }
      break;
    }
    case QCC_CUDA_Q6_K: {
      auto *b = reinterpret_cast<const ggml::BlockQ6_K *>(row);
      for (int64_t s = 0; s < cols / 256; ++s) {
        std::memcpy(planes[3] + (size_t(r) * (cols / 256) + s) * 2, &b[s].d, 2);
        uint8_t q6[256];
        for (int e = 0; e < 256; ++e) {
          const int n = e / 128, qd = (e % 128) / 32, l = e % 32;
          const uint8_t ql = b[s].ql[64 * n + l + 32 * (qd & 1)];
          const int lo = qd >= 2 ? ql >> 4 : ql & 15;
          const int hi = (b[s].qh[32 * n + l] >> (2 * qd)) & 3;
          q6[e] = uint8_t(lo | hi << 4);
        }
        for (int i = 0; i < 16; ++i)
          planes[2][(size_t(r) * (cols / 256) + s) * 16 + i] = uint8_t(b[s].scales[i]);
        for (int sb = 0; sb < 8; ++sb) {
          const uint8_t *q = q6 + 32 * sb;
          const size_t blk = size_t(r) * nb + s * 8 + sb;
          packNibbles(q, planes[0] + blk * 16);
          uint8_t *h = planes[1] + blk * 8;
          std::memset(h, 0, 8);
          for (int g = 0; g < 4; ++g)
            for (int m = 0; m < 4; ++m) {
              const int bits = (q[4 * g + m] >> 4) | ((q[16 + 4 * g + m] >> 4) << 2);
              h[4 * (g / 2) + m] |= uint8_t(bits << (4 * (g % 2)));
            }
        }
      }
      break;
    }
    case QCC_CUDA_F16:
      std::memcpy(planes[0] + size_t(r) * cols * 2, row, size_t(cols) * 2);
      break;
    default:
      ggml::dequantizeRow(t, row, reinterpret_cast<float *>(planes[0]) + size_t(r) * cols, cols);
      break;
    }
  }
}

float planeValue(int layout, const uint8_t *const planes[4], int64_t cols, int64_t row, int64_t k) {
  const int64_t nb = cols / 32, b = row * nb + k / 32;
  const int j = int(k % 32);
  auto nib = [&](const uint8_t *p) { return j < 16 ? p[b * 16 + j] & 15 : p[b * 16 + j - 16] >> 4; };
  auto h2f = [](uint16_t h) { return qcc::halfToFloat(h); };
  switch (layout) {
  case QCC_CUDA_Q4_0:
  case QCC_CUDA_Q4_G128:
    return h2f(readHalf(planes[1] + b / qccCudaBlocksPerScale(layout) * 2)) * float(nib(planes[0]) - 8);
  case QCC_CUDA_Q4_1:
  case QCC_CUDA_Q4_1_G128: {
    const uint8_t *dm = planes[1] + b / qccCudaBlocksPerScale(layout) * 4;
    return h2f(readHalf(dm)) * float(nib(planes[0])) + h2f(readHalf(dm + 2));
  }
  case QCC_CUDA_Q8_0:
  case QCC_CUDA_Q8_G128:
    return h2f(readHalf(planes[1] + b / qccCudaBlocksPerScale(layout) * 2)) * float(int8_t(planes[0][b * 32 + j]));
  case QCC_CUDA_Q4_K: {
    const int64_t s = row * (cols / 256) + k / 256;
    const float d = h2f(readHalf(planes[2] + s * 4)), dmin = h2f(readHalf(planes[2] + s * 4 + 2));
    return d * float(planes[1][b * 2]) * float(nib(planes[0])) - dmin * float(planes[1][b * 2 + 1]);
  }
  case QCC_CUDA_Q6_K: {
    const int64_t s = row * (cols / 256) + k / 256;
    const float d = h2f(readHalf(planes[3] + s * 2));
    const int g = (j % 16) / 4, m = j % 4;
    const int bits = planes[1][b * 8 + 4 * (g / 2) + m] >> (4 * (g % 2));
    const int hi = j < 16 ? bits & 3 : (bits >> 2) & 3;
    const int q = nib(planes[0]) | hi << 4;
    const int8_t sc = int8_t(planes[2][row * (cols / 16) + k / 16]);
    return d * float(sc) * float(q - 32);
  }
  case QCC_CUDA_F16: return h2f(readHalf(planes[0] + (row * cols + k) * 2));
  default: return reinterpret_cast<const float *>(planes[0])[row * cols + k];
  }
}

} // namespace qcc::cuda
