//===- Gram.cpp - X^T X of calibration activations ------------------------===//
#include "quant/Gram.h"

#include <omp.h>

#include <algorithm>
#include <vector>

extern "C" void ssyrk_(const char *uplo, const char *trans, const int *n, const int *k,
                       const float *alpha, const float *a, const int *lda, const float *beta,
                       float *c, const int *ldc);

namespace qcc::quant {

void gram(const float *X, int64_t T, int64_t n, float *H) {
  std::fill(H, H + n * n, 0.0f);
  const int64_t chunks = (T + kGramChunk - 1) / kGramChunk;
  // The column-major view of row-major X is X^T [n x rows]: ssyrk "U","N"
  // gives the upper triangle of X^T X column-major, i.e. the lower one
  // row-major. Chunks run in waves of one per thread (BLAS called inside an
  // OpenMP region runs single-threaded) and are added in chunk order.
  const int wave = std::max(1, omp_get_max_threads());
  std::vector<std::vector<float>> part(wave, std::vector<float>(n * n));
  for (int64_t c0 = 0; c0 < chunks; c0 += wave) {
    const int64_t cn = std::min<int64_t>(wave, chunks - c0);
#pragma omp parallel for schedule(static, 1)
    for (int64_t k = 0; k < cn; ++k) {
      const int64_t t0 = (c0 + k) * kGramChunk, rows = std::min(T, t0 + kGramChunk) - t0;
      const int nn = int(n), kk = int(rows);
      const float one = 1, zero = 0;
      ssyrk_("U", "N", &nn, &kk, &one, X + t0 * n, &nn, &zero, part[k].data(), &nn);
    }
    for (int64_t k = 0; k < cn; ++k)
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j <= i; ++j)
          H[i * n + j] += part[k][i * n + j];
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j)
      H[i * n + j] = H[j * n + i];
}

} // namespace qcc::quant
