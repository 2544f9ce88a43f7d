//===- WeightStore.cpp - float sources and packed blocks ------------------===//
#include "runtime/WeightStore.h"
#include "frontends/Error.h"

namespace qcc {

llvm::Error WeightStore::loadFloat(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                                   std::vector<float> &out) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = floats_.find(name);
    if (it != floats_.end()) {
      out = it->second;
      return llvm::Error::success();
    }
  }
  if (!source_)
    return fileError(name, "no weight data available (no checkpoint and no inline value)");
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  out.resize(n);
  return source_->load(name, shape, out.data());
}

void WeightStore::setPacked(llvm::StringRef name, PackedTensor t) {
  std::lock_guard<std::mutex> lock(mu_);
  packed_[name] = std::move(t);
}

void WeightStore::setFloat(llvm::StringRef name, std::vector<float> data) {
  std::lock_guard<std::mutex> lock(mu_);
  floats_[name] = std::move(data);
}

const std::vector<float> *WeightStore::floatOverride(llvm::StringRef name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = floats_.find(name);
  return it == floats_.end() ? nullptr : &it->second;
}

const PackedTensor *WeightStore::packed(llvm::StringRef name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = packed_.find(name);
  return it == packed_.end() ? nullptr : &it->second;
}

namespace {
class PackedWeights final : public WeightSource {
public:
  PackedWeights(const WeightStore &s, WeightSource &f) : store_(s), fallback_(f) {}
  llvm::Error load(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, float *out) override {
    const PackedTensor *p = store_.packed(name);
    if (!p) {
      if (const std::vector<float> *f = store_.floatOverride(name)) {
        std::copy(f->begin(), f->end(), out);
        return llvm::Error::success();
      }
      return fallback_.load(name, shape, out);
    }
    int64_t n = shape.back(), rows = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i)
      rows *= shape[i];
    size_t rb = p->rtn ? rtn::rowBytes(*p->rtn, n) : ggml::rowBytes(p->type, n);
    if (p->bytes.size() != rb * size_t(rows))
      return fileError(name, "packed data has {0} bytes, expected {1}", p->bytes.size(), rb * rows);
    for (int64_t r = 0; r < rows; ++r) {
      if (p->rtn)
        rtn::dequantizeRow(*p->rtn, p->bytes.data() + r * rb, out + r * n, n);
      else
        ggml::dequantizeRow(p->type, p->bytes.data() + r * rb, out + r * n, n);
    }
    return llvm::Error::success();
  }

private:
  const WeightStore &store_;
  WeightSource &fallback_;
};
} // namespace

std::unique_ptr<WeightSource> packedWeights(const WeightStore &store, WeightSource &fallback) {
  return std::make_unique<PackedWeights>(store, fallback);
}

} // namespace qcc
