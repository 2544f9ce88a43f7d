//===- kernel_check_host.cpp - the host half of qcc-cuda-kernel-check ------===//
//
// Random weights in a device layout (ggml blocks quantized from normal
// weights, converted to the planes by Layout.cpp) and the values the planes
// encode (the oracle's weights). Compiled by the host compiler: the GGML
// headers need LLVM's, which nvcc is not given.
//
//===----------------------------------------------------------------------===//
#include "test/cuda/kernel_check.h"

#include "formats/ggml/GGMLTypes.h"
#include "runtime/cuda/Layout.h"
#include "test/common/GGMLTensors.h"

namespace ggml = qcc::ggml;

namespace {
ggml::Type ggmlTypeOf(int layout) {
  switch (layout) {
  case QCC_CUDA_Q4_0:
  case QCC_CUDA_Q4_G128: return ggml::Type::Q4_0;
  case QCC_CUDA_Q4_1:
  case QCC_CUDA_Q4_1_G128: return ggml::Type::Q4_1;
  case QCC_CUDA_Q4_K: return ggml::Type::Q4_K;
  case QCC_CUDA_Q6_K: return ggml::Type::Q6_K;
  default: return ggml::Type::Q8_0; // Q8_0, Q8_G128
  }
}
} // namespace

void randomPlanes(int layout, int64_t rows, int64_t K, unsigned seed, std::vector<uint8_t> (&planes)[4]) {
  const ggml::Type t = ggmlTypeOf(layout);
  // A g128 grid: each run of four blocks takes its first's scale (and min);
  // the codes stay.
  const bool g128 = qccCudaBlocksPerScale(layout) > 1;
  const std::vector<uint8_t> blocks = g128 ? qcc::test::sharedScaleTensor(t, rows, K, seed, 0.02f)
                                           : qcc::test::randomTensor(t, rows, K, seed, 0.02f);
  const std::array<size_t, 4> bytes = qcc::cuda::planeBytes(layout, rows, K);
  uint8_t *dst[4] = {};
  for (int p = 0; p < 4; ++p) {
    planes[p].assign(bytes[p], 0);
    dst[p] = bytes[p] ? planes[p].data() : nullptr;
  }
  qcc::cuda::convertRows(t, layout, blocks.data(), K, 0, rows, dst);
}

void planeRow(int layout, const std::vector<uint8_t> (&planes)[4], int64_t K, int64_t row, double *out) {
  const uint8_t *p[4] = {planes[0].data(), planes[1].data(), planes[2].data(), planes[3].data()};
  for (int64_t k = 0; k < K; ++k)
    out[k] = qcc::cuda::planeValue(layout, p, K, row, k);
}
