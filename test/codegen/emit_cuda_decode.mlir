// RUN: qcc-opt %s --qcc-emit-cuda -o /dev/null | FileCheck %s
// What the generated code does differently for one token (a decoding step),
// at Llama-2-7B's attention shapes (Q4_0 = type 2; only the placement's
// metadata is read):
//   - q, k and v without biases share a launch whose one-token form over
//     F16 caches (linearVec with RopeOut) applies RoPE to q and k and
//     appends k and v to the cache, so ropeQKV runs only for more tokens
//     (and launchRopeAppend's FP8 append for FP8 caches);
//   - a launch of few rows splits each row's K across warps
//     (qccCudaKParts: 4096 rows of 4096 -> 4 parts, and 12288 rows too;
//     a 7B gate/up launch, 22016 rows, would take 2);
//   - prompts' quantized linears read their input as half rows, one
//     scratch region sized for the widest such input (sc.hx);
//   - a Q4_0 matrix whose runs of four blocks share d (scale_group = 128,
//     which qcc --target=cuda finds in the file's data) streams in the
//     Q4_G128 layout (layout 6 in the tensor table).
module attributes {qcc.rope_layout = "interleaved"} {
  qcc.weight @emb : tensor<64x4096xbf16> {qcc.gguf = {name = "token_embd.weight", type = 0 : i64, offset = 0 : i64, bytes = 1048576 : i64}}
  qcc.weight @n0 : tensor<4096xf32> {qcc.gguf = {name = "blk.0.attn_norm.weight", type = 0 : i64, offset = 1048576 : i64, bytes = 16384 : i64}}
  qcc.weight @wq : tensor<4096x4096xbf16> {qcc.gguf = {name = "blk.0.attn_q.weight", type = 2 : i64, offset = 1064960 : i64, bytes = 9437184 : i64}}
  qcc.weight @wk : tensor<4096x4096xbf16> {qcc.gguf = {name = "blk.0.attn_k.weight", type = 2 : i64, offset = 10502144 : i64, bytes = 9437184 : i64}}
  qcc.weight @wv : tensor<4096x4096xbf16> {qcc.gguf = {name = "blk.0.attn_v.weight", type = 2 : i64, offset = 19939328 : i64, bytes = 9437184 : i64}}
  qcc.weight @wo : tensor<4096x4096xbf16> {qcc.gguf = {name = "blk.0.attn_output.weight", type = 2 : i64, offset = 29376512 : i64, bytes = 9437184 : i64, scale_group = 128 : i64}}

  // CHECK: {"blk.0.attn_q.weight", 2, 1064960ull, 9437184ull, 4096, 4096, 0, 0}
  // CHECK: {"blk.0.attn_output.weight", 2, 29376512ull, 9437184ull, 4096, 4096, 0, 6}
  // CHECK: HalfRows hx;
  // CHECK: sc.hx = HalfRows{reinterpret_cast<__half *>(take(size_t(T) * 4096 * 2)), reinterpret_cast<float *>(take(size_t(T) * 4)), reinterpret_cast<float *>(take(size_t(kHalfSplit) * T * 8192 * 4)), T * 8192};
  // CHECK-LABEL: int qcc_cuda_forward(
  // CHECK: launch(rmsNorm<4096>, {{.*}}, [[QN:sc.q[0-9]+]]);
  // CHECK: J.count = 3;
  // CHECK-NEXT: J.j[0] = LinJob{w[{{[0-9]+}}], [[Q:sc.f[0-9]+]], nullptr, nullptr, 4096};
  // CHECK: J.start[3] = 12288;
  // CHECK-NEXT: if (n == 1 && S->kvType == QCC_CUDA_KV_F16)
  // CHECK-NEXT: launchVec<QCC_CUDA_Q4_0, 4096, 2, 4>(J, Q8In{rowsFrom([[QN]], 4096, 0)}, RopeOut<32, 32, 128, true>{[[QR:sc.f[0-9]+]], static_cast<__half *>(S->kcache[0]), static_cast<__half *>(S->vcache[0]), S->pos, S->seq, S->maxCtx, kRope0}, s, 1, L2Ahead{{.*}}{8388608, 262144}, 2, 2, {4096}});
  // CHECK-NEXT: else
  // (The o product's weights, 4096 x 4096 at 4 bits and g128 scales, for
  // the blocks to prefetch into L2 as they finish.)
  // CHECK-NEXT: launchLinear<QCC_CUDA_Q4_0, 4096, 4>(J, rowsFrom([[QN]], 4096, 0), nullptr, sc.hx, int(n), s, L2Ahead{{.*}}{8388608, 262144}, 2, 2, {4096}});
  // CHECK: if (n > 1 || S->kvType != QCC_CUDA_KV_F16) // else in the q/k/v launch
  // CHECK-NEXT: launchRopeAppend<32, 32, 128, true>([[Q]], {{.*}}, [[QR]], kvCache(S, 0),
  // CHECK-NEXT: launchAttention<32, 32, 128>([[QR]],
  // CHECK: launchLinear<QCC_CUDA_Q4_G128, 4096, 4>(J,
  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x64xf32> {
    %x = qcc.embed %tok, @emb : tensor<?xi32> -> tensor<?x4096xf32>
    %h = qcc.rms_norm %x, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x4096xf32>
    %q = qcc.linear %h, @wq : tensor<?x4096xf32> -> tensor<?x4096xf32>
    %k = qcc.linear %h, @wk : tensor<?x4096xf32> -> tensor<?x4096xf32>
    %v = qcc.linear %h, @wv : tensor<?x4096xf32> -> tensor<?x4096xf32>
    %qr = qcc.rope %q, %pos {num_heads = 32 : i64, head_dim = 128 : i64, theta = 10000.0 : f64} : tensor<?x4096xf32>, tensor<?xi32>
    %kr = qcc.rope %k, %pos {num_heads = 32 : i64, head_dim = 128 : i64, theta = 10000.0 : f64} : tensor<?x4096xf32>, tensor<?xi32>
    %a = qcc.attention %qr, %kr, %v, %pos {layer = 0 : i64, num_heads = 32 : i64, num_kv_heads = 32 : i64, head_dim = 128 : i64, scale = 0.088388 : f64} : tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?xi32> -> tensor<?x4096xf32>
    %o = qcc.linear %a, @wo : tensor<?x4096xf32> -> tensor<?x4096xf32>
    %x1 = qcc.add %x, %o : tensor<?x4096xf32>
    %f = qcc.rms_norm %x1, @n0 {epsilon = 1.0e-5 : f64} : tensor<?x4096xf32>
    %l = qcc.lm_head %f, @emb {tied} : tensor<?x4096xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}
