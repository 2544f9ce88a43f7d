//===- Passes.td - qcc passes ------------------------------*- tablegen -*-===//
#ifndef QCC_PASSES_TD
#define QCC_PASSES_TD

include "mlir/Pass/PassBase.td"

def AssignQuant : Pass<"qcc-assign-quant", "::mlir::ModuleOp"> {
  let summary = "Mark the weights of linear layers for round-to-nearest quantization";
  let description = [{
    Attaches `#qcc.quant<bits, group, symmetric, format>` to every `qcc.weight`
    used as the weight of a `qcc.linear` (and of `qcc.lm_head` / `qcc.embed`
    when `include-head` is set) whose name matches `filter` (a glob; empty
    matches all). Norm weights and biases stay in full precision. A weight whose
    input dimension is not a multiple of `group` falls back to one group per
    row (group = 0). Weights that already carry a `quant` attribute are left
    alone, so a pipeline can run this pass several times, most specific first.
  }];
  let options = [
    Option<"bits", "bits", "unsigned", "4", "bits per weight (2..8)">,
    Option<"group", "group", "int64_t", "32", "weights per scale along the input dimension (0 = per channel)">,
    Option<"symmetric", "symmetric", "bool", "false", "no zero point (scale only)">,
    Option<"format", "format", "std::string", "\"\"", "block format the packing pass will write (e.g. Q4_K)">,
    Option<"filter", "filter", "std::string", "\"\"", "glob on weight names; empty = all linear weights">,
    Option<"includeHead", "include-head", "bool", "false", "also quantize the LM head / tied embedding">
  ];
}

#endif // QCC_PASSES_TD
