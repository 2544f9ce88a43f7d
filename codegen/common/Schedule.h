//===- Schedule.h - emission order and buffer lifetimes of @forward -*- C++ -*-===//
//
// What the code generators (codegen/cpu, codegen/cuda) decide the same way
// before they walk the graph: which residual adds a linear writes in its
// epilogue (the linear is then emitted at its add), and after which op each
// value is read for the last time, in emission order, so that its buffer
// can be freed or reused there.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_CODEGEN_COMMON_SCHEDULE_H
#define QCC_CODEGEN_COMMON_SCHEDULE_H

#include "dialects/qcc/QccDialect.h"

#include "llvm/ADT/DenseMap.h"

#include <vector>

namespace qcc::codegen {

struct Schedule {
  /// add -> the linear (its only use, no bias) whose result it adds: the
  /// linear writes the add's result, with the other operand as addend.
  llvm::DenseMap<mlir::Operation *, mlir::qcc::LinearOp> fusedInto;
  /// An op emitted later, at another op (a fused linear at its add; the
  /// generators may add their own deferrals before computeLifetimes).
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> emittedAt;
  /// Program order of the block's ops.
  llvm::DenseMap<mlir::Operation *, unsigned> order;
  /// freeAfter[order[op]]: the values last read when op is emitted.
  std::vector<std::vector<mlir::Value>> freeAfter;

  /// The residual-add fusion of `body` (fusedInto, emittedAt).
  explicit Schedule(mlir::Block &body);
  /// order and freeAfter, with every deferral in emittedAt.
  void computeLifetimes(mlir::Block &body);
};

} // namespace qcc::codegen

#endif
