//===- Passes.h - qcc passes ------------------------------------*- C++ -*-===//
#ifndef QCC_PASSES_PASSES_H
#define QCC_PASSES_PASSES_H

#include "dialects/qcc/QccDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "formats/ggml/GGMLTypes.h"
#include "quant/RTN.h"
#include "llvm/Support/GlobPattern.h"

#include <optional>

namespace qcc {
class WeightStore;
}

namespace mlir::qcc {
#define GEN_PASS_DECL
#include "Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"

/// The generic integer grid a quant attribute without a ggml format names:
/// format "" is qcc's own (float32 scale and zero), format "int" the grid the
/// GPU checkpoints store (fp16 scales, integer zero points of at least 1 so
/// that GPTQ's v1 "zero - 1" stays in range). nullopt for a ggml format or
/// float storage.
std::optional<::qcc::rtn::Params> rtnParams(QuantAttr q);

/// qcc-pack-blocks reading float data from / writing packed blocks to `store`.
std::unique_ptr<Pass> createPackBlocksPass(::qcc::WeightStore *store);

/// qcc-calibrate over `windows` (token ids), with `store` supplying float
/// weights and receiving packed ones; `progress` draws a bar on stderr.
std::unique_ptr<Pass> createCalibratePass(::qcc::WeightStore *store,
                                          std::vector<std::vector<int32_t>> windows,
                                          const CalibrateOptions &options, bool progress);

/// `--tensor-type GLOB=TYPE` overrides (GLOB on GGUF or checkpoint names);
/// the ggml mixture passes share them.
struct TensorTypeOverrides {
  struct Entry {
    llvm::GlobPattern glob;
    ::qcc::ggml::Type type;
  };
  std::vector<Entry> entries;
  /// Parses the specs; a bad one is reported on `module` as `pass: ...`.
  static FailureOr<TensorTypeOverrides> parse(ModuleOp module, llvm::ArrayRef<std::string> specs,
                                              llvm::StringRef pass);
  /// The type the first matching override gives `w` (row-length fallbacks applied).
  std::optional<::qcc::ggml::Type> lookup(WeightOp w) const;
};

/// bits / group / symmetric of a ggml format name ("Q4_K" -> 4, 32, false).
QuantAttr quantAttrForFormat(MLIRContext *ctx, llvm::StringRef format);
} // namespace mlir::qcc

#endif
