//===- WeightStore.h - float sources and packed blocks ----------*- C++ -*-===//
//
// Where the block-packing pass puts what it produced, and where exporters and
// the executor read it back: one entry per weight, its ggml type and the
// packed rows (in the checkpoint's row order).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_WEIGHTSTORE_H
#define QCC_RUNTIME_WEIGHTSTORE_H

#include "runtime/Executor.h"
#include "formats/ggml/GGMLTypes.h"
#include "quant/RTN.h"

#include <optional>

#include "llvm/ADT/StringMap.h"

#include <mutex>
#include <vector>

namespace qcc {

struct PackedTensor {
  ggml::Type type;            ///< the ggml format (ignored when `rtn` is set)
  std::optional<rtn::Params> rtn; ///< a generic RTN layout instead (quant/RTN.h)
  std::vector<int64_t> shape; ///< [out, in] (row-major, as declared by qcc.weight)
  std::vector<uint8_t> bytes;
};

class WeightStore {
public:
  explicit WeightStore(WeightSource *source) : source_(source) {}
  /// The float32 data of a weight from the underlying source.
  llvm::Error loadFloat(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, std::vector<float> &out);
  void setPacked(llvm::StringRef name, PackedTensor t);
  /// Replaces a weight's float data (a calibration pass folded scales into it);
  /// loadFloat returns it from then on.
  void setFloat(llvm::StringRef name, std::vector<float> data);
  /// The replaced float data of a weight, or null.
  const std::vector<float> *floatOverride(llvm::StringRef name) const;
  const PackedTensor *packed(llvm::StringRef name) const;
  bool hasSource() const { return source_ != nullptr; }

private:
  WeightSource *source_;
  mutable std::mutex mu_;
  llvm::StringMap<PackedTensor> packed_;
  llvm::StringMap<std::vector<float>> floats_;
};

/// Serves packed weights dequantized (as ggml would), everything else from
/// `fallback`: running a module after packing shows what the packed file computes.
std::unique_ptr<WeightSource> packedWeights(const WeightStore &store, WeightSource &fallback);

} // namespace qcc

#endif
