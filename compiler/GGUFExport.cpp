//===- GGUFExport.cpp - write a packed qcc module as GGUF -----------------===//
#include "compiler/GGUFExport.h"
#include "dialects/qcc/QccDialect.h"
#include "frontends/Error.h"
#include "frontends/GGUF.h"
#include "quant/Mixture.h"
#include "formats/ggml/TensorNames.h"

#include "llvm/Support/FileSystem.h"

#include <cmath>
#include <cstring>

using namespace llvm;
namespace q = ::mlir::qcc;

namespace qcc {

void permuteRopeRows(const uint8_t *src, uint8_t *dst, int64_t heads, int64_t hd, size_t unit,
                     bool toGGUF) {
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < hd / 2; ++j)
      for (int64_t half = 0; half < 2; ++half) {
        int64_t hfRow = h * hd + half * (hd / 2) + j, ggRow = h * hd + 2 * j + half;
        int64_t from = toGGUF ? hfRow : ggRow, to = toGGUF ? ggRow : hfRow;
        std::memcpy(dst + to * unit, src + from * unit, unit);
      }
}

Expected<GGUFExportStats> exportGGUF(mlir::ModuleOp module, const ModelConfig &c,
                                     const Tokenizer &tok, const WeightStore &store,
                                     const std::string &modelName, const std::string &path,
                                     const gguf::Reader *tokenizerFrom) {
  auto presetAttr = module->getAttrOfType<mlir::StringAttr>("qcc.ggml_preset");
  if (!presetAttr)
    return fileError(path, "the module has no qcc.ggml_preset: run qcc-ggml-mixture first");
  auto preset = ggml::presetFromName(presetAttr.getValue().str());
  if (!preset)
    return fileError(path, "unknown preset '{0}'", presetAttr.getValue());
  const bool llamaArch = c.family == "llama" || c.family == "mistral";
  const std::string arch = llamaArch ? "llama" : c.family;
  if ((c.ropeType == "llama3" || c.ropeType == "freq_factors") && !llamaArch)
    return fileError(path, "{0} RoPE scaling is only exported for the llama architecture", c.ropeType);

  gguf::Writer w;
  auto A = [&](const char *k) { return arch + "." + k; };
  w.set("general.architecture", gguf::Value::str(arch));
  w.set("general.type", gguf::Value::str("model"));
  w.set("general.name", gguf::Value::str(modelName));
  w.set(A("block_count"), gguf::Value::u32(uint32_t(c.numLayers)));
  w.set(A("context_length"), gguf::Value::u32(uint32_t(c.maxPositions)));
  w.set(A("embedding_length"), gguf::Value::u32(uint32_t(c.hiddenSize)));
  w.set(A("feed_forward_length"), gguf::Value::u32(uint32_t(c.intermediateSize)));
  w.set(A("attention.head_count"), gguf::Value::u32(uint32_t(c.numHeads)));
  w.set(A("attention.head_count_kv"), gguf::Value::u32(uint32_t(c.numKVHeads)));
  w.set(A("rope.freq_base"), gguf::Value::f32(float(c.ropeTheta)));
  w.set(A("attention.layer_norm_rms_epsilon"), gguf::Value::f32(float(c.rmsNormEps)));
  w.set(A("attention.key_length"), gguf::Value::u32(uint32_t(c.headDim)));
  w.set(A("attention.value_length"), gguf::Value::u32(uint32_t(c.headDim)));
  w.set(A("rope.dimension_count"), gguf::Value::u32(uint32_t(c.headDim)));
  w.set(A("vocab_size"), gguf::Value::u32(uint32_t(c.vocabSize)));
  if (c.ropeType == "linear") {
    w.set(A("rope.scaling.type"), gguf::Value::str("linear"));
    w.set(A("rope.scaling.factor"), gguf::Value::f32(float(c.ropeFactor)));
  }
  w.set("general.file_type", gguf::Value::u32(preset->fileType));

  // Tokenizer, padded to the model's vocabulary.
  const int64_t V = c.vocabSize, nt = tok.vocabSize();
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  std::vector<double> scores;
  for (int64_t i = 0; i < V; ++i) {
    if (i < nt) {
      std::string t = tok.tokenText(int32_t(i));
      if (t.empty())
        t = "[EMPTY_" + std::to_string(i) + "]";
      tokens.push_back(t);
      types.push_back(int64_t(tok.tokenType(int32_t(i))));
      scores.push_back(tok.tokenScore(int32_t(i)));
    } else {
      tokens.push_back("[PAD" + std::to_string(i) + "]");
      types.push_back(int64_t(TokenType::Unused));
      scores.push_back(-1000.0);
    }
  }
  if (tokenizerFrom) {
    for (auto &[key, value] : tokenizerFrom->metadata())
      if (StringRef(key).starts_with("tokenizer."))
        w.set(key, value);
  } else if (tok.kind() == "bpe") {
    std::string pre = tok.ggufPreName();
    if (pre.empty())
      return fileError(tok.path(), "this tokenizer's pre-tokenizer has no llama.cpp equivalent (supported: the GPT-2, Llama-3 and Qwen2 regexes)");
    w.set("tokenizer.ggml.model", gguf::Value::str("gpt2"));
    w.set("tokenizer.ggml.pre", gguf::Value::str(pre));
    w.set("tokenizer.ggml.tokens", gguf::Value::strArray(std::move(tokens)));
    w.set("tokenizer.ggml.token_type", gguf::Value::i32Array(std::move(types)));
    w.set("tokenizer.ggml.merges", gguf::Value::strArray(tok.merges()));
  } else {
    w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
    w.set("tokenizer.ggml.pre", gguf::Value::str("default"));
    w.set("tokenizer.ggml.tokens", gguf::Value::strArray(std::move(tokens)));
    w.set("tokenizer.ggml.scores", gguf::Value::f32Array(std::move(scores)));
    w.set("tokenizer.ggml.token_type", gguf::Value::i32Array(std::move(types)));
    for (int64_t i = 0; i < nt; ++i)
      if (tok.tokenType(int32_t(i)) == TokenType::Unknown) {
        w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(uint32_t(i)));
        break;
      }
  }
  if (!tokenizerFrom) {
    if (tok.bos())
      w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(uint32_t(*tok.bos())));
    if (tok.eos())
      w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(uint32_t(*tok.eos())));
    w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(tok.addBos()));
    w.set("tokenizer.ggml.add_eos_token", gguf::Value::boolean(false));
  }

  GGUFExportStats stats;
  uint64_t numel = 0;
  if (c.ropeType == "llama3") {
    // llama.cpp divides each RoPE frequency by these factors.
    std::vector<uint8_t> bytes(c.headDim / 2 * 4);
    double lowWave = c.ropeOriginalMaxPositions / c.ropeLowFreqFactor;
    double highWave = c.ropeOriginalMaxPositions / c.ropeHighFreqFactor;
    for (int64_t i = 0; i < c.headDim / 2; ++i) {
      double freq = 1.0 / std::pow(c.ropeTheta, 2.0 * i / c.headDim), wave = 2 * M_PI / freq;
      double f = wave < highWave ? 1.0
                 : wave > lowWave ? c.ropeFactor
                 : 1.0 / ((1 - (c.ropeOriginalMaxPositions / wave - c.ropeLowFreqFactor) /
                                   (c.ropeHighFreqFactor - c.ropeLowFreqFactor)) / c.ropeFactor +
                          (c.ropeOriginalMaxPositions / wave - c.ropeLowFreqFactor) /
                              (c.ropeHighFreqFactor - c.ropeLowFreqFactor));
      float v = float(f);
      std::memcpy(&bytes[4 * i], &v, 4);
    }
    w.addTensor("rope_freqs.weight", {c.headDim / 2}, ggml::Type::F32, std::move(bytes));
  } else if (c.ropeType == "freq_factors") {
    // A GGUF source's factors, as they were.
    std::vector<uint8_t> bytes(c.ropeFreqFactors.size() * 4);
    std::memcpy(bytes.data(), c.ropeFreqFactors.data(), bytes.size());
    w.addTensor("rope_freqs.weight", {int64_t(c.ropeFreqFactors.size())}, ggml::Type::F32, std::move(bytes));
  }
  Error err = Error::success();
  module.walk([&](q::WeightOp op) {
    if (err || op->hasAttr("qcc.record"))
      return; // records of what a pass decided (AWQ scales) are not model tensors
    std::string hf = op.getSymName().str();
    auto name = ggml::ggufName(hf);
    if (!name) {
      err = fileError(path, "tensor '{0}' has no GGUF name", hf);
      return;
    }
    const PackedTensor *p = store.packed(hf);
    if (p && p->rtn) {
      err = fileError(path, "tensor '{0}' uses generic RTN, which GGUF cannot store; use a gguf preset", hf);
      return;
    }
    if (!p) {
      err = fileError(path, "tensor '{0}' was not packed (run qcc-ggml-mixture and qcc-pack-blocks)", hf);
      return;
    }
    std::vector<int64_t> ne(p->shape.rbegin(), p->shape.rend());
    std::vector<uint8_t> bytes = p->bytes;
    bool isQ = hf.find("q_proj.") != std::string::npos, isK = hf.find("k_proj.") != std::string::npos;
    if (llamaArch && (isQ || isK)) {
      int64_t heads = isQ ? c.numHeads : c.numKVHeads;
      size_t unit = p->shape.size() == 1 ? ggml::rowBytes(p->type, 1)
                                         : ggml::rowBytes(p->type, p->shape.back());
      std::vector<uint8_t> out(bytes.size());
      permuteRopeRows(bytes.data(), out.data(), heads, c.headDim, unit, /*toGGUF=*/true);
      bytes.swap(out);
    }
    stats.tensorsPerType[ggml::traits(p->type).name]++;
    stats.weightBytes += bytes.size();
    int64_t n = 1;
    for (int64_t d : p->shape)
      n *= d;
    numel += n;
    stats.numWeights += n;
    w.addTensor(*name, std::move(ne), p->type, std::move(bytes));
  });
  if (err)
    return std::move(err);
  if (ggml::traits(preset->base).quantized)
    w.set("general.quantization_version", gguf::Value::u32(2));
  if (auto e = w.write(path))
    return std::move(e);
  uint64_t size = 0;
  sys::fs::file_size(path, size);
  stats.fileBytes = size;
  return stats;
}

} // namespace qcc
