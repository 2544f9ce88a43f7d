//===- QccOps.cpp - qcc op verifiers ---------------------------------------===//
//
// Shape verification. Weight-carrying ops resolve their `qcc.weight` symbols
// through the SymbolUserOpInterface so that a module-level symbol table is
// built once per verification, not once per op.
//
//===----------------------------------------------------------------------===//
#include "dialects/qcc/QccDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::qcc;

#define GET_OP_CLASSES
#include "QccOps.cpp.inc"

namespace {
/// Resolves `ref` to a qcc.weight, emitting an error on `op` if it is missing.
FailureOr<WeightOp> lookupWeight(Operation *op, FlatSymbolRefAttr ref,
                                 SymbolTableCollection &tables) {
  auto w = tables.lookupNearestSymbolFrom<WeightOp>(op, ref);
  if (!w)
    return op->emitOpError() << "references unknown weight " << ref;
  return w;
}

int64_t featureDim(Value v) {
  return cast<RankedTensorType>(v.getType()).getDimSize(1);
}

LogicalResult expectShape(Operation *op, WeightOp w, ArrayRef<int64_t> shape) {
  auto actual = w.getTensorType().getShape();
  if (actual == shape)
    return success();
  auto diag = op->emitOpError() << "weight @" << w.getSymName() << " has shape [";
  llvm::interleaveComma(actual, diag);
  diag << "], expected [";
  llvm::interleaveComma(shape, diag);
  return diag << "]";
}
} // namespace

LogicalResult WeightOp::verify() {
  auto t = getTensorType();
  if (!t.hasStaticShape())
    return emitOpError("weight shape must be static");
  if (!t.getElementType().isIntOrFloat())
    return emitOpError("weight element type must be integer or float");
  if (auto v = getValueAttr()) {
    auto vt = dyn_cast<ShapedType>(v.getType());
    if (!vt || vt.getShape() != t.getShape())
      return emitOpError("inline value must have the weight's shape");
  }
  if (auto p = getPackedAttr()) {
    auto pt = dyn_cast<ShapedType>(p.getType());
    if (!pt || pt.getRank() != 1 || !pt.getElementType().isInteger(8))
      return emitOpError("packed must be a 1-D tensor of i8 bytes");
    if (!getQuantAttr() || getQuantAttr().getFormat().empty())
      return emitOpError("packed bytes need a quant attribute naming their format");
  }
  return success();
}

LogicalResult EmbedOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto w = lookupWeight(*this, getWeightAttr(), tables);
  if (failed(w))
    return failure();
  auto shape = w->getTensorType().getShape();
  if (shape.size() != 2)
    return emitOpError("embedding weight must be 2-D [vocab, hidden]");
  return expectShape(*this, *w, {shape[0], featureDim(getResult())});
}

LogicalResult RMSNormOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto w = lookupWeight(*this, getWeightAttr(), tables);
  if (failed(w))
    return failure();
  if (getEpsilon().convertToDouble() <= 0)
    return emitOpError("epsilon must be positive");
  return expectShape(*this, *w, {featureDim(getInput())});
}

LogicalResult LinearOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto w = lookupWeight(*this, getWeightAttr(), tables);
  if (failed(w))
    return failure();
  int64_t out = featureDim(getResult()), in = featureDim(getInput());
  if (failed(expectShape(*this, *w, {out, in})))
    return failure();
  if (auto b = getBiasAttr()) {
    auto bw = lookupWeight(*this, b, tables);
    if (failed(bw) || failed(expectShape(*this, *bw, {out})))
      return failure();
  }
  return success();
}

LogicalResult LMHeadOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto w = lookupWeight(*this, getWeightAttr(), tables);
  if (failed(w))
    return failure();
  return expectShape(*this, *w,
                     {featureDim(getResult()), featureDim(getInput())});
}

LogicalResult RoPEOp::verify() {
  int64_t heads = getNumHeads(), hd = getHeadDim();
  if (heads <= 0 || hd <= 0 || hd % 2 != 0)
    return emitOpError("needs num_heads > 0 and an even head_dim > 0");
  int64_t d = featureDim(getInput());
  if (!ShapedType::isDynamic(d) && d != heads * hd)
    return emitOpError() << "input has " << d << " features, expected num_heads * head_dim = "
                         << heads * hd;
  if (getTheta().convertToDouble() <= 0)
    return emitOpError("theta must be positive");
  if (auto s = getScalingAttr()) {
    auto kind = s.getAs<StringAttr>("rope_type");
    if (!kind || !llvm::is_contained({"default", "linear", "llama3", "freq_factors"}, kind.getValue()))
      return emitOpError("scaling.rope_type must be \"default\", \"linear\", \"llama3\" or \"freq_factors\"");
    if (kind.getValue() == "freq_factors") {
      auto f = s.getAs<DenseF32ArrayAttr>("factors");
      if (!f || int64_t(f.size()) != hd / 2)
        return emitOpError() << "scaling.factors must hold head_dim / 2 = " << hd / 2 << " floats";
      for (float v : f.asArrayRef())
        if (!(v > 0) || !std::isfinite(v))
          return emitOpError("scaling.factors must be positive and finite");
    }
  }
  return success();
}

LogicalResult AttentionOp::verify() {
  int64_t h = getNumHeads(), kv = getNumKvHeads(), hd = getHeadDim();
  if (h <= 0 || kv <= 0 || hd <= 0)
    return emitOpError("num_heads, num_kv_heads and head_dim must be positive");
  if (h % kv != 0)
    return emitOpError() << "num_heads (" << h << ") must be a multiple of num_kv_heads ("
                         << kv << ")";
  if (featureDim(getQ()) != h * hd)
    return emitOpError() << "q has " << featureDim(getQ()) << " features, expected "
                         << h * hd;
  if (featureDim(getK()) != kv * hd || featureDim(getV()) != kv * hd)
    return emitOpError() << "k and v must have num_kv_heads * head_dim = " << kv * hd
                         << " features";
  if (featureDim(getResult()) != h * hd)
    return emitOpError() << "result must have " << h * hd << " features";
  if (getLayer() < 0 || getSlidingWindow() < 0)
    return emitOpError("layer and sliding_window must be >= 0");
  return success();
}
