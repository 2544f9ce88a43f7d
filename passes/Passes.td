//===- Passes.td - qcc passes ------------------------------*- tablegen -*-===//
#ifndef QCC_PASSES_TD
#define QCC_PASSES_TD

include "mlir/Pass/PassBase.td"

def AssignQuant : Pass<"qcc-assign-quant", "::mlir::ModuleOp"> {
  let summary = "Mark the weights of linear layers for round-to-nearest quantization";
  let description = [{
    Attaches `#qcc.quant<bits, group, symmetric, format>` to every `qcc.weight`
    used as the weight of a `qcc.linear` (and of `qcc.lm_head` / `qcc.embed`
    when `include-head` is set; a tied head is the embedding) whose name
    matches `filter` (a glob; empty matches all). Norm weights and biases stay
    in full precision. A weight whose input dimension is not a multiple of
    `group` falls back to one group per row (group = 0), or, with
    `strict-group`, stays unquantized (the GPU checkpoint formats name one
    group size for the whole model). Weights that already carry a `quant` attribute are left
    alone, so a pipeline can run this pass several times, most specific first.
  }];
  let options = [
    Option<"bits", "bits", "unsigned", "4", "bits per weight (2..8)">,
    Option<"group", "group", "int64_t", "32", "weights per scale along the input dimension (0 = per channel)">,
    Option<"symmetric", "symmetric", "bool", "false", "no zero point (scale only)">,
    Option<"format", "format", "std::string", "\"\"", "block format the packing pass will write (e.g. Q4_K)">,
    Option<"filter", "filter", "std::string", "\"\"", "glob on weight names; empty = all linear weights">,
    Option<"includeHead", "include-head", "bool", "false", "also quantize the LM head (and the embedding it is tied to)">,
    Option<"strictGroup", "strict-group", "bool", "false", "leave a weight unquantized when its input dimension is not a multiple of `group`">
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

def Calibrate : Pass<"qcc-calibrate", "::mlir::ModuleOp"> {
  let summary = "Quantize linear layers with calibration data: GPTQ, AWQ, importance";
  let description = [{
    Runs `@forward` over calibration windows one op at a time across all
    windows, so that each linear layer is quantized as soon as its input is
    known, from the inputs produced by the layers quantized before it
    (sequential, as GPTQ's reference code does). For every group of linear
    layers reading one value (q/k/v; gate/up; o; down; the LM head) whose
    `#qcc.quant` names a format (or generic bits / group), it reduces the input
    to X^T X, per-channel mean |x| and activation energy, then:
      - `rtn`: the block search weighted by each input channel's energy;
      - `gptq`: GPTQ (quant/GPTQ.h) onto the format's grid;
      - `awq`: AWQ scales (quant/AWQ.h) folded exactly into the op before
        (an RMSNorm weight; v_proj rows before o_proj, tied across the query
        heads that share a KV head; up_proj rows before down_proj), found by
        matching those patterns, then the energy-weighted search;
      - `awq+gptq`: AWQ scales, then GPTQ.
    The packed bytes go to the driver's WeightStore (inline-value weights get
    `packed`, folded float weights a new `value`); every quantized weight gets
    `qcc.method`, its relative output error on the calibration inputs
    `qcc.calib_error`, and with AWQ `qcc.awq_scale`, naming a new `qcc.weight`
    that holds the scales. Weights it did not touch are left for
    qcc-pack-blocks. `ids` / `ctx` give calibration windows in qcc-opt; the
    qcc driver passes windows drawn from `--calib` text.
  }];
  let options = [
    Option<"method", "method", "std::string", "\"gptq\"", "rtn, gptq, awq or awq+gptq">,
    Option<"damp", "damp", "double", "0.01", "GPTQ dampening, fraction of the mean Hessian diagonal">,
    Option<"blockSize", "block-size", "int64_t", "128", "GPTQ lazy-update block (columns)">,
    Option<"actOrder", "act-order", "bool", "false", "GPTQ columns by decreasing activation energy">,
    Option<"staticGroups", "static-groups", "bool", "false", "GPTQ group parameters fitted before any rounding">,
    Option<"awqGrid", "awq-grid", "int", "20", "AWQ: number of alpha values tried in [0, 1)">,
    Option<"measure", "measure", "bool", "false", "round nothing: record on every quantizable weight its relative output error at each candidate block format (`qcc.sensitivity`), for qcc-budget-mixture">,
    Option<"foldOnly", "fold-only", "bool", "false", "apply the AWQ folds to the float weights and round nothing (to check that folding leaves the model unchanged)">,
    ListOption<"ids", "ids", "int32_t", "calibration token ids (qcc-opt)">,
    Option<"ctx", "ctx", "int64_t", "0", "window length for `ids` (0: one window)">
  ];
}

def BudgetMixture : Pass<"qcc-budget-mixture", "::mlir::ModuleOp"> {
  let summary = "Choose block formats from measured sensitivity to meet a bits-per-weight budget";
  let description = [{
    Every weight that carries `qcc.sensitivity` (its relative output error on
    the calibration inputs at each candidate format, recorded by
    `qcc-calibrate measure=true`) gets the format that minimises the summed
    relative error of all such weights while the whole file (every tensor, as
    llama.cpp counts bits per weight: 8 x tensor bytes / weights) stays within
    `bpw`. Each weight's options are reduced to their lower convex hull
    (bytes, error) and upgraded greedily by error saved per byte. Weights
    without measurements keep the format they have; `tensor-type` overrides
    (GLOB=TYPE on GGUF or checkpoint names) are fixed. A budget below what the
    smallest formats give is an error. Records `qcc.bpw` (the result) on the module.
  }];
  let options = [
    Option<"bpw", "bpw", "double", "0", "bits per weight of the whole model">,
    ListOption<"tensorTypes", "tensor-type", "std::string", "per-tensor overrides GLOB=TYPE">
  ];
}

#endif // QCC_PASSES_TD
