//===- CompileCUDA.h - GPU inference binaries (--target=cuda) ---*- C++ -*-===//
#ifndef QCC_COMPILER_COMPILECUDA_H
#define QCC_COMPILER_COMPILECUDA_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace qcc {

/// Places every weight of `module` at its tensor in the GGUF file
/// `ggufPath`, generates the model's CUDA C++ (codegen/cuda), compiles it
/// with nvcc for `gpu` (sm_80, sm_89, sm_90a) and links it with the GPU
/// runtime into the executable `out` (atomically). `keepSource`, if not
/// empty, also receives the generated source.
llvm::Error compileCUDA(mlir::ModuleOp module, const std::string &ggufPath, const std::string &out,
                        const std::string &gpu, const std::string &keepSource = "");

} // namespace qcc

#endif
