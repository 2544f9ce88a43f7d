//===- Session.cpp - a model opened for compilation or execution ----------===//
#include "compiler/Session.h"

namespace qcc {

llvm::Expected<std::unique_ptr<Session>> openSession(llvm::StringRef path) {
  if (path.ends_with(".gguf"))
    return openGGUFSession(path);
  auto s = std::make_unique<Session>();
  auto hf = openHFModel(path);
  if (!hf)
    return hf.takeError();
  s->hf = std::move(*hf);
  s->context = std::make_unique<mlir::MLIRContext>();
  auto m = importHFModel(*s->context, s->hf);
  if (!m)
    return m.takeError();
  s->module = std::move(*m);
  s->weights = checkpointWeights(*s->hf.checkpoint, s->hf.quant ? &*s->hf.quant : nullptr);
  return std::move(s);
}

} // namespace qcc
