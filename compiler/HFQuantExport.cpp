//===- HFQuantExport.cpp - GPTQ / AWQ / compressed-tensors model dirs -----===//
#include "compiler/HFQuantExport.h"
#include "dialects/qcc/QccDialect.h"
#include "exporters/SafetensorsWriter.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"
#include "frontends/JSONFile.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdio> // renameat2
#include <cstring>
#include <fcntl.h>
#include <signal.h>

using namespace llvm;
namespace q = mlir::qcc;

namespace qcc {

intpack::GroupQuant groupQuantFromRTN(const rtn::Params &p, const uint8_t *bytes, int64_t out,
                                      int64_t in) {
  intpack::GroupQuant g;
  g.bits = int(p.bits);
  g.out = out;
  g.in = in;
  g.groupSize = p.groupSize(in);
  g.symmetric = p.symmetric;
  const int64_t G = g.groupSize, ng = in / G;
  g.q.resize(out * in);
  g.scale.resize(out * ng);
  g.zero.resize(out * ng);
  const uint8_t *b = bytes;
  for (int64_t o = 0; o < out; ++o)
    for (int64_t k = 0; k < ng; ++k) {
      float s, z;
      const uint8_t *codes = rtn::readGroupBytes(b, s, z);
      g.scale[o * ng + k] = s;
      g.zero[o * ng + k] = int16_t(z);
      std::memcpy(&g.q[o * in + k * G], codes, G);
      b = codes + G;
    }
  return g;
}

namespace {

/// Files of a model directory that describe the tokenizer and generation
/// defaults, copied verbatim when present.
constexpr const char *kCopiedFiles[] = {
    "tokenizer.json",     "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
    "vocab.json",         "merges.txt",            "added_tokens.json",       "generation_config.json",
    "chat_template.jinja", "chat_template.json"};

json::Array strings(ArrayRef<std::string> v) {
  json::Array a;
  for (const std::string &s : v)
    a.push_back(s);
  return a;
}

/// The `quantization_config` each loader reads.
json::Object quantizationConfig(const HFQuantExportOptions &o, ArrayRef<std::string> floatLayers,
                                bool headQuantized) {
  json::Object meta{{"quantizer", json::Array{"qcc"}},
                    {"method", o.method},
                    {"damp_percent", o.damp},
                    {"act_order", o.actOrder},
                    {"groups", "contiguous (g_idx[i] = i / group_size)"}};
  switch (o.format) {
  case QuantizationConfig::Method::GPTQ: {
    json::Object c{{"quant_method", "gptq"},
                   {"bits", o.bits},
                   {"group_size", o.group > 0 ? o.group : -1},
                   {"sym", o.symmetric},
                   // qcc keeps groups contiguous even with act-order, so g_idx is
                   // the identity and loaders may take their fast kernels.
                   {"desc_act", false},
                   {"static_groups", false},
                   {"true_sequential", true},
                   {"damp_percent", o.damp},
                   {"lm_head", headQuantized},
                   {"format", "gptq"},
                   {"checkpoint_format", "gptq"},
                   {"pack_dtype", "int32"},
                   {"meta", std::move(meta)}};
    if (!floatLayers.empty()) {
      // GPTQModel / vLLM: a "-:" key is a regex of modules left unquantized.
      json::Object dyn;
      for (const std::string &l : floatLayers)
        dyn["-:^" + Regex::escape(l) + "$"] = json::Object{};
      c["dynamic"] = std::move(dyn);
    }
    return c;
  }
  case QuantizationConfig::Method::AWQ: {
    json::Object c{{"quant_method", "awq"},
                   {"bits", o.bits},
                   {"group_size", o.group},
                   {"zero_point", true},
                   {"version", "gemm"},
                   {"meta", std::move(meta)}};
    c["modules_to_not_convert"] = floatLayers.empty() ? json::Value(nullptr) : strings(floatLayers);
    return c;
  }
  case QuantizationConfig::Method::CompressedTensors: {
    std::vector<std::string> ignore;
    if (!headQuantized)
      ignore.push_back("lm_head");
    ignore.insert(ignore.end(), floatLayers.begin(), floatLayers.end());
    json::Object weights{{"num_bits", o.bits},
                         {"type", "int"},
                         {"symmetric", o.symmetric},
                         {"strategy", o.group > 0 ? "group" : "channel"},
                         {"group_size", o.group > 0 ? json::Value(o.group) : json::Value(nullptr)},
                         {"actorder", o.actOrder ? json::Value("static") : json::Value(nullptr)},
                         {"block_structure", nullptr},
                         {"dynamic", false},
                         {"observer", "minmax"},
                         {"observer_kwargs", json::Object{}}};
    json::Object group{{"targets", json::Array{"Linear"}},
                       {"weights", std::move(weights)},
                       {"input_activations", nullptr},
                       {"output_activations", nullptr},
                       {"format", "pack-quantized"}};
    return json::Object{{"quant_method", "compressed-tensors"},
                        {"format", "pack-quantized"},
                        {"quantization_status", "compressed"},
                        {"config_groups", json::Object{{"group_0", std::move(group)}}},
                        {"ignore", strings(ignore)},
                        {"kv_cache_scheme", nullptr},
                        {"global_compression_ratio", nullptr},
                        {"sparsity_config", json::Object{}},
                        {"qcc", std::move(meta)}};
  }
  }
  return {};
}

std::string pretty(json::Value v) {
  std::string s;
  raw_string_ostream os(s);
  os << formatv("{0:2}", v) << "\n";
  return s;
}

/// Everything but the directory's final rename.
Expected<HFQuantExportStats> writeInto(mlir::ModuleOp module, const HFModel &hf, WeightStore &store,
                                       const HFQuantExportOptions &o, const std::string &tmp,
                                       const std::string &dir) {
  HFQuantExportStats st;
  // Which weights are linear-layer weights (the skip lists name the rest).
  StringSet<> linear;
  bool headQuantized = false;
  module.walk([&](mlir::Operation *op) {
    if (auto l = dyn_cast<q::LinearOp>(op))
      linear.insert(l.getWeightAttr().getValue());
    else if (auto h = dyn_cast<q::LMHeadOp>(op)) {
      const PackedTensor *p = store.packed(h.getWeightAttr().getValue());
      headQuantized = p && p->rtn;
    }
  });

  std::vector<TensorOut> tensors;
  Error err = Error::success();
  module.walk([&](q::WeightOp w) {
    if (err || w->hasAttr("qcc.record"))
      return;
    std::string name = w.getSymName().str();
    auto shape = w.getTensorType().getShape();
    const PackedTensor *p = store.packed(name);
    if (p && p->rtn) {
      StringRef prefix = name;
      if (!prefix.consume_back(".weight") || shape.size() != 2) {
        err = fileError(dir, "quantized tensor '{0}' is not the [out, in] weight of a linear layer", name);
        return;
      }
      const int64_t out = shape[0], in = shape[1];
      if (o.format == QuantizationConfig::Method::AWQ && out % 8 != 0) {
        err = fileError(dir, "AWQ packs 8 output channels a word; '{0}' has {1}", name, out);
        return;
      }
      intpack::GroupQuant g = groupQuantFromRTN(*p->rtn, p->bytes.data(), out, in);
      if (std::string bad = g.validate(); !bad.empty()) {
        err = fileError(dir, "'{0}': {1}", name, bad);
        return;
      }
      std::vector<intpack::PackedTensor> packed =
          o.format == QuantizationConfig::Method::GPTQ  ? intpack::toGPTQ(g)
          : o.format == QuantizationConfig::Method::AWQ ? intpack::toAWQ(g)
                                                        : intpack::toCompressedTensors(g, "F16");
      for (intpack::PackedTensor &t : packed)
        tensors.push_back({(prefix + "." + t.suffix).str(), t.dtype, t.shape, std::move(t.bytes)});
      ++st.quantizedLayers;
      return;
    }
    if (p) {
      err = fileError(dir, "tensor '{0}' is packed in a ggml block format; GPU formats take integer "
                           "groups (qcc-assign-quant format=int)",
                      name);
      return;
    }
    if (linear.contains(name))
      st.floatLayers.push_back(StringRef(name).drop_back(strlen(".weight")).str());
    // Float: the checkpoint's own bytes unless a pass changed the values (AWQ
    // folds), or the checkpoint stores it quantized (a re-export).
    const TensorView *src = hf.checkpoint ? hf.checkpoint->find(name) : nullptr;
    if (src && isFloatDType(src->dtype) && !store.floatOverride(name)) {
      tensors.push_back({name, dtypeName(src->dtype).str(), src->shape,
                         std::vector<uint8_t>(src->data, src->data + src->nbytes)});
      return;
    }
    std::vector<float> f;
    if (auto e = store.loadFloat(name, shape, f)) {
      err = std::move(e);
      return;
    }
    std::vector<uint8_t> bytes(f.size() * 4);
    std::memcpy(bytes.data(), f.data(), bytes.size());
    tensors.push_back({name, "F32", std::vector<int64_t>(shape.begin(), shape.end()), std::move(bytes)});
  });
  if (err)
    return std::move(err);
  if (st.quantizedLayers == 0)
    return fileError(dir, "no linear layer could be quantized with group size {0} (every row "
                          "length must be a multiple of it)",
                     o.group);
  for (const TensorOut &t : tensors)
    st.bytes += t.bytes.size();

  auto files = writeSafetensorsModel(tmp, tensors);
  if (!files)
    return files.takeError();
  st.files = std::move(*files);
  tensors.clear();

  // config.json: the source's, with the new quantization_config.
  auto cfg = readJSONFile(hf.configPath, "config.json");
  if (!cfg)
    return cfg.takeError();
  json::Object *root = cfg->getAsObject();
  if (!root)
    return fileError(hf.configPath, "expected a JSON object");
  json::Object qc = quantizationConfig(o, st.floatLayers, headQuantized);
  if (o.format == QuantizationConfig::Method::GPTQ) {
    SmallString<256> path(tmp);
    sys::path::append(path, "quantize_config.json");
    if (auto e = writeFileAtomically(path.str().str(), pretty(json::Object(qc))))
      return std::move(e);
    st.files.push_back("quantize_config.json");
  }
  (*root)["quantization_config"] = std::move(qc);
  SmallString<256> cfgPath(tmp);
  sys::path::append(cfgPath, "config.json");
  if (auto e = writeFileAtomically(cfgPath.str().str(), pretty(std::move(*cfg))))
    return std::move(e);
  st.files.push_back("config.json");

  StringRef srcDir = sys::path::parent_path(hf.configPath);
  for (const char *f : kCopiedFiles) {
    SmallString<256> from(srcDir), to(tmp);
    sys::path::append(from, f);
    sys::path::append(to, f);
    if (!sys::fs::exists(from))
      continue;
    if (auto ec = sys::fs::copy_file(from, to))
      return fileError(from.str(), "cannot copy into the output: {0}", ec.message());
    st.files.push_back(f);
  }
  return st;
}

/// Removes `base`.qcc-tmp-PID / .qcc-old-PID directories that a qcc process
/// killed while exporting to `base` left behind (PID no longer running).
void removeStaleStaging(const std::string &base) {
  SmallString<256> parent(base);
  sys::path::remove_filename(parent);
  if (parent.empty())
    parent = ".";
  const std::string name = sys::path::filename(base).str();
  std::error_code ec;
  for (sys::fs::directory_iterator it(parent, ec), end; it != end && !ec; it.increment(ec)) {
    StringRef f = sys::path::filename(it->path());
    if (!f.consume_front(name))
      continue;
    if (!f.consume_front(".qcc-tmp-") && !f.consume_front(".qcc-old-"))
      continue;
    int pid = 0;
    if (f.getAsInteger(10, pid) || pid <= 0)
      continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH)
      sys::fs::remove_directories(it->path());
  }
}

Error removeTree(const std::string &dir) {
  std::error_code ec = sys::fs::remove_directories(dir);
  return ec ? fileError(dir, "cannot remove: {0}", ec.message()) : Error::success();
}

} // namespace

