//===- kernel_check.h - qcc-cuda-kernel-check's two halves -----*- C++ -*-===//
#ifndef QCC_TEST_CUDA_KERNEL_CHECK_H
#define QCC_TEST_CUDA_KERNEL_CHECK_H

#include <cstdint>
#include <vector>

/// Planes (CudaABI.h's layout `layout`) of a rows x K matrix of random
/// weights (seeded).
void randomPlanes(int layout, int64_t rows, int64_t K, unsigned seed, std::vector<uint8_t> (&planes)[4]);
/// Row `row`'s K weights as the planes encode them.
void planeRow(int layout, const std::vector<uint8_t> (&planes)[4], int64_t K, int64_t row, double *out);

#endif
