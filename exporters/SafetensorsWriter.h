//===- SafetensorsWriter.h - safetensors files and shard sets ---*- C++ -*-===//
//
// Writes tensors in the safetensors layout (an 8-byte little-endian header
// length, the JSON header padded with spaces to 8 bytes, then the data in
// header order), one file or, past a size limit, shards
// `model-0000i-of-0000N.safetensors` with `model.safetensors.index.json`, as
// transformers writes them. Every file is written to a temporary name and
// renamed into place when complete.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_EXPORTERS_SAFETENSORSWRITER_H
#define QCC_EXPORTERS_SAFETENSORSWRITER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qcc {

struct TensorOut {
  std::string name;
  std::string dtype; ///< safetensors spelling: "F32", "F16", "BF16", "I32", "I64", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes; ///< little-endian, row-major
};

/// One file at `path`.
llvm::Error writeSafetensors(llvm::StringRef path, const std::vector<TensorOut> &tensors,
                             const std::map<std::string, std::string> &metadata = {});

/// `dir`/model.safetensors, or shards of at most `maxShardBytes` of tensor data
/// plus `dir`/model.safetensors.index.json when the tensors are larger.
/// Returns the names of the files written.
llvm::Expected<std::vector<std::string>>
writeSafetensorsModel(llvm::StringRef dir, const std::vector<TensorOut> &tensors,
                      uint64_t maxShardBytes = 5000000000ull);

} // namespace qcc

#endif
