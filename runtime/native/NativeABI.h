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
 * The runtime defines the microkernels the generated code calls. Shapes are
 * the generated code's compile-time constants; `type` is a ggml type id.
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

/* y[n x out] = x[n x in] * W^T (+ addend[n x out] if not null), W [out x in]
 * of ggml type `type`. The rows of x are first quantized to the format
 * llama.cpp multiplies that type with (Q8_0 / Q8_1 / Q8_K). */
void qcc_rt_linear(QccRt *rt, int32_t type, const void *w, int64_t in, int64_t out,
                   const float *x, int64_t n, const float *addend, float *y);

/* Appends k, v [n x kvHeads*headDim] to cache slot `layer` at positions
 * pos0 .. pos0+n-1, then out[n x heads*headDim] = causal GQA attention of q
 * over the cache (within `window` positions if window > 0). */
void qcc_rt_attention(QccRt *rt, int64_t layer, const float *q, const float *k, const float *v,
                      int64_t n, int64_t pos0, int64_t heads, int64_t kvHeads, int64_t headDim,
                      float scale, int64_t window, float *out);

#ifdef __cplusplus
}
#endif

#endif