Expected<HFQuantExportStats> exportQuantizedHF(mlir::ModuleOp module, const HFModel &hf,
                                               WeightStore &store, const HFQuantExportOptions &o,
                                               const std::string &dir) {
  if (hf.configPath.empty())
    return fileError(dir, "GPTQ / AWQ / compressed-tensors output needs a Hugging Face model "
                          "(config.json) as input");
  if (sys::fs::exists(dir) && !sys::fs::is_directory(dir))
    return fileError(dir, "exists and is not a directory");
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  // The staging name is AtomicFile's temporary name for DIR (DIR.qcc-tmp-PID).
  const std::string tmp = AtomicFile::tempName(base);
  const std::string old = base + ".qcc-old-" + std::to_string(sys::Process::getProcessId());
  removeStaleStaging(base);
  sys::fs::remove_directories(tmp);
  if (auto ec = sys::fs::create_directories(tmp, /*IgnoreExisting=*/true, sys::fs::all_all))
    return fileError(dir, "cannot create a directory beside it: {0}", ec.message());
  auto st = writeInto(module, hf, store, o, tmp, dir);
  if (!st) {
    sys::fs::remove_directories(tmp);
    return st.takeError();
  }
  // Swap the complete directory into place. An existing DIR is exchanged
  // with the new one in one step (renameat2 RENAME_EXCHANGE), so DIR is
  // always either the old or the new directory; where that is unsupported it
  // is moved aside first and restored on failure.
  bool hadOld = sys::fs::exists(base);
#ifdef RENAME_EXCHANGE
  if (hadOld && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, base.c_str(), RENAME_EXCHANGE) == 0) {
    if (auto e = removeTree(tmp)) // now the old directory
      return std::move(e);
    return st;
  }
#endif
  if (hadOld)
    if (auto ec = sys::fs::rename(base, old)) {
      sys::fs::remove_directories(tmp);
      return fileError(dir, "cannot move the existing directory aside: {0}", ec.message());
    }
  if (auto ec = sys::fs::rename(tmp, base)) {
    if (hadOld)
      sys::fs::rename(old, base);
    sys::fs::remove_directories(tmp);
    return fileError(dir, "cannot rename into place: {0}", ec.message());
  }
  if (hadOld)
    if (auto e = removeTree(old))
      return std::move(e);
  return st;
}

} // namespace qcc
