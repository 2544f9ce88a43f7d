/*===- NativeABI.h - what compiled qcc models call and export ---*- C -*-===//
 *
 * The contract between the code qcc generates (codegen/cpu) and the thin
 * runtime (runtime/native): plain C, no MLIR or LLVM.
 *
 * The generated module defines
 *   void _mlir_ciface_qcc_forward(QccRt *rt, QccMemRef1D *weights,
 *                                 QccMemRef1D *tokens, int64_t pos0,
 *                                 QccMemRef2D *logits);
 * (MLIR's C interface: memrefs are passed as pointers to their descriptors).
 * `weights` is the data section of the GGUF file the model was compiled
 * against (bytes, memory-mapped), `tokens` the n token ids at positions
 * pos0 .. pos0+n-1, `logits` [m x vocab] receives the logits of the last m
 * tokens (m = 1 or n). It also defines two constants:
 *   qcc_model_signature  "NAME TYPE OFFSET BYTES\n" for every tensor it reads
 *                        (checked against the GGUF before the first call);
 *   qcc_model_vocab      the width of a logits row.
 *
 * The runtime defines the microkernels the generated code calls and the
 * threads its parallel loops run on. Shapes are the generated code's
 * compile-time constants; `type` is a ggml type id.
 *===----------------------------------------------------------------------===*/
#ifndef QCC_RUNTIME_NATIVE_NATIVEABI_H
#define QCC_RUNTIME_NATIVE_NATIVEABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct QccRt QccRt;

typedef struct {
  void *allocated, *aligned;
  int64_t offset, size, stride;
} QccMemRef1D;

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} QccMemRef2D;

typedef void (*QccForwardFn)(QccRt *rt, QccMemRef1D *weights, QccMemRef1D *tokens, int64_t pos0,
                             QccMemRef2D *logits);

/* out[t] = row tokens[t] of the [vocab x d] table w (ggml type `type`),
 * dequantized; ids outside [0, vocab) read row 0. */
void qcc_rt_embed(QccRt *rt, int32_t type, const void *w, int64_t vocab, int64_t d,
                  const int32_t *tokens, int64_t n, float *out);

/* The runtime's threads, the generated code's parallel loops: runs
 * fn(ctx, b, e, thread) over [begin, end) split into one contiguous range per
 * thread whose bounds are begin + multiples of `grain` (the caller's thread
 * is thread 0); inline on the caller when end - begin <= grain. Every range's
 * result must not depend on how [begin, end) was split. */
typedef void (*QccTaskFn)(void *ctx, int64_t begin, int64_t end, int64_t thread);
void qcc_rt_parallel_for(QccRt *rt, int64_t begin, int64_t end, int64_t grain, QccTaskFn fn,
                         void *ctx);

/* A linear layer y[n x out] = x[n x in] * W^T (+ addend[n x out] if not
 * null), W [out x in] of ggml type `type`, in three steps the generated code
 * sequences and partitions:
 *   prepare      sizes the runtime's activation buffers for n rows;
 *   activations  rows [begin, end) of x quantized to the format llama.cpp
 *                multiplies that type with (Q8_0 / Q8_1 / Q8_K), or rounded
 *                to F16 / BF16 for those weights (F32: nothing to do);
 *   rows         output rows [r0, r0 + nr) for all n tokens (r0 and nr
 *                multiples of 8 except at the end; `thread` picks scratch):
 *                qcc_rt_linear_rows for the quantized types,
 *                qcc_rt_linear_rows_float for F32 / F16 / BF16 weights. */
void qcc_rt_linear_prepare(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t n);
void qcc_rt_linear_activations(QccRt *rt, int32_t type, const void *w, int64_t in, const float *x,
                               int64_t begin, int64_t end);
void qcc_rt_linear_rows(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t out,
                        const float *x, int64_t n, const float *addend, float *y, int64_t r0,
                        int64_t nr, int64_t thread);
void qcc_rt_linear_rows_float(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t out,
                              const float *x, int64_t n, const float *addend, float *y, int64_t r0,
                              int64_t nr, int64_t thread);

/* KV-cache attention in two steps: begin appends k, v [n x kvHeads*headDim]
 * to cache slot `layer` at positions pos0 .. pos0+n-1 and returns the number
 * of work units (heads x query blocks) of the causal GQA attention of q over
 * the cache (within `window` positions if window > 0); units computes units
 * [u0, u1) into out[n x heads*headDim]. */
int64_t qcc_rt_attention_begin(QccRt *rt, int64_t layer, const float *k, const float *v, int64_t n,
                               int64_t pos0, int64_t heads, int64_t kvHeads, int64_t headDim);
void qcc_rt_attention_units(QccRt *rt, int64_t layer, const float *q, int64_t n, int64_t pos0,
                            int64_t heads, int64_t kvHeads, int64_t headDim, float scale,
                            int64_t window, float *out, int64_t u0, int64_t u1, int64_t thread);

#ifdef __cplusplus
}
#endif

#endif
