//===- QccDialect.td - the qcc dialect ---------------------*- tablegen -*-===//
//
// The qcc dialect describes a decoder-only transformer at the granularity the
// quantization passes work on: every linear layer is one op whose weight is a
// named, module-level `qcc.weight` symbol. Weights themselves stay outside the
// IR (memory-mapped from the checkpoint); a weight op carries only its name,
// its stored type and, once a quantization pass ran, a #qcc.quant attribute.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_DIALECT_TD
#define QCC_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Qcc_Dialect : Dialect {
  let name = "qcc";
  let summary = "Decoder-only transformer graphs and their quantized weights";
  let cppNamespace = "::mlir::qcc";
  let useDefaultAttributePrinterParser = 1;
}

class Qcc_Op<string mnemonic, list<Trait> traits = []> :
    Op<Qcc_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Qcc_QuantAttr : AttrDef<Qcc_Dialect, "Quant"> {
  let mnemonic = "quant";
  let summary = "How a weight is (to be) quantized";
  let description = [{
    `bits`: 2..8 bits per weight (16 or 32 for float storage); `group`: weights sharing one scale along the
    input dimension (0 = one scale per output channel); `symmetric`: no zero
    point / min; `format`: the block layout the packing pass writes: a ggml
    type name such as "Q4_K" or "Q8_0"; "int", the integer grid GPU
    checkpoints store (GPTQ / AWQ / compressed-tensors: fp16 scales, integer
    zero points >= 1); or "" for qcc's own generic grid (float scales).

    Example: `#qcc.quant<bits = 4, group = 32, symmetric = false, format = "Q4_K">`
  }];
  let parameters = (ins "unsigned":$bits, "int64_t":$group, "bool":$symmetric,
                        StringRefParameter<"block format", "\"\"">:$format);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // QCC_DIALECT_TD
