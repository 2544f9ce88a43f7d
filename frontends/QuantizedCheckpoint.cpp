//===- QuantizedCheckpoint.cpp - GPTQ / AWQ / compressed-tensors readers --===//
#include "frontends/QuantizedCheckpoint.h"

#include "frontends/Error.h"
#include "frontends/JSONFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <cmath>
#include <cstring>
#include <numeric>

using namespace llvm;

namespace qcc {

std::string QuantizationConfig::methodName() const {
  switch (method) {
  case Method::GPTQ: return "gptq";
  case Method::AWQ: return "awq";
  case Method::CompressedTensors: return "compressed-tensors";
  }
  return "";
}

namespace {

std::optional<int64_t> intField(const json::Object &o, StringRef key) {
  if (auto v = o.getInteger(key))
    return *v;
  // A whole number in int64's range ("bits": 4.0); not inf, NaN or 1e30,
  // whose conversion would be undefined.
  if (auto d = o.getNumber(key); d && std::fabs(*d) < 9.0e18 && *d == std::trunc(*d))
    return int64_t(*d);
  return std::nullopt;
}

Expected<QuantizationConfig> parseGPTQOrAWQ(const json::Object &o, StringRef method,
                                            StringRef file) {
  QuantizationConfig qc;
  qc.file = file.str();
  qc.method = method == "awq" ? QuantizationConfig::Method::AWQ : QuantizationConfig::Method::GPTQ;
  auto bits = intField(o, "bits");
  if (!bits)
    bits = intField(o, "w_bit");
  auto group = intField(o, "group_size");
  if (!group)
    group = intField(o, "q_group_size");
  if (!bits)
    return fileError(file, "quantization_config has no integer 'bits'");
  if (*bits < 1 || *bits > 32) // the exact set is checked below; keep the int honest
    return fileError(file, "quantization_config bits must be 2, 3, 4 or 8, got {0}", *bits);
  qc.bits = int(*bits);
  qc.group = group ? *group : 128;
  if (qc.group == -1)
    qc.group = 0;
  if (qc.group < 0)
    return fileError(file, "quantization_config group_size must be -1 or positive, got {0}",
                     qc.group);
  if (qc.method == QuantizationConfig::Method::GPTQ) {
    if (qc.bits != 2 && qc.bits != 3 && qc.bits != 4 && qc.bits != 8)
      return fileError(file, "GPTQ bits must be 2, 3, 4 or 8, got {0}", qc.bits);
    qc.symmetric = o.getBoolean("sym").value_or(true);
    qc.actOrder = o.getBoolean("desc_act").value_or(false);
    if (auto f = o.getString("checkpoint_format"); f && *f != "gptq")
      return fileError(file, "GPTQ checkpoint_format '{0}' is not supported (expected gptq, the v1 "
                             "format transformers and vLLM load)",
                       *f);
  } else {
    if (qc.bits != 4)
      return fileError(file, "AWQ bits must be 4, got {0}", qc.bits);
    qc.symmetric = !o.getBoolean("zero_point").value_or(true);
    if (qc.symmetric)
      return fileError(file, "AWQ without zero_point is not supported (expected zero_point: true)");
    if (auto v = o.getString("version"); v && v->lower() != "gemm")
      return fileError(file, "AWQ version '{0}' is not supported (expected gemm)", *v);
    if (qc.group == 0)
      return fileError(file, "AWQ needs a group_size");
  }
  return qc;
}

Expected<QuantizationConfig> parseCompressedTensors(const json::Object &o, StringRef file) {
  QuantizationConfig qc;
  qc.file = file.str();
  qc.method = QuantizationConfig::Method::CompressedTensors;
  auto fmt = o.getString("format");
  if (!fmt || *fmt != "pack-quantized")
    return fileError(file, "compressed-tensors format '{0}' is not supported (expected pack-quantized)",
                     fmt ? *fmt : StringRef("<none>"));
  const json::Object *groups = o.getObject("config_groups");
  if (!groups || groups->size() != 1)
    return fileError(file, "compressed-tensors config_groups must hold exactly one scheme");
  const json::Object *scheme = groups->begin()->second.getAsObject();
  const json::Object *w = scheme ? scheme->getObject("weights") : nullptr;
  if (!w)
    return fileError(file, "compressed-tensors scheme has no 'weights'");
  if (auto t = w->getString("type"); !t || *t != "int")
    return fileError(file, "compressed-tensors weights type must be int");
  auto bits = intField(*w, "num_bits");
  if (!bits || *bits < 2 || *bits > 8)
    return fileError(file, "compressed-tensors num_bits must be 2..8");
  qc.bits = int(*bits);
  qc.symmetric = w->getBoolean("symmetric").value_or(true);
  auto strategy = w->getString("strategy");
  if (strategy && *strategy == "group") {
    auto g = intField(*w, "group_size");
    if (!g || *g <= 0)
      return fileError(file, "compressed-tensors group strategy needs a positive group_size");
    qc.group = *g;
  } else if (strategy && *strategy == "channel") {
    qc.group = 0;
  } else {
    return fileError(file, "compressed-tensors weight strategy '{0}' is not supported (expected "
                           "group or channel)",
                     strategy ? *strategy : StringRef("<none>"));
  }
  if (auto a = w->getString("actorder"); a && *a != "static" && *a != "weight")
    qc.actOrder = true; // "group": a g_idx is stored
  if (const json::Array *ig = o.getArray("ignore"))
    for (const json::Value &v : *ig)
      if (auto s = v.getAsString())
        qc.ignore.push_back(s->str());
  if (scheme->getObject("input_activations"))
    return fileError(file, "compressed-tensors activation quantization is not supported");
  return qc;
}

Expected<std::optional<QuantizationConfig>> fromObject(const json::Object &q, StringRef file) {
  auto method = q.getString("quant_method");
  if (!method)
    return fileError(file, "quantization_config has no 'quant_method'");
  std::string m = method->lower();
  if (m == "gptq" || m == "awq")
    return parseGPTQOrAWQ(q, m, file);
  if (m == "compressed-tensors")
    return parseCompressedTensors(q, file);
  return fileError(file, "quantization_config quant_method '{0}' is not supported (expected gptq, "
                         "awq or compressed-tensors)",
                   *method);
}

// --------------------------------------------------------------- tensors

const TensorView *get(const Checkpoint &ck, StringRef prefix, StringRef suffix) {
  return ck.find((prefix + "." + suffix).str());
}

Error expect(const Checkpoint &ck, const QuantizationConfig &qc, StringRef prefix,
             StringRef suffix, ArrayRef<DType> dtypes, ArrayRef<int64_t> shape,
             const TensorView *&out, bool optional = false) {
  out = get(ck, prefix, suffix);
  std::string name = (prefix + "." + suffix).str();
  if (!out) {
    if (optional)
      return Error::success();
    return fileError(ck.source(), "missing tensor '{0}' ({1} checkpoint per {2})", name,
                     qc.methodName(), sys::path::filename(qc.file));
  }
  if (!llvm::is_contained(dtypes, out->dtype))
    return fileError(out->file, "tensor '{0}' has dtype {1}, expected {2}", name,
                     dtypeName(out->dtype), dtypeName(dtypes[0]));
  if (ArrayRef<int64_t>(out->shape) != shape) {
    std::string got, want;
    for (int64_t d : out->shape)
      got += (got.empty() ? "" : "x") + std::to_string(d);
    for (int64_t d : shape)
      want += (want.empty() ? "" : "x") + std::to_string(d);
    return fileError(out->file, "tensor '{0}' has shape [{1}], expected [{2}] ({3}-bit, group {4}, "
                                "per {5} and the model config)",
                     name, got, want, qc.bits, qc.group, sys::path::filename(qc.file));
  }
  return Error::success();
}

std::vector<float> toFloats(const TensorView &t) {
  std::vector<float> v(t.numel());
  consumeError(toFloat32(t, v.data()));
  return v;
}

const uint32_t *words(const TensorView &t) { return reinterpret_cast<const uint32_t *>(t.data); }

} // namespace

Expected<std::optional<QuantizationConfig>> readQuantizationConfig(StringRef configPath) {
  auto v = readJSONFile(configPath, "config");
  if (!v)
    return v.takeError();
  const json::Object *root = v->getAsObject();
  if (root)
    if (const json::Object *q = root->getObject("quantization_config"))
      return fromObject(*q, configPath);
  SmallString<256> qcPath(sys::path::parent_path(configPath));
  sys::path::append(qcPath, "quantize_config.json");
  if (!sys::fs::exists(qcPath))
    return std::nullopt;
  auto q = readJSONFile(qcPath, "quantize config");
  if (!q)
    return q.takeError();
  const json::Object *o = q->getAsObject();
  if (!o)
    return fileError(qcPath, "expected a JSON object");
  if (!o->getString("quant_method")) {
    json::Object copy = *o;
    copy["quant_method"] = "gptq";
    return fromObject(copy, qcPath);
  }
  return fromObject(*o, qcPath);
}

std::optional<StringRef> quantizedLinearOf(const Checkpoint &ck, const QuantizationConfig *qc,
                                           StringRef name, size_t rank) {
  if (!qc || rank != 2 || ck.find(name) || !name.ends_with(".weight"))
    return std::nullopt;
  StringRef prefix = name.drop_back(strlen(".weight"));
  if (!isQuantizedLinear(ck, *qc, prefix))
    return std::nullopt;
  return prefix;
}

bool isQuantizedLinear(const Checkpoint &ck, const QuantizationConfig &qc, StringRef prefix) {
  return get(ck, prefix,
             qc.method == QuantizationConfig::Method::CompressedTensors ? "weight_packed"
                                                                        : "qweight") != nullptr;
}

namespace {
struct Views {
  const TensorView *qweight = nullptr, *qzeros = nullptr, *scales = nullptr, *gIdx = nullptr,
                   *shape = nullptr;
};

Expected<Views> checkViews(const Checkpoint &ck, const QuantizationConfig &qc, StringRef prefix,
                           int64_t out, int64_t in) {
  using M = QuantizationConfig::Method;
  const int64_t G = qc.group > 0 ? qc.group : in;
  const int64_t ng = (in + G - 1) / G;
  const int b = qc.bits;
  Views v;
  std::string where = (prefix + " (" + Twine(out) + " outputs x " + Twine(in) + " inputs)").str();
  auto divisible = [&](int64_t n, const char *what) -> Error {
    if ((n * b) % 32 != 0)
      return fileError(qc.file, "{0}: {1} = {2} is not a multiple of {3} as {4}-bit {5} packing needs",
                       where, what, n, 32 / std::gcd(32, b), b, qc.methodName());
    return Error::success();
  };
  switch (qc.method) {
  case M::GPTQ:
    if (auto e = divisible(in, "in_features"))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "qweight", {DType::I32}, {in * b / 32, out}, v.qweight))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "qzeros", {DType::I32},
                        {ng, intpack::packedWords(out, b)}, v.qzeros))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "scales", {DType::F16, DType::BF16, DType::F32}, {ng, out},
                        v.scales))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "g_idx", {DType::I32}, {in}, v.gIdx, /*optional=*/true))
      return std::move(e);
    break;
  case M::AWQ:
    if (out % 8 != 0)
      return fileError(qc.file, "{0}: AWQ needs out_features divisible by 8", where);
    if (in % G != 0)
      return fileError(qc.file, "{0}: AWQ needs in_features divisible by group_size {1}", where, G);
    if (auto e = expect(ck, qc, prefix, "qweight", {DType::I32}, {in, out / 8}, v.qweight))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "qzeros", {DType::I32}, {ng, out / 8}, v.qzeros))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "scales", {DType::F16, DType::BF16, DType::F32}, {ng, out},
                        v.scales))
      return std::move(e);
    break;
  case M::CompressedTensors:
    if (auto e = expect(ck, qc, prefix, "weight_packed", {DType::I32},
                        {out, intpack::packedWords(in, b)}, v.qweight))
      return std::move(e);
    if (auto e = expect(ck, qc, prefix, "weight_scale", {DType::F16, DType::BF16, DType::F32},
                        {out, ng}, v.scales))
      return std::move(e);
    if (!qc.symmetric)
      if (auto e = expect(ck, qc, prefix, "weight_zero_point", {DType::I32},
                          {intpack::packedWords(out, b), ng}, v.qzeros))
        return std::move(e);
    if (auto e = expect(ck, qc, prefix, "weight_shape", {DType::I64, DType::I32}, {2}, v.shape,
                        /*optional=*/true))
      return std::move(e);
    if (v.shape) {
      int64_t dims[2];
      if (v.shape->dtype == DType::I64) {
        std::memcpy(dims, v.shape->data, 16);
      } else {
        int32_t d32[2];
        std::memcpy(d32, v.shape->data, 8);
        dims[0] = d32[0], dims[1] = d32[1];
      }
      if (dims[0] != out || dims[1] != in)
        return fileError(v.shape->file, "tensor '{0}.weight_shape' says [{1}, {2}], expected [{3}, {4}]",
                         prefix, dims[0], dims[1], out, in);
    }
    if (auto e = expect(ck, qc, prefix, "weight_g_idx", {DType::I32}, {in}, v.gIdx,
                        /*optional=*/true))
      return std::move(e);
    break;
  }
  if (v.gIdx) {
    const int32_t *g = reinterpret_cast<const int32_t *>(v.gIdx->data);
    for (int64_t i = 0; i < in; ++i) {
      int32_t x;
      std::memcpy(&x, g + i, 4);
      if (x < 0 || x >= ng)
        return fileError(v.gIdx->file, "tensor '{0}' entry {1} is {2}, outside [0, {3})",
                         v.gIdx->name, i, x, ng);
    }
  }
  return v;
}
} // namespace

