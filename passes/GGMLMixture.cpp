//===- GGMLMixture.cpp - choose each weight's ggml format -----------------===//
#include "passes/Passes.h"
#include "quant/Mixture.h"
#include "formats/ggml/TensorNames.h"

#include "llvm/Support/GlobPattern.h"

namespace mlir::qcc {
#define GEN_PASS_DEF_GGMLMIXTURE
#include "Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
using namespace mlir::qcc;
namespace gg = ::qcc::ggml;

QuantAttr mlir::qcc::quantAttrForFormat(MLIRContext *ctx, llvm::StringRef format) {
  auto t = gg::typeFromName(format);
  if (!t)
    return QuantAttr();
  const gg::TypeTraits &tr = gg::traits(*t);
  return QuantAttr::get(ctx, unsigned(tr.bits), tr.group, tr.symmetric, tr.name);
}

FailureOr<TensorTypeOverrides> TensorTypeOverrides::parse(ModuleOp module,
                                                         llvm::ArrayRef<std::string> specs,
                                                         llvm::StringRef pass) {
  TensorTypeOverrides r;
  for (const std::string &o : specs) {
    auto [pat, ty] = llvm::StringRef(o).rsplit('=');
    auto type = gg::typeFromName(ty.trim());
    auto glob = llvm::GlobPattern::create(pat.trim());
    if (pat.empty() || ty.empty() || !type || !glob) {
      if (!glob)
        llvm::consumeError(glob.takeError());
      module.emitError() << pass << ": bad --tensor-type '" << o
                         << "', expected GLOB=TYPE with TYPE one of F32 F16 BF16 Q8_0 Q6_K "
                            "Q5_K Q5_1 Q5_0 Q4_K Q4_1 Q4_0 IQ4_NL Q3_K Q2_K";
      return failure();
    }
    r.entries.push_back({std::move(*glob), *type});
  }
  return r;
}

std::optional<gg::Type> TensorTypeOverrides::lookup(WeightOp w) const {
  std::string hf = w.getSymName().str(), name = gg::ggufName(hf).value_or(hf);
  for (const Entry &e : entries)
    if (e.glob.match(name) || e.glob.match(hf))
      return gg::applyFallback(e.type, w.getTensorType().getShape().back());
  return std::nullopt;
}

namespace {
struct GGMLMixturePass : public ::mlir::qcc::impl::GGMLMixtureBase<GGMLMixturePass> {
  using GGMLMixtureBase::GGMLMixtureBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto preset = gg::presetFromName(preset_value());
    if (!preset) {
      module.emitError() << "qcc-ggml-mixture: unknown preset '" << preset_value()
                         << "', expected one of F32 F16 BF16 Q8_0 Q6_K Q5_K_M Q5_K_S Q4_K_M "
                            "Q4_K_S Q4_0 Q4_1 Q5_0 Q5_1 Q3_K_L Q3_K_M Q3_K_S Q2_K";
      return signalPassFailure();
    }
    auto overrides = TensorTypeOverrides::parse(module, tensorTypes, "qcc-ggml-mixture");
    if (failed(overrides))
      return signalPassFailure();

    // Model facts the rules depend on.
    int numLayers = 0, gqa = 1;
    bool hasOutput = true;
    module.walk([&](Operation *op) {
      if (auto a = dyn_cast<AttentionOp>(op)) {
        numLayers = std::max<int>(numLayers, a.getLayer() + 1);
        gqa = int(a.getNumHeads() / a.getNumKvHeads());
      } else if (auto h = dyn_cast<LMHeadOp>(op)) {
        hasOutput = !h.getTied();
      }
    });
    bool failedAny = false;
    module.walk([&](WeightOp w) {
      auto shape = w.getTensorType().getShape();
      std::string hf = w.getSymName().str();
      std::string name = gg::ggufName(hf).value_or(hf);
      gg::Type t = gg::Type::F32;
      if (shape.size() >= 2) {
        gg::TensorContext c{name, gg::layerOf(name), numLayers, gqa, hasOutput, shape.back()};
        t = gg::chooseType(*preset, c);
        if (auto o = overrides->lookup(w))
          t = *o;
      }
      auto q = quantAttrForFormat(&getContext(), gg::traits(t).name);
      if (!q) {
        w.emitError() << "no qcc.quant form for " << gg::traits(t).name;
        failedAny = true;
        return;
      }
      w.setQuantAttr(q);
    });
    if (failedAny)
      return signalPassFailure();
    module->setAttr("qcc.ggml_preset", StringAttr::get(&getContext(), preset->name));
  }

  std::string preset_value() { return preset; }
};
} // namespace
