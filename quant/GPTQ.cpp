//===- GPTQ.cpp - GPTQ: error-compensating column-wise rounding -----------===//
#include "quant/GPTQ.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>

extern "C" {
// LAPACK / BLAS (OpenBLAS), Fortran calling convention, column-major.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
            const double *beta, double *c, const int *ldc);
}

namespace qcc::quant {

namespace {
// A row-major symmetric matrix is its own column-major transpose, so LAPACK's
// "upper" (column-major) is the row-major lower triangle and vice versa.

/// Row-major A = L L^T, L lower (in A's lower triangle).
bool choleskyLower(double *A, int n) {
  int info = 0;
  dpotrf_("U", &n, A, &n, &info);
  return info == 0;
}

/// A^-1 from the factor choleskyLower left in A; written symmetric.
bool inverseFromLower(double *A, int n) {
  int info = 0;
  dpotri_("U", &n, A, &n, &info);
  if (info != 0)
    return false;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      A[int64_t(i) * n + j] = A[int64_t(j) * n + i];
  return true;
}

/// U (upper, row-major) with H^-1 = U^T U, for H + damp I.
bool inverseHessianFactor(const std::vector<double> &H, int64_t n, double damp,
                          std::vector<double> &U) {
  U = H;
  for (int64_t i = 0; i < n; ++i)
    U[i * n + i] += damp;
  if (!choleskyLower(U.data(), int(n)) || !inverseFromLower(U.data(), int(n)))
    return false;
  if (!choleskyUpper(U.data(), n))
    return false;
  for (int64_t i = 0; i < n; ++i)
    if (!(U[i * n + i] > 0) || !std::isfinite(U[i * n + i]))
      return false;
  return true;
}
} // namespace

bool choleskyUpper(double *A, int64_t n64) {
  int n = int(n64), info = 0;
  dpotrf_("L", &n, A, &n, &info);
  if (info != 0)
    return false;
  for (int64_t i = 0; i < n64; ++i)
    for (int64_t j = 0; j < i; ++j)
      A[i * n64 + j] = 0;
  return true;
}

GPTQStats gptq(float *W, int64_t rows, int64_t n, const double *Hin, const float *imp,
               ColumnQuantizer &q, const GPTQOptions &o) {
  GPTQStats st;
  std::vector<double> H(Hin, Hin + n * n);
  std::vector<char> dead(n, 0);
  for (int64_t i = 0; i < n; ++i)
    if (!(H[i * n + i] > 0)) {
      H[i * n + i] = 1;
      dead[i] = 1;
      ++st.deadColumns;
    }
  // Processing order.
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  if (o.actOrder)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return H[a * n + a] > H[b * n + b]; });
  std::vector<int64_t> pos(n);
  for (int64_t i = 0; i < n; ++i)
    pos[perm[i]] = i;
  // The Hessian in processing order (H itself when there is no permutation:
  // at n = 8192 each copy is half a gigabyte).
  std::vector<double> Hp;
  if (o.actOrder) {
    Hp.resize(n * n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        Hp[i * n + j] = H[perm[i] * n + perm[j]];
    std::vector<double>().swap(H);
  } else {
    Hp = std::move(H);
  }
  std::vector<double> Wd(rows * n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i)
      Wd[r * n + i] = dead[perm[i]] ? 0.0 : double(W[r * n + perm[i]]);

  double mean = 0;
  for (int64_t i = 0; i < n; ++i)
    mean += Hp[i * n + i];
  mean /= double(std::max<int64_t>(n, 1));
  double damp = o.dampFrac * (mean > 0 ? mean : 1.0);
  if (!(damp > 0))
    damp = 1e-8 * (mean > 0 ? mean : 1.0);
  std::vector<double> U;
  // LAPACK on one thread: its blocking (and so its rounding) then does not
  // depend on the number of threads. OpenBLAS's OpenMP build sets OpenMP's
  // thread count with its own, and under LLVM's libomp (which Debian's
  // libomp-22-dev installs as libgomp.so.1 beside the LLVM libraries qcc
  // links) it reports one thread: both counts are put back as they were, or
  // every later parallel loop would run on one thread.
  const int blasThreads = openblas_get_num_threads(), ompThreads = omp_get_max_threads();
  openblas_set_num_threads(1);
  while (!inverseHessianFactor(Hp, n, damp, U)) {
    damp *= 10;
    ++st.escalations;
  }
  openblas_set_num_threads(blasThreads);
  omp_set_num_threads(ompThreads);
  std::vector<double>().swap(Hp); // U is all that is needed from here
  st.damp = damp;

  // Groups and when each is fitted.
  const int64_t G = q.groupSize(), ng = n / G;
  std::vector<std::vector<int64_t>> fitAt(n);
  if (o.staticGroups) {
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < ng; ++g)
        q.fitGroup(r, g, W + r * n + g * G, imp ? imp + g * G : nullptr);
  } else {
    for (int64_t g = 0; g < ng; ++g) {
      int64_t first = n;
      for (int64_t k = 0; k < G; ++k)
        first = std::min(first, pos[g * G + k]);
      fitAt[first].push_back(g);
    }
  }

  const int64_t B = std::max<int64_t>(1, o.blockSize);
  std::vector<double> Err(rows * B);
  double loss = 0;
  for (int64_t i1 = 0; i1 < n; i1 += B) {
    const int64_t i2 = std::min(i1 + B, n), nb = i2 - i1;
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : loss)
    for (int64_t r = 0; r < rows; ++r) {
      double *w = &Wd[r * n], *e = &Err[r * B];
      std::vector<float> buf(G);
      for (int64_t i = i1; i < i2; ++i) {
        for (int64_t g : fitAt[i]) {
          // The group's current values: columns past this block still lack
          // the pending (lazy) updates of the columns rounded so far in it.
          for (int64_t k = 0; k < G; ++k) {
            int64_t p = pos[g * G + k];
            double v = w[p];
            if (p >= i2)
              for (int64_t kk = i1; kk < i; ++kk)
                v -= e[kk - i1] * U[kk * n + p];
            buf[k] = float(v);
          }
          q.fitGroup(r, g, buf.data(), imp ? imp + g * G : nullptr);
        }
        const double wv = w[i], d = U[i * n + i];
        const double qv = q.round(r, perm[i], float(wv));
        const double err = (wv - qv) / d;
        loss += (wv - qv) * (wv - qv) / (d * d) / 2;
        w[i] = qv;
        e[i - i1] = err;
        const double *u = &U[i * n];
        for (int64_t j = i + 1; j < i2; ++j)
          w[j] -= err * u[j];
      }
    }
    if (i2 < n) {
      // W[:, i2:] -= Err[:, :nb] * U[i1:i2, i2:], over fixed chunks of rows
      // (one thread each), so the result does not depend on the thread count.
      constexpr int64_t kRows = 32;
#pragma omp parallel for schedule(dynamic, 1)
      for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
        const int m = int(n - i2), nr = int(std::min(rows, r0 + kRows) - r0), k = int(nb),
                  ldu = int(n), lde = int(B);
        const double alpha = -1, beta = 1;
        dgemm_("N", "N", &m, &nr, &k, &alpha, &U[i1 * n + i2], &ldu, &Err[r0 * B], &lde, &beta,
               &Wd[r0 * n + i2], &ldu);
      }
    }
  }
  st.proxyLoss = loss;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i)
      W[r * n + perm[i]] = float(Wd[r * n + i]);
  return st;
}

} // namespace qcc::quant
