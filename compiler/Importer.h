//===- Importer.h - Hugging Face checkpoint -> qcc dialect -----*- C++ -*-===//
#ifndef QCC_COMPILER_IMPORTER_H
#define QCC_COMPILER_IMPORTER_H

#include "frontends/HFConfig.h"
#include "frontends/QuantizedCheckpoint.h"
#include "frontends/Safetensors.h"
#include "frontends/Tokenizer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>

namespace qcc {

/// Everything read from a Hugging Face model: the parsed config, the
/// memory-mapped tensors and the tokenizer.
struct HFModel {
  std::string configPath;
  ModelConfig config;
  std::unique_ptr<Checkpoint> checkpoint;
  /// Set when linear layers are stored as GPTQ / AWQ / compressed-tensors.
  std::optional<QuantizationConfig> quant;
  std::unique_ptr<Tokenizer> tokenizer;
};

/// Opens `path` (a model directory, a .safetensors file or an index.json with
/// config.json beside it), its config and its tokenizer, and checks that
/// every tensor the architecture needs is present with the right shape and a
/// float dtype.
llvm::Expected<HFModel> openHFModel(llvm::StringRef path);

/// Checkpoint tensor names of the standard HF decoder layout.
struct LayerNames {
  static std::string layer(int64_t i, llvm::StringRef leaf) {
    return ("model.layers." + llvm::Twine(i) + "." + leaf).str();
  }
};

/// One weight the module declares: checkpoint name, shape, stored dtype
/// ("F32", "F16", "BF16"), and the ggml format it is already stored in ("" if
/// none, e.g. "Q4_K" for a tensor read from a quantized GGUF).
struct TensorDecl {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
  std::string format;
};

/// The tensors (name, shape) the architecture of `c` needs.
std::vector<std::pair<std::string, std::vector<int64_t>>> requiredTensors(const ModelConfig &c);

/// Builds and verifies the qcc module of a model from its config and tensors.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> buildModule(mlir::MLIRContext &ctx,
                                                              const ModelConfig &c,
                                                              llvm::ArrayRef<TensorDecl> decls,
                                                              llvm::StringRef source);

/// Registers the dialects qcc modules use.
void registerQccDialects(mlir::MLIRContext &ctx);

/// Builds the `qcc` module for `model`: one `qcc.weight` per tensor and a
/// `func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>)
/// -> tensor<?xVOCABxf32>`. The result is verified.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> importHFModel(mlir::MLIRContext &ctx,
                                                                const HFModel &model);

} // namespace qcc

#endif
