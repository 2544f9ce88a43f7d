//===- Passes.h - qcc passes ------------------------------------*- C++ -*-===//
#ifndef QCC_PASSES_PASSES_H
#define QCC_PASSES_PASSES_H

#include "dialects/qcc/QccDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace qcc {
class WeightStore;
}

namespace mlir::qcc {
#define GEN_PASS_DECL
#include "Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"

/// qcc-pack-blocks reading float data from / writing packed blocks to `store`.
std::unique_ptr<Pass> createPackBlocksPass(::qcc::WeightStore *store);

/// qcc-calibrate over `windows` (token ids), with `store` supplying float
/// weights and receiving packed ones; `progress` draws a bar on stderr.
std::unique_ptr<Pass> createCalibratePass(::qcc::WeightStore *store,
                                          std::vector<std::vector<int32_t>> windows,
                                          const CalibrateOptions &options, bool progress);

/// bits / group / symmetric of a ggml format name ("Q4_K" -> 4, 32, false).
QuantAttr quantAttrForFormat(MLIRContext *ctx, llvm::StringRef format);
} // namespace mlir::qcc

#endif
