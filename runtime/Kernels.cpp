//===- Kernels.cpp - float32 reference kernels of the qcc ops -------------===//
#include "runtime/Kernels.h"

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace qcc::kernels {


void gemm(bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
          const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0)
    return;
  dnnl_status_t st = dnnl_sgemm('N', transB ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success) {
    // Only reachable on a programming error (bad leading dimensions).
    fprintf(stderr, "qcc: internal error: dnnl_sgemm failed (%d)\n", int(st));
    std::abort();
  }
}

void embed(const int32_t *ids, int64_t n, const float *table, int64_t rows, int64_t d, float *out) {
  for (int64_t t = 0; t < n; ++t) {
    int64_t id = ids[t];
    if (id < 0 || id >= rows)
      id = 0; // callers validate ids; never read out of bounds
    std::memcpy(out + t * d, table + id * d, d * sizeof(float));
  }
}

void rmsNorm(const float *x, const float *w, float *out, int64_t n, int64_t d, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t) {
    const float *r = x + t * d;
    double ss = 0;
    for (int64_t i = 0; i < d; ++i)
      ss += double(r[i]) * r[i];
    float inv = 1.0f / std::sqrt(float(ss / d) + eps);
    float *o = out + t * d;
    for (int64_t i = 0; i < d; ++i)
      o[i] = w[i] * (r[i] * inv);
  }
}

void linear(const float *x, const float *W, const float *bias, float *out, int64_t n, int64_t dIn,
            int64_t dOut) {
  gemm(true, n, dOut, dIn, 1.0f, x, dIn, W, dIn, 0.0f, out, dOut);
  if (bias)
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < dOut; ++i)
        out[t * dOut + i] += bias[i];
}

void linearChunked(const float *x, const float *W, const float *bias, float *out, int64_t n,
                   int64_t dIn, int64_t dOut) {
  // 512 rows a call: oneDNN's single-threaded sgemm runs 10-60 % faster than
  // at 256 on Zen 3 for these shapes (most of all for narrow k/v outputs).
  constexpr int64_t kRows = 512;
  const int64_t chunks = (n + kRows - 1) / kRows;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t t0 = c * kRows, rows = std::min<int64_t>(n, t0 + kRows) - t0;
    linear(x + t0 * dIn, W, bias, out + t0 * dOut, rows, dIn, dOut);
  }
}

void rope(const float *x, float *out, int64_t n, int64_t p0, int64_t heads, int64_t headDim,
          const float *invFreq) {
  const int64_t half = headDim / 2, d = heads * headDim;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t) {
    float pos = float(p0 + t);
    for (int64_t i = 0; i < half; ++i) {
      float ang = pos * invFreq[i];
      float c = std::cos(ang), sn = std::sin(ang);
      for (int64_t h = 0; h < heads; ++h) {
        const float *r = x + t * d + h * headDim;
        float *o = out + t * d + h * headDim;
        float a = r[i], b = r[i + half];
        o[i] = a * c - b * sn;
        o[i + half] = b * c + a * sn;
      }
    }
  }
}

void attention(const float *Q, const float *K, const float *V, float *out, int64_t n, int64_t p0,
               int64_t heads, int64_t kvHeads, int64_t hd, float scale, int64_t window,
               std::vector<std::vector<float>> &scratch) {
  const int64_t kvDim = kvHeads * hd, qDim = heads * hd;
  const int64_t group = heads / kvHeads;
  // Queries in blocks of kQB rows: a block reads only the keys its rows may
  // see (causal, and within the window), so a prompt costs half the products.
  constexpr int64_t kQB = 64;
  const int64_t blocks = (n + kQB - 1) / kQB;
  if (scratch.size() < size_t(omp_get_max_threads()))
    scratch.resize(omp_get_max_threads());
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t b = 0; b < blocks; ++b) {
      auto &S = scratch[omp_get_thread_num()];
      const int64_t t0 = b * kQB, rows = std::min(kQB, n - t0);
      const int64_t kEnd = p0 + t0 + rows; // exclusive
      const int64_t kBegin = window > 0 ? std::max<int64_t>(0, p0 + t0 - window + 1) : 0;
      const int64_t P = kEnd - kBegin;
      if (S.size() < size_t(rows * P))
        S.resize(rows * P);
      const int64_t g = h / group;
      gemm(true, rows, P, hd, scale, Q + t0 * qDim + h * hd, qDim, K + kBegin * kvDim + g * hd,
           kvDim, 0.0f, S.data(), P);
      for (int64_t t = 0; t < rows; ++t) {
        float *row = S.data() + t * P;
        const int64_t last = p0 + t0 + t - kBegin; // inclusive, relative to kBegin
        const int64_t first =
            window > 0 ? std::max<int64_t>(0, p0 + t0 + t - window + 1 - kBegin) : 0;
        float mx = -INFINITY;
        for (int64_t j = first; j <= last; ++j)
          mx = std::max(mx, row[j]);
#pragma omp simd
        for (int64_t j = first; j <= last; ++j)
          row[j] = expf(row[j] - mx);
        float sum = 0;
        for (int64_t j = first; j <= last; ++j)
          sum += row[j];
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int64_t j = 0; j < P; ++j)
          row[j] = (j >= first && j <= last) ? row[j] * inv : 0.0f;
      }
      gemm(false, rows, hd, P, 1.0f, S.data(), P, V + kBegin * kvDim + g * hd, kvDim, 0.0f,
           out + t0 * qDim + h * hd, qDim);
    }
}

void swiglu(const float *gate, const float *up, float *out, int64_t total) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

void add(const float *a, const float *b, float *out, int64_t total) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i)
    out[i] = a[i] + b[i];
}

std::vector<float> ropeInvFreq(int64_t hd, double thetaD, const RopeScaling &s) {
  float theta = float(thetaD);
  std::vector<float> inv(hd / 2);
  for (int64_t i = 0; i < hd / 2; ++i)
    inv[i] = 1.0f / std::pow(theta, float(2 * i) / float(hd));
  std::string type = s.type;
  if (type == "freq_factors") {
    for (int64_t i = 0; i < hd / 2; ++i)
      inv[i] = inv[i] / s.freqFactors[i];
  } else if (type == "linear") {
    for (float &f : inv)
      f = float(f / s.factor);
  } else if (type == "llama3") {
    double lowF = s.lowFreqFactor, highF = s.highFreqFactor, oldCtx = s.originalMaxPositions;
    double lowWave = oldCtx / lowF, highWave = oldCtx / highF;
    for (float &f : inv) {
      double wave = 2 * M_PI / f;
      double scaled = wave > lowWave ? f / s.factor : f;
      if (!(wave < highWave) && !(wave > lowWave)) {
        double smooth = (oldCtx / wave - lowF) / (highF - lowF);
        scaled = (1 - smooth) * scaled / s.factor + smooth * scaled;
      }
      f = float(scaled);
    }
  }
  return inv;
}

} // namespace qcc::kernels
