//===- LanguageModel.h - what evaluation and generation run -----*- C++ -*-===//
//
// A causal language model with a KV cache, whatever executes it: the float32
// reference executor (runtime/Executor.h, which interprets the qcc module) or
// compiled native code (runtime/native/, which runs on the packed weights).
// Evaluation (runtime/Eval.h) and the generation loops take this interface,
// so the AOT binaries and `qcc eval` score text with the same code. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_LANGUAGEMODEL_H
#define QCC_RUNTIME_LANGUAGEMODEL_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/ErrorHandling.h"

#include <cstdint>

namespace qcc {

/// The KV cache's element type (llama.cpp's -ctk / -ctv values f16, q8_0;
/// fp8, E4M3 with a scale a head's row, on the GPU).
enum class KVType { F16, Q8_0, FP8 };

/// The --kv-type spelling of t.
inline const char *kvTypeName(KVType t) {
  return t == KVType::F16 ? "f16" : t == KVType::Q8_0 ? "q8_0" : "fp8";
}

/// "--kv-type" / -ctk values: f16, q8_0, fp8.
inline llvm::Expected<KVType> parseKVType(llvm::StringRef s) {
  for (KVType t : {KVType::F16, KVType::Q8_0, KVType::FP8})
    if (s.equals_insensitive(kvTypeName(t)))
      return t;
  return llvm::createStringError("the KV cache type must be f16, q8_0 or fp8, got '" + s.str() + "'");
}

class LanguageModel {
public:
  virtual ~LanguageModel() = default;
  /// Processes `tokens` at positions [cacheLength(), cacheLength()+n) and
  /// appends their keys/values to the cache. Writes logits for every token
  /// ([n x vocab], row-major) or, if `lastOnly`, for the last one ([vocab]).
  virtual void forward(llvm::ArrayRef<int32_t> tokens, float *logits, bool lastOnly) = 0;
  /// Several sequences at once (batched decoding): a model made for
  /// maxSequences() > 1 keeps a cache for each; forward() and cacheLength()
  /// are sequence 0's. Appends tokens[i] to sequence seqs[i] (a sequence's
  /// tokens in order), each at its sequence's next position; logits for
  /// every token ([n x vocab]) or, if `lastOnly`, for the last one.
  virtual void forwardBatch(llvm::ArrayRef<int32_t> seqs, llvm::ArrayRef<int32_t> tokens, float *logits,
                            bool lastOnly) {
    for (int32_t q : seqs)
      if (q != 0)
        llvm::report_fatal_error("this model holds one sequence");
    forward(tokens, logits, lastOnly);
  }
  virtual int64_t maxSequences() const { return 1; }
  virtual int64_t sequenceLength(int64_t seq) const { return seq == 0 ? cacheLength() : 0; }
  /// Forgets the KV cache (every sequence's).
  virtual void reset() = 0;
  virtual int64_t cacheLength() const = 0;
  virtual int64_t maxContext() const = 0;
  virtual int64_t vocabSize() const = 0;
};

} // namespace qcc

#endif
