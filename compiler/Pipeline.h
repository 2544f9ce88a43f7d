//===- Pipeline.h - the compilation pipelines, in order ---------*- C++ -*-===//
#ifndef QCC_COMPILER_PIPELINE_H
#define QCC_COMPILER_PIPELINE_H

#include "runtime/WeightStore.h"

#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace qcc {

struct GGUFPipelineOptions {
  std::string preset = "Q4_K_M";          ///< llama.cpp preset or F32/F16/BF16
  std::vector<std::string> tensorTypes;   ///< GLOB=TYPE overrides
};

/// The GGUF pipeline, top to bottom:
///   1. qcc-ggml-mixture   each weight's block format (preset rules, overrides, fallbacks)
///   2. qcc-pack-blocks    round-to-nearest search and byte-exact packing into `store`
void buildGGUFPipeline(mlir::PassManager &pm, const GGUFPipelineOptions &opts, WeightStore &store);

/// Generic round-to-nearest over every linear layer:
///   1. qcc-assign-quant   bits / group / symmetry on each linear weight
///   2. qcc-pack-blocks    scale (and integer zero) search, packed into `store`
void buildRTNPipeline(mlir::PassManager &pm, unsigned bits, int64_t group, bool symmetric,
                      WeightStore &store);

/// Parses "rtn:BITS[:gGROUP][:sym]" (e.g. rtn:4:g128, rtn:3:g32:sym) or a gguf
/// preset name and adds the matching pipeline. Returns false on a bad spec.
bool buildQuantPipeline(mlir::PassManager &pm, llvm::StringRef spec, WeightStore &store);

} // namespace qcc

#endif
