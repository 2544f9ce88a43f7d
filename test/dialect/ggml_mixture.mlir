// RUN: qcc-opt %s -qcc-ggml-mixture="preset=Q4_K_M" | FileCheck %s --check-prefix=Q4KM
// RUN: qcc-opt %s -qcc-ggml-mixture="preset=Q2_K" | FileCheck %s --check-prefix=Q2K
// RUN: qcc-opt %s -qcc-ggml-mixture="preset=Q4_0 tensor-type=blk.*.ffn_down.weight=Q6_K,*up_proj*=Q8_0" | FileCheck %s --check-prefix=OVR
// RUN: not qcc-opt %s -qcc-ggml-mixture="preset=Q7_K" 2>&1 | FileCheck %s --check-prefix=BADP
// RUN: not qcc-opt %s -qcc-ggml-mixture="preset=Q4_0 tensor-type=ffn_down=Q9" 2>&1 | FileCheck %s --check-prefix=BADT

// Two layers: use_more_bits(i, 2) holds for layer 1 only (i >= 7*2/8 = 1),
// GQA 2, tied head, a 288-wide FFN (not a multiple of 256).
// Q4KM: module attributes {qcc.ggml_preset = "Q4_K_M"}
// The tied embedding is the output tensor: Q6_K.
// Q4KM: @model.embed_tokens.weight : tensor<32x256xf32> {quant = #qcc.quant<bits = 6, group = 16, symmetric = true, format = "Q6_K">}
// Q4KM: @model.norm.weight : tensor<256xf32> {quant = #qcc.quant<bits = 32, group = 0, symmetric = true, format = "F32">}
// Q4KM: @model.layers.0.self_attn.v_proj.weight : tensor<128x256xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = false, format = "Q4_K">}
// Q4KM: @model.layers.0.mlp.down_proj.weight : tensor<256x288xf32> {quant = #qcc.quant<bits = 5, group = 32, symmetric = true, format = "Q5_0">}
// Q4KM: @model.layers.1.self_attn.v_proj.weight : tensor<128x256xf32> {quant = #qcc.quant<bits = 6, group = 16, symmetric = true, format = "Q6_K">}
// ffn_down of layer 1 would be Q6_K; 288 % 256 != 0 -> Q8_0.
// Q4KM: @model.layers.1.mlp.down_proj.weight : tensor<256x288xf32> {quant = #qcc.quant<bits = 8, group = 32, symmetric = true, format = "Q8_0">}

// Q2K: @model.layers.0.self_attn.v_proj.weight : tensor<128x256xf32> {quant = #qcc.quant<bits = 3, group = 16, symmetric = true, format = "Q3_K">}
// Q2K: @model.layers.0.self_attn.o_proj.weight : tensor<256x256xf32> {quant = #qcc.quant<bits = 3, group = 16, symmetric = true, format = "Q3_K">}
// Q2K: @model.layers.0.mlp.up_proj.weight : tensor<288x256xf32> {quant = #qcc.quant<bits = 2, group = 16, symmetric = false, format = "Q2_K">}
// ffn_down -> Q3_K, 288 % 256 != 0 -> IQ4_NL
// Q2K: @model.layers.0.mlp.down_proj.weight : tensor<256x288xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "IQ4_NL">}

// OVR: @model.layers.0.self_attn.v_proj.weight : tensor<128x256xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "Q4_0">}
// OVR: @model.layers.0.mlp.up_proj.weight : tensor<288x256xf32> {quant = #qcc.quant<bits = 8, group = 32, symmetric = true, format = "Q8_0">}
// OVR: @model.layers.0.mlp.down_proj.weight : tensor<256x288xf32> {quant = #qcc.quant<bits = 8, group = 32, symmetric = true, format = "Q8_0">}

// BADP: unknown preset 'Q7_K'
// BADT: bad --tensor-type 'ffn_down=Q9'

qcc.weight @model.embed_tokens.weight : tensor<32x256xf32>
qcc.weight @model.norm.weight : tensor<256xf32>
qcc.weight @model.layers.0.self_attn.v_proj.weight : tensor<128x256xf32>
qcc.weight @model.layers.0.self_attn.o_proj.weight : tensor<256x256xf32>
qcc.weight @model.layers.0.mlp.up_proj.weight : tensor<288x256xf32>
qcc.weight @model.layers.0.mlp.down_proj.weight : tensor<256x288xf32>
qcc.weight @model.layers.1.self_attn.v_proj.weight : tensor<128x256xf32>
qcc.weight @model.layers.1.mlp.down_proj.weight : tensor<256x288xf32>
func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x32xf32> {
  %x = qcc.embed %tok, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x256xf32>
  %v0 = qcc.linear %x, @model.layers.0.self_attn.v_proj.weight : tensor<?x256xf32> -> tensor<?x128xf32>
  %v1 = qcc.linear %x, @model.layers.1.self_attn.v_proj.weight : tensor<?x256xf32> -> tensor<?x128xf32>
  %q = qcc.linear %x, @model.layers.0.self_attn.o_proj.weight : tensor<?x256xf32> -> tensor<?x256xf32>
  %a0 = qcc.attention %q, %v0, %v0, %pos {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64, scale = 0.125 : f64} : tensor<?x256xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<?xi32> -> tensor<?x256xf32>
  %a1 = qcc.attention %q, %v1, %v1, %pos {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64, scale = 0.125 : f64} : tensor<?x256xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<?xi32> -> tensor<?x256xf32>
  %u = qcc.linear %a1, @model.layers.0.mlp.up_proj.weight : tensor<?x256xf32> -> tensor<?x288xf32>
  %d = qcc.linear %u, @model.layers.0.mlp.down_proj.weight : tensor<?x288xf32> -> tensor<?x256xf32>
  %d1 = qcc.linear %u, @model.layers.1.mlp.down_proj.weight : tensor<?x288xf32> -> tensor<?x256xf32>
  %s = qcc.add %d, %d1 : tensor<?x256xf32>
  %f = qcc.rms_norm %s, @model.norm.weight {epsilon = 1.0e-5 : f64} : tensor<?x256xf32>
  %l = qcc.lm_head %f, @model.embed_tokens.weight {tied} : tensor<?x256xf32> -> tensor<?x32xf32>
  return %l : tensor<?x32xf32>
}
