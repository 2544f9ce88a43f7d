//===- CudaABI.h - what generated CUDA code and the GPU runtime share -----===//
//
// `qcc MODEL --target=cuda` emits one CUDA C++ file per model (codegen/cuda)
// that nvcc compiles for the chosen GPU; the executable links it with the
// host runtime (runtime/cuda/CudaModel.cpp). This header is their contract,
// plain C so that both compilers read it:
//
//  - the generated file exports the tables below (which GGUF tensors it
//    reads, in which form; the KV-cache layers; the scratch it needs) and
//    qcc_cuda_forward, which enqueues one forward pass on a stream;
//  - the runtime checks the tables against the GGUF file, uploads each
//    tensor in the form the table names (Layouts below), allocates the
//    cache and scratch, and calls the forward pass (a CUDA graph for
//    one-token steps).
//
// Device layouts of a weight matrix [rows x cols] (QccCudaWeight's planes),
// by the GGUF type it has in the file. Every 32 consecutive weights of a row
// form a block b; "nibbles" means 16 bytes per block where byte j holds
// weight j in its low nibble and weight j + 16 in its high nibble (the
// Q4_0 order), so one 32-bit word of a block covers weights 4i..4i+3 and
// 16+4i..16+4i+3.
//   Q4_0: p0 nibbles [rows][cols/2]; p1 half d [rows][cols/32]. w = d (q - 8).
//   Q4_G128: a Q4_0 tensor whose four blocks of each 128 weights of a row
//         share one d (a symmetric 4-bit grid of groups of 128, as GPTQ /
//         AWQ / compressed-tensors checkpoints with sym g128 convert to
//         Q4_0; the compiler checks the file's data): p0 nibbles; p1 half d
//         [rows][cols/128]. 4.125 bits a weight streamed instead of 4.5.
//   Q4_1: p0 nibbles; p1 half2 (d, m) [rows][cols/32]. w = d q + m.
//   Q4_1_G128: Q4_1 whose runs of four blocks share (d, m) (asymmetric
//         g128 grids: AWQ's, GPTQ asym); p1 half2 (d, m) [rows][cols/128].
//   Q8_0: p0 int8 [rows][cols]; p1 half d [rows][cols/32]. w = d q.
//   Q8_G128: Q8_0 whose runs of four blocks share d (the symmetric 8-bit
//         g128 grids: GPTQ / compressed-tensors W8 g128 converted to
//         Q8_0): p0 int8; p1 half d [rows][cols/128]. 8.125 bits a weight
//         streamed instead of 8.5.
//   Q4_K: p0 nibbles; p1 uchar2 (sc, m) [rows][cols/32] (the 6-bit codes);
//         p2 half2 (d, dmin) [rows][cols/256]. w = d sc q - dmin m.
//   Q6_K: p0 nibbles (low 4 bits); p1 high 2 bits, 8 bytes per block:
//         word w (0, 1) byte m: bits 4(g%2)..+1 = high bits of weight
//         4g+m, bits 4(g%2)+2..+3 of weight 16+4g+m, for the words' groups
//         g = 2w, 2w+1; p2 int8 scales [rows][cols/16]; p3 half d
//         [rows][cols/256]. w = d sc (q - 32).
//   F16:  p0 half [rows][cols].
//   F32:  p0 float [rows][cols] (F32 and BF16 files; other block formats
//         are dequantized exactly to float on upload).
// Embedding tables are float [rows][cols]; vectors (norm weights, biases)
// float [n].
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_CUDA_CUDAABI_H
#define QCC_RUNTIME_CUDA_CUDAABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The form a tensor is uploaded in.
enum QccCudaUse {
  QCC_CUDA_MATRIX = 0, ///< a linear layer's weight: the layouts above
  QCC_CUDA_TABLE = 1,  ///< an embedding table: float rows
  QCC_CUDA_VECTOR = 2, ///< a norm weight or bias: float
};

/// The device form of a matrix (QCC_CUDA_MATRIX, by its type).
enum QccCudaLayout {
  QCC_CUDA_Q4_0 = 0,
  QCC_CUDA_Q8_0 = 1,
  QCC_CUDA_Q4_K = 2,
  QCC_CUDA_Q6_K = 3,
  QCC_CUDA_F16 = 4,
  QCC_CUDA_F32 = 5,
  QCC_CUDA_Q4_G128 = 6,
  QCC_CUDA_Q4_1 = 7,
  QCC_CUDA_Q4_1_G128 = 8,
  QCC_CUDA_Q8_G128 = 9,
};

/// One tensor the generated code reads, where it is in the GGUF file.
typedef struct QccCudaTensor {
  const char *name;  ///< GGUF tensor name
  uint32_t type;     ///< ggml type id in the file
  uint64_t offset;   ///< in the file's data section
  uint64_t bytes;
  int64_t rows, cols; ///< [rows x cols]; vectors: rows = 1
  int32_t use;       ///< QccCudaUse
  int32_t layout;    ///< QccCudaLayout (matrices), else -1
} QccCudaTensor;

/// A KV cache the generated code appends to: [sequences][kvHeads][maxCtx]
/// [headDim] elements for keys and for values (one cache a sequence for
/// batched decoding), of the state's QccCudaKVType: F16, or FP8 E4M3 codes
/// with a float scale for each (sequence, kv head, position) in kscale /
/// vscale [sequences][kvHeads][maxCtx] (a head's row x stored as
/// round(x / s), s = max|x| / 448, E4M3's largest value).
typedef struct QccCudaCacheLayer {
  int64_t layer, kvHeads, headDim;
} QccCudaCacheLayer;

