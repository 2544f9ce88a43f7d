//===- GGUFConvert.cpp - GPTQ / AWQ / compressed-tensors into GGUF --------===//
#include "compiler/GGUFConvert.h"
#include "compiler/Pipeline.h"
#include "dialects/qcc/QccDialect.h"
#include "formats/ggml/TensorNames.h"
#include "formats/intpack/ToGGML.h"
#include "frontends/Error.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <map>

using namespace llvm;
namespace q = mlir::qcc;

namespace qcc {

namespace {
/// Calls f(weight, prefix, group quant) for every quantized linear.
template <typename F> Error forEachQuantizedLinear(Session &s, F f) {
  Error err = Error::success();
  s.module->walk([&](q::WeightOp w) {
    if (err)
      return;
    std::string name = w.getSymName().str();
    auto shape = w.getTensorType().getShape();
    auto prefix = quantizedLinearOf(*s.hf.checkpoint, s.hf.quant ? &*s.hf.quant : nullptr, name,
                                    shape.size());
    if (!prefix)
      return;
    auto g = readQuantizedLinear(*s.hf.checkpoint, *s.hf.quant, *prefix, shape[0], shape[1]);
    if (!g) {
      err = g.takeError();
      return;
    }
    f(w, *g);
  });
  return err;
}
} // namespace

Expected<LosslessPlan> planLosslessGGUF(Session &s) {
  LosslessPlan plan;
  std::map<std::string, std::string> types;
  std::map<std::string, int> count;
  if (auto e = forEachQuantizedLinear(s, [&](q::WeightOp w, const intpack::GroupQuant &g) {
        std::string t = ggml::traits(intpack::losslessGGMLType(g).value_or(ggml::Type::Q8_0)).name;
        types[w.getSymName().str()] = t;
        count[t]++;
      }))
    return std::move(e);
  s.module->walk([&](q::WeightOp w) {
    std::string name = w.getSymName().str();
    if (w.getTensorType().getShape().size() < 2 || w->hasAttr("qcc.record"))
      return;
    std::string t = types.count(name) ? types[name] : "F16";
    if (!types.count(name))
      if (const TensorView *v = s.hf.checkpoint->find(name))
        t = v->dtype == DType::BF16 ? "BF16" : v->dtype == DType::F32 ? "F32" : "F16";
    plan.tensorTypes.push_back(name + "=" + t);
  });
  plan.preset = "Q8_0";
  int best = 0;
  for (auto &[t, n] : count)
    if (n > best)
      best = n, plan.preset = t;
  return plan;
}

Expected<ConversionResult> packLosslessGGUF(Session &s, WeightStore &store,
                                            ArrayRef<std::string> tensorTypes,
                                            const std::string &preset) {
  mlir::PassManager pm(s.context.get());
  q::GGMLMixtureOptions mixture;
  mixture.preset = preset;
  mixture.tensorTypes.assign(tensorTypes.begin(), tensorTypes.end());
  pm.addPass(q::createGGMLMixture(mixture));
  if (auto e = runPipeline(pm, *s.module, s.hf.configPath))
    return std::move(e);
  ConversionResult r;
  if (auto e = forEachQuantizedLinear(s, [&](q::WeightOp w, const intpack::GroupQuant &g) {
        std::string name = w.getSymName().str(), gguf = ggml::ggufName(name).value_or(name);
        q::QuantAttr qa = w.getQuantAttr();
        std::string fmt = qa ? qa.getFormat().str() : "F32";
        auto type = ggml::typeFromName(fmt);
        if (type == ggml::Type::F32)
          return; // qcc-pack-blocks writes the dequantized values as they are
        std::string why = type ? intpack::ggmlUnrepresentable(g, *type) : "not a block format";
        if (!why.empty()) {
          r.rerounded.push_back(gguf + " (" + fmt + ": " + why + ")");
          return;
        }
        double err = 0;
        auto shape = w.getTensorType().getShape();
        store.setPacked(name, {*type, std::nullopt, std::vector<int64_t>(shape.begin(), shape.end()),
                               intpack::toGGML(g, *type, &err)});
        if (err > r.worstError)
          r.worstError = err, r.worstName = gguf;
        ++r.kept;
        if (!intpack::scalesFitFP16(g))
          ++r.scalesRounded;
      }))
    return std::move(e);
  return r;
}

} // namespace qcc
