//===- HFConfig.h - Hugging Face config.json for decoder LLMs --*- C++ -*-===//
//
// Parses config.json of LlamaForCausalLM, MistralForCausalLM and
// Qwen2ForCausalLM checkpoints, written by transformers 4 (`rope_theta`,
// `rope_scaling`, `torch_dtype`) or 5 (`rope_parameters`, `dtype`).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_HFCONFIG_H
#define QCC_FRONTENDS_HFCONFIG_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qcc {

struct ModelConfig {
  std::string architecture; ///< e.g. "LlamaForCausalLM"
  std::string family;       ///< "llama", "mistral" or "qwen2"
  int64_t hiddenSize = 0, intermediateSize = 0, numLayers = 0;
  int64_t numHeads = 0, numKVHeads = 0, headDim = 0, vocabSize = 0;
  int64_t maxPositions = 2048;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  /// "default", "linear" or "llama3" (and their parameters), or
  /// "freq_factors" (a GGUF file's rope_freqs.weight: headDim / 2 divisors of
  /// the inverse frequencies, in ropeFreqFactors).
  std::string ropeType = "default";
  std::vector<float> ropeFreqFactors;
  double ropeFactor = 1.0, ropeLowFreqFactor = 1.0, ropeHighFreqFactor = 4.0;
  int64_t ropeOriginalMaxPositions = 8192;
  bool tieWordEmbeddings = false;
  bool qkvBias = false, oBias = false, mlpBias = false;
  int64_t slidingWindow = 0; ///< 0 = full causal attention
  std::optional<int64_t> bosTokenId;
  std::vector<int64_t> eosTokenIds;
};

/// Parses and validates `path` (a config.json).
llvm::Expected<ModelConfig> parseHFConfig(const std::string &path);

} // namespace qcc

#endif
