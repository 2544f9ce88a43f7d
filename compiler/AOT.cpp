//===- AOT.cpp - what the ahead-of-time targets share ---------------------===//
#include "compiler/AOT.h"

#include "dialects/qcc/QccDialect.h"
#include "formats/ggml/TensorNames.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"
#include "frontends/GGUF.h"
#include "formats/ggml/BlockCodes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace llvm;

namespace qcc {

Error placeWeights(mlir::ModuleOp module, const std::string &ggufPath, bool scaleGroups) {
  auto reader = gguf::Reader::open(ggufPath);
  if (!reader)
    return reader.takeError();
  mlir::Builder b(module.getContext());
  for (auto w : module.getOps<mlir::qcc::WeightOp>()) {
    std::optional<std::string> name = ggml::ggufName(w.getSymName().str());
    const gguf::TensorInfo *t = name ? (*reader)->tensor(*name) : nullptr;
    if (!t)
      continue; // unused here, or the lowering names it
    llvm::SmallVector<mlir::NamedAttribute> attrs = {
        b.getNamedAttr("name", b.getStringAttr(t->name)),
        b.getNamedAttr("type", b.getI64IntegerAttr(int64_t(t->type))),
        b.getNamedAttr("offset", b.getI64IntegerAttr(int64_t(t->offset))),
        b.getNamedAttr("bytes", b.getI64IntegerAttr(int64_t(t->nbytes)))};
    if (scaleGroups && t->ne.size() == 2 && ggml::sharesScales128(t->type, t->data, t->rows(), t->ne[0]))
      attrs.push_back(b.getNamedAttr("scale_group", b.getI64IntegerAttr(128)));
    w->setAttr("qcc.gguf", b.getDictionaryAttr(attrs));
  }
  // llama-architecture GGUF files hold Q and K with each head's rows permuted
  // so that RoPE rotates adjacent pairs; qwen2 keeps the rotate-half layout.
  auto arch = (*reader)->getString("general.architecture");
  if (!arch)
    return arch.takeError();
  if (*arch == "llama")
    module->setAttr("qcc.rope_layout", b.getStringAttr("interleaved"));
  return Error::success();
}

Error TempDir::create(StringRef prefix) {
  if (std::error_code ec = sys::fs::createUniqueDirectory(prefix, path))
    return createStringError(ec, "cannot create a temporary directory: " + ec.message());
  return Error::success();
}
TempDir::~TempDir() {
  if (!path.empty())
    sys::fs::remove_directories(path);
}

Error runTool(const std::vector<std::string> &args, StringRef log, const std::string &out, StringRef what) {
  SmallVector<StringRef> argv(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, log, log};
  std::string err;
  int rc = sys::ExecuteAndWait(args[0], argv, std::nullopt, redirects, 0, 0, &err);
  if (rc == 0)
    return Error::success();
  std::string text;
  if (auto buf = MemoryBuffer::getFile(log))
    text = (*buf)->getBuffer().trim().str();
  StringRef first = StringRef(text).split('\n').first;
  return fileError(out, "{0} failed ({1}): {2}", what, err.empty() ? "exit " + std::to_string(rc) : err, first);
}

Error linkExecutable(const std::string &cxx, const std::vector<std::string> &objects, StringRef linkList,
                     const std::string &out, StringRef tmpDir) {
  const std::string tmpExe = AtomicFile::tempName(out);
  std::vector<std::string> args = {cxx};
  args.insert(args.end(), objects.begin(), objects.end());
  for (StringRef a : llvm::split(linkList, ';'))
    if (!a.empty())
      args.push_back(a.str());
  args.insert(args.end(), {"-o", tmpExe});
  SmallString<128> log(tmpDir);
  sys::path::append(log, "link.log");
  if (Error e = runTool(args, log, out, "linking the compiled model")) {
    sys::fs::remove(tmpExe);
    return e;
  }
  if (std::error_code ec = sys::fs::rename(tmpExe, out)) {
    sys::fs::remove(tmpExe);
    return fileError(out, "cannot write: {0}", ec.message());
  }
  return Error::success();
}

} // namespace qcc
