//===- CompileCPU.h - ahead-of-time binaries (--target=cpu) -----*- C++ -*-===//
#ifndef QCC_COMPILER_COMPILECPU_H
#define QCC_COMPILER_COMPILECPU_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace qcc {

/// Places every weight of `module` at its tensor in the GGUF file
/// `ggufPath` and runs the CPU pipeline: `module` is then the LLVM-dialect
/// form of @qcc_forward (NativeABI.h).
llvm::Error lowerAgainstGGUF(mlir::ModuleOp module, const std::string &ggufPath);

/// Places every weight of `module` (after the GGUF pipeline, or imported from
/// a GGUF) at its tensor in the GGUF file `ggufPath` (`qcc.gguf` attributes),
/// runs the CPU pipeline (codegen/cpu), emits an object for `cpu`
/// (--cpu=native|x86-64-v3|x86-64-v4|znver4) and links it with the thin
/// runtime into the executable `out` (atomically: a failed run leaves none).
llvm::Error compileCPU(mlir::ModuleOp module, const std::string &ggufPath, const std::string &out,
                       const std::string &cpu);

} // namespace qcc

#endif
