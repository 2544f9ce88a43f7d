//===- Pipeline.h - the compilation pipelines, in order ---------*- C++ -*-===//
#ifndef QCC_COMPILER_PIPELINE_H
#define QCC_COMPILER_PIPELINE_H

#include "runtime/WeightStore.h"

#include "mlir/Pass/PassManager.h"

#include <optional>
#include <string>
#include <vector>

namespace qcc {

/// Calibration for the calibrated methods (qcc-calibrate).
struct CalibrationOptions {
  std::string method = "gptq";                 ///< rtn, gptq, awq, awq+gptq
  std::vector<std::vector<int32_t>> windows;   ///< token windows
  double damp = 0.01;
  int64_t blockSize = 128;
  bool actOrder = false, staticGroups = false;
  int awqGrid = 20;
  bool foldOnly = false; ///< AWQ folds only, nothing rounded (a check)
  bool measure = false;  ///< record per-format errors only (for --bpw)
  bool progress = false;
};

struct GGUFPipelineOptions {
  std::string preset = "Q4_K_M";          ///< llama.cpp preset or F32/F16/BF16
  std::vector<std::string> tensorTypes;   ///< GLOB=TYPE overrides
  std::optional<CalibrationOptions> calibration;
  std::optional<double> bpw; ///< size budget (needs calibration)
};

/// The GGUF pipeline, top to bottom:
///   1. qcc-ggml-mixture   each weight's block format (preset rules, overrides, fallbacks)
///   (--bpw) qcc-calibrate measure=true, then qcc-budget-mixture: each linear
///         weight's format from its measured error at every candidate format
///   2. qcc-calibrate      (with calibration data) GPTQ / AWQ / importance-weighted
///                         rounding of the linear layers, layer by layer
///   3. qcc-pack-blocks    round-to-nearest search and byte-exact packing of the rest into `store`
void buildGGUFPipeline(mlir::PassManager &pm, const GGUFPipelineOptions &opts, WeightStore &store);

/// Generic round-to-nearest over every linear layer:
///   1. qcc-assign-quant   bits / group / symmetry on each linear weight
///   2. qcc-pack-blocks    scale (and integer zero) search, packed into `store`
void buildRTNPipeline(mlir::PassManager &pm, unsigned bits, int64_t group, bool symmetric,
                      WeightStore &store,
                      const std::optional<CalibrationOptions> &calibration = std::nullopt);

/// What the GPU checkpoint formats (GPTQ, AWQ, compressed-tensors) store:
/// integer groups with fp16 scales and zero points of at least 1.
struct IntGroupPipelineOptions {
  unsigned bits = 4;
  int64_t group = 128; ///< 0: one group a row
  bool symmetric = true;
  bool includeHead = false;
  std::optional<CalibrationOptions> calibration;
};

/// The GPU checkpoint pipeline:
///   1. qcc-assign-quant   format=int, strict-group: a linear layer whose row
///                         length the group does not divide stays in float
///   2. qcc-calibrate      (with calibration data) GPTQ / AWQ onto those grids
///   3. qcc-pack-blocks    the rest by round-to-nearest, into `store`
void buildIntGroupPipeline(mlir::PassManager &pm, const IntGroupPipelineOptions &opts,
                           WeightStore &store);

/// Parses "rtn:BITS[:gGROUP][:sym]" (e.g. rtn:4:g128, rtn:3:g32:sym) or a gguf
/// preset name and adds the matching pipeline. Returns false on a bad spec.
/// With `calibration`, qcc-calibrate runs before the packing.
bool buildQuantPipeline(mlir::PassManager &pm, llvm::StringRef spec, WeightStore &store,
                        const std::optional<CalibrationOptions> &calibration = std::nullopt);

/// Runs `pm` on `module`; a failure becomes an error naming `what` with the
/// first diagnostic.
llvm::Error runPipeline(mlir::PassManager &pm, mlir::ModuleOp module, llvm::StringRef what);

} // namespace qcc

#endif
