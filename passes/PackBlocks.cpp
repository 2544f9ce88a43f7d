//===- PackBlocks.cpp - round weights and pack ggml blocks ----------------===//
#include "passes/Passes.h"
#include "runtime/WeightStore.h"
#include "formats/ggml/GGMLTypes.h"
#include "quant/RTN.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::qcc {
#define GEN_PASS_DEF_PACKBLOCKS
#include "Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
using namespace mlir::qcc;
namespace gg = ::qcc::ggml;

namespace {
struct PackBlocksPass : public ::mlir::qcc::impl::PackBlocksBase<PackBlocksPass> {
  PackBlocksPass() = default;
  explicit PackBlocksPass(::qcc::WeightStore *store) : store_(store) {}

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool failedAny = false;
    module.walk([&](WeightOp w) {
      if (failed(pack(w)))
        failedAny = true;
    });
    if (failedAny)
      signalPassFailure();
  }

  LogicalResult pack(WeightOp w) {
    QuantAttr q = w.getQuantAttr();
    if (!q || w.getPackedAttr() || (store_ && store_->packed(w.getSymName())))
      return success(); // nothing to do, or a calibrated pass packed it already
    auto shape = w.getTensorType().getShape();
    int64_t n = shape.back(), rows = w.getTensorType().getNumElements() / std::max<int64_t>(n, 1);
    // No format: generic round-to-nearest with the attribute's bits / group / symmetry.
    std::optional<gg::Type> type;
    std::optional<::qcc::rtn::Params> generic;
    if (q.getFormat().empty() || q.getFormat() == "int") {
      if (q.getBits() > 8)
        return success(); // float storage: nothing to round
      generic = rtnParams(q);
      if (q.getGroup() > 0 && n % q.getGroup() != 0)
        return w.emitError() << "row length " << n << " is not a multiple of the group size "
                             << q.getGroup();
    } else {
      type = gg::typeFromName(q.getFormat());
      if (!type)
        return w.emitError() << "unknown block format '" << q.getFormat() << "'";
      if (n % gg::traits(*type).blockSize != 0)
        return w.emitError() << "row length " << n << " is not a multiple of the "
                             << q.getFormat() << " block size " << gg::traits(*type).blockSize;
    }
    std::vector<float> data;
    if (auto v = w.getValueAttr()) {
      auto dense = dyn_cast<DenseElementsAttr>(v);
      if (!dense || !dense.getElementType().isF32())
        return w.emitError("inline value must be a dense f32 tensor");
      for (float f : dense.getValues<float>())
        data.push_back(f);
    } else if (store_) {
      if (auto e = store_->loadFloat(w.getSymName(), shape, data))
        return w.emitError() << llvm::toString(std::move(e));
    } else {
      return w.emitError("no data to pack: neither an inline value nor a weight store");
    }
    std::vector<uint8_t> bytes((generic ? ::qcc::rtn::rowBytes(*generic, n) : gg::rowBytes(*type, n)) *
                               rows);
    if (generic)
      ::qcc::rtn::quantizeRows(*generic, data.data(), bytes.data(), rows, n);
    else
      gg::quantizeRows(*type, data.data(), bytes.data(), rows, n);
    if (w.getValueAttr()) {
      auto i8 = IntegerType::get(&getContext(), 8);
      auto t = RankedTensorType::get({int64_t(bytes.size())}, i8);
      llvm::ArrayRef<int8_t> raw(reinterpret_cast<const int8_t *>(bytes.data()), bytes.size());
      w.setPackedAttr(DenseElementsAttr::get(t, raw));
    }
    if (store_)
      store_->setPacked(w.getSymName(), {type.value_or(gg::Type::F32), generic,
                                         std::vector<int64_t>(shape.begin(), shape.end()),
                                         std::move(bytes)});
    return success();
  }

  ::qcc::WeightStore *store_ = nullptr;
};
} // namespace

std::unique_ptr<Pass> mlir::qcc::createPackBlocksPass(::qcc::WeightStore *store) {
  return std::make_unique<PackBlocksPass>(store);
}
