//===- EmitCUDA.h - qcc graph to one CUDA C++ file --------------*- C++ -*-===//
#ifndef QCC_CODEGEN_CUDA_EMITCUDA_H
#define QCC_CODEGEN_CUDA_EMITCUDA_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace qcc::codegen {

/// The CUDA C++ source of @forward for `gpu` (sm_80, sm_89, sm_90a): the
/// tables and qcc_cuda_forward of runtime/cuda/CudaABI.h, launching the
/// templates of runtime/cuda/Kernels.cuh with the model's shapes. Every
/// weight must carry its `qcc.gguf` placement. The module is not changed.
llvm::Expected<std::string> emitCUDA(mlir::ModuleOp module, llvm::StringRef gpu);

/// `--gpu` values: sm_80, sm_89, sm_90a (the default).
llvm::Error checkGPU(llvm::StringRef gpu);

/// qcc-opt's `--qcc-emit-cuda[=gpu=sm_90a]`: prints the source on stdout.
void registerEmitCUDAPass();

} // namespace qcc::codegen

#endif
