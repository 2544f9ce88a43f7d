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
    Every loop over tokens, output rows or attention units is a private
    kernel function `@qcc_<op>_<i>(rt, captured..., begin, end, thread)`
    marked `qcc.parallel = grain` over a range of that loop, called once
    over the whole range (qcc-cpu-dispatch-parallel spreads the call over
    the runtime's threads); a linear is `qcc_rt_linear_prepare`, a kernel
    over tokens (their activations) and one over output rows (blocks of 64);
    attention is `qcc_rt_attention_begin` (the cache append; it returns the
    number of units) and a kernel over its units.
    `qcc_model_signature` and `qcc_model_vocab` are emitted as constants.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect"];
}

def DispatchParallel : Pass<"qcc-cpu-dispatch-parallel", "::mlir::ModuleOp"> {
  let summary = "Run the calls of parallel kernels on the runtime's threads";
  let description = [{
    qcc-lower-to-cpu emits each parallel loop as a function
    `@k(rt, captured..., begin, end, thread)` marked `qcc.parallel = grain`
    and calls it once over the whole range. On the LLVM dialect (every
    captured value is then a plain LLVM value), this pass replaces each such
    call by
      - a context: the call's leading operands (rt, captured...) stored in a
        stack struct;
      - `qcc_rt_parallel_for(rt, begin, end, grain, @k_task, ctx)`, where
        `@k_task(ctx, begin, end, thread)` (one per kernel) loads them and
        calls `@k` on its range.
    So the generated code decides what runs in parallel and how it is split
    (contiguous ranges, bounds on multiples of the grain); the runtime only
    owns the threads.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif
