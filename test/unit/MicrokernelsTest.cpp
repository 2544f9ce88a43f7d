// The microkernel bitcode linked into a module as the CPU code generator
// does (codegen/cpu/Microkernels.h): what the module calls is defined,
// inlined and folded for its constant operands; the rest stays a runtime call.
#include "codegen/cpu/Emit.h"
#include "codegen/cpu/Microkernels.h"
#include "formats/ggml/GGMLTypes.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <gtest/gtest.h>

using namespace llvm;

namespace {

/// qcc_forward(rt, w, x, y) calling qcc_rt_linear_rows for a Q8_0 [64 x 256]
/// weight and qcc_rt_linear_prepare, as a generated kernel does.
std::unique_ptr<Module> caller(LLVMContext &ctx, TargetMachine &tm) {
  auto m = std::make_unique<Module>("test", ctx);
  m->setTargetTriple(tm.getTargetTriple());
  m->setDataLayout(tm.createDataLayout());
  Type *ptr = PointerType::get(ctx, 0), *i32 = Type::getInt32Ty(ctx), *i64 = Type::getInt64Ty(ctx);
  Type *vd = Type::getVoidTy(ctx);
  FunctionCallee rows = m->getOrInsertFunction(
      "qcc_rt_linear_rows", FunctionType::get(vd, {ptr, i32, ptr, i64, i64, ptr, i64, ptr, ptr, i64, i64, i64}, false));
  FunctionCallee prepare =
      m->getOrInsertFunction("qcc_rt_linear_prepare", FunctionType::get(vd, {ptr, i32, ptr, i64, i64}, false));
  Function *f = Function::Create(FunctionType::get(vd, {ptr, ptr, ptr, ptr}, false), GlobalValue::ExternalLinkage,
                                 "qcc_forward", *m);
  IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
  auto c32 = [&](int64_t v) { return ConstantInt::get(i32, v); };
  auto c64 = [&](int64_t v) { return ConstantInt::get(i64, v); };
  const int type = int(qcc::ggml::Type::Q8_0);
  b.CreateCall(prepare, {f->getArg(0), c32(type), f->getArg(1), c64(256), c64(1)});
  b.CreateCall(rows, {f->getArg(0), c32(type), f->getArg(1), c64(256), c64(64), f->getArg(2), c64(1),
                      ConstantPointerNull::get(cast<PointerType>(ptr)), f->getArg(3), c64(0), c64(64), c64(0)});
  b.CreateRetVoid();
  return m;
}

TEST(Microkernels, LinkedInlinedAndFoldedForTheirType) {
  auto target = qcc::codegen::resolveCPU("x86-64-v3");
  ASSERT_TRUE(bool(target)) << toString(target.takeError());
  auto tm = qcc::codegen::targetMachine(*target);
  ASSERT_TRUE(bool(tm)) << toString(tm.takeError());
  LLVMContext ctx;
  auto m = caller(ctx, **tm);
  ASSERT_FALSE(bool(qcc::codegen::linkMicrokernels(*m)));
  std::string err;
  raw_string_ostream es(err);
  ASSERT_FALSE(verifyModule(*m, &es)) << err;

  // The microkernel is inlined into its caller (and its definition dropped);
  // the runtime's other entry points stay declarations.
  Function *fwd = m->getFunction("qcc_forward");
  ASSERT_TRUE(fwd && !fwd->isDeclaration());
  bool callsRows = false, callsPrepare = false;
  for (Instruction &i : instructions(*fwd))
    if (auto *c = dyn_cast<CallBase>(&i))
      if (Function *callee = c->getCalledFunction()) {
        callsRows |= callee->getName() == "qcc_rt_linear_rows";
        callsPrepare |= callee->getName() == "qcc_rt_linear_prepare";
      }
  EXPECT_FALSE(callsRows);
  EXPECT_TRUE(callsPrepare);
  Function *rows = m->getFunction("qcc_rt_linear_rows");
  EXPECT_TRUE(!rows || rows->hasLocalLinkage());
  ASSERT_TRUE(m->getFunction("qcc_rt_linear_prepare"));
  EXPECT_TRUE(m->getFunction("qcc_rt_linear_prepare")->isDeclaration());

  // Everything linked in is internal; the float-weight path of the row
  // kernel (its tiles) was folded away for a quantized type.
  for (Function &f : *m) {
    if (f.isDeclaration() || &f == fwd)
      continue;
    EXPECT_TRUE(f.hasLocalLinkage()) << f.getName().str();
    EXPECT_FALSE(f.getName().starts_with("_ZZ18qcc_rt_linear_rows")) << f.getName().str();
  }
  for (GlobalVariable &g : m->globals())
    EXPECT_TRUE(g.isDeclaration() || g.hasLocalLinkage()) << g.getName().str();
}

} // namespace
