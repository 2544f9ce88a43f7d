//===- Passes.h - qcc's CPU code generation ---------------------*- C++ -*-===//
#ifndef QCC_CODEGEN_CPU_PASSES_H
#define QCC_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>

namespace mlir::qcc {
#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

/// The whole CPU pipeline, in order: qcc-lower-to-cpu, then linalg to loops
/// and everything to the LLVM dialect (also registered as
/// `qcc-cpu-pipeline` for qcc-opt).
void buildCPUPipeline(OpPassManager &pm);
void registerCPUPipeline();
} // namespace mlir::qcc

#endif
