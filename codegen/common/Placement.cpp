//===- Placement.cpp - where each weight of a module sits in its GGUF file -===//
#include "codegen/common/Placement.h"

#include "dialects/qcc/QccDialect.h"

using namespace mlir;

namespace qcc::codegen {

LogicalResult readPlacements(ModuleOp module, llvm::StringMap<Placement> &out) {
  for (auto w : module.getOps<mlir::qcc::WeightOp>()) {
    auto g = w->getAttrOfType<DictionaryAttr>("qcc.gguf");
    if (!g)
      continue;
    auto name = g.getAs<StringAttr>("name");
    auto type = g.getAs<IntegerAttr>("type");
    auto off = g.getAs<IntegerAttr>("offset");
    auto bytes = g.getAs<IntegerAttr>("bytes");
    auto t = type ? ggml::typeFromId(unsigned(type.getInt())) : std::nullopt;
    if (!name || !t || !off || !bytes)
      return w.emitOpError("qcc.gguf needs {name, type, offset, bytes} with a known ggml type");
    auto group = g.getAs<IntegerAttr>("scale_group");
    out[w.getSymName()] = Placement{name.getValue().str(), *t, off.getInt(), bytes.getInt(),
                                    llvm::to_vector(w.getTensorType().getShape()), group ? group.getInt() : 0};
  }
  return success();
}

} // namespace qcc::codegen
