//===- NativeModel.h - a compiled model bound to its GGUF file --*- C++ -*-===//
//
// Runs the forward function qcc generated for a model (linked into an AOT
// binary, or JIT-compiled) on the packed weights of the GGUF file it was
// compiled against: the file is memory-mapped, never converted. Owns the KV
// cache (F16 or Q8_0, llama.cpp's -ctk/-ctv meaning) and the scratch memory
// of the runtime's microkernels. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_NATIVE_NATIVEMODEL_H
#define QCC_RUNTIME_NATIVE_NATIVEMODEL_H

#include "runtime/LanguageModel.h"
#include "runtime/native/NativeABI.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace qcc {
namespace gguf {
class Reader;
}

class NativeModel final : public LanguageModel {
public:
  /// Binds `forward` (and the signature and vocabulary it was compiled
  /// with) to the open GGUF file `file`; an error names the file when it
  /// is not the one the code was compiled against.
  /// With `floatActivations`, quantized layers multiply the float
  /// activations by exactly dequantized weights (the reference executor's
  /// arithmetic, slower) instead of ggml's int8-rounded activations.
  static llvm::Expected<std::unique_ptr<NativeModel>>
  create(QccForwardFn forward, const char *signature, int64_t vocab,
         std::shared_ptr<gguf::Reader> file, int64_t maxContext, KVType kv,
         bool floatActivations = false);
  ~NativeModel() override;

  void forward(llvm::ArrayRef<int32_t> tokens, float *logits, bool lastOnly) override;
  void reset() override;
  int64_t cacheLength() const override { return cacheLen_; }
  int64_t maxContext() const override { return maxCtx_; }
  int64_t vocabSize() const override { return vocab_; }

private:
  NativeModel() = default;
  QccForwardFn fn_ = nullptr;
  std::shared_ptr<gguf::Reader> file_;
  const uint8_t *data_ = nullptr;
  int64_t dataBytes_ = 0, vocab_ = 0, maxCtx_ = 0, cacheLen_ = 0;
  QccRt *rt_ = nullptr;
};

} // namespace qcc

#endif
