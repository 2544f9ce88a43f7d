//===- Placement.h - where each weight of a module sits in its GGUF file -*- C++ -*-===//
#ifndef QCC_CODEGEN_COMMON_PLACEMENT_H
#define QCC_CODEGEN_COMMON_PLACEMENT_H

#include "formats/ggml/GGMLTypes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <string>

namespace qcc::codegen {

/// A weight's tensor in the GGUF file (compiler/AOT.cpp's `qcc.gguf`).
struct Placement {
  std::string ggufName;
  ggml::Type type;
  int64_t offset = 0, bytes = 0;
  llvm::SmallVector<int64_t> shape; ///< as the module declares it ([out, in])
  /// Weights a block scale covers where the file's blocks share scales in
  /// larger groups (`scale_group`: 128 for a Q4_0 / Q4_1 tensor whose runs
  /// of four blocks share their scales, which --target=cuda checks); else 0,
  /// the format's block.
  int64_t scaleGroup = 0;
};

/// Every `qcc.weight` with a `qcc.gguf = {name, type, offset, bytes
/// [, scale_group]}` attribute, by symbol; a diagnostic on a malformed one.
mlir::LogicalResult readPlacements(mlir::ModuleOp module, llvm::StringMap<Placement> &out);

} // namespace qcc::codegen

#endif
