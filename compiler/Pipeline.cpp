//===- Pipeline.cpp - the compilation pipelines, in order -----------------===//
#include "compiler/Pipeline.h"
#include "frontends/Error.h"
#include "mlir/IR/Diagnostics.h"
#include "passes/Passes.h"
#include "quant/Mixture.h"

namespace qcc {

namespace {
void addCalibration(mlir::PassManager &pm, const std::optional<CalibrationOptions> &c,
                    WeightStore &store) {
  if (!c)
    return;
  mlir::qcc::CalibrateOptions o;
  o.method = c->method;
  o.damp = c->damp;
  o.blockSize = c->blockSize;
  o.actOrder = c->actOrder;
  o.staticGroups = c->staticGroups;
  o.awqGrid = c->awqGrid;
  o.foldOnly = c->foldOnly;
  o.measure = c->measure;
  pm.addPass(mlir::qcc::createCalibratePass(&store, c->windows, o, c->progress));
}
} // namespace

void buildGGUFPipeline(mlir::PassManager &pm, const GGUFPipelineOptions &opts, WeightStore &store) {
  mlir::qcc::GGMLMixtureOptions mixture;
  mixture.preset = opts.preset;
  mixture.tensorTypes.assign(opts.tensorTypes.begin(), opts.tensorTypes.end());
  pm.addPass(mlir::qcc::createGGMLMixture(mixture));
  if (opts.bpw && opts.calibration) {
    CalibrationOptions measure = *opts.calibration;
    measure.measure = true;
    addCalibration(pm, measure, store);
    mlir::qcc::BudgetMixtureOptions b;
    b.bpw = *opts.bpw;
    b.tensorTypes.assign(opts.tensorTypes.begin(), opts.tensorTypes.end());
    pm.addPass(mlir::qcc::createBudgetMixture(b));
  }
  addCalibration(pm, opts.calibration, store);
  if (!(opts.calibration && opts.calibration->foldOnly))
    pm.addPass(mlir::qcc::createPackBlocksPass(&store));
}

void buildRTNPipeline(mlir::PassManager &pm, unsigned bits, int64_t group, bool symmetric,
                      WeightStore &store, const std::optional<CalibrationOptions> &calibration,
                      bool gpuGrid) {
  mlir::qcc::AssignQuantOptions o;
  o.bits = bits;
  o.group = group;
  o.symmetric = symmetric;
  if (gpuGrid) {
    o.format = "int";
    o.strictGroup = true;
  }
  pm.addPass(mlir::qcc::createAssignQuant(o));
  addCalibration(pm, calibration, store);
  if (!(calibration && calibration->foldOnly))
    pm.addPass(mlir::qcc::createPackBlocksPass(&store));
}

void buildIntGroupPipeline(mlir::PassManager &pm, const IntGroupPipelineOptions &opts,
                           WeightStore &store) {
  mlir::qcc::AssignQuantOptions o;
  o.bits = opts.bits;
  o.group = opts.group;
  o.symmetric = opts.symmetric;
  o.format = "int";
  o.strictGroup = true;
  o.includeHead = opts.includeHead;
  pm.addPass(mlir::qcc::createAssignQuant(o));
  addCalibration(pm, opts.calibration, store);
  pm.addPass(mlir::qcc::createPackBlocksPass(&store));
}

llvm::Error runPipeline(mlir::PassManager &pm, mlir::ModuleOp module, llvm::StringRef what) {
  std::string diag;
  mlir::ScopedDiagnosticHandler h(module.getContext(), [&](mlir::Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return mlir::success();
  });
  if (mlir::failed(pm.run(module)))
    return fileError(what, "{0}", diag);
  return llvm::Error::success();
}

bool buildQuantPipeline(mlir::PassManager &pm, llvm::StringRef spec, WeightStore &store,
                        const std::optional<CalibrationOptions> &calibration) {
  if (spec.consume_front("rtn:")) {
    llvm::SmallVector<llvm::StringRef> parts;
    spec.split(parts, ':');
    unsigned bits = 0;
    int64_t group = 128;
    bool sym = false, gpu = false;
    if (parts.empty() || parts[0].getAsInteger(10, bits) || bits < 2 || bits > 8)
      return false;
    for (size_t i = 1; i < parts.size(); ++i) {
      llvm::StringRef p = parts[i];
      if (p == "sym")
        sym = true;
      else if (p == "asym")
        sym = false;
      else if (p == "int")
        gpu = true;
      else if (!(p.consume_front("g") && !p.getAsInteger(10, group) && group >= 0))
        return false;
    }
    buildRTNPipeline(pm, bits, group, sym, store, calibration, gpu);
    return true;
  }
  if (!ggml::presetFromName(spec.str()))
    return false;
  GGUFPipelineOptions o;
  o.preset = spec.str();
  o.calibration = calibration;
  buildGGUFPipeline(pm, o, store);
  return true;
}

} // namespace qcc
