//===- Safetensors.cpp - memory-mapped, validated safetensors -------------===//
#include "frontends/Safetensors.h"
#include "frontends/Error.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace qcc {

namespace {
constexpr uint64_t kMaxHeaderBytes = 100ull << 20; // the format's own limit

std::optional<DType> parseDType(StringRef s) {
  return StringSwitch<std::optional<DType>>(s)
      .Case("F64", DType::F64).Case("F32", DType::F32).Case("F16", DType::F16)
      .Case("BF16", DType::BF16).Case("I64", DType::I64).Case("I32", DType::I32)
      .Case("I16", DType::I16).Case("I8", DType::I8).Case("U64", DType::U64)
      .Case("U32", DType::U32).Case("U16", DType::U16).Case("U8", DType::U8)
      .Case("BOOL", DType::BOOL).Case("F8_E4M3", DType::F8_E4M3)
      .Case("F8_E5M2", DType::F8_E5M2).Default(std::nullopt);
}
} // namespace

StringRef dtypeName(DType t) {
  switch (t) {
  case DType::F64: return "F64";
  case DType::F32: return "F32";
  case DType::F16: return "F16";
  case DType::BF16: return "BF16";
  case DType::I64: return "I64";
  case DType::I32: return "I32";
  case DType::I16: return "I16";
  case DType::I8: return "I8";
  case DType::U64: return "U64";
  case DType::U32: return "U32";
  case DType::U16: return "U16";
  case DType::U8: return "U8";
  case DType::BOOL: return "BOOL";
  case DType::F8_E4M3: return "F8_E4M3";
  case DType::F8_E5M2: return "F8_E5M2";
  }
  return "?";
}

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F64: case DType::I64: case DType::U64: return 8;
  case DType::F32: case DType::I32: case DType::U32: return 4;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
  default: return 1;
  }
}

