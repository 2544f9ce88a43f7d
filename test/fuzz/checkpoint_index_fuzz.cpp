//===- checkpoint_index_fuzz.cpp - a sharded checkpoint's index -------------===//
//
// Input: model.safetensors.index.json, beside two small valid shards that
// the harness writes once. Opens the directory as a checkpoint and reads
// every tensor the index assigns.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "frontends/Safetensors.h"

#include <cstring>

using namespace qcc;

namespace {
/// A safetensors file with one F32 tensor `name` of `n` values.
std::string shard(const std::string &name, int n) {
  std::string header = "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(n) +
                       "],\"data_offsets\":[0," + std::to_string(4 * n) + "]}}";
  std::string s(8, '\0');
  uint64_t len = header.size();
  std::memcpy(&s[0], &len, 8);
  s += header;
  for (int i = 0; i < n; ++i) {
    float v = float(i) * 0.5f;
    s.append(reinterpret_cast<const char *>(&v), 4);
  }
  return s;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const bool shards = [] {
    fuzz::writeFile("model-00001-of-00002.safetensors", shard("a.weight", 4));
    fuzz::writeFile("model-00002-of-00002.safetensors", shard("b.weight", 6));
    return true;
  }();
  (void)shards;
  fuzz::writeFile("model.safetensors.index.json", data, size);
  auto ck = Checkpoint::open(fuzz::scratchDir());
  if (!fuzz::ok(ck))
    return 0;
  fuzz::readFloatTensors(**ck);
  return 0;
}