Error checkQuantizedLinear(const Checkpoint &ck, const QuantizationConfig &qc, StringRef prefix,
                           int64_t out, int64_t in) {
  auto v = checkViews(ck, qc, prefix, out, in);
  return v ? Error::success() : v.takeError();
}

Expected<intpack::GroupQuant> readQuantizedLinear(const Checkpoint &ck, const QuantizationConfig &qc,
                                                  StringRef prefix, int64_t out, int64_t in) {
  auto vs = checkViews(ck, qc, prefix, out, in);
  if (!vs)
    return vs.takeError();
  using M = QuantizationConfig::Method;
  intpack::GroupQuant g;
  g.bits = qc.bits, g.out = out, g.in = in, g.symmetric = qc.symmetric;
  g.groupSize = qc.group > 0 ? qc.group : in;
  const int64_t ng = g.groups();
  const int b = qc.bits;
  g.q.resize(out * in);
  g.zero.assign(out * ng, int16_t(1 << (b - 1)));
  std::vector<float> s = toFloats(*vs->scales);
  g.scale.resize(out * ng);
  std::vector<uint8_t> tmp(std::max(out, in));
  switch (qc.method) {
  case M::GPTQ: {
    for (int64_t o = 0; o < out; ++o)
      intpack::unpackDense(words(*vs->qweight) + o, out, in, b, &g.q[o * in], 1);
    const int64_t zw = intpack::packedWords(out, b);
    for (int64_t k = 0; k < ng; ++k) {
      intpack::unpackDense(words(*vs->qzeros) + k * zw, 1, out, b, tmp.data(), 1);
      for (int64_t o = 0; o < out; ++o) {
        g.zero[o * ng + k] = int16_t(tmp[o] + 1); // v1: stored zero - 1
        g.scale[o * ng + k] = s[k * out + o];
      }
    }
    break;
  }
  case M::AWQ: {
    for (int64_t i = 0; i < in; ++i) {
      intpack::unpackAWQ(words(*vs->qweight) + i * (out / 8), out, tmp.data());
      for (int64_t o = 0; o < out; ++o)
        g.q[o * in + i] = tmp[o];
    }
    for (int64_t k = 0; k < ng; ++k) {
      intpack::unpackAWQ(words(*vs->qzeros) + k * (out / 8), out, tmp.data());
      for (int64_t o = 0; o < out; ++o) {
        g.zero[o * ng + k] = tmp[o];
        g.scale[o * ng + k] = s[k * out + o];
      }
    }
    break;
  }
  case M::CompressedTensors: {
    const int64_t pw = intpack::packedWords(in, b);
    for (int64_t o = 0; o < out; ++o)
      intpack::unpackDense(words(*vs->qweight) + o * pw, 1, in, b, &g.q[o * in], 1);
    g.scale = s; // [out][groups] already
    if (vs->qzeros)
      for (int64_t k = 0; k < ng; ++k) {
        intpack::unpackDense(words(*vs->qzeros) + k, ng, out, b, tmp.data(), 1);
        for (int64_t o = 0; o < out; ++o)
          g.zero[o * ng + k] = tmp[o];
      }
    break;
  }
  }
  if (vs->gIdx) {
    g.gIdx.resize(in);
    std::memcpy(g.gIdx.data(), vs->gIdx->data, in * 4);
    if (g.trivialGroups())
      g.gIdx.clear();
  }
  return g;
}

} // namespace qcc
