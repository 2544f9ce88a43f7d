//===- CompileCPU.cpp - ahead-of-time binaries (--target=cpu) -------------===//
#include "compiler/CompileCPU.h"
#include "compiler/AOT.h"
#include "compiler/Pipeline.h"

#include "codegen/cpu/Emit.h"
#include "codegen/cpu/Passes.h"
#include "runtime/native/AOTLink.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace qcc {

Error lowerAgainstGGUF(mlir::ModuleOp module, const std::string &ggufPath) {
  if (Error e = placeWeights(module, ggufPath))
    return e;
  mlir::PassManager pm(module.getContext());
  mlir::qcc::buildCPUPipeline(pm);
  return runPipeline(pm, module, ggufPath + ": cannot compile this model for the CPU");
}

Error compileCPU(mlir::ModuleOp module, const std::string &ggufPath, const std::string &out,
                 const std::string &cpu) {
  auto target = codegen::resolveCPU(cpu);
  if (!target)
    return target.takeError();
  if (Error e = lowerAgainstGGUF(module, ggufPath))
    return e;

  TempDir tmp;
  if (Error e = tmp.create("qcc-aot"))
    return e;
  SmallString<128> obj(tmp.path);
  sys::path::append(obj, "model.o");
  if (Error e = codegen::emitObject(module, *target, obj.str().str()))
    return e;
  return linkExecutable(QCC_AOT_CXX, {obj.str().str()}, QCC_AOT_LINK, out, tmp.path);
}

} // namespace qcc
