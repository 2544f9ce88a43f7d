//===- Layout.h - GGUF tensors in the planes the CUDA kernels read -*- C++ -*-===//
//
// Host-side conversion of a GGUF tensor into its device form (CudaABI.h's
// layouts): the block formats the kernels multiply directly are split into
// planes (codes, scales, ...) so every load is aligned and coalesced; float
// tensors and the other block formats become float rows (exactly the values
// the format encodes). MLIR- and CUDA-free, so it is unit-tested on any
// machine against formats/ggml's scalar dequantization.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_CUDA_LAYOUT_H
#define QCC_RUNTIME_CUDA_LAYOUT_H

#include "formats/ggml/GGMLTypes.h"
#include "runtime/cuda/CudaABI.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace qcc::cuda {

/// Bytes of each plane of a [rows x cols] tensor in `layout` (QccCudaLayout;
/// -1: float rows, tables and vectors); unused planes are 0.
std::array<size_t, 4> planeBytes(int layout, int64_t rows, int64_t cols);

/// Whether a GGUF tensor of type `t` can be uploaded in `layout`.
bool layoutAccepts(int layout, ggml::Type t, int64_t cols);

/// Converts rows [r0, r1) of `src` (the tensor's GGUF bytes from row 0, type
/// `t`, `cols` per row) into `planes` (each plane's base, sized by
/// planeBytes for all rows).
void convertRows(ggml::Type t, int layout, const uint8_t *src, int64_t cols, int64_t r0, int64_t r1,
                 uint8_t *const planes[4]);

/// The weight of row `row`, column `k` as the device form encodes it (the
/// reference the unit tests hold the planes to).
float planeValue(int layout, const uint8_t *const planes[4], int64_t cols, int64_t row, int64_t k);

} // namespace qcc::cuda

#endif
