//===- Emit.cpp - LLVM-dialect module to a CPU object file ----------------===//
#include "codegen/cpu/Emit.h"
#include "codegen/cpu/Microkernels.h"

#include "frontends/AtomicFile.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace llvm;

namespace qcc::codegen {

Expected<CPUTarget> resolveCPU(StringRef name) {
  if (name == "native") {
    CPUTarget t{sys::getHostCPUName().str(), ""};
    auto f = sys::getHostCPUFeatures();
    for (const char *need : {"avx2", "fma", "f16c"})
      if (!f.lookup(need))
        return createStringError("--cpu=native: this CPU has no " + std::string(need) +
                                 " (qcc's CPU target needs AVX2, FMA and F16C: x86-64-v3)");
    for (auto &kv : f)
      t.features += (t.features.empty() ? "" : ",") + std::string(kv.second ? "+" : "-") +
                    kv.first().str();
    return t;
  }
  for (const char *known : {"x86-64-v3", "x86-64-v4", "znver4"})
    if (name == known)
      return CPUTarget{name.str(), ""};
  return createStringError("--cpu must be native, x86-64-v3, x86-64-v4 or znver4, got '" +
                           name.str() + "'");
}

Expected<std::unique_ptr<TargetMachine>> targetMachine(const CPUTarget &target) {
  static const bool init = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    return true;
  }();
  (void)init;
  Triple triple("x86_64-pc-linux-gnu");
  std::string err;
  const Target *t = TargetRegistry::lookupTarget(triple, err);
  if (!t)
    return createStringError("internal error: no x86-64 target: " + err);
  TargetOptions opts;
  std::unique_ptr<TargetMachine> tm(t->createTargetMachine(
      triple, target.cpu, target.features, opts, Reloc::PIC_, std::nullopt, CodeGenOptLevel::Aggressive));
  if (!tm)
    return createStringError("internal error: cannot target CPU '" + target.cpu + "'");
  return tm;
}

void runModulePasses(Module &m, TargetMachine *tm, function_ref<ModulePassManager(PassBuilder &)> build) {
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PassBuilder pb(tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  build(pb).run(m, mam);
}

Expected<std::unique_ptr<Module>> translateAndOptimize(mlir::ModuleOp module, LLVMContext &ctx,
                                                       TargetMachine &tm, const CPUTarget &target) {
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<Module> m = mlir::translateModuleToLLVMIR(module, ctx, "qcc_model");
  if (!m)
    return createStringError("internal error: the lowered module does not translate to LLVM IR");
  m->setTargetTriple(tm.getTargetTriple());
  m->setDataLayout(tm.createDataLayout());
  for (Function &f : *m)
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", target.cpu);
      if (!target.features.empty())
        f.addFnAttr("target-features", target.features);
    }
  // The microkernels keep their own attributes (x86-64-v3: a subset of every
  // CPU qcc targets), so they inline into the generated kernels.
  if (Error e = linkMicrokernels(*m))
    return std::move(e);
  // O3 with this TargetMachine: its cost model decides the vector widths.
  runModulePasses(*m, &tm,
                  [](PassBuilder &pb) { return pb.buildPerModuleDefaultPipeline(OptimizationLevel::O3); });
  return m;
}

Error emitObject(mlir::ModuleOp module, const CPUTarget &target, const std::string &path) {
  auto tm = targetMachine(target);
  if (!tm)
    return tm.takeError();
  LLVMContext ctx;
  auto m = translateAndOptimize(module, ctx, **tm, target);
  if (!m)
    return m.takeError();
  auto file = AtomicFile::create(path);
  if (!file)
    return file.takeError();
  legacy::PassManager cg;
  if ((*tm)->addPassesToEmitFile(cg, (*file)->os(), nullptr, CodeGenFileType::ObjectFile))
    return createStringError("internal error: the target cannot emit object files");
  cg.run(**m);
  return (*file)->commit();
}

} // namespace qcc::codegen
