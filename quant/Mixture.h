//===- Mixture.h - llama.cpp's named quantization mixtures -----*- C++ -*-===//
//
// The presets (Q4_K_M, Q3_K_S, ...) with the meaning llama-quantize gives them
// without an importance matrix: a default type, the tensors that get more
// bits (output / tied embedding, attn_v, ffn_down, attn_output by layer), and
// the fallbacks for rows whose length is not a multiple of the block size.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_MIXTURE_H
#define QCC_QUANT_MIXTURE_H

#include "formats/ggml/GGMLTypes.h"

#include <optional>
#include <string>

namespace qcc::ggml {

struct Preset {
  const char *name;  ///< "Q4_K_M"
  uint32_t fileType; ///< GGUF general.file_type (llama_ftype)
  Type base;         ///< the default tensor type
};

std::optional<Preset> presetFromName(const std::string &name);

/// What the rules need to know about the model and the tensor.
struct TensorContext {
  std::string ggufName; ///< e.g. "blk.3.ffn_down.weight"
  int layer = -1, numLayers = 0;
  int gqa = 1;          ///< n_head / n_head_kv
  bool hasOutput = true; ///< false when the LM head is the tied embedding
  int64_t rowLength = 0; ///< ne[0]
};

/// The ggml type of a 2-D weight under `preset`, fallbacks applied.
Type chooseType(const Preset &preset, const TensorContext &t);

/// A row-length fallback applied to an explicitly requested type (overrides):
/// Q2_K/Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and F16 when
/// the row is not a multiple of 32 either.
Type applyFallback(Type t, int64_t rowLength);

} // namespace qcc::ggml

#endif
