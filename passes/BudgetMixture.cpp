//===- BudgetMixture.cpp - block formats for a bits-per-weight budget -----===//
#include "passes/Passes.h"
#include "quant/Mixture.h"
#include "formats/ggml/TensorNames.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"

#include <queue>

namespace mlir::qcc {
#define GEN_PASS_DEF_BUDGETMIXTURE
#include "Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
using namespace mlir::qcc;
namespace gg = ::qcc::ggml;

namespace {
struct Choice {
  gg::Type type;
  double bytes, error;
};

/// Bytes of a weight stored as `t` (1-D tensors count as one row).
double bytesOf(WeightOp w, gg::Type t) {
  auto shape = w.getTensorType().getShape();
  int64_t n = shape.back(), rows = w.getTensorType().getNumElements() / std::max<int64_t>(n, 1);
  return double(gg::rowBytes(t, n)) * double(rows);
}

/// The lower convex hull of (bytes, error), bytes ascending.
std::vector<Choice> hull(std::vector<Choice> o) {
  llvm::sort(o, [](const Choice &a, const Choice &b) {
    return a.bytes < b.bytes || (a.bytes == b.bytes && a.error < b.error);
  });
  std::vector<Choice> h;
  for (const Choice &p : o) {
    if (!h.empty() && p.error >= h.back().error)
      continue; // more bytes, no less error
    while (h.size() >= 2) {
      const Choice &a = h[h.size() - 2], &b = h.back();
      // drop b if it lies on or above the segment a -> p
      double cross = (b.bytes - a.bytes) * (p.error - a.error) - (b.error - a.error) * (p.bytes - a.bytes);
      if (cross <= 0)
        h.pop_back();
      else
        break;
    }
    h.push_back(p);
  }
  return h;
}

struct BudgetMixturePass : public ::mlir::qcc::impl::BudgetMixtureBase<BudgetMixturePass> {
  using BudgetMixtureBase::BudgetMixtureBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(bpw > 0) || bpw > 32) {
      module.emitError() << "qcc-budget-mixture: bpw must be in (0, 32], got " << bpw;
      return signalPassFailure();
    }
    auto overrides = TensorTypeOverrides::parse(module, tensorTypes, "qcc-budget-mixture");
    if (failed(overrides))
      return signalPassFailure();

    double elements = 0, fixedBytes = 0;
    struct Tensor { WeightOp w; std::vector<Choice> options; size_t at = 0; };
    std::vector<Tensor> tensors;
    bool bad = false;
    module.walk([&](WeightOp w) {
      if (w->hasAttr("qcc.record"))
        return;
      elements += double(w.getTensorType().getNumElements());
      auto sens = w->getAttrOfType<DictionaryAttr>("qcc.sensitivity");
      auto forced = overrides->lookup(w);
      bool overridden = forced.has_value();
      if (forced)
        w.setQuantAttr(quantAttrForFormat(&getContext(), gg::traits(*forced).name));
      if (!sens || overridden) {
        QuantAttr q = w.getQuantAttr();
        auto t = q ? gg::typeFromName(q.getFormat()) : std::nullopt;
        if (!t) {
          w.emitError("qcc-budget-mixture: weight has no ggml format (run qcc-ggml-mixture first)");
          bad = true;
          return;
        }
        fixedBytes += bytesOf(w, *t);
        return;
      }
      std::vector<Choice> opts;
      for (NamedAttribute a : sens) {
        auto t = gg::typeFromName(a.getName().getValue());
        auto e = dyn_cast<FloatAttr>(a.getValue());
        if (t && e)
          opts.push_back({*t, bytesOf(w, *t), e.getValueAsDouble()});
      }
      if (opts.empty()) {
        w.emitError("qcc-budget-mixture: empty qcc.sensitivity");
        bad = true;
        return;
      }
      tensors.push_back({w, hull(std::move(opts))});
    });
    if (bad)
      return signalPassFailure();
    const double budget = bpw * elements / 8.0;
    double used = fixedBytes;
    for (Tensor &t : tensors)
      used += t.options[0].bytes;
    if (used > budget) {
      module.emitError() << llvm::formatv(
          "qcc-budget-mixture: --bpw {0} is impossible for this model: its smallest formats "
          "give {1:f3} bits per weight",
          bpw.getValue(), 8.0 * used / elements);
      return signalPassFailure();
    }
    // Greedy over hull segments by error saved per byte.
    using Item = std::tuple<double, size_t>; // slope, tensor index
    auto cmp = [&](const Item &a, const Item &b) {
      if (std::get<0>(a) != std::get<0>(b))
        return std::get<0>(a) < std::get<0>(b);
      return tensors[std::get<1>(a)].w.getSymName() > tensors[std::get<1>(b)].w.getSymName();
    };
    std::priority_queue<Item, std::vector<Item>, decltype(cmp)> q(cmp);
    auto push = [&](size_t i) {
      Tensor &t = tensors[i];
      if (t.at + 1 < t.options.size()) {
        const Choice &a = t.options[t.at], &b = t.options[t.at + 1];
        q.push({(a.error - b.error) / (b.bytes - a.bytes), i});
      }
    };
    for (size_t i = 0; i < tensors.size(); ++i)
      push(i);
    while (!q.empty()) {
      size_t i = std::get<1>(q.top());
      q.pop();
      Tensor &t = tensors[i];
      double extra = t.options[t.at + 1].bytes - t.options[t.at].bytes;
      if (used + extra > budget)
        continue; // this tensor stays; cheaper upgrades elsewhere may still fit
      used += extra;
      ++t.at;
      push(i);
    }
    for (Tensor &t : tensors) {
      t.w.setQuantAttr(quantAttrForFormat(&getContext(), gg::traits(t.options[t.at].type).name));
      t.w->removeAttr("qcc.sensitivity");
      t.w->setAttr("qcc.sensitivity_error",
                   FloatAttr::get(Float64Type::get(&getContext()), t.options[t.at].error));
    }
    module->setAttr("qcc.bpw", FloatAttr::get(Float64Type::get(&getContext()), 8.0 * used / elements));
  }
};
} // namespace
