//===- CudaModel.h - a model compiled for the GPU, bound to its GGUF file -*- C++ -*-===//
//
// Runs the forward pass qcc generated for a model (CudaABI.h; linked into a
// --target=cuda binary) on the GPU: uploads each tensor the code reads in
// the form it names (Layout.h), owns the F16 or FP8 KV caches (one a sequence for
// batched decoding), the scratch memory and CUDA graphs of the decoding
// steps. MLIR-free; needs the CUDA runtime.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_CUDA_CUDAMODEL_H
#define QCC_RUNTIME_CUDA_CUDAMODEL_H

#include "runtime/LanguageModel.h"
#include "runtime/cuda/CudaABI.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

namespace qcc {
namespace gguf {
class Reader;
}

/// What a generated file exports (CudaABI.h).
struct CudaProgram {
  const QccCudaTensor *tensors;
  int numTensors;
  const QccCudaCacheLayer *cacheLayers;
  int numCacheLayers;
  int64_t vocab;
  const char *arch;
  size_t (*scratchBytes)(int64_t maxTokens);
  int (*forward)(const QccCudaState *s, int64_t n, int64_t logitRows, void *stream);
};

class CudaModel final : public LanguageModel {
public:
  /// Uploads the tensors `program` reads from `file` (an error names the
  /// file when it is not the one the code was compiled for) and allocates
  /// `sequences` caches of `maxContext` positions.
  static llvm::Expected<std::unique_ptr<CudaModel>> create(const CudaProgram &program,
                                                          std::shared_ptr<gguf::Reader> file,
                                                          int64_t maxContext, KVType kv, int64_t sequences = 1);
  ~CudaModel() override;

  void forward(llvm::ArrayRef<int32_t> tokens, float *logits, bool lastOnly) override;
  void forwardBatch(llvm::ArrayRef<int32_t> seqs, llvm::ArrayRef<int32_t> tokens, float *logits,
                    bool lastOnly) override;
  void reset() override { std::fill(seqLen_.begin(), seqLen_.end(), 0); }
  int64_t cacheLength() const override { return seqLen_[0]; }
  int64_t sequenceLength(int64_t seq) const override { return seqLen_[seq]; }
  int64_t maxSequences() const override { return int64_t(seqLen_.size()); }
  int64_t maxContext() const override { return maxCtx_; }
  int64_t vocabSize() const override { return prog_.vocab; }

  /// Bytes of device memory the weights take.
  size_t weightBytes() const { return weightBytes_; }

private:
  CudaModel() = default;
  CudaProgram prog_{};
  std::shared_ptr<gguf::Reader> file_;
  int64_t maxCtx_ = 0, maxTokens_ = 0;
  std::vector<int64_t> seqLen_; ///< tokens in each sequence's cache
  size_t weightBytes_ = 0;
  std::vector<void *> allocations_;
  std::vector<QccCudaWeight> weights_;
  std::vector<void *> kcache_, vcache_;
  std::vector<void *> kscale_, vscale_; ///< FP8 caches' scales
  QccCudaState state_{};
  int32_t *dIn_ = nullptr, *hIn_ = nullptr; // tokens, positions, sequences [3][maxTokens]; hIn_ pinned
  float *dLogits_ = nullptr, *hLogits_ = nullptr; // hLogits_ pinned
  void *stream_ = nullptr;
  /// Decoding steps of n tokens (one a sequence, every row's logits),
  /// captured once each and replayed: n -> (graph, executable graph).
  std::map<int64_t, std::pair<void *, void *>> graphs_;
};

} // namespace qcc

#endif
