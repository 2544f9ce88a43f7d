//===- JIT.cpp - a model compiled in memory (LLVM ORC) --------------------===//
#include "compiler/JIT.h"

#include "codegen/cpu/Emit.h"
#include "compiler/CompileCPU.h"
#include "frontends/GGUF.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

using namespace llvm;
using namespace llvm::orc;

namespace qcc {

JITModel::~JITModel() = default;

Expected<std::unique_ptr<JITModel>> JITModel::compile(mlir::ModuleOp module,
                                                      const std::string &ggufPath) {
  auto target = codegen::resolveCPU("native");
  if (!target)
    return target.takeError();
  if (Error e = lowerAgainstGGUF(module, ggufPath))
    return std::move(e);
  auto tm = codegen::targetMachine(*target);
  if (!tm)
    return tm.takeError();
  auto ctx = std::make_unique<LLVMContext>();
  auto m = codegen::translateAndOptimize(module, *ctx, **tm, *target);
  if (!m)
    return m.takeError();

  JITTargetMachineBuilder jtmb((*tm)->getTargetTriple());
  jtmb.setCPU(target->cpu);
  jtmb.addFeatures(StringRef(target->features).split(',').first.empty()
                       ? std::vector<std::string>{}
                       : [&] {
                           SmallVector<StringRef> f;
                           StringRef(target->features).split(f, ',');
                           return std::vector<std::string>(f.begin(), f.end());
                         }());
  jtmb.setCodeGenOptLevel(CodeGenOptLevel::Aggressive);
  auto jit = LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create();
  if (!jit)
    return jit.takeError();
  JITDylib &lib = (*jit)->getMainJITDylib();
  // The module carries its microkernels (linked in as bitcode); the runtime
  // functions it and they call (the thread pool's loop, the SIMD kernels,
  // libc, libstdc++, libm) are this process's: qcc exports its own symbols
  // (tools/qcc/CMakeLists.txt).
  auto gen = DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!gen)
    return gen.takeError();
  lib.addGenerator(std::move(*gen));
  if (Error e = (*jit)->addIRModule(ThreadSafeModule(std::move(*m), std::move(ctx))))
    return std::move(e);

  std::unique_ptr<JITModel> out(new JITModel());
  auto fwd = (*jit)->lookup("_mlir_ciface_qcc_forward");
  auto sig = (*jit)->lookup("qcc_model_signature");
  auto voc = (*jit)->lookup("qcc_model_vocab");
  if (!fwd || !sig || !voc) {
    consumeError(fwd.takeError());
    consumeError(sig.takeError());
    consumeError(voc.takeError());
    return createStringError("internal error: the compiled model lacks its entry points");
  }
  out->forward_ = fwd->toPtr<QccForwardFn>();
  out->signature_ = sig->toPtr<const char *>();
  out->vocab_ = *voc->toPtr<const int64_t *>();
  out->jit_ = std::move(*jit);
  out->path_ = ggufPath;
  return out;
}

Expected<std::unique_ptr<NativeModel>> JITModel::model(int64_t maxContext, KVType kv) const {
  auto r = gguf::Reader::open(path_);
  if (!r)
    return r.takeError();
  return NativeModel::create(forward_, signature_, vocab_, std::shared_ptr<gguf::Reader>(std::move(*r)),
                             maxContext, kv);
}

} // namespace qcc
