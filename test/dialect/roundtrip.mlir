// RUN: qcc-opt %s | FileCheck %s
// RUN: qcc-opt %s | qcc-opt | FileCheck %s
// RUN: qcc-opt %s -mlir-print-op-generic | qcc-opt | FileCheck %s

// A one-layer decoder with every op of the dialect.
module attributes {qcc.architecture = "LlamaForCausalLM"} {
  // CHECK: qcc.weight @emb : tensor<16x8xbf16>
  qcc.weight @emb : tensor<16x8xbf16>
  qcc.weight @n0 : tensor<8xf32>
  // CHECK: qcc.weight @wq : tensor<8x8xf16> {quant = #qcc.quant<bits = 4, group = 32, symmetric = false, format = "Q4_K">}
  qcc.weight @wq : tensor<8x8xf16> {quant = #qcc.quant<bits = 4, group = 32, symmetric = false, format = "Q4_K">}
  qcc.weight @bq : tensor<8xf32>
  qcc.weight @wk : tensor<4x8xf32>
  qcc.weight @wv : tensor<4x8xf32>
  qcc.weight @wo : tensor<8x8xf32>
  qcc.weight @wg : tensor<12x8xf32>
  qcc.weight @wu : tensor<12x8xf32>
  qcc.weight @wd : tensor<8x12xf32>
  // CHECK-LABEL: func.func @forward
  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x16xf32> {
    // CHECK: qcc.embed %{{.*}}, @emb : tensor<?xi32> -> tensor<?x8xf32>
    %x = qcc.embed %tok, @emb : tensor<?xi32> -> tensor<?x8xf32>
    // CHECK: qcc.rms_norm %{{.*}}, @n0 {epsilon = 1.000000e-05 : f64} : tensor<?x8xf32>
    %h = qcc.rms_norm %x, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x8xf32>
    // CHECK: qcc.linear %{{.*}}, @wq bias @bq : tensor<?x8xf32> -> tensor<?x8xf32>
    %q = qcc.linear %h, @wq bias @bq : tensor<?x8xf32> -> tensor<?x8xf32>
    %k = qcc.linear %h, @wk : tensor<?x8xf32> -> tensor<?x4xf32>
    %v = qcc.linear %h, @wv : tensor<?x8xf32> -> tensor<?x4xf32>
    // CHECK: qcc.rope {{.*}} {head_dim = 4 : i64, num_heads = 2 : i64, scaling = {factor = 8.000000e+00 : f64, rope_type = "llama3"}, theta = 5.000000e+05 : f64}
    %qr = qcc.rope %q, %pos {num_heads = 2 : i64, head_dim = 4 : i64, theta = 500000.0 : f64, scaling = {rope_type = "llama3", factor = 8.0 : f64}} : tensor<?x8xf32>, tensor<?xi32>
    %kr = qcc.rope %k, %pos {num_heads = 1 : i64, head_dim = 4 : i64, theta = 500000.0 : f64} : tensor<?x4xf32>, tensor<?xi32>
    // CHECK: qcc.attention {{.*}} {head_dim = 4 : i64, layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64}
    %a = qcc.attention %qr, %kr, %v, %pos {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %o = qcc.linear %a, @wo : tensor<?x8xf32> -> tensor<?x8xf32>
    // CHECK: qcc.add
    %x1 = qcc.add %x, %o : tensor<?x8xf32>
    %g = qcc.linear %x1, @wg : tensor<?x8xf32> -> tensor<?x12xf32>
    %u = qcc.linear %x1, @wu : tensor<?x8xf32> -> tensor<?x12xf32>
    // CHECK: qcc.swiglu
    %s = qcc.swiglu %g, %u : tensor<?x12xf32>
    %d = qcc.linear %s, @wd : tensor<?x12xf32> -> tensor<?x8xf32>
    %x2 = qcc.add %x1, %d : tensor<?x8xf32>
    %f = qcc.rms_norm %x2, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x8xf32>
    // CHECK: qcc.lm_head %{{.*}}, @emb {tied} : tensor<?x8xf32> -> tensor<?x16xf32>
    %l = qcc.lm_head %f, @emb {tied} : tensor<?x8xf32> -> tensor<?x16xf32>
    return %l : tensor<?x16xf32>
  }
}
