//===- Safetensors.h - memory-mapped, validated safetensors ----*- C++ -*-===//
//
// Reads one `.safetensors` file or a sharded set (`*.safetensors.index.json`).
// Every header field is validated before any tensor is exposed: the header
// length is bounded by the file size (and 100 MiB), every dtype is known, every
// shape and data_offsets pair is consistent with the dtype size, offsets lie
// inside the data section and no two tensors overlap. Tensor data stays in the
// memory map; nothing is copied.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_SAFETENSORS_H
#define QCC_FRONTENDS_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qcc {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2 };

/// The safetensors spelling ("F32", "BF16", ...).
llvm::StringRef dtypeName(DType t);
/// Bytes per element.
size_t dtypeSize(DType t);
bool isFloatDType(DType t);

struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr; ///< into the file's memory map
  size_t nbytes = 0;
  std::string file; ///< the file it lives in, for error messages
  int64_t numel() const;
};

/// One safetensors file, memory-mapped.
class SafetensorsFile {
public:
  static llvm::Expected<std::unique_ptr<SafetensorsFile>> open(llvm::StringRef path);
  const std::vector<TensorView> &tensors() const { return tensors_; }
  const std::string &path() const { return path_; }
  /// The `__metadata__` string map (may be empty).
  const llvm::StringMap<std::string> &metadata() const { return metadata_; }

private:
  std::string path_;
  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  std::vector<TensorView> tensors_;
  llvm::StringMap<std::string> metadata_;
};

/// All tensors of a checkpoint: one file, or every shard of an index.
class Checkpoint {
public:
  /// `path` is a `.safetensors` file, a `.safetensors.index.json`, or a
  /// directory holding `model.safetensors.index.json`, `model.safetensors` or
  /// exactly one `*.safetensors`.
  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef path);

  const TensorView *find(llvm::StringRef name) const;
  /// Tensor names in file order.
  std::vector<std::string> names() const;
  /// The file (or index) the checkpoint was opened from.
  const std::string &source() const { return source_; }
  /// Directory that holds config.json / tokenizer files.
  const std::string &directory() const { return directory_; }

private:
  std::string source_, directory_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  llvm::StringMap<const TensorView *> byName_;
};

/// Converts a float tensor (F32, F16, BF16, F64) to float32 into `out`
/// (out.size() == t.numel()). Rejects any other dtype and non-finite values.
llvm::Error toFloat32(const TensorView &t, float *out);

float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t h);
uint16_t floatToHalf(float f);
uint16_t floatToBF16(float f);

} // namespace qcc

#endif
