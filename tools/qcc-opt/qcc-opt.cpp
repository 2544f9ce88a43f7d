//===- qcc-opt.cpp - parse, verify, transform and print qcc IR ------------===//
#include "dialects/qcc/QccDialect.h"
#include "passes/Passes.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/EmitCUDA.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  mlir::qcc::registerQccPasses();
  mlir::qcc::registerQccCPUPasses();
  mlir::qcc::registerCPUPipeline();
  qcc::codegen::registerEmitCUDAPass();
  mlir::DialectRegistry registry;
  registry.insert<mlir::qcc::QccDialect, mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect, mlir::linalg::LinalgDialect,
                  mlir::LLVM::LLVMDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "qcc optimizer driver\n", registry));
}
