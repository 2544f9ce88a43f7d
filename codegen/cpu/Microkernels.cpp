//===- Microkernels.cpp - the runtime's kernels linked in as bitcode ------===//
#include "codegen/cpu/Microkernels.h"
#include "codegen/cpu/Emit.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Transforms/IPO/AlwaysInliner.h"
#include "llvm/Transforms/IPO/GlobalDCE.h"
#include "llvm/Transforms/IPO/Internalize.h"
#include "llvm/Transforms/IPO/SCCP.h"
#include "llvm/Transforms/Scalar/SimplifyCFG.h"

// Microkernels.S: the bitcode, embedded.
extern "C" const char qcc_microkernels_bc[], qcc_microkernels_bc_end[];

using namespace llvm;

namespace qcc::codegen {

Error linkMicrokernels(Module &m) {
  MemoryBufferRef bytes(StringRef(qcc_microkernels_bc, qcc_microkernels_bc_end - qcc_microkernels_bc),
                        "qcc-microkernels.bc");
  auto uk = parseBitcodeFile(bytes, m.getContext());
  if (!uk)
    return createStringError("internal error: the embedded microkernel bitcode does not load: " +
                             toString(uk.takeError()));
  // The microkernels linked in; the runtime's other entry points (the
  // thread pool's loop, sizing buffers, the KV-cache append) stay calls into
  // it, and so do attention and the float weights' row blocks: GCC's builds
  // of their loops run faster than clang's (a prompt's attention on
  // debtext-29m Q8_0 pp512: 17.6 % of the time against 28 %; the F16 / BF16
  // files' pp128: 1530 / 1554 tok/s against 1169 / 1310).
  static const char *const kMicrokernels[] = {"qcc_rt_embed", "qcc_rt_linear_activations",
                                              "qcc_rt_linear_rows"};
  for (Function &f : **uk)
    if (f.getName().starts_with("qcc_rt_") && !f.isDeclaration() &&
        !llvm::is_contained(kMicrokernels, f.getName()))
      f.deleteBody();
  (*uk)->setTargetTriple(m.getTargetTriple());
  (*uk)->setDataLayout(m.getDataLayout());
  if (Linker::linkModules(m, std::move(*uk), Linker::Flags::LinkOnlyNeeded))
    return createStringError("internal error: linking the microkernel bitcode failed");
  // The entry points the generated kernels call are inlined into them
  // (where the ggml type and shapes are constants, so their dispatch on the
  // type folds away); what they call is left to the inliner's cost model.
  for (Function &f : m)
    if (!f.isDeclaration() && llvm::is_contained(kMicrokernels, f.getName())) {
      f.removeFnAttr(Attribute::NoInline);
      f.addFnAttr(Attribute::AlwaysInline);
    }
  internalizeModule(m, [](const GlobalValue &gv) {
    StringRef n = gv.getName();
    return n == "qcc_forward" || n == "_mlir_ciface_qcc_forward" || n == "qcc_model_signature" ||
           n == "qcc_model_vocab";
  });
  // Inline them now and fold what their constant operands decide (the
  // type's branch of every dispatch), then drop what no longer has a user,
  // so O3 does not optimize the paths of other types and shapes.
  runModulePasses(m, nullptr, [](PassBuilder &) {
    ModulePassManager mpm;
    mpm.addPass(AlwaysInlinerPass());
    mpm.addPass(IPSCCPPass());
    mpm.addPass(createModuleToFunctionPassAdaptor(SimplifyCFGPass()));
    mpm.addPass(GlobalDCEPass());
    return mpm;
  });
  return Error::success();
}

} // namespace qcc::codegen
