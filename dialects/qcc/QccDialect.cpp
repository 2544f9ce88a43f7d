//===- QccDialect.cpp - qcc dialect registration --------------------------===//
#include "dialects/qcc/QccDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qcc;

#include "QccDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "QccAttrs.cpp.inc"

void QccDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "QccAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "QccOps.cpp.inc"
      >();
}

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                unsigned bits, int64_t group, bool symmetric,
                                StringRef format) {
  if ((bits < 2 || bits > 8) && bits != 16 && bits != 32)
    return emitError() << "quant bits must be in [2, 8] (or 16/32 for float storage), got " << bits;
  if (group < 0)
    return emitError() << "quant group must be >= 0 (0 = per channel), got "
                       << group;
  if (format == "int" && bits > 8)
    return emitError() << "quant format \"int\" (fp16 scales, integer zeros) needs bits in [2, 8], got "
                       << bits;
  return success();
}
