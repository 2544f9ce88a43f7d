//===- Executor.h - float32 reference execution of a qcc module -*- C++ -*-===//
//
// Runs `func.func @forward` of a qcc module op by op on the CPU in float32:
// weights are upcast to float32 once at load time (from whatever WeightSource
// provides them: a safetensors checkpoint, later dequantized GGUF blocks),
// matrix products go through oneDNN's sgemm, element-wise work and attention
// heads are spread over all cores with OpenMP. A KV cache per attention op
// makes generation incremental; a batch of tokens is processed at once.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_EXECUTOR_H
#define QCC_RUNTIME_EXECUTOR_H

#include "runtime/LanguageModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace qcc {

/// Supplies the float32 data of a named weight of a given shape.
class WeightSource {
public:
  virtual ~WeightSource() = default;
  /// Fills `out` (numel floats) with the weight `name`, or returns an error
  /// naming the file.
  virtual llvm::Error load(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, float *out) = 0;
};

/// The inverse frequencies of a qcc.rope op (its theta, head_dim and scaling).
std::vector<float> ropeInvFreq(mlir::Operation *ropeOp);

class Checkpoint;
struct QuantizationConfig;
/// Weights straight from a safetensors checkpoint (F32/F16/BF16 upcast);
/// with `quant`, linear layers stored as GPTQ / AWQ / compressed-tensors are
/// dequantized to exactly the values their format encodes.
std::unique_ptr<WeightSource> checkpointWeights(const Checkpoint &ck,
                                                const QuantizationConfig *quant = nullptr);

class Executor final : public LanguageModel {
public:
  /// Compiles the module's @forward into a step list and loads its weights.
  /// `maxContext` bounds the KV cache (tokens).
  static llvm::Expected<std::unique_ptr<Executor>> create(mlir::ModuleOp module,
                                                          WeightSource &weights,
                                                          int64_t maxContext);
  ~Executor() override;

  void forward(llvm::ArrayRef<int32_t> tokens, float *logits, bool lastOnly) override;
  void reset() override;
  int64_t cacheLength() const override;
  int64_t maxContext() const override;
  int64_t vocabSize() const override;

private:
  Executor();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qcc

#endif
