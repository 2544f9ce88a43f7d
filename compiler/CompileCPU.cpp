//===- CompileCPU.cpp - ahead-of-time binaries (--target=cpu) -------------===//
#include "compiler/CompileCPU.h"
#include "compiler/Pipeline.h"

#include "codegen/cpu/Emit.h"
#include "codegen/cpu/Passes.h"
#include "dialects/qcc/QccDialect.h"
#include "formats/ggml/TensorNames.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"
#include "frontends/GGUF.h"
#include "runtime/native/AOTLink.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <unistd.h>

using namespace llvm;

namespace qcc {

namespace {
/// Removes a directory and what is in it when it goes out of scope.
struct TempDir {
  SmallString<128> path;
  ~TempDir() {
    if (!path.empty())
      sys::fs::remove_directories(path);
  }
};
} // namespace

Error lowerAgainstGGUF(mlir::ModuleOp module, const std::string &ggufPath) {
  auto reader = gguf::Reader::open(ggufPath);
  if (!reader)
    return reader.takeError();
  mlir::Builder b(module.getContext());
  for (auto w : module.getOps<mlir::qcc::WeightOp>()) {
    std::optional<std::string> name = ggml::ggufName(w.getSymName().str());
    const gguf::TensorInfo *t = name ? (*reader)->tensor(*name) : nullptr;
    if (!t)
      continue; // unused here, or the lowering names it
    w->setAttr("qcc.gguf",
               b.getDictionaryAttr({b.getNamedAttr("name", b.getStringAttr(t->name)),
                                    b.getNamedAttr("type", b.getI64IntegerAttr(int64_t(t->type))),
                                    b.getNamedAttr("offset", b.getI64IntegerAttr(int64_t(t->offset))),
                                    b.getNamedAttr("bytes", b.getI64IntegerAttr(int64_t(t->nbytes)))}));
  }
  // llama-architecture GGUF files hold Q and K with each head's rows permuted
  // so that RoPE rotates adjacent pairs; qwen2 keeps the rotate-half layout.
  auto arch = (*reader)->getString("general.architecture");
  if (!arch)
    return arch.takeError();
  if (*arch == "llama")
    module->setAttr("qcc.rope_layout", b.getStringAttr("interleaved"));

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
  if (std::error_code ec = sys::fs::createUniqueDirectory("qcc-aot", tmp.path))
    return createStringError(ec, "cannot create a temporary directory: " + ec.message());
  SmallString<128> obj(tmp.path);
  sys::path::append(obj, "model.o");
  if (Error e = codegen::emitObject(module, *target, obj.str().str()))
    return e;

  // Link next to the output, then rename over it.
  const std::string tmpExe = AtomicFile::tempName(out);
  std::vector<std::string> args = {QCC_AOT_CXX, obj.str().str()};
  for (StringRef a : llvm::split(StringRef(QCC_AOT_LINK), ';'))
    if (!a.empty())
      args.push_back(a.str());
  args.insert(args.end(), {"-o", tmpExe});
  SmallVector<StringRef> argv(args.begin(), args.end());
  SmallString<128> log(tmp.path);
  sys::path::append(log, "link.log");
  std::optional<StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string err;
  int rc = sys::ExecuteAndWait(QCC_AOT_CXX, argv, std::nullopt, redirects, 0, 0, &err);
  if (rc != 0) {
    sys::fs::remove(tmpExe);
    std::string text;
    if (auto buf = MemoryBuffer::getFile(log))
      text = (*buf)->getBuffer().trim().str();
    StringRef first = StringRef(text).split('\n').first;
    return fileError(out, "linking the compiled model failed ({0}): {1}", err.empty() ? "exit " + std::to_string(rc) : err,
                     first);
  }
  if (std::error_code ec = sys::fs::rename(tmpExe, out)) {
    sys::fs::remove(tmpExe);
    return fileError(out, "cannot write: {0}", ec.message());
  }
  return Error::success();
}

} // namespace qcc
