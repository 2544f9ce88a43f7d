//===- AssignQuant.cpp - mark linear weights for RTN quantization ---------===//
#include "passes/Passes.h"

#include "llvm/Support/GlobPattern.h"

namespace mlir::qcc {
#define GEN_PASS_DEF_ASSIGNQUANT
#include "Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
using namespace mlir::qcc;

namespace {
struct AssignQuantPass : public ::mlir::qcc::impl::AssignQuantBase<AssignQuantPass> {
  using AssignQuantBase::AssignQuantBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (bits < 2 || bits > 8) {
      module.emitError() << "qcc-assign-quant: bits must be in [2, 8], got " << unsigned(bits);
      return signalPassFailure();
    }
    std::optional<llvm::GlobPattern> glob;
    if (!filter.empty()) {
      auto g = llvm::GlobPattern::create(filter);
      if (!g) {
        module.emitError() << "qcc-assign-quant: bad filter '" << filter
                           << "': " << llvm::toString(g.takeError());
        return signalPassFailure();
      }
      glob = std::move(*g);
    }
    SymbolTable symbols(module);
    auto mark = [&](FlatSymbolRefAttr ref) {
      auto w = symbols.lookup<WeightOp>(ref.getValue());
      if (!w || w.getQuantAttr())
        return;
      if (glob && !glob->match(w.getSymName()))
        return;
      int64_t in = w.getTensorType().getShape().back();
      if (strictGroup && group > 0 && in % group != 0)
        return;
      int64_t g = (group > 0 && in % group == 0) ? int64_t(group) : 0;
      w.setQuantAttr(QuantAttr::get(&getContext(), unsigned(bits), g, bool(symmetric), StringRef(format)));
    };
    module.walk([&](Operation *op) {
      if (auto l = dyn_cast<LinearOp>(op))
        mark(l.getWeightAttr());
      else if (auto h = dyn_cast<LMHeadOp>(op); h && includeHead)
        mark(h.getWeightAttr());
    });
  }
};
} // namespace
