//===- QccOps.td - qcc dialect operations ------------------*- tablegen -*-===//
//
// One op per transformer building block. Activations are 2-D f32 tensors
// `tensor<?xDxf32>` (sequence x features); the sequence length is dynamic.
// Weight-carrying ops reference a module-level `qcc.weight` by symbol and their
// verifiers check the weight's shape against the activation shapes.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_OPS_TD
#define QCC_OPS_TD

include "QccDialect.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Qcc_Activation : 2DTensorOf<[F32]>;
def Qcc_TokenIds : 1DTensorOf<[I32]>;

class Qcc_WeightUser<string mnemonic, list<Trait> traits = []> :
    Qcc_Op<mnemonic, !listconcat(traits,
      [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>])>;

def Qcc_WeightOp : Qcc_Op<"weight", [Symbol]> {
  let summary = "A named checkpoint tensor (data stays outside the IR)";
  let description = [{
    Declares one tensor of the checkpoint. `type` is the tensor as stored
    (shape and element type, e.g. `tensor<512x512xbf16>`); the data is
    memory-mapped from the checkpoint at run time. `quant`, once set by a
    quantization pass, says how the weight is rounded and packed.

    Small weights (tests, toy models) may instead carry their data inline in
    `value`; the block-packing pass then records the packed bytes in `packed`
    (a tensor<Nxi8> of ggml blocks, row after row).

    ```mlir
    qcc.weight @model.layers.0.self_attn.q_proj.weight : tensor<512x512xbf16>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<AnyRankedTensor>:$type,
                       OptionalAttr<Qcc_QuantAttr>:$quant,
                       OptionalAttr<ElementsAttr>:$value,
                       OptionalAttr<ElementsAttr>:$packed);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
}

def Qcc_EmbedOp : Qcc_WeightUser<"embed"> {
  let summary = "Token embedding lookup";
  let arguments = (ins Qcc_TokenIds:$tokens, FlatSymbolRefAttr:$weight);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = "$tokens `,` $weight attr-dict `:` type($tokens) `->` type($result)";
}

def Qcc_RMSNormOp : Qcc_WeightUser<"rms_norm", [SameOperandsAndResultType]> {
  let summary = "RMSNorm: x * rsqrt(mean(x^2) + epsilon) * weight";
  let description = [{
    Used for the per-layer input / post-attention norms and for the final norm
    (`model.norm.weight`) before the LM head.
  }];
  let arguments = (ins Qcc_Activation:$input, FlatSymbolRefAttr:$weight,
                       F64Attr:$epsilon);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($result)";
}

def Qcc_LinearOp : Qcc_WeightUser<"linear"> {
  let summary = "y = x * W^T (+ b), W stored [out_features, in_features]";
  let description = [{
    The unit the quantization passes rewrite: `weight` names a `qcc.weight`
    of shape [out, in]; its `quant` attribute (if any) says how it is stored.
    `bias`, if present, names a 1-D weight of length `out`.
  }];
  let arguments = (ins Qcc_Activation:$input, FlatSymbolRefAttr:$weight,
                       OptionalAttr<FlatSymbolRefAttr>:$bias);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` type($input) `->` type($result)
  }];
}

def Qcc_RoPEOp : Qcc_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding (rotate-half convention)";
  let description = [{
    Rotates each of `num_heads` heads of `head_dim` features by the angle
    position * inv_freq, inv_freq[i] = theta^(-2i/head_dim), pairing feature i
    with i + head_dim/2 (the Hugging Face layout). `scaling` optionally holds
    `rope_type` ("linear" or "llama3") and its parameters (`factor`,
    `low_freq_factor`, `high_freq_factor`, `original_max_position_embeddings`),
    or `rope_type` "freq_factors" and `factors` (array<f32>, head_dim / 2
    divisors of inv_freq: a GGUF file's rope_freqs.weight, as llama.cpp
    applies it).
  }];
  let arguments = (ins Qcc_Activation:$input, Qcc_TokenIds:$positions,
                       I64Attr:$num_heads, I64Attr:$head_dim, F64Attr:$theta,
                       OptionalAttr<DictionaryAttr>:$scaling);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = "$input `,` $positions attr-dict `:` type($input) `,` type($positions)";
  let hasVerifier = 1;
}

def Qcc_AttentionOp : Qcc_Op<"attention", [Pure]> {
  let summary = "Grouped-query causal self-attention over a KV cache";
  let description = [{
    softmax(q k^T * scale + causal mask) v for `num_heads` query heads sharing
    `num_kv_heads` key/value heads. The keys and values of this call are
    appended to cache slot `layer` at `positions`; each query attends to every
    cached position <= its own (and, if `sliding_window` > 0, within that
    window).
  }];
  let arguments = (ins Qcc_Activation:$q, Qcc_Activation:$k, Qcc_Activation:$v,
                       Qcc_TokenIds:$positions, I64Attr:$layer,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale,
                       DefaultValuedAttr<I64Attr, "0">:$sliding_window);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $positions attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_SwiGLUOp : Qcc_Op<"swiglu", [Pure, SameOperandsAndResultType]> {
  let summary = "silu(gate) * up";
  let arguments = (ins Qcc_Activation:$gate, Qcc_Activation:$up);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Qcc_AddOp : Qcc_Op<"add", [Pure, SameOperandsAndResultType, Commutative]> {
  let summary = "Residual add";
  let arguments = (ins Qcc_Activation:$lhs, Qcc_Activation:$rhs);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Qcc_LMHeadOp : Qcc_WeightUser<"lm_head"> {
  let summary = "Logits = x * W^T over the vocabulary";
  let description = [{
    `weight` is [vocab, hidden]. `tied` marks that it is the token embedding
    (`tie_word_embeddings`), so exporters and quantizers treat it as one tensor.
  }];
  let arguments = (ins Qcc_Activation:$input, FlatSymbolRefAttr:$weight, UnitAttr:$tied);
  let results = (outs Qcc_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `->` type($result)";
}

#endif // QCC_OPS_TD
