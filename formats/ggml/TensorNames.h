//===- TensorNames.h - Hugging Face <-> GGUF tensor names ------*- C++ -*-===//
#ifndef QCC_FORMATS_GGML_TENSORNAMES_H
#define QCC_FORMATS_GGML_TENSORNAMES_H

#include <optional>
#include <string>

namespace qcc::ggml {

/// "model.layers.3.mlp.down_proj.weight" -> "blk.3.ffn_down.weight"; nullopt if unknown.
std::optional<std::string> ggufName(const std::string &hfName);
/// The inverse of ggufName.
std::optional<std::string> hfName(const std::string &ggufName);
/// Layer index of a block tensor ("blk.3.*" or "model.layers.3.*"), or -1.
int layerOf(const std::string &name);

} // namespace qcc::ggml

#endif
