//===- Session.h - a model opened for compilation or execution -*- C++ -*-===//
//
// What every qcc command starts from: the MLIR context, the imported module,
// where its weights come from and the tokenizer.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_COMPILER_SESSION_H
#define QCC_COMPILER_SESSION_H

#include "compiler/Importer.h"
#include "runtime/Executor.h"

namespace qcc {

struct Session {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  HFModel hf;
  std::unique_ptr<WeightSource> weights;

  Tokenizer &tokenizer() const { return *hf.tokenizer; }
  const ModelConfig &config() const { return hf.config; }
};

/// Opens a model directory / .safetensors file and imports it.
llvm::Expected<std::unique_ptr<Session>> openSession(llvm::StringRef path);

} // namespace qcc

#endif
