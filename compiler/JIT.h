//===- JIT.h - a model compiled in memory (LLVM ORC) -------------*- C++ -*-===//
//
// What `qcc generate` and `qcc eval` run on a GGUF file: the same lowering
// and optimization as the AOT binaries (compiler/CompileCPU), compiled in
// process by LLVM's ORC LLJIT, bound to the runtime's microkernels.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_COMPILER_JIT_H
#define QCC_COMPILER_JIT_H

#include "runtime/native/NativeModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm::orc {
class LLJIT;
}

namespace qcc {

class JITModel {
public:
  /// Lowers `module` (in place) against `ggufPath` and compiles it for this
  /// CPU; then model() binds it to the file.
  static llvm::Expected<std::unique_ptr<JITModel>> compile(mlir::ModuleOp module,
                                                           const std::string &ggufPath);
  ~JITModel();
  llvm::Expected<std::unique_ptr<NativeModel>> model(int64_t maxContext, KVType kv) const;

private:
  JITModel() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::string path_;
  QccForwardFn forward_ = nullptr;
  const char *signature_ = nullptr;
  int64_t vocab_ = 0;
};

} // namespace qcc

#endif
