//===- AWQ.cpp - activation-aware weight scaling --------------------------===//
#include "quant/AWQ.h"

#include <dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace qcc::quant {

namespace {
/// E = D H for D [m x n], H [n x n], row-major (single-threaded inside a parallel region).
void multiply(const float *D, const float *H, float *E, int64_t m, int64_t n) {
  if (dnnl_sgemm('N', 'N', m, n, n, 1.0f, D, n, H, n, 0.0f, E, n) != dnnl_success) {
    fprintf(stderr, "qcc: internal error: dnnl_sgemm failed\n");
    std::abort();
  }
}
} // namespace

double outputError(const float *A, const float *B, int64_t rows, int64_t n, const float *H) {
  // Fixed chunks of rows, one thread each (sgemm inside an OpenMP region runs
  // single-threaded), per-row sums added in row order: the result does not
  // depend on the number of threads.
  constexpr int64_t kRows = 64;
  std::vector<double> perRow(rows, 0);
  const int64_t chunks = (rows + kRows - 1) / kRows;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t r0 = c * kRows, nr = std::min(rows, r0 + kRows) - r0;
    std::vector<float> D(nr * n), E(nr * n);
    for (int64_t i = 0; i < nr * n; ++i)
      D[i] = A[r0 * n + i] - B[r0 * n + i];
    multiply(D.data(), H, E.data(), nr, n);
    for (int64_t r = 0; r < nr; ++r) {
      double e = 0;
      for (int64_t j = 0; j < n; ++j)
        e += double(E[r * n + j]) * D[r * n + j];
      perRow[r0 + r] = e;
    }
  }
  double err = 0;
  for (double e : perRow)
    err += e;
  return err;
}

AWQResult searchScales(const std::vector<AWQTarget> &targets, int64_t n, const float *meanAbs,
                       const float *H, int grid) {
  AWQResult best;
  best.error = INFINITY;
  std::vector<float> imp(n), s(n), Ws, Wq;
  for (int gi = 0; gi < std::max(grid, 1); ++gi) {
    const double alpha = double(gi) / grid;
    float mx = 0, mn = INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      s[j] = float(std::pow(std::max(double(meanAbs[j]), 1e-4), alpha));
      mx = std::max(mx, s[j]);
      mn = std::min(mn, s[j]);
    }
    const float norm = 1.0f / std::sqrt(mx * mn);
    for (int64_t j = 0; j < n; ++j) {
      s[j] *= norm;
      imp[j] = H[j * n + j] / (s[j] * s[j]);
    }
    double err = 0;
    for (const AWQTarget &t : targets) {
      Ws.resize(t.rows * n);
      Wq.resize(t.rows * n);
      for (int64_t r = 0; r < t.rows; ++r)
        for (int64_t j = 0; j < n; ++j)
          Ws[r * n + j] = t.W[r * n + j] * s[j];
      t.round(Ws.data(), t.rows, n, imp.data(), Wq.data());
      for (int64_t r = 0; r < t.rows; ++r)
        for (int64_t j = 0; j < n; ++j)
          Wq[r * n + j] /= s[j];
      err += outputError(Wq.data(), t.W, t.rows, n, H);
    }
    if (gi == 0)
      best.error0 = err;
    if (err < best.error) {
      best.error = err;
      best.alpha = alpha;
      best.scale = s;
    }
  }
  return best;
}

void clipSearch(const rtn::Params &p, const float *W, int64_t rows, int64_t n, const float *imp,
                const float *H, uint8_t *out) {
  const int64_t g = p.groupSize(n);
  const size_t rb = rtn::rowBytes(p, n);
  constexpr int kClips = 20;       // c = 1 - i / 40
  constexpr int C = kClips + 1;    // and the importance-weighted fit
  constexpr int64_t kRows = 16;    // rows per task: fixed, so threads do not change results
  std::vector<float> Hg(g * g);
  for (int64_t b = 0; b < n; b += g) {
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < g; ++j)
        Hg[i * g + j] = H[(b + i) * n + b + j];
    const int64_t tasks = (rows + kRows - 1) / kRows;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t r0 = t * kRows, nr = std::min(rows, r0 + kRows) - r0;
      std::vector<float> s(nr * C), z(nr * C), D(nr * C * g), E(nr * C * g);
      std::vector<int> q(nr * C * g);
      for (int64_t r = 0; r < nr; ++r) {
        const float *x = W + (r0 + r) * n + b;
        for (int c = 0; c < C; ++c) {
          const int64_t k = r * C + c;
          if (c == 0)
            rtn::fitGroup(p, x, imp ? imp + b : nullptr, g, false, s[k], z[k], &q[k * g]);
          else
            rtn::fitGroup(p, x, nullptr, g, true, s[k], z[k], &q[k * g],
                          1.0f - float(c - 1) / (2 * kClips));
          for (int64_t i = 0; i < g; ++i)
            D[k * g + i] = s[k] * (float(q[k * g + i]) - z[k]) - x[i];
        }
      }
      multiply(D.data(), Hg.data(), E.data(), nr * C, g);
      for (int64_t r = 0; r < nr; ++r) {
        int best = 0;
        double bestErr = INFINITY;
        for (int c = 0; c < C; ++c) {
          const int64_t k = r * C + c;
          double e = 0;
          for (int64_t i = 0; i < g; ++i)
            e += double(E[k * g + i]) * D[k * g + i];
          if (e < bestErr) {
            bestErr = e;
            best = c;
          }
        }
        const int64_t k = r * C + best;
        rtn::writeGroupBytes(out + (r0 + r) * rb + (b / g) * (8 + g), s[k], z[k], &q[k * g], g);
      }
    }
  }
}

} // namespace qcc::quant
