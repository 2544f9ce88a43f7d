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

def GGMLMixture : Pass<"qcc-ggml-mixture", "::mlir::ModuleOp"> {
  let summary = "Choose each weight's ggml block format from a llama.cpp-style preset";
  let description = [{
    Gives every `qcc.weight` a `#qcc.quant` naming its ggml type, with the
    meaning llama-quantize gives `preset` (Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q4_K_M,
    Q4_K_S, Q4_0, Q4_1, Q5_0, Q5_1, Q3_K_L, Q3_K_M, Q3_K_S, Q2_K, or the float
    formats F32 / F16 / BF16): 1-D tensors (norms, biases) stay F32; the LM head
    (or the tied embedding) gets Q6_K; attn_v / ffn_down / attn_output get more
    bits in the layers the preset says. `tensor-type` entries `GLOB=TYPE`
    (matched against the GGUF name, e.g. `blk.*.ffn_down.weight`, or the
    checkpoint name) override the choice. A row length that is not a multiple
    of the format's block falls back as ggml does (Q2_K/Q3_K -> IQ4_NL,
    Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, else F16). The preset is recorded
    as the module attribute `qcc.ggml_preset`.
  }];
  let options = [
    Option<"preset", "preset", "std::string", "\"Q4_K_M\"", "llama.cpp quantization preset">,
    ListOption<"tensorTypes", "tensor-type", "std::string", "per-tensor overrides GLOB=TYPE">
  ];
}

def PackBlocks : Pass<"qcc-pack-blocks", "::mlir::ModuleOp"> {
  let summary = "Round weights to their ggml block format and pack them";
  let description = [{
    For every `qcc.weight` whose `#qcc.quant` names a ggml format, runs the
    round-to-nearest search (per-block scale / min search, then integer
    refinement of the super-block scale codes) and lays the rows out byte-exact
    in that format. A `#qcc.quant` without a format (as `qcc-assign-quant`
    writes) gets generic round-to-nearest at its bits / group / symmetry, with
    the same scale search and an integer zero point when asymmetric
    (layout in quant/RTN.h). Weights with an inline `value` get the bytes as their
    `packed` attribute; checkpoint weights are packed into the driver's
    WeightStore (the IR stays small).
  }];
}

#endif // QCC_PASSES_TD
