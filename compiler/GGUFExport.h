//===- GGUFExport.h - write a packed qcc module as GGUF --------*- C++ -*-===//
#ifndef QCC_COMPILER_GGUFEXPORT_H
#define QCC_COMPILER_GGUFEXPORT_H

#include "frontends/GGUF.h"
#include "frontends/HFConfig.h"
#include "frontends/Tokenizer.h"
#include "runtime/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>

namespace qcc {

struct GGUFExportStats {
  uint64_t fileBytes = 0, weightBytes = 0, numWeights = 0;
  std::map<std::string, int> tensorsPerType;
};

/// Writes `module` (after qcc-ggml-mixture and qcc-pack-blocks) as a GGUF file
/// llama.cpp loads: llama / qwen2 architecture metadata, the tokenizer
/// (gpt2 BPE with merges, or llama SentencePiece with scores), Q/K rows in the
/// order llama.cpp's RoPE expects, every tensor in the block format the
/// mixture pass chose. Written to PATH.tmp and renamed when complete.
/// `tokenizerFrom`, when the model itself came from a GGUF file, supplies the
/// tokenizer.* metadata verbatim (pre-tokenizer name, merges, scores, flags).
llvm::Expected<GGUFExportStats> exportGGUF(mlir::ModuleOp module, const ModelConfig &config,
                                          const Tokenizer &tok, const WeightStore &store,
                                          const std::string &modelName, const std::string &path,
                                          const gguf::Reader *tokenizerFrom = nullptr);

/// The Q/K row permutation between Hugging Face's rotate-half layout and
/// llama.cpp's interleaved-pair RoPE layout, on whole rows of `unitBytes`.
/// `toGGUF` = true goes HF -> GGUF, false the inverse.
void permuteRopeRows(const uint8_t *src, uint8_t *dst, int64_t heads, int64_t headDim,
                     size_t unitBytes, bool toGGUF);

} // namespace qcc

#endif
