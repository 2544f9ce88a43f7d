//===- GGUF.h - GGUF files: validated reader and streaming writer -*- C++ -*-===//
//
// GGUF v2/v3 (little endian). The reader memory-maps the file and validates
// the header, every metadata value, every tensor's type id, shape and offset
// (aligned, inside the file, no overlap) before exposing anything. The writer
// collects metadata and tensor payloads and writes the file to NAME.tmp,
// renaming it into place only when complete.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_GGUF_H
#define QCC_FRONTENDS_GGUF_H

#include "formats/ggml/GGMLTypes.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace qcc::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

/// A metadata value: scalars widened, arrays of one element type.
struct Value {
  ValueType type = ValueType::UINT32;
  ValueType elemType = ValueType::UINT32; ///< for arrays
  int64_t i = 0;                          ///< integer and bool kinds
  uint64_t u = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  static Value str(std::string v) { Value x; x.type = ValueType::STRING; x.s = std::move(v); return x; }
  static Value u32(uint32_t v) { Value x; x.type = ValueType::UINT32; x.u = v; x.i = v; return x; }
  static Value i32(int32_t v) { Value x; x.type = ValueType::INT32; x.i = v; return x; }
  static Value f32(float v) { Value x; x.type = ValueType::FLOAT32; x.f = v; return x; }
  static Value boolean(bool v) { Value x; x.type = ValueType::BOOL; x.i = v; return x; }
  static Value strArray(std::vector<std::string> v) {
    Value x; x.type = ValueType::ARRAY; x.elemType = ValueType::STRING; x.strings = std::move(v); return x;
  }
  static Value i32Array(std::vector<int64_t> v) {
    Value x; x.type = ValueType::ARRAY; x.elemType = ValueType::INT32; x.ints = std::move(v); return x;
  }
  static Value f32Array(std::vector<double> v) {
    Value x; x.type = ValueType::ARRAY; x.elemType = ValueType::FLOAT32; x.floats = std::move(v); return x;
  }
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne; ///< ggml order: ne[0] is the row length
  ggml::Type type = ggml::Type::F32;
  uint64_t offset = 0;     ///< relative to the data section
  const uint8_t *data = nullptr;
  size_t nbytes = 0;
  int64_t rows() const;    ///< product of ne[1..]
};

class Reader {
public:
  static llvm::Expected<std::unique_ptr<Reader>> open(llvm::StringRef path);
  const std::string &path() const { return path_; }
  uint32_t version() const { return version_; }
  const std::vector<std::pair<std::string, Value>> &metadata() const { return kv_; }
  const Value *get(llvm::StringRef key) const;
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  const TensorInfo *tensor(llvm::StringRef name) const;

  /// Typed accessors producing "FILE: ..." errors.
  llvm::Expected<int64_t> getInt(llvm::StringRef key) const;
  llvm::Expected<double> getFloat(llvm::StringRef key) const;
  llvm::Expected<std::string> getString(llvm::StringRef key) const;

private:
  std::string path_;
  uint32_t version_ = 0;
  std::unique_ptr<llvm::MemoryBuffer> buf_;
  std::vector<std::pair<std::string, Value>> kv_;
  llvm::StringMap<size_t> kvIndex_;
  std::vector<TensorInfo> tensors_;
  llvm::StringMap<size_t> tensorIndex_;
};

class Writer {
public:
  explicit Writer(uint32_t alignment = 32) : alignment_(alignment) {}
  void set(const std::string &key, Value v);
  /// `ne` in ggml order; `bytes` must be rowBytes(type, ne[0]) * rows.
  void addTensor(const std::string &name, std::vector<int64_t> ne, ggml::Type type,
                 std::vector<uint8_t> bytes);
  /// Writes PATH.tmp and renames it to PATH.
  llvm::Error write(const std::string &path) const;
  uint64_t payloadBytes() const;

private:
  uint32_t alignment_;
  std::vector<std::pair<std::string, Value>> kv_;
  struct T {
    std::string name;
    std::vector<int64_t> ne;
    ggml::Type type;
    std::vector<uint8_t> bytes;
  };
  std::vector<T> tensors_;
};

} // namespace qcc::gguf

#endif
