//===- Schedule.cpp - emission order and buffer lifetimes of @forward -----===//
#include "codegen/common/Schedule.h"

#include "llvm/ADT/DenseSet.h"

#include <algorithm>

using namespace mlir;
namespace q = ::mlir::qcc;

namespace qcc::codegen {

Schedule::Schedule(Block &body) {
  for (auto add : body.getOps<q::AddOp>())
    for (Value operand : {add.getRhs(), add.getLhs()}) {
      auto lin = operand.getDefiningOp<q::LinearOp>();
      if (lin && lin->hasOneUse() && !lin.getBiasAttr() && !fusedInto.count(add)) {
        fusedInto[add] = lin;
        emittedAt[lin] = add;
      }
    }
}

void Schedule::computeLifetimes(Block &body) {
  unsigned count = 0;
  for (Operation &op : body)
    order[&op] = count++;
  // A deferred op reads its operands where it is emitted.
  auto position = [&](Operation *op) {
    Operation *at = emittedAt.lookup(op);
    return order[at ? at : op];
  };
  llvm::DenseMap<Value, unsigned> lastUse;
  for (Operation &op : body)
    for (Value v : op.getOperands())
      lastUse[v] = std::max(lastUse.lookup(v), position(&op));
  // In program order of first use, not the map's (pointer) order: the
  // generators reuse freed buffers in this order, and their output must not
  // change from one run to the next.
  freeAfter.assign(count, {});
  llvm::DenseSet<Value> listed;
  for (Operation &op : body)
    for (Value v : op.getOperands())
      if (!isa<BlockArgument>(v) && listed.insert(v).second)
        freeAfter[lastUse[v]].push_back(v);
}

} // namespace qcc::codegen
