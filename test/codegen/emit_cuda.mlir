// RUN: qcc-opt %s --qcc-emit-cuda -o /dev/null | FileCheck %s
// RUN: qcc-opt %s --qcc-emit-cuda=gpu=sm_80 -o /dev/null | FileCheck %s --check-prefix=SM80
// RUN: not qcc-opt %s --qcc-emit-cuda=gpu=sm_70 -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADGPU
// A one-layer decoder placed in a GGUF data section (F32 = type 0, Q8_0 = 8,
// Q4_0 = 2): the graph becomes one CUDA C++ file that launches
// runtime/cuda/Kernels.cuh's templates with the model's shapes.
module attributes {qcc.rope_layout = "interleaved"} {
  qcc.weight @emb : tensor<16x32xbf16> {qcc.gguf = {name = "token_embd.weight", type = 8 : i64, offset = 0 : i64, bytes = 544 : i64}}
  qcc.weight @n0 : tensor<32xf32> {qcc.gguf = {name = "blk.0.attn_norm.weight", type = 0 : i64, offset = 544 : i64, bytes = 128 : i64}}
  qcc.weight @wq : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_q.weight", type = 8 : i64, offset = 672 : i64, bytes = 1088 : i64}}
  qcc.weight @bq : tensor<32xf32> {qcc.gguf = {name = "blk.0.attn_q.bias", type = 0 : i64, offset = 1760 : i64, bytes = 128 : i64}}
  qcc.weight @wk : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_k.weight", type = 8 : i64, offset = 1888 : i64, bytes = 1088 : i64}}
  qcc.weight @wv : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_v.weight", type = 8 : i64, offset = 2976 : i64, bytes = 1088 : i64}}
  qcc.weight @wo : tensor<32x32xbf16> {qcc.gguf = {name = "blk.0.attn_output.weight", type = 8 : i64, offset = 4064 : i64, bytes = 1088 : i64}}
  qcc.weight @wg : tensor<64x32xbf16> {qcc.gguf = {name = "blk.0.ffn_gate.weight", type = 2 : i64, offset = 5152 : i64, bytes = 1152 : i64}}
  qcc.weight @wu : tensor<64x32xbf16> {qcc.gguf = {name = "blk.0.ffn_up.weight", type = 2 : i64, offset = 6304 : i64, bytes = 1152 : i64}}
  qcc.weight @wd : tensor<32x64xbf16> {qcc.gguf = {name = "blk.0.ffn_down.weight", type = 8 : i64, offset = 7456 : i64, bytes = 2176 : i64}}