bool isFloatDType(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Expected<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false,
                                   /*RequiresNullTerminator=*/false);
  if (!buf)
    return fileError(path, "cannot open: {0}", buf.getError().message());
  auto f = std::make_unique<SafetensorsFile>();
  f->path_ = path.str();
  f->buffer_ = std::move(*buf);
  const uint8_t *base = reinterpret_cast<const uint8_t *>(f->buffer_->getBufferStart());
  uint64_t size = f->buffer_->getBufferSize();
  if (size < 8)
    return fileError(path, "truncated safetensors file: {0} bytes, expected at least an 8-byte header length", size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i)
    hlen = (hlen << 8) | base[i];
  if (hlen > size - 8)
    return fileError(path, "safetensors header length {0} is larger than the file ({1} bytes)", hlen, size);
  if (hlen > kMaxHeaderBytes)
    return fileError(path, "safetensors header length {0} exceeds the 100 MiB limit", hlen);
  StringRef header(reinterpret_cast<const char *>(base + 8), hlen);
  auto json = json::parse(header);
  if (!json)
    return fileError(path, "bad safetensors JSON header: {0}", toString(json.takeError()));
  auto *obj = json->getAsObject();
  if (!obj)
    return fileError(path, "safetensors header must be a JSON object");
  const uint8_t *data = base + 8 + hlen;
  uint64_t dataSize = size - 8 - hlen;

  for (auto &kv : *obj) {
    StringRef name = kv.first;
    if (name == "__metadata__") {
      if (auto *m = kv.second.getAsObject())
        for (auto &mk : *m)
          if (auto s = mk.second.getAsString())
            f->metadata_[mk.first] = s->str();
      continue;
    }
    auto *t = kv.second.getAsObject();
    if (!t)
      return fileError(path, "tensor '{0}': header entry is not an object", name);
    auto dtS = t->getString("dtype");
    auto *shape = t->getArray("shape");
    auto *offs = t->getArray("data_offsets");
    if (!dtS || !shape || !offs)
      return fileError(path, "tensor '{0}': expected keys dtype, shape and data_offsets", name);
    auto dt = parseDType(*dtS);
    if (!dt)
      return fileError(path, "tensor '{0}': unknown dtype '{1}'", name, *dtS);
    TensorView v;
    v.name = name.str();
    v.dtype = *dt;
    v.file = f->path_;
    uint64_t numel = 1;
    for (auto &d : *shape) {
      auto n = d.getAsInteger();
      if (!n || *n < 0)
        return fileError(path, "tensor '{0}': shape must be non-negative integers", name);
      if (*n > 0 && numel > (UINT64_MAX / 16) / uint64_t(*n))
        return fileError(path, "tensor '{0}': shape is too large", name);
      numel *= uint64_t(*n);
      v.shape.push_back(*n);
    }
    if (offs->size() != 2)
      return fileError(path, "tensor '{0}': data_offsets must be [begin, end]", name);
    auto b = (*offs)[0].getAsInteger(), e = (*offs)[1].getAsInteger();
    if (!b || !e || *b < 0 || *e < *b)
      return fileError(path, "tensor '{0}': data_offsets must be integers with 0 <= begin <= end", name);
    if (uint64_t(*e) > dataSize)
      return fileError(path, "tensor '{0}': data_offsets [{1}, {2}] out of range: data section has {3} bytes (file truncated?)",
                       name, *b, *e, dataSize);
    uint64_t expect = numel * dtypeSize(*dt);
    if (uint64_t(*e - *b) != expect)
      return fileError(path, "tensor '{0}': {1} bytes of data, expected {2} for {3} x {4}", name,
                       *e - *b, expect, numel, dtypeName(*dt));
    v.data = data + *b;
    v.nbytes = expect;
    f->tensors_.push_back(std::move(v));
  }
  // Reject overlapping tensors; keep them in file order.
  std::sort(f->tensors_.begin(), f->tensors_.end(),
            [](const TensorView &a, const TensorView &b) { return a.data < b.data; });
  for (size_t i = 1; i < f->tensors_.size(); ++i) {
    auto &p = f->tensors_[i - 1], &c = f->tensors_[i];
    if (p.data + p.nbytes > c.data && c.nbytes > 0 && p.nbytes > 0)
      return fileError(path, "tensors '{0}' and '{1}' overlap", p.name, c.name);
  }
  return std::move(f);
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef pathIn) {
  SmallString<256> path(pathIn);
  auto ck = std::make_unique<Checkpoint>();
  std::vector<std::string> shardFiles;
  std::string index;
  if (sys::fs::is_directory(path)) {
    SmallString<256> idx(path), single(path);
    sys::path::append(idx, "model.safetensors.index.json");
    sys::path::append(single, "model.safetensors");
    if (sys::fs::exists(idx)) {
      index = idx.str().str();
    } else if (sys::fs::exists(single)) {
      shardFiles.push_back(single.str().str());
    } else {
      std::error_code ec;
      for (sys::fs::directory_iterator it(path, ec), end; it != end && !ec; it.increment(ec))
        if (StringRef(it->path()).ends_with(".safetensors"))
          shardFiles.push_back(it->path());
      if (shardFiles.size() != 1)
        return fileError(path, "expected model.safetensors, model.safetensors.index.json or one *.safetensors file in the directory, found {0} .safetensors files",
                         shardFiles.size());
    }
    ck->directory_ = path.str().str();
  } else {
    if (!sys::fs::exists(path))
      return fileError(path, "no such file or directory");
    if (path.str().ends_with(".json"))
      index = path.str().str();
    else
      shardFiles.push_back(path.str().str());
    ck->directory_ = sys::path::parent_path(path).str();
    if (ck->directory_.empty())
      ck->directory_ = ".";
  }

  llvm::StringMap<std::string> weightMap;
  if (!index.empty()) {
    ck->source_ = index;
    auto buf = MemoryBuffer::getFile(index);
    if (!buf)
      return fileError(index, "cannot open: {0}", buf.getError().message());
    auto json = json::parse((*buf)->getBuffer());
    if (!json)
      return fileError(index, "bad JSON: {0}", toString(json.takeError()));
    auto *wm = json->getAsObject() ? json->getAsObject()->getObject("weight_map") : nullptr;
    if (!wm)
      return fileError(index, "expected an object with a \"weight_map\"");
    StringRef dir = sys::path::parent_path(index);
    for (auto &kv : *wm) {
      auto file = kv.second.getAsString();
      if (!file || file->contains("..") || sys::path::is_absolute(*file))
        return fileError(index, "weight_map['{0}'] must be a file name inside the checkpoint directory", kv.first);
      SmallString<256> p(dir);
      sys::path::append(p, *file);
      weightMap[kv.first] = p.str().str();
      if (std::find(shardFiles.begin(), shardFiles.end(), p.str().str()) == shardFiles.end())
        shardFiles.push_back(p.str().str());
    }
    if (shardFiles.empty())
      return fileError(index, "weight_map is empty");
  } else {
    ck->source_ = shardFiles.front();
  }

  for (auto &sf : shardFiles) {
    auto f = SafetensorsFile::open(sf);
    if (!f)
      return f.takeError();
    for (auto &t : (*f)->tensors()) {
      if (!index.empty()) {
        auto it = weightMap.find(t.name);
        if (it == weightMap.end() || it->second != sf)
          continue; // not assigned to this shard by the index
      }
      if (!ck->byName_.try_emplace(t.name, &t).second)
        return fileError(sf, "tensor '{0}' appears in more than one shard", t.name);
    }
    ck->files_.push_back(std::move(*f));
  }
  for (auto &kv : weightMap)
    if (!ck->byName_.count(kv.first()))
      return fileError(kv.second, "tensor '{0}' listed in {1} is missing from this shard", kv.first(),
                       sys::path::filename(index));
  return std::move(ck);
}

const TensorView *Checkpoint::find(StringRef name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (auto &f : files_)
    for (auto &t : f->tensors())
      if (find(t.name) == &t)
        out.push_back(t.name);
  return out;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  // Round to nearest even, with subnormals, infinities and NaN.
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u)
    return uint16_t(sign | 0x7e00);
  if (absx >= 0x477ff000u) // rounds to >= 65520 -> inf
    return uint16_t(sign | 0x7c00);
  if (absx < 0x38800000u) { // below the smallest normal half: subnormal or zero
    float a;
    std::memcpy(&a, &absx, 4);
    // subnormal unit is 2^-24; nearbyint rounds half to even
    return uint16_t(sign | uint32_t(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t mant = absx & 0x7fffff;
  uint32_t e = (absx >> 23) - 127 + 15;
  uint32_t h = (e << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return uint16_t(sign | h);
}

uint16_t floatToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return uint16_t(x >> 16);
}

Error toFloat32(const TensorView &t, float *out) {
  int64_t n = t.numel();
  switch (t.dtype) {
  case DType::F32:
    std::memcpy(out, t.data, n * 4);
    break;
  case DType::F16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = halfToFloat(h);
    }
    break;
  case DType::BF16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = bf16ToFloat(h);
    }
    break;
  case DType::F64:
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, t.data + 8 * i, 8);
      out[i] = float(d);
    }
    break;
  default:
    return fileError(t.file, "tensor '{0}' has dtype {1}, expected a float tensor (F32, F16 or BF16)",
                     t.name, dtypeName(t.dtype));
  }
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(out[i]))
      return fileError(t.file, "tensor '{0}' holds a non-finite value (NaN or Inf) at element {1}",
                       t.name, i);
  return Error::success();
}

} // namespace qcc
