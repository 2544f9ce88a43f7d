//===- Pipeline.cpp - the CPU lowering pipeline, in order -----------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::qcc {

void buildCPUPipeline(OpPassManager &pm) {
  // 1. The qcc graph becomes one function over buffers: linalg.generic for
  //    the element-wise ops, norms and RoPE; runtime calls for the quantized
  //    GEMMs, embedding rows and KV-cache attention (Passes.td); every loop
  //    over tokens, output rows or attention units a parallel kernel.
  pm.addPass(createLowerToCPU());
  pm.addPass(createCanonicalizerPass());
  // 2. linalg to scf loops (LLVM's loop vectorizer takes the inner loops,
  //    whose trip counts are the model's constants).
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // 3. Everything to the LLVM dialect.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // 4. The parallel kernels' calls onto the runtime's threads.
  pm.addPass(createDispatchParallel());
  pm.addPass(createCanonicalizerPass());
}

void registerCPUPipeline() {
  PassPipelineRegistration<>("qcc-cpu-pipeline",
                             "qcc graph to the LLVM dialect for the CPU (what --target=cpu runs)",
                             [](OpPassManager &pm) { buildCPUPipeline(pm); });
}

} // namespace mlir::qcc
