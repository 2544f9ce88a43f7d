//===- Pipeline.cpp - the compilation pipelines, in order -----------------===//
#include "compiler/Pipeline.h"
#include "passes/Passes.h"

namespace qcc {

void buildGGUFPipeline(mlir::PassManager &pm, const GGUFPipelineOptions &opts, WeightStore &store) {
  mlir::qcc::GGMLMixtureOptions mixture;
  mixture.preset = opts.preset;
  mixture.tensorTypes.assign(opts.tensorTypes.begin(), opts.tensorTypes.end());
  pm.addPass(mlir::qcc::createGGMLMixture(mixture));
  pm.addPass(mlir::qcc::createPackBlocksPass(&store));
}

} // namespace qcc
