//===- Emit.h - LLVM-dialect module to a CPU object file --------*- C++ -*-===//
#ifndef QCC_CODEGEN_CPU_EMIT_H
#define QCC_CODEGEN_CPU_EMIT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace qcc::codegen {

/// A CPU to compile for: `--cpu=native|x86-64-v3|x86-64-v4|znver4`.
struct CPUTarget {
  std::string cpu;      ///< LLVM CPU name
  std::string features; ///< "+avx2,+fma,..." (empty: the CPU's own)
};
/// Resolves a --cpu value; an error for an unknown name, or for `native` on
/// a host without AVX2 / FMA / F16C (what the runtime's kernels need).
llvm::Expected<CPUTarget> resolveCPU(llvm::StringRef name);

/// The TargetMachine for `target` (x86-64 Linux, PIC, O3).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> targetMachine(const CPUTarget &target);
/// Runs on `m` the module pipeline that `build` makes from a PassBuilder for
/// `tm` (null: target-independent), with every analysis manager set up.
void runModulePasses(llvm::Module &m, llvm::TargetMachine *tm,
                     llvm::function_ref<llvm::ModulePassManager(llvm::PassBuilder &)> build);

/// Translates `module` (LLVM dialect) to LLVM IR for `tm` and optimizes it at O3.
llvm::Expected<std::unique_ptr<llvm::Module>> translateAndOptimize(mlir::ModuleOp module,
                                                                  llvm::LLVMContext &ctx,
                                                                  llvm::TargetMachine &tm,
                                                                  const CPUTarget &target);

/// Translates `module` (LLVM dialect, after buildCPUPipeline) to LLVM IR,
/// optimizes it at O3 for `target` (the features go to this module's
/// TargetMachine, not to global flags) and writes an ELF object to `path`
/// (atomically).
llvm::Error emitObject(mlir::ModuleOp module, const CPUTarget &target, const std::string &path);

} // namespace qcc::codegen

#endif
