//===- GGMLTensors.h - random ggml tensors for tests -----------*- C++ -*-===//
//
// Random weights quantized into a ggml block format, and the 4-bit g128
// grids GPTQ / AWQ checkpoints convert to: what the CUDA layout unit test
// (test/unit/CudaLayoutTest.cpp) and the GPU kernel check
// (test/cuda/kernel_check_host.cpp) both feed the kernels' planes.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_TEST_COMMON_GGMLTENSORS_H
#define QCC_TEST_COMMON_GGMLTENSORS_H

#include "formats/ggml/GGMLTypes.h"

#include <cstring>
#include <random>
#include <vector>

namespace qcc::test {

/// A rows x cols tensor of type t: normal weights (standard deviation
/// `sigma`, seeded) quantized by ggml's rules.
inline std::vector<uint8_t> randomTensor(ggml::Type t, int64_t rows, int64_t cols, unsigned seed,
                                         float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> x(size_t(rows * cols));
  for (float &v : x)
    v = nd(rng);
  std::vector<uint8_t> out(ggml::rowBytes(t, cols) * rows);
  ggml::quantizeRows(t, x.data(), out.data(), rows, cols, nullptr);
  return out;
}

/// A Q4_0 (Q4_1) tensor whose blocks share d (and m) in runs of four, the
/// first block's: a sym (asym) g128 grid; the codes are randomTensor's.
inline std::vector<uint8_t> sharedScaleTensor(ggml::Type type, int64_t rows, int64_t cols, unsigned seed,
                                              float sigma = 1.0f) {
  std::vector<uint8_t> t = randomTensor(type, rows, cols, seed, sigma);
  const size_t bb = ggml::rowBytes(type, 32), sb = type == ggml::Type::Q4_1 ? 4 : 2; // d (and m) first
  for (int64_t i = 0; i < rows * cols / 32; ++i)
    std::memcpy(t.data() + i * bb, t.data() + i / 4 * 4 * bb, sb);
  return t;
}

} // namespace qcc::test

#endif
