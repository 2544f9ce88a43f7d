//===- GGUF.cpp - GGUF reader and writer ----------------------------------===//
#include "frontends/GGUF.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>

using namespace llvm;

namespace qcc::gguf {

namespace {
constexpr uint32_t kMagic = 0x46554747; // "GGUF"
constexpr uint64_t kMaxString = 1ull << 30;
constexpr uint64_t kMaxArray = 1ull << 32;

struct Cursor {
  const uint8_t *p, *end;
  const std::string &path;
  Error err = Error::success();
  ~Cursor() { consumeError(std::move(err)); }
  bool need(uint64_t n, const char *what) {
    if (err)
      return false;
    if (uint64_t(end - p) < n) {
      err = fileError(path, "truncated GGUF file while reading {0}", what);
      return false;
    }
    return true;
  }
  template <typename T> T read(const char *what) {
    T v{};
    if (need(sizeof(T), what)) {
      std::memcpy(&v, p, sizeof(T));
      p += sizeof(T);
    }
    return v;
  }
  std::string str(const char *what) {
    uint64_t n = read<uint64_t>(what);
    if (err)
      return {};
    if (n > kMaxString) {
      err = fileError(path, "GGUF string length {0} in {1} is implausible (corrupt file?)", n, what);
      return {};
    }
    if (!need(n, what))
      return {};
    std::string s(reinterpret_cast<const char *>(p), n);
    p += n;
    return s;
  }
};

size_t scalarSize(ValueType t) {
  switch (t) {
  case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
  case ValueType::UINT16: case ValueType::INT16: return 2;
  case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
  case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
  default: return 0;
  }
}

bool readScalar(Cursor &c, ValueType t, Value &v) {
  switch (t) {
  case ValueType::UINT8: v.u = c.read<uint8_t>("a value"); v.i = int64_t(v.u); break;
  case ValueType::INT8: v.i = c.read<int8_t>("a value"); v.u = uint64_t(v.i); break;
  case ValueType::UINT16: v.u = c.read<uint16_t>("a value"); v.i = int64_t(v.u); break;
  case ValueType::INT16: v.i = c.read<int16_t>("a value"); v.u = uint64_t(v.i); break;
  case ValueType::UINT32: v.u = c.read<uint32_t>("a value"); v.i = int64_t(v.u); break;
  case ValueType::INT32: v.i = c.read<int32_t>("a value"); v.u = uint64_t(v.i); break;
  case ValueType::UINT64: v.u = c.read<uint64_t>("a value"); v.i = int64_t(v.u); break;
  case ValueType::INT64: v.i = c.read<int64_t>("a value"); v.u = uint64_t(v.i); break;
  case ValueType::BOOL: v.i = c.read<uint8_t>("a value") != 0; v.u = uint64_t(v.i); break;
  case ValueType::FLOAT32: v.f = c.read<float>("a value"); break;
  case ValueType::FLOAT64: v.f = c.read<double>("a value"); break;
  case ValueType::STRING: v.s = c.str("a string value"); break;
  default: return false;
  }
  v.f = (t == ValueType::FLOAT32 || t == ValueType::FLOAT64) ? v.f : double(v.i);
  return true;
}
} // namespace

int64_t TensorInfo::rows() const {
  int64_t r = 1;
  for (size_t i = 1; i < ne.size(); ++i)
    r *= ne[i];
  return r;
}

Expected<std::unique_ptr<Reader>> Reader::open(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, false, false);
  if (!buf)
    return fileError(path, "cannot open: {0}", buf.getError().message());
  auto r = std::make_unique<Reader>();
  r->path_ = path.str();
  r->buf_ = std::move(*buf);
  const uint8_t *base = reinterpret_cast<const uint8_t *>(r->buf_->getBufferStart());
  Cursor c{base, base + r->buf_->getBufferSize(), r->path_};
  uint32_t magic = c.read<uint32_t>("the magic");
  if (c.err)
    return std::move(c.err);
  if (magic != kMagic)
    return fileError(path, "bad magic: not a GGUF file");
  r->version_ = c.read<uint32_t>("the version");
  if (!c.err && (r->version_ < 2 || r->version_ > 3))
    return fileError(path, "GGUF version {0} is not supported, expected 2 or 3", r->version_);
  uint64_t nTensors = c.read<uint64_t>("the tensor count");
  uint64_t nKV = c.read<uint64_t>("the metadata count");
  if (c.err)
    return std::move(c.err);
  if (nTensors > (1u << 24) || nKV > (1u << 24))
    return fileError(path, "implausible counts: {0} tensors, {1} metadata keys (corrupt file?)", nTensors, nKV);
  for (uint64_t k = 0; k < nKV; ++k) {
    std::string key = c.str("a metadata key");
    auto t = ValueType(c.read<uint32_t>("a metadata type"));
    if (c.err)
      return std::move(c.err);
    Value v;
    v.type = t;
    if (t == ValueType::ARRAY) {
      v.elemType = ValueType(c.read<uint32_t>("an array type"));
      uint64_t n = c.read<uint64_t>("an array length");
      if (c.err)
        return std::move(c.err);
      if (n > kMaxArray || (v.elemType != ValueType::STRING &&
                            (scalarSize(v.elemType) == 0 || !c.need(n * scalarSize(v.elemType), key.c_str()))))
        return c.err ? std::move(c.err)
                     : fileError(path, "metadata '{0}': bad array (type {1}, length {2})", key,
                                 uint32_t(v.elemType), n);
      for (uint64_t i = 0; i < n && !c.err; ++i) {
        Value e;
        readScalar(c, v.elemType, e);
        if (v.elemType == ValueType::STRING)
          v.strings.push_back(std::move(e.s));
        else if (v.elemType == ValueType::FLOAT32 || v.elemType == ValueType::FLOAT64)
          v.floats.push_back(e.f);
        else
          v.ints.push_back(e.i);
      }
    } else if (!readScalar(c, t, v)) {
      return fileError(path, "metadata '{0}': unknown value type {1}", key, uint32_t(t));
    }
    if (c.err)
      return std::move(c.err);
    r->kvIndex_[key] = r->kv_.size();
    r->kv_.push_back({std::move(key), std::move(v)});
  }
  uint64_t alignment = 32;
  if (const Value *a = r->get("general.alignment")) {
    alignment = a->u;
    if (alignment == 0 || (alignment & (alignment - 1)) || alignment > 65536)
      return fileError(path, "general.alignment {0} must be a power of two", alignment);
  }
  for (uint64_t k = 0; k < nTensors; ++k) {
    TensorInfo t;
    t.name = c.str("a tensor name");
    uint32_t nd = c.read<uint32_t>("a tensor rank");
    if (c.err)
      return std::move(c.err);
    if (nd == 0 || nd > 4)
      return fileError(path, "tensor '{0}': rank {1}, expected 1 to 4", t.name, nd);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      int64_t n = c.read<int64_t>("a tensor shape");
      if (n <= 0 || n > (int64_t(1) << 40) || numel > (1ull << 42) / uint64_t(n))
        return c.err ? std::move(c.err) : fileError(path, "tensor '{0}': bad dimension {1}", t.name, n);
      numel *= uint64_t(n);
      t.ne.push_back(n);
    }
    uint32_t tid = c.read<uint32_t>("a tensor type");
    t.offset = c.read<uint64_t>("a tensor offset");
    if (c.err)
      return std::move(c.err);
    auto ty = ggml::typeFromId(tid);
    if (!ty)
      return fileError(path, "tensor '{0}': unknown or unsupported ggml type id {1}", t.name, tid);
    t.type = *ty;
    if (t.ne[0] % ggml::traits(t.type).blockSize != 0)
      return fileError(path, "tensor '{0}': row length {1} is not a multiple of the {2} block size {3}",
                       t.name, t.ne[0], ggml::traits(t.type).name, ggml::traits(t.type).blockSize);
    t.nbytes = ggml::rowBytes(t.type, t.ne[0]) * size_t(t.rows());
    if (t.offset % alignment != 0)
      return fileError(path, "tensor '{0}': offset {1} is not aligned to {2}", t.name, t.offset, alignment);
    r->tensorIndex_[t.name] = r->tensors_.size();
    r->tensors_.push_back(std::move(t));
  }
  if (r->tensorIndex_.size() != r->tensors_.size())
    return fileError(path, "duplicate tensor names");
  uint64_t headerEnd = uint64_t(c.p - base);
  uint64_t dataStart = (headerEnd + alignment - 1) / alignment * alignment;
  uint64_t size = r->buf_->getBufferSize();
  for (auto &t : r->tensors_) {
    if (t.offset > size || dataStart + t.offset + t.nbytes > size)
      return fileError(path, "tensor '{0}': data [{1}, {2}) lies outside the file ({3} bytes; truncated?)",
                       t.name, dataStart + t.offset, dataStart + t.offset + t.nbytes, size);
    t.data = base + dataStart + t.offset;
  }
  std::vector<const TensorInfo *> sorted;
  for (auto &t : r->tensors_)
    sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto *a, auto *b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1]->offset + sorted[i - 1]->nbytes > sorted[i]->offset)
      return fileError(path, "tensors '{0}' and '{1}' overlap", sorted[i - 1]->name, sorted[i]->name);
  return std::move(r);
}

