//===- gguf_fuzz.cpp - the GGUF reader ------------------------------------===//
//
// Input: one GGUF file. Reads the header, metadata and tensor table, reads
// every metadata key through the typed accessors, and dequantizes every row
// of every tensor the reader accepts.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "formats/ggml/GGMLTypes.h"
#include "frontends/GGUF.h"

#include <vector>

using namespace qcc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = fuzz::writeFile("model.gguf", data, size);
  auto r = gguf::Reader::open(path);
  if (!fuzz::ok(r))
    return 0;
  for (const auto &[key, value] : (*r)->metadata()) {
    auto i = (*r)->getInt(key);
    fuzz::ok(i);
    auto f = (*r)->getFloat(key);
    fuzz::ok(f);
    auto s = (*r)->getString(key);
    fuzz::ok(s);
  }
  std::vector<float> row;
  for (const gguf::TensorInfo &t : (*r)->tensors()) {
    const int64_t n = t.ne[0];
    const size_t rb = ggml::rowBytes(t.type, n);
    row.resize(size_t(n));
    for (int64_t i = 0; i < t.rows(); ++i)
      ggml::dequantizeRow(t.type, t.data + i * rb, row.data(), n);
  }
  return 0;
}
