//===- SafetensorsWriter.cpp - safetensors files and shard sets -----------===//
#include "exporters/SafetensorsWriter.h"

#include "frontends/AtomicFile.h"
#include "frontends/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace llvm;

namespace qcc {

Error writeSafetensors(StringRef path, const std::vector<TensorOut> &tensors,
                       const std::map<std::string, std::string> &metadata) {
  json::Object header;
  uint64_t off = 0;
  for (const TensorOut &t : tensors) {
    json::Array shape;
    for (int64_t d : t.shape)
      shape.push_back(d);
    header[t.name] = json::Object{{"dtype", t.dtype},
                                  {"shape", std::move(shape)},
                                  {"data_offsets", json::Array{off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  if (!metadata.empty()) {
    json::Object m;
    for (auto &[k, v] : metadata)
      m[k] = v;
    header["__metadata__"] = std::move(m);
  }
  std::string h;
  raw_string_ostream(h) << json::Value(std::move(header));
  h.append((8 - h.size() % 8) % 8, ' ');
  auto file = AtomicFile::create(path);
  if (!file)
    return file.takeError();
  raw_fd_ostream &os = (*file)->os();
  uint64_t n = h.size();
  char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = char((n >> (8 * i)) & 0xff);
  os.write(len, 8);
  os << h;
  for (const TensorOut &t : tensors)
    os.write(reinterpret_cast<const char *>(t.bytes.data()), t.bytes.size());
  return (*file)->commit();
}

Expected<std::vector<std::string>> writeSafetensorsModel(StringRef dir,
                                                         const std::vector<TensorOut> &tensors,
                                                         uint64_t maxShardBytes) {
  uint64_t total = 0;
  for (const TensorOut &t : tensors)
    total += t.bytes.size();
  auto pathOf = [&](StringRef name) {
    SmallString<256> p(dir);
    sys::path::append(p, name);
    return p.str().str();
  };
  std::map<std::string, std::string> meta{{"format", "pt"}};
  if (total <= maxShardBytes) {
    if (auto e = writeSafetensors(pathOf("model.safetensors"), tensors, meta))
      return std::move(e);
    return std::vector<std::string>{"model.safetensors"};
  }
  // Greedy shards in tensor order.
  std::vector<std::vector<const TensorOut *>> shards(1);
  uint64_t cur = 0;
  for (const TensorOut &t : tensors) {
    if (cur > 0 && cur + t.bytes.size() > maxShardBytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(&t);
    cur += t.bytes.size();
  }
  std::vector<std::string> names;
  json::Object weightMap;
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    std::vector<TensorOut> part;
    for (const TensorOut *t : shards[i]) {
      part.push_back(*t);
      weightMap[t->name] = std::string(name); // owned: json::Value borrows a StringRef
    }
    if (auto e = writeSafetensors(pathOf(name), part, meta))
      return std::move(e);
    names.push_back(name);
  }
  json::Object index{{"metadata", json::Object{{"total_size", int64_t(total)}}},
                     {"weight_map", std::move(weightMap)}};
  std::string path = pathOf("model.safetensors.index.json");
  if (auto e = writeFileAtomically(path, formatv("{0:2}\n", json::Value(std::move(index))).str()))
    return std::move(e);
  names.push_back("model.safetensors.index.json");
  return names;
}

} // namespace qcc
