//===- DispatchParallel.cpp - parallel kernels onto the runtime's threads -===//
//
// See Passes.td. Runs on the LLVM dialect, after every other conversion: a
// kernel's captured operands are then LLVM values of any type (memref
// descriptors expanded into pointers and sizes), stored in one struct.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::qcc {
#define GEN_PASS_DEF_DISPATCHPARALLEL
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
namespace q = ::mlir::qcc;

namespace {

struct DispatchParallelPass : public q::impl::DispatchParallelBase<DispatchParallelPass> {
  void runOnOperation() override {
    ModuleOp m = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto ptrT = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidT = LLVM::LLVMVoidType::get(ctx);

    SmallVector<LLVM::CallOp> calls;
    m.walk([&](LLVM::CallOp call) {
      auto callee = call.getCallee();
      if (!callee)
        return;
      auto k = m.lookupSymbol<LLVM::LLVMFuncOp>(*callee);
      if (k && k->hasAttr("qcc.parallel"))
        calls.push_back(call);
    });
    if (calls.empty())
      return;

    // void qcc_rt_parallel_for(rt, begin, end, grain, fn, ctx)
    auto forT = LLVM::LLVMFunctionType::get(voidT, {ptrT, i64, i64, i64, ptrT, ptrT});
    auto parallelFor = m.lookupSymbol<LLVM::LLVMFuncOp>("qcc_rt_parallel_for");
    if (!parallelFor) {
      b.setInsertionPointToStart(m.getBody());
      parallelFor = LLVM::LLVMFuncOp::create(b, m.getLoc(), "qcc_rt_parallel_for", forT);
    }

    llvm::DenseMap<Operation *, LLVM::LLVMFuncOp> tasks;
    for (LLVM::CallOp call : calls) {
      auto k = m.lookupSymbol<LLVM::LLVMFuncOp>(*call.getCallee());
      Location loc = call.getLoc();
      ValueRange ops = call.getArgOperands();
      // (rt, captured..., begin, end, thread)
      if (ops.size() < 4 || ops[0].getType() != ptrT || ops[ops.size() - 3].getType() != i64 ||
          ops[ops.size() - 2].getType() != i64 || ops[ops.size() - 1].getType() != i64) {
        call.emitOpError("calls a qcc.parallel kernel without (rt, ..., begin, end, thread) operands");
        return signalPassFailure();
      }
      ValueRange captured = ops.drop_back(3);
      SmallVector<Type> fields;
      for (Value v : captured)
        fields.push_back(v.getType());
      auto ctxT = LLVM::LLVMStructType::getLiteral(ctx, fields);
      auto grain = k->getAttrOfType<IntegerAttr>("qcc.parallel");

      // The task: void k_task(ctx, begin, end, thread) { k(*ctx..., begin, end, thread); }
      LLVM::LLVMFuncOp &task = tasks[k];
      if (!task) {
        b.setInsertionPointAfter(k);
        task = LLVM::LLVMFuncOp::create(b, loc, (k.getName() + "_task").str(),
                                        LLVM::LLVMFunctionType::get(voidT, {ptrT, i64, i64, i64}),
                                        LLVM::Linkage::Internal);
        Block *e = task.addEntryBlock(b);
        b.setInsertionPointToStart(e);
        Value s = LLVM::LoadOp::create(b, loc, ctxT, e->getArgument(0));
        SmallVector<Value> args;
        for (unsigned i = 0; i < fields.size(); ++i)
          args.push_back(LLVM::ExtractValueOp::create(b, loc, s, i));
        args.append({e->getArgument(1), e->getArgument(2), e->getArgument(3)});
        LLVM::CallOp::create(b, loc, k, args);
        LLVM::ReturnOp::create(b, loc, ValueRange{});
      }

      // The context lives in the caller's frame (allocated at its entry).
      auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
      b.setInsertionPointToStart(&caller.getBody().front());
      Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
      Value slot = LLVM::AllocaOp::create(b, loc, ptrT, ctxT, one);
      b.setInsertionPoint(call);
      Value s = LLVM::UndefOp::create(b, loc, ctxT);
      for (auto [i, v] : llvm::enumerate(captured))
        s = LLVM::InsertValueOp::create(b, loc, s, v, int64_t(i));
      LLVM::StoreOp::create(b, loc, s, slot);
      Value fnp = LLVM::AddressOfOp::create(b, loc, task);
      Value g = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(grain.getInt()));
      LLVM::CallOp::create(b, loc, parallelFor,
                           ValueRange{ops[0], ops[ops.size() - 3], ops[ops.size() - 2], g, fnp, slot});
      call.erase();
    }
    // The kernels are now reached only through their tasks (and inlined there).
    for (auto &[k, task] : tasks) {
      auto f = cast<LLVM::LLVMFuncOp>(k);
      f.setLinkage(LLVM::Linkage::Internal);
      f->removeAttr("qcc.parallel");
      f->removeAttr("sym_visibility");
    }
  }
};

} // namespace
