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
  // Every loop over tokens, output rows or attention units is a kernel over
  // a range [begin, end) marked with the grain its ranges are split on; a
  // kernel that comes out the same for another op (the same shapes and
  // types: the weights are operands) is emitted once.
  // CHECK-LABEL: func.func private @qcc_embed_0(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?x32xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: i64) attributes {qcc.parallel = 8 : i64}
  // CHECK: call @qcc_rt_embed
  // The norm: a reduction and a scaling of the range's rows.
  // CHECK-LABEL: func.func private @qcc_rms_norm_1(
  // CHECK: memref.subview %{{.*}}[%[[B:.*]], 0] [%{{.*}}, 32] [1, 1]
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: math.sqrt
  // A linear: activations token by token, then blocks of 64 output rows.
  // CHECK-LABEL: func.func private @qcc_activations_2(
  // CHECK-SAME: qcc.parallel = 8
  // CHECK: call @qcc_rt_linear_activations
  // CHECK-LABEL: func.func private @qcc_linear_3(
  // CHECK-SAME: qcc.parallel = 64
  // CHECK: scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %c64
  // CHECK: arith.minsi
  // CHECK: call @qcc_rt_linear_rows
  // The bias is a broadcast add.
  // CHECK-LABEL: func.func private @qcc_add_4(
  // CHECK: arith.addf
  // RoPE: one cos/sin table for both, adjacent pairs (GGUF's Q/K row order).
  // CHECK-LABEL: func.func private @qcc_rope_table_5(
  // CHECK: math.cos
  // CHECK: math.sin
  // CHECK-LABEL: func.func private @qcc_rope_6(
  // CHECK: memref.expand_shape {{.*}} into memref<?x2x8x2xf32>
  // CHECK-NOT: math.cos
  // CHECK-NOT: func.func private @qcc_rope_
  // Attention: the runtime's units of work, one per task.
  // CHECK-LABEL: func.func private @qcc_attention_7(
  // CHECK-SAME: qcc.parallel = 1
  // CHECK: call @qcc_rt_attention_units
  // SiLU's exp is a polynomial (no math.exp left).
  // CHECK-LABEL: func.func private @qcc_swiglu_9(
  // CHECK-NOT: math.exp
  // CHECK-LABEL: func.func @qcc_forward(%{{.*}}: !llvm.ptr, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi32>, %{{.*}}: index, %{{.*}}: memref<?x?xf32>) attributes {llvm.emit_c_interface}
  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x16xf32> {
    // CHECK: %[[N:.*]] = memref.dim
    // CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<16x34xi8>
    // CHECK: call @qcc_embed_0(%{{.*}}, %c0, %[[N]], %c0_i64)
    %x = qcc.embed %tok, @emb : tensor<?xi32> -> tensor<?x32xf32>
    // The norm over a view of the F32 weight.
    // CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<32xf32>
    // CHECK: call @qcc_rms_norm_1(
    %h = qcc.rms_norm %x, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x32xf32>
    // CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<32x34xi8>
    // CHECK: call @qcc_rt_linear_prepare
    // CHECK: call @qcc_activations_2(%{{.*}}, %c0, %[[N]], %c0_i64)
    // CHECK: call @qcc_linear_3(%{{.*}}, %c0, %c32, %c0_i64)
    // CHECK: call @qcc_add_4(
    // The K and V projections run the same kernels.
    // CHECK: call @qcc_activations_2(
    // CHECK: call @qcc_linear_3(
    // CHECK: call @qcc_activations_2(
    // CHECK: call @qcc_linear_3(
    %q = qcc.linear %h, @wq bias @bq : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = qcc.linear %h, @wk : tensor<?x32xf32> -> tensor<?x32xf32>
    %v = qcc.linear %h, @wv : tensor<?x32xf32> -> tensor<?x32xf32>
    // CHECK: call @qcc_rope_table_5(
    // CHECK: call @qcc_rope_6(
    // CHECK: call @qcc_rope_6(
    %qr = qcc.rope %q, %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 10000.0 : f64} : tensor<?x32xf32>, tensor<?xi32>
    %kr = qcc.rope %k, %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 10000.0 : f64} : tensor<?x32xf32>, tensor<?xi32>
    // CHECK: %[[U:.*]] = call @qcc_rt_attention_begin
    // CHECK: %[[UI:.*]] = arith.index_cast %[[U]] : i64 to index
    // CHECK: call @qcc_attention_7(%{{.*}}, %c0, %[[UI]], %c0_i64)
    %a = qcc.attention %qr, %kr, %v, %pos {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
    // The residual add is fused into the output projection: its addend is %x.
    // CHECK: call @qcc_linear_3(
    %o = qcc.linear %a, @wo : tensor<?x32xf32> -> tensor<?x32xf32>
    %x1 = qcc.add %x, %o : tensor<?x32xf32>
    %g = qcc.linear %x1, @wg : tensor<?x32xf32> -> tensor<?x64xf32>
    %u = qcc.linear %x1, @wu : tensor<?x32xf32> -> tensor<?x64xf32>
    // CHECK: call @qcc_swiglu_9(
    %s = qcc.swiglu %g, %u : tensor<?x64xf32>
    %d = qcc.linear %s, @wd : tensor<?x64xf32> -> tensor<?x32xf32>
    %x2 = qcc.add %x1, %d : tensor<?x32xf32>
    %f = qcc.rms_norm %x2, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x32xf32>
    // The head: the last rows of the normed activations into the logits buffer.
    // CHECK: %[[M:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?xf32>
    // CHECK: call @qcc_activations_2(%{{.*}}, %c0, %[[M]], %c0_i64)
    // CHECK: call @qcc_linear_12(%{{.*}}, %c0, %c16, %c0_i64)
    // CHECK: memref.dealloc
    %l = qcc.lm_head %f, @emb {tied} : tensor<?x32xf32> -> tensor<?x16xf32>
    return %l : tensor<?x16xf32>
  }
  // CHECK: llvm.mlir.global external constant @qcc_model_signature("token_embd.weight 8 0 544\0Ablk.0.attn_norm.weight 0 544 128\0A
  // CHECK: llvm.mlir.global external constant @qcc_model_vocab(16 : i64)
  // CHECK-NOT: qcc.weight

  // LLVM-NOT: memref.
  // LLVM-NOT: linalg.
  // The kernels run on the runtime's threads through one task each, which
  // reads the captured values from a context struct and calls its kernel.
  // LLVM: llvm.func internal @qcc_embed_0(
  // LLVM: llvm.call @qcc_rt_embed
  // LLVM: llvm.func internal @qcc_embed_0_task(%[[CTX:.*]]: !llvm.ptr, %[[B:.*]]: i64, %[[E:.*]]: i64, %[[T:.*]]: i64)
  // LLVM: llvm.load %[[CTX]] : !llvm.ptr -> !llvm.struct<(ptr, ptr, ptr, ptr, i64, i64, i64, ptr, ptr, i64, i64, i64, i64, i64)>
  // LLVM: llvm.call @qcc_embed_0({{.*}}, %[[B]], %[[E]], %[[T]])
  // LLVM: llvm.func internal @qcc_attention_7(
  // LLVM: llvm.call @qcc_rt_attention_units
  // LLVM: llvm.func @qcc_forward(
  // LLVM: %[[EMB:.*]] = llvm.mlir.addressof @qcc_embed_0_task
  // LLVM: %[[SLOT:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, ptr, ptr, ptr, i64, i64, i64, ptr, ptr, i64, i64, i64, i64, i64)>
  // LLVM: llvm.call @qcc_rt_parallel_for(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[EMB]], %[[SLOT]])
  // LLVM: llvm.call @qcc_rt_attention_begin
  // LLVM-NOT: llvm.call @qcc_{{[a-z_]+}}_{{[0-9]+}}(
  // LLVM: llvm.func @_mlir_ciface_qcc_forward(
}