const Value *Reader::get(StringRef key) const {
  auto it = kvIndex_.find(key);
  return it == kvIndex_.end() ? nullptr : &kv_[it->second].second;
}

const TensorInfo *Reader::tensor(StringRef name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

Expected<int64_t> Reader::getInt(StringRef key) const {
  const Value *v = get(key);
  if (!v)
    return fileError(path_, "missing metadata key '{0}'", key);
  if (v->type == ValueType::ARRAY || v->type == ValueType::STRING || v->type == ValueType::FLOAT32 ||
      v->type == ValueType::FLOAT64)
    return fileError(path_, "metadata '{0}' must be an integer", key);
  return v->i;
}

Expected<double> Reader::getFloat(StringRef key) const {
  const Value *v = get(key);
  if (!v)
    return fileError(path_, "missing metadata key '{0}'", key);
  if (v->type == ValueType::ARRAY || v->type == ValueType::STRING)
    return fileError(path_, "metadata '{0}' must be a number", key);
  return v->f;
}

Expected<std::string> Reader::getString(StringRef key) const {
  const Value *v = get(key);
  if (!v)
    return fileError(path_, "missing metadata key '{0}'", key);
  if (v->type != ValueType::STRING)
    return fileError(path_, "metadata '{0}' must be a string", key);
  return v->s;
}

void Writer::set(const std::string &key, Value v) {
  for (auto &kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kv_.push_back({key, std::move(v)});
}

void Writer::addTensor(const std::string &name, std::vector<int64_t> ne, ggml::Type type,
                       std::vector<uint8_t> bytes) {
  tensors_.push_back({name, std::move(ne), type, std::move(bytes)});
}

uint64_t Writer::payloadBytes() const {
  uint64_t n = 0;
  for (auto &t : tensors_)
    n += t.bytes.size();
  return n;
}

Error Writer::write(const std::string &path) const {
  auto file = AtomicFile::create(path);
  if (!file)
    return file.takeError();
  raw_fd_ostream &os = (*file)->os();
  uint64_t pos = 0;
  auto raw = [&](const void *p, size_t n) {
    os.write(static_cast<const char *>(p), n);
    pos += n;
  };
  auto u32 = [&](uint32_t v) { raw(&v, 4); };
  auto u64 = [&](uint64_t v) { raw(&v, 8); };
  auto str = [&](const std::string &s) {
    u64(s.size());
    raw(s.data(), s.size());
  };
  auto scalar = [&](ValueType t, const Value &v, size_t idx) {
    switch (t) {
    case ValueType::UINT32: u32(uint32_t(idx == SIZE_MAX ? v.u : v.ints[idx])); break;
    case ValueType::INT32: { int32_t x = int32_t(idx == SIZE_MAX ? v.i : v.ints[idx]); raw(&x, 4); break; }
    case ValueType::FLOAT32: { float x = float(idx == SIZE_MAX ? v.f : v.floats[idx]); raw(&x, 4); break; }
    case ValueType::BOOL: { uint8_t x = uint8_t(idx == SIZE_MAX ? v.i : v.ints[idx]); raw(&x, 1); break; }
    case ValueType::UINT64: u64(idx == SIZE_MAX ? v.u : uint64_t(v.ints[idx])); break;
    case ValueType::STRING: str(idx == SIZE_MAX ? v.s : v.strings[idx]); break;
    default: break;
    }
  };
  u32(kMagic);
  u32(3);
  u64(tensors_.size());
  u64(kv_.size() + 1);
  str("general.alignment");
  u32(uint32_t(ValueType::UINT32));
  u32(alignment_);
  for (auto &[key, v] : kv_) {
    str(key);
    u32(uint32_t(v.type));
    if (v.type == ValueType::ARRAY) {
      u32(uint32_t(v.elemType));
      size_t n = v.elemType == ValueType::STRING ? v.strings.size()
                 : v.elemType == ValueType::FLOAT32 ? v.floats.size() : v.ints.size();
      u64(n);
      for (size_t i = 0; i < n; ++i)
        scalar(v.elemType, v, i);
    } else {
      scalar(v.type, v, SIZE_MAX);
    }
  }
  uint64_t off = 0;
  for (auto &t : tensors_) {
    str(t.name);
    u32(uint32_t(t.ne.size()));
    for (int64_t d : t.ne)
      u64(uint64_t(d));
    u32(uint32_t(t.type));
    u64(off);
    off += (t.bytes.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  static const char zeros[65536] = {};
  auto pad = [&]() {
    uint64_t p = (alignment_ - pos % alignment_) % alignment_;
    raw(zeros, p);
  };
  pad();
  for (auto &t : tensors_) {
    raw(t.bytes.data(), t.bytes.size());
    pad();
  }
  return (*file)->commit();
}

} // namespace qcc::gguf