  // The tables the runtime checks against the file: each tensor once per
  // form it is read in (the tied embedding as a table and as a matrix).
  // Hopper builds launch every kernel as a programmatic dependent launch.
  // Their prompt products run on warpgroups (wgmma, sm_90a only).
  // CHECK: #define QCC_CUDA_PDL 1
  // CHECK-NEXT: #define QCC_CUDA_WGMMA 1
  // CHECK-NEXT: #include "runtime/cuda/Kernels.cuh"
  // SM80-NOT: QCC_CUDA_PDL
  // SM80-NOT: QCC_CUDA_WGMMA
  // CHECK: extern const QccCudaTensor qcc_cuda_tensors[] = {
  // CHECK-DAG: {"blk.0.attn_q.weight", 8, 672ull, 1088ull, 32, 32, 0, 1},
  // CHECK-DAG: {"blk.0.ffn_gate.weight", 2, 5152ull, 1152ull, 64, 32, 0, 0},
  // CHECK-DAG: {"token_embd.weight", 8, 0ull, 544ull, 16, 32, 1, -1},
  // CHECK-DAG: {"token_embd.weight", 8, 0ull, 544ull, 16, 32, 0, 1},
  // CHECK-DAG: {"blk.0.attn_norm.weight", 0, 544ull, 128ull, 1, 32, 2, -1},
  // CHECK: extern const QccCudaCacheLayer qcc_cuda_cache_layers[] = {
  // CHECK-NEXT: {0, 2, 16},
  // CHECK: extern const int64_t qcc_cuda_vocab = 16;
  // CHECK: extern const char qcc_cuda_arch[] = "sm_90a";
  // SM80: extern const char qcc_cuda_arch[] = "sm_80";
  // BADGPU: --gpu must be sm_80, sm_89 or sm_90a, got 'sm_70'
  // CHECK: const RopeFreq<8> kRope0 = {{[{][{]}}0x1p+0f,
  // CHECK: size_t qcc_cuda_scratch_bytes(int64_t maxTokens)
  // CHECK-LABEL: int qcc_cuda_forward(
  // CHECK: launch(embed<32>, rowGrid(n, 32), kRowThreads, s, 
  // The norm writes the int8 planes its quantized consumers read.
  // CHECK: launch(rmsNorm<32>, rowGrid(n, 32), {{.*}}, nullptr, [[QN:sc.q[0-9]+]]);
  // q has a bias: its own launch with the bias in the epilogue; k and v share one.
  // CHECK: J.count = 1;
  // CHECK-NEXT: J.j[0] = LinJob{w[{{[0-9]+}}], [[Q:sc.f[0-9]+]], nullptr, static_cast<const float *>(w[{{[0-9]+}}].p[0]), 32};
  // Each product names the next one's weights (every plane, job after job)
  // for its blocks to prefetch into L2.
  // CHECK: launchLinear<QCC_CUDA_Q8_0, 32, 1>(J, rowsFrom([[QN]], 32, 0), nullptr, sc.hx, int(n), s, L2Ahead{{[{][{]}}static_cast<const char *>(w{{\[}}[[WK:[0-9]+]]{{\]}}.p[0]), static_cast<const char *>(w{{\[}}[[WK]]{{\]}}.p[1]), static_cast<const char *>(w{{\[}}[[WV:[0-9]+]]{{\]}}.p[0]), static_cast<const char *>(w{{\[}}[[WV]]{{\]}}.p[1])}, {1024, 64, 1024, 64}, 4, 2, {32, 32}});
  // CHECK: J.count = 2;
  // CHECK-NEXT: J.j[0] = LinJob{w{{\[}}[[WK]]{{\]}}, [[K:sc.f[0-9]+]], nullptr, nullptr, 32};
  // CHECK: J.j[1] = LinJob{w{{\[}}[[WV]]{{\]}}, [[V:sc.f[0-9]+]], nullptr, nullptr, 32};
  // CHECK: J.start[2] = 64;
  // RoPE of q and k with the cache append in one launch, then attention
  // (which writes the int8 planes of its output itself when the head size
  // is a multiple of 32; here, 16, a quantize launch does).
  // CHECK-NOT: rope<
  // CHECK: launchRopeAppend<2, 2, 16, true>([[Q]], [[K]], [[V]], [[QR:sc.f[0-9]+]], kvCache(S, 0), S->pos, S->seq, S->maxCtx, kRope0, n, s);
  // CHECK: launchAttention<2, 2, 16>([[QR]], kvCache(S, 0), [[A:sc.f[0-9]+]], S->pos, S->seq, S->maxCtx, 0x1p-2f, 0, Q8Act{}, int(n), s);
  // CHECK-NEXT: launch(quantizeRows<32>, rowGrid(n, 32), kRowThreads, s, [[A]], [[QA:sc.q[0-9]+]]);
  // The residual add is the output projection's epilogue (its addend: the embedding rows).
  // CHECK: J.j[0] = LinJob{w[{{[0-9]+}}], [[X1:sc.f[0-9]+]], sc.f0, nullptr, 32};
  // CHECK: launchLinear<QCC_CUDA_Q8_0, 32, 1>(J, rowsFrom([[QA]], 32, 0)
  // The add's result feeds quantized gate/up: its planes by a quantize launch.
  // CHECK: launch(quantizeRows<32>, rowGrid(n, 32), kRowThreads, s, [[X1]], [[QX:sc.q[0-9]+]]);
  // Gate (job 0) and up (job 1) in one launch; for one token SwiGLU too
  // (launchSwiglu: SwigluOut, a block a q8 block of its rows), which writes
  // only the planes the down projection reads. Else a SwiGLU launch.
  // CHECK: J.count = 2;
  // CHECK-NEXT: J.j[0] = LinJob{w{{\[}}[[WG:[0-9]+]]{{\]}}, [[G:sc.f[0-9]+]], nullptr, nullptr, 64};
  // CHECK: if (n == 1)
  // CHECK-NEXT: launchSwiglu<QCC_CUDA_Q4_0, 32, 1, 64>(J, rowsFrom([[QX]], 32, 0), nullptr, [[QS:sc.q[0-9]+]], s, L2Ahead{
  // CHECK-NEXT: else
  // CHECK-NEXT: launchLinear<QCC_CUDA_Q4_0, 32, 1>(J, rowsFrom([[QX]], 32, 0)
  // CHECK: if (n > 1) // else in the gate/up launch
  // CHECK-NEXT: launch(swiglu<64>, rowGrid(n, 64), kRowThreads, s, [[G]], {{sc.f[0-9]+}}, nullptr, [[QS]]);
  // CHECK: J.j[0] = LinJob{w[{{[0-9]+}}], {{sc.f[0-9]+}}, [[X1]], nullptr, 32};
  // CHECK: launchLinear<QCC_CUDA_Q8_0, 64, 1>(J, rowsFrom([[QS]], 64, 0)
  // The head: the last logitRows rows into the logits.
  // CHECK: if (logitRows > 0)
  // CHECK: J.j[0] = LinJob{w[{{[0-9]+}}], S->logits, nullptr, nullptr, 16};
  // CHECK: launchLinear<QCC_CUDA_Q8_0, 32, 1>(J, rowsFrom({{sc.q[0-9]+}}, 32, n - logitRows), nullptr, sc.hx, int(logitRows), s, L2Ahead{});
  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x16xf32> {
    %x = qcc.embed %tok, @emb : tensor<?xi32> -> tensor<?x32xf32>
    %h = qcc.rms_norm %x, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x32xf32>
    %q = qcc.linear %h, @wq bias @bq : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = qcc.linear %h, @wk : tensor<?x32xf32> -> tensor<?x32xf32>
    %v = qcc.linear %h, @wv : tensor<?x32xf32> -> tensor<?x32xf32>
    %qr = qcc.rope %q, %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 10000.0 : f64} : tensor<?x32xf32>, tensor<?xi32>
    %kr = qcc.rope %k, %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 10000.0 : f64} : tensor<?x32xf32>, tensor<?xi32>
    %a = qcc.attention %qr, %kr, %v, %pos {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
    %o = qcc.linear %a, @wo : tensor<?x32xf32> -> tensor<?x32xf32>
    %x1 = qcc.add %x, %o : tensor<?x32xf32>
    %g = qcc.linear %x1, @wg : tensor<?x32xf32> -> tensor<?x64xf32>
    %u = qcc.linear %x1, @wu : tensor<?x32xf32> -> tensor<?x64xf32>
    %s = qcc.swiglu %g, %u : tensor<?x64xf32>
    %d = qcc.linear %s, @wd : tensor<?x64xf32> -> tensor<?x32xf32>
    %x2 = qcc.add %x1, %d : tensor<?x32xf32>
    %f = qcc.rms_norm %x2, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x32xf32>
    %l = qcc.lm_head %f, @emb {tied} : tensor<?x32xf32> -> tensor<?x16xf32>
    return %l : tensor<?x16xf32>
  }
}
