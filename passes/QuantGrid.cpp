//===- QuantGrid.cpp - the integer grid a quant attribute names -----------===//
#include "passes/Passes.h"

namespace mlir::qcc {

std::optional<::qcc::rtn::Params> rtnParams(QuantAttr q) {
  if (!q || q.getBits() > 8 || (!q.getFormat().empty() && q.getFormat() != "int"))
    return std::nullopt;
  ::qcc::rtn::Params p{q.getBits(), q.getGroup(), q.getSymmetric()};
  if (q.getFormat() == "int") {
    p.fp16Scale = true;
    p.zeroMin = 1;
  }
  return p;
}

} // namespace mlir::qcc
