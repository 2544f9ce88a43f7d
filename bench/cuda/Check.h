//===- Check.h - the CUDA benchmarks' error check ---------------------------===//
//
// CHECK(call): a CUDA runtime call that must succeed; otherwise the file,
// line, call and error, and exit 1.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_BENCH_CUDA_CHECK_H
#define QCC_BENCH_CUDA_CHECK_H

#include <cstdio>
#include <cstdlib>

#include <cuda_runtime.h>

#define CHECK(x)                                                                                                       \
  do {                                                                                                                 \
    cudaError_t e_ = (x);                                                                                              \
    if (e_ != cudaSuccess) {                                                                                           \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));                         \
      std::exit(1);                                                                                                    \
    }                                                                                                                  \
  } while (0)

#endif
