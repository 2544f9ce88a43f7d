//===- Passes.td - qcc's CPU code generation ---------------*- tablegen -*-===//
#ifndef QCC_CODEGEN_CPU_PASSES_TD
#define QCC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToCPU : Pass<"qcc-lower-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lower @forward to buffers, linalg and runtime microkernel calls";
  let description = [{
    Replaces the qcc graph `@forward` by `@qcc_forward` (NativeABI.h), a
    function over memrefs specialised for every shape of the model:
    - each weight becomes a `memref.view` of the GGUF data section at the
      byte offset its `qcc.gguf` attribute gives (`{name, type, offset,
      bytes}`, set by the AOT driver from the file it wrote or read): for a
      block format, one plane [rows x rowBytes] of packed blocks;
    - `qcc.linear` / `qcc.lm_head` / `qcc.embed` call the runtime's
      quantized microkernels with the view and the shapes as constants; a
      residual `qcc.add` of a linear's only use is fused into that call;
    - `qcc.rms_norm`, `qcc.rope` (cos/sin tables computed once per call,
      rotate-half or, with the module attribute `qcc.rope_layout =
      "interleaved"` that GGUF's permuted Q/K rows need, adjacent pairs),
      `qcc.swiglu`, `qcc.add` and biases become `linalg.generic`s;
    - `qcc.attention` calls the runtime's KV-cache attention;
    - every activation buffer is freed after its last use.
    `qcc_model_signature` and `qcc_model_vocab` are emitted as constants.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::LLVM::LLVMDialect"];
}

#endif
