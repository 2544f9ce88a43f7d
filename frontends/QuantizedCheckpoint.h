//===- QuantizedCheckpoint.h - GPTQ / AWQ / compressed-tensors readers -*- C++ -*-===//
//
// Hugging Face checkpoints whose linear layers are stored quantized, as
// transformers, vLLM and SGLang load them: GPTQ (AutoGPTQ / GPTQModel, v1
// checkpoint format), AWQ (AutoAWQ's GEMM layout) and compressed-tensors
// (pack-quantized). `quantization_config` in config.json (or a GPTQ
// quantize_config.json beside it) says which; each quantized linear `P` then
// stores `P.qweight` ... instead of `P.weight` (formats/intpack/IntPack.h has
// the layouts). Every tensor's dtype and shape is checked against the config
// and the layer's [out x in] before any is read; a reader reconstructs
// exactly the values the format encodes.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_QUANTIZEDCHECKPOINT_H
#define QCC_FRONTENDS_QUANTIZEDCHECKPOINT_H

#include "formats/intpack/IntPack.h"
#include "frontends/Safetensors.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace qcc {

struct QuantizationConfig {
  enum class Method { GPTQ, AWQ, CompressedTensors } method = Method::GPTQ;
  int bits = 4;
  int64_t group = 128; ///< 0: one group a row
  bool symmetric = true;
  bool actOrder = false;
  std::vector<std::string> ignore; ///< compressed-tensors: names or "re:" patterns left in float
  std::string file;                ///< where it was read, for errors
  /// "gptq", "awq" or "compressed-tensors".
  std::string methodName() const;
};

/// The `quantization_config` of `configPath` (or the GPTQ quantize_config.json
/// in its directory); nullopt when the checkpoint is not quantized. An unknown
/// method, format, bit width or group size is an error naming the file.
llvm::Expected<std::optional<QuantizationConfig>> readQuantizationConfig(llvm::StringRef configPath);

/// Whether linear `prefix` (e.g. "model.layers.0.mlp.up_proj") is stored
/// quantized in `ck` (its packed weight tensor is present).
bool isQuantizedLinear(const Checkpoint &ck, const QuantizationConfig &qc, llvm::StringRef prefix);

/// The linear `P` whose weight tensor `name` ("P.weight") is stored quantized
/// in `ck` instead of as `name` itself (a prefix of `name`, so it lives as long
/// as `name` does); nullopt for any other tensor.
std::optional<llvm::StringRef> quantizedLinearOf(const Checkpoint &ck, const QuantizationConfig *qc,
                                                 llvm::StringRef name, size_t rank);

/// Checks dtypes and shapes of linear `prefix`'s tensors for an [out x in]
/// layer (cheap: reads g_idx only).
llvm::Error checkQuantizedLinear(const Checkpoint &ck, const QuantizationConfig &qc,
                                 llvm::StringRef prefix, int64_t out, int64_t in);

/// Reads linear `prefix` (checked as above).
llvm::Expected<intpack::GroupQuant> readQuantizedLinear(const Checkpoint &ck,
                                                        const QuantizationConfig &qc,
                                                        llvm::StringRef prefix, int64_t out,
                                                        int64_t in);

} // namespace qcc

#endif
