//===- Session.h - a model opened for compilation or execution -*- C++ -*-===//
//
// What every qcc command starts from: the MLIR context, the imported module,
// where its weights come from and the tokenizer.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_COMPILER_SESSION_H
#define QCC_COMPILER_SESSION_H

#include "compiler/Importer.h"
#include "frontends/GGUF.h"
#include "runtime/Executor.h"
#include "runtime/WeightStore.h"

namespace qcc {

struct Session {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  HFModel hf;
  std::unique_ptr<gguf::Reader> ggufReader; ///< set when the model came from a .gguf
  std::unique_ptr<WeightSource> weights;
  /// With an in-memory quantization (--quant): the packed blocks and the
  /// unquantized source `weights` falls back to.
  std::shared_ptr<WeightStore> quantStore;
  std::unique_ptr<WeightSource> baseWeights;

  Tokenizer &tokenizer() const { return *hf.tokenizer; }
  const ModelConfig &config() const { return hf.config; }
};

/// Opens a model directory / .safetensors file / .gguf file and imports it.
llvm::Expected<std::unique_ptr<Session>> openSession(llvm::StringRef path);
llvm::Expected<std::unique_ptr<Session>> openGGUFSession(llvm::StringRef path);

} // namespace qcc

#endif