/// The KV caches' element type (--kv-type).
enum QccCudaKVType {
  QCC_CUDA_KV_F16 = 0,
  QCC_CUDA_KV_FP8 = 1, ///< E4M3 codes, a float scale a head's row
};

/// A tensor on the device (up to four planes, QccCudaLayout).
typedef struct QccCudaWeight {
  const void *p[4];
} QccCudaWeight;

#ifdef __CUDACC__
#define QCC_CUDA_HOST_DEVICE __host__ __device__
#else
#define QCC_CUDA_HOST_DEVICE
#endif
#ifdef __cplusplus
#define QCC_CUDA_CONSTEXPR constexpr
#else
#define QCC_CUDA_CONSTEXPR
#endif

/// Blocks of 32 weights that one scale of plane 1 covers: 4 in the g128
/// layouts, else 1.
static inline QCC_CUDA_CONSTEXPR QCC_CUDA_HOST_DEVICE int qccCudaBlocksPerScale(int layout) {
  return layout == QCC_CUDA_Q4_G128 || layout == QCC_CUDA_Q4_1_G128 || layout == QCC_CUDA_Q8_G128 ? 4 : 1;
}

/// Bytes one matrix row of `cols` weights takes in plane `plane` (0-3) of a
/// layout (the planes above; 0 where the layout has no such plane): what the
/// runtime allocates (x rows) and what the kernels step over per row.
static inline QCC_CUDA_CONSTEXPR QCC_CUDA_HOST_DEVICE int64_t qccCudaPlaneRowBytes(int layout, int64_t cols, int plane) {
  switch (layout) {
  case QCC_CUDA_Q4_0:
  case QCC_CUDA_Q4_G128:
    return plane == 0 ? cols / 2 : plane == 1 ? cols / 32 / qccCudaBlocksPerScale(layout) * 2 : 0;
  case QCC_CUDA_Q4_1:
  case QCC_CUDA_Q4_1_G128:
    return plane == 0 ? cols / 2 : plane == 1 ? cols / 32 / qccCudaBlocksPerScale(layout) * 4 : 0;
  case QCC_CUDA_Q8_0:
  case QCC_CUDA_Q8_G128:
    return plane == 0 ? cols : plane == 1 ? cols / 32 / qccCudaBlocksPerScale(layout) * 2 : 0;
  case QCC_CUDA_Q4_K:
    return plane == 0 ? cols / 2 : plane == 1 ? cols / 32 * 2 : plane == 2 ? cols / 256 * 4 : 0;
  case QCC_CUDA_Q6_K:
    return plane == 0 ? cols / 2 : plane == 1 ? cols / 4 : plane == 2 ? cols / 16 : cols / 256 * 2;
  case QCC_CUDA_F16:
    return plane == 0 ? cols * 2 : 0;
  default: /* F32 */
    return plane == 0 ? cols * 4 : 0;
  }
}

/// The parts of K (1, 2 or 4) a single-token product of `rows` rows splits
/// each row into, one warp a part: enough warps for a launch of few rows,
/// each part at least one block of 32 weights a lane. The code generator
/// picks it per launch; the matrix-vector product of a few tokens adds its
/// sums in the same parts, so that both give a token the same bits. At the
/// 7B shape: 4 for q/k/v (12288 rows), o and down (4096), 2 for gate/up
/// (22016); the H100 measured tg128 +2.5 % (Q4_K_M) to +15 % (Q4_1_G128)
/// against 1 for q/k/v and gate/up (docs/BENCHMARKS.md, fifth round); 4
/// for gate/up measured 1-4 % slower (sixth round).
static inline QCC_CUDA_HOST_DEVICE int qccCudaKParts(int64_t rows, int64_t cols) {
  int ks = 1;
  while (ks < 4 && rows * ks * 2 <= 65536 && cols / 32 >= 64 * ks)
    ks *= 2;
  return ks;
}

/// Everything one forward pass reads and writes on the device.
typedef struct QccCudaState {
  const QccCudaWeight *w;   ///< host array, qcc_cuda_tensors' order
  void *const *kcache;      ///< host array, qcc_cuda_cache_layers' order
  void *const *vcache;
  int64_t maxCtx;           ///< positions each cache holds
  const int32_t *tokens;    ///< device [n]
  const int32_t *pos;       ///< device [n]: each token's position in its sequence
  const int32_t *seq;       ///< device [n]: each token's sequence (its cache)
  float *logits;            ///< device [logitRows x vocab]
  void *scratch;            ///< device, qcc_cuda_scratch_bytes(maxTokens)
  int64_t maxTokens;        ///< tokens per call the scratch holds
  int32_t kvType;           ///< QccCudaKVType of every cache
  void *const *kscale;      ///< host array (FP8 caches: the scales), else null
  void *const *vscale;
} QccCudaState;

#ifdef __cplusplus
}
#endif

/// The symbols each generated file defines (extern "C"):
///   const QccCudaTensor qcc_cuda_tensors[]; const int qcc_cuda_num_tensors;
///   const QccCudaCacheLayer qcc_cuda_cache_layers[]; const int qcc_cuda_num_cache_layers;
///   const int64_t qcc_cuda_vocab;
///   const char qcc_cuda_arch[];            // e.g. "sm_90a"
///   size_t qcc_cuda_scratch_bytes(int64_t maxTokens);
///   int qcc_cuda_forward(const QccCudaState *s, int64_t n, int64_t logitRows,
///                        void *stream);   // 0, or a cudaError_t
/// The forward pass reads tokens[0..n), token t at position pos[t] of
/// sequence seq[t] (it attends to that sequence's cache up to pos[t],
/// including this call's earlier tokens of the sequence), and writes the
/// logits of the last logitRows tokens (0: none); n <= maxTokens.

#endif
