//===- Kernels.h - float32 reference kernels of the qcc ops ----*- C++ -*-===//
//
// One function per op of the qcc dialect, MLIR-free, on row-major float32
// activations [tokens x features]. The reference executor and the calibration
// driver both run models through these, so what calibration sees is what the
// executor computes. Matrix products go through oneDNN's sgemm; rows and
// heads are spread over OpenMP threads.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_KERNELS_H
#define QCC_RUNTIME_KERNELS_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace qcc::kernels {

/// e^x within 2 ulp where the result is a normal float (x in about
/// [-87.3, 88.7]; subnormal below, 0 from about -103.3, +inf above 88.7),
/// NaN for NaN. Branch-free, so loops calling it vectorize.
inline float expf(float x) {
  // exp(x) = 2^k * exp(r), k = round(x / ln 2), |r| <= ln(2) / 2; Cody-Waite
  // reduction and a degree-6 polynomial (Cephes' coefficients).
  float xc = x > -104.0f ? x : -104.0f; // NaN -> -104 here, restored below
  xc = xc < 88.72283f ? xc : 88.72283f;
  // Round to nearest by adding 1.5 * 2^23: k lands in the low mantissa bits.
  const float big = xc * 1.44269504088896341f + 12582912.0f;
  const float k = big - 12582912.0f;
  const float r = (xc - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^k by building the exponent; k in [-150, 128] after the clamp, split
  // in two normal factors so that 2^128 and subnormal results come out right.
  int32_t ki;
  std::memcpy(&ki, &big, 4);
  ki -= 0x4B400000;
  const int32_t k1 = ki >> 1, k2 = ki - k1;
  float s1, s2;
  const int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  return x != x ? x : p * s1 * s2; // NaN stays NaN
}

/// Row-major C[M x N] = alpha * A[M x K] * op(B) + beta * C, op(B) = B^T if transB.
void gemm(bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
          const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/// out[t] = table[ids[t]] (ids outside [0, rows) read row 0).
void embed(const int32_t *ids, int64_t n, const float *table, int64_t rows, int64_t d, float *out);
/// out = x * rsqrt(mean(x^2) + eps) * w, per row of d.
void rmsNorm(const float *x, const float *w, float *out, int64_t n, int64_t d, float eps);
/// out[n x dOut] = x[n x dIn] * W^T (+ bias), W stored [dOut x dIn].
void linear(const float *x, const float *W, const float *bias, float *out, int64_t n, int64_t dIn,
            int64_t dOut);
/// linear over fixed chunks of rows, each chunk one single-threaded sgemm on
/// one thread: results do not depend on the thread count. What calibration
/// runs over all its tokens.
void linearChunked(const float *x, const float *W, const float *bias, float *out, int64_t n,
                   int64_t dIn, int64_t dOut);
/// Rotate-half RoPE of `heads` heads of `headDim` at positions p0 .. p0+n-1.
void rope(const float *x, float *out, int64_t n, int64_t p0, int64_t heads, int64_t headDim,
          const float *invFreq);
/// Causal GQA attention of n queries at positions p0 .. p0+n-1 over keys and
/// values K, V [p0+n x kvHeads*headDim] (optionally within a sliding window).
/// `scratch` holds one buffer per OpenMP thread.
void attention(const float *Q, const float *K, const float *V, float *out, int64_t n, int64_t p0,
               int64_t heads, int64_t kvHeads, int64_t headDim, float scale, int64_t window,
               std::vector<std::vector<float>> &scratch);
/// out = silu(gate) * up, elementwise over `total` values.
void swiglu(const float *gate, const float *up, float *out, int64_t total);
/// out = a + b.
void add(const float *a, const float *b, float *out, int64_t total);

/// RoPE inverse frequencies theta^(-2i/headDim), with "linear" or "llama3"
/// scaling, or each divided by its "freq_factors" entry ("" or "default":
/// none).
struct RopeScaling {
  const char *type = "default";
  double factor = 1, lowFreqFactor = 1, highFreqFactor = 4, originalMaxPositions = 8192;
  const float *freqFactors = nullptr; ///< "freq_factors": headDim / 2 divisors
};
std::vector<float> ropeInvFreq(int64_t headDim, double theta, const RopeScaling &s);

} // namespace qcc::kernels

#endif
