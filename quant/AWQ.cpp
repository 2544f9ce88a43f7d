//===- AWQ.cpp - activation-aware weight scaling --------------------------===//
#include "quant/AWQ.h"

#include <dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace qcc::quant {

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
    if (dnnl_sgemm('N', 'N', nr, n, n, 1.0f, D.data(), n, H, n, 0.0f, E.data(), n) != dnnl_success) {
      fprintf(stderr, "qcc: internal error: dnnl_sgemm failed\n");
      std::abort();
    }
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

} // namespace qcc::quant
