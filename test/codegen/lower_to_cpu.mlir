// RUN: qcc-opt %s --qcc-lower-to-cpu | FileCheck %s
// RUN: qcc-opt %s --qcc-cpu-pipeline | FileCheck %s --check-prefix=LLVM
// Every buffer is freed, also the inputs of linears fused into their adds
// (emitted at the add, so freed after it).
// RUN: qcc-opt %s --qcc-lower-to-cpu | %python -c "import re,sys; t=sys.stdin.read(); a=re.findall(r'(%%alloc\w*) = memref.alloc', t); d=re.findall(r'memref.dealloc (%%alloc\w*)', t); sys.exit(0 if sorted(a)==sorted(d) else 'allocated %%d, freed %%d: %%s' %% (len(a), len(d), sorted(set(a)-set(d))))"

// A one-layer decoder placed in a GGUF data section (F32 = type 0, Q8_0 = 8):
// the graph becomes @qcc_forward over memrefs with runtime calls.
module attributes {qcc.rope_layout = "interleaved"} {
  qcc.weight @emb : tensor<16x32xbf16> {qcc.gguf = {name = "token_embd.weight", type = 8 : i64, offset = 0 : i64, bytes = 544 : i64}}
  qcc.weight @n0 : tensor<32xf32> {qcc.gguf = {name = "blk.0.attn_norm.weight", type = 0 : i64, offset = 544 : i64, bytes = 128 : i64}}
  qcc.weight @wq : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_q.weight", type = 8 : i64, offset = 672 : i64, bytes = 1088 : i64}}
  qcc.weight @bq : tensor<32xf32> {qcc.gguf = {name = "blk.0.attn_q.bias", type = 0 : i64, offset = 1760 : i64, bytes = 128 : i64}}
  qcc.weight @wk : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_k.weight", type = 8 : i64, offset = 1888 : i64, bytes = 1088 : i64}}
  qcc.weight @wv : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_v.weight", type = 8 : i64, offset = 2976 : i64, bytes = 1088 : i64}}
  qcc.weight @wo : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_output.weight", type = 8 : i64, offset = 4064 : i64, bytes = 1088 : i64}}
  qcc.weight @wg : tensor<64x32xbf16> {qcc.gguf = {name = "blk.0.ffn_gate.weight", type = 8 : i64, offset = 5152 : i64, bytes = 2176 : i64}}
  qcc.weight @wu : tensor<64x32xbf16> {qcc.gguf = {name = "blk.0.ffn_up.weight", type = 8 : i64, offset = 7328 : i64, bytes = 2176 : i64}}
  qcc.weight @wd : tensor<32x64xbf16> {qcc.gguf = {name = "blk.0.ffn_down.weight", type = 8 : i64, offset = 9504 : i64, bytes = 2176 : i64}}

  // CHECK: memref.global "private" constant @qcc_rope_freq_0 : memref<8xf32>
  // CHECK-LABEL: func.func @qcc_forward(%{{.*}}: !llvm.ptr, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi32>, %{{.*}}: index, %{{.*}}: memref<?x?xf32>) attributes {llvm.emit_c_interface}
  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x16xf32> {
    // CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<16x34xi8>
    // CHECK: call @qcc_rt_embed
    %x = qcc.embed %tok, @emb : tensor<?xi32> -> tensor<?x32xf32>
    // The norm: a reduction and a scaling over a view of the F32 weight.
    // CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<32xf32>
    // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
    // CHECK: math.sqrt
    %h = qcc.rms_norm %x, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x32xf32>
    // CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<32x34xi8>
    // CHECK: call @qcc_rt_linear
    // The bias is a broadcast add.
    // CHECK: linalg.generic
    // CHECK: arith.addf
    %q = qcc.linear %h, @wq bias @bq : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = qcc.linear %h, @wk : tensor<?x32xf32> -> tensor<?x32xf32>
    %v = qcc.linear %h, @wv : tensor<?x32xf32> -> tensor<?x32xf32>
    // RoPE: one cos/sin table for both, adjacent pairs (GGUF's Q/K row order).
    // CHECK: math.cos
    // CHECK: math.sin
    // CHECK: memref.expand_shape {{.*}} into memref<?x2x8x2xf32>
    // CHECK-NOT: math.cos
    %qr = qcc.rope %q, %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 10000.0 : f64} : tensor<?x32xf32>, tensor<?xi32>
    %kr = qcc.rope %k, %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 10000.0 : f64} : tensor<?x32xf32>, tensor<?xi32>
    // CHECK: call @qcc_rt_attention
    %a = qcc.attention %qr, %kr, %v, %pos {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
    // The residual add is fused into the output projection: its addend is %x.
    // CHECK: call @qcc_rt_linear
    %o = qcc.linear %a, @wo : tensor<?x32xf32> -> tensor<?x32xf32>
    %x1 = qcc.add %x, %o : tensor<?x32xf32>
    %g = qcc.linear %x1, @wg : tensor<?x32xf32> -> tensor<?x64xf32>
    %u = qcc.linear %x1, @wu : tensor<?x32xf32> -> tensor<?x64xf32>
    // SiLU's exp is a polynomial (no math.exp left).
    // CHECK-NOT: math.exp
    %s = qcc.swiglu %g, %u : tensor<?x64xf32>
    %d = qcc.linear %s, @wd : tensor<?x64xf32> -> tensor<?x32xf32>
    %x2 = qcc.add %x1, %d : tensor<?x32xf32>
    %f = qcc.rms_norm %x2, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x32xf32>
    // The head: the last rows of the normed activations into the logits buffer.
    // CHECK: memref.dim %{{.*}}, %{{.*}} : memref<?x?xf32>
    // CHECK: call @qcc_rt_linear
    // CHECK: memref.dealloc
    %l = qcc.lm_head %f, @emb {tied} : tensor<?x32xf32> -> tensor<?x16xf32>
    return %l : tensor<?x16xf32>
  }
  // CHECK: llvm.mlir.global external constant @qcc_model_signature("token_embd.weight 8 0 544\0Ablk.0.attn_norm.weight 0 544 128\0A
  // CHECK: llvm.mlir.global external constant @qcc_model_vocab(16 : i64)
  // CHECK-NOT: qcc.weight

  // LLVM-NOT: memref.
  // LLVM-NOT: linalg.
  // LLVM: llvm.func @qcc_forward(
  // LLVM: llvm.call @qcc_rt_embed
  // LLVM: llvm.call @qcc_rt_attention
  // LLVM: llvm.func @_mlir_ciface_qcc_forward(
}
