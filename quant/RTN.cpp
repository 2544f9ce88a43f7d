//===- RTN.cpp - generic round-to-nearest quantization --------------------===//
#include "quant/RTN.h"
#include "formats/ggml/GGMLTypes.h"
#include "frontends/Safetensors.h" // fp16 conversion

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qcc::rtn {

namespace {
inline int roundi(float v) { return int(std::nearbyint(v)); }

/// Weighted squared error of x ~ s * (q - z) with q re-rounded.
double roundAndScore(const float *x, const float *w, int64_t g, int qmax, float s, float z, int *q) {
  double err = 0;
  for (int64_t i = 0; i < g; ++i) {
    q[i] = s > 0 ? std::clamp(roundi(x[i] / s + z), 0, qmax) : int(z);
    float e = x[i] - s * (q[i] - z);
    err += double(w[i]) * e * e;
  }
  return err;
}

/// Asymmetric with an integer zero point: x ~ s * (q - z). Candidates: the
/// searched affine fit and plain min/max, each with its zero rounded to an
/// integer and the scale refitted; the lowest error wins.
void fitIntegerZero(const float *x, const float *w, int64_t g, int qmax, float &sOut, float &zOut,
                    int *qOut) {
  std::vector<int> q(g);
  float sA, mA;
  ggml::searchAffine(x, w, int(g), qmax, /*minNonPositive=*/false, sA, mA, q.data());
  float mn = *std::min_element(x, x + g), mx = *std::max_element(x, x + g);
  std::pair<float, float> starts[] = {{sA, mA}, {(mx - mn) / qmax, mn}};
  double best = INFINITY;
  sOut = 0;
  zOut = 0;
  for (auto [s, m] : starts) {
    if (!(s > 0))
      continue;
    float z = float(std::clamp(roundi(-m / s), 0, qmax));
    for (int it = 0; it < 4; ++it) {
      double err = roundAndScore(x, w, g, qmax, s, z, q.data());
      if (err < best) {
        best = err;
        sOut = s;
        zOut = z;
        std::copy(q.begin(), q.end(), qOut);
      }
      double num = 0, den = 0; // refit the scale with the zero fixed
      for (int64_t i = 0; i < g; ++i) {
        double c = q[i] - z;
        num += double(w[i]) * x[i] * c;
        den += double(w[i]) * c * c;
      }
      if (den <= 0 || num <= 0)
        break;
      s = float(num / den);
    }
  }
  if (!(best < INFINITY)) // constant group
    roundAndScore(x, w, g, qmax, 0, 0, qOut);
}
} // namespace

void writeGroupBytes(uint8_t *out, float scale, float zero, const int *codes, int64_t g) {
  std::memcpy(out, &scale, 4);
  std::memcpy(out + 4, &zero, 4);
  for (int64_t i = 0; i < g; ++i)
    out[8 + i] = uint8_t(codes[i]);
}

const uint8_t *readGroupBytes(const uint8_t *in, float &scale, float &zero) {
  std::memcpy(&scale, in, 4);
  std::memcpy(&zero, in + 4, 4);
  return in + 8;
}

size_t rowBytes(const Params &p, int64_t n) {
  int64_t g = p.groupSize(n);
  return size_t(n / g) * size_t(8 + g);
}

void fitGroup(const Params &p, const float *xs, const float *imp, int64_t g, bool minmax, float &s,
              float &z, int *q, float clip) {
  const int qmax = (1 << p.bits) - 1, half = 1 << (p.bits - 1);
  if (minmax) {
    // The GPTQ paper's grid: symmetric max-abs, or min-max with a rounded zero.
    if (p.symmetric) {
      float amax = 0;
      for (int64_t i = 0; i < g; ++i)
        amax = std::max(amax, std::fabs(xs[i]));
      s = amax * clip / float(half - 1);
      z = float(half);
    } else {
      float mn = std::min(0.0f, *std::min_element(xs, xs + g)) * clip;
      float mx = std::max(0.0f, *std::max_element(xs, xs + g)) * clip;
      s = (mx - mn) / qmax;
      z = s > 0 ? float(std::clamp(roundi(-mn / s), 0, qmax)) : 0;
    }
    for (int64_t i = 0; i < g; ++i)
      q[i] = s > 0 ? std::clamp(roundi(xs[i] / s + z), 0, qmax) : int(z);
  } else {
    std::vector<float> w(g);
    ggml::blockWeights(xs, imp, int(g), w.data());
    if (p.symmetric) {
      s = ggml::searchSymmetric(xs, w.data(), int(g), -half, half - 1, q);
      for (int64_t i = 0; i < g; ++i)
        q[i] += half;
      z = float(half);
    } else {
      fitIntegerZero(xs, w.data(), g, qmax, s, z, q);
    }
  }
  if (p.fp16Scale || (!p.symmetric && z < float(p.zeroMin))) {
    if (!p.symmetric)
      z = std::max(z, float(p.zeroMin));
    if (p.fp16Scale)
      s = halfToFloat(floatToHalf(s));
    for (int64_t i = 0; i < g; ++i) // (a symmetric scale may be negative)
      q[i] = s != 0 ? std::clamp(roundi(xs[i] / s + z), 0, qmax) : int(z);
  }
}

void quantizeRows(const Params &p, const float *x, uint8_t *out, int64_t rows, int64_t n,
                  const float *imp, bool minmax) {
  const int64_t g = p.groupSize(n);
  const size_t rb = rowBytes(p, n);
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int> q(g);
    for (int64_t b = 0; b < n; b += g) {
      float s, z;
      fitGroup(p, x + r * n + b, imp ? imp + b : nullptr, g, minmax, s, z, q.data());
      writeGroupBytes(out + r * rb + (b / g) * (8 + g), s, z, q.data(), g);
    }
  }
}

void dequantizeRow(const Params &p, const uint8_t *in, float *y, int64_t n) {
  const int64_t g = p.groupSize(n);
  for (int64_t b = 0; b < n; b += g, in += 8 + g) {
    float s, z;
    const uint8_t *codes = readGroupBytes(in, s, z);
    for (int64_t i = 0; i < g; ++i)
      y[b + i] = s * (float(codes[i]) - z);
  }
}

} // namespace qcc::rtn
