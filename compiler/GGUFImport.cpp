//===- GGUFImport.cpp - open a GGUF file as a qcc session -----------------===//
//
// Reads llama / qwen2 GGUF files (qcc's own and llama-quantize's): the
// hyperparameters from metadata, the tokenizer from tokenizer.ggml.*, and the
// tensors, which the executor receives dequantized exactly as ggml computes
// them, with llama's Q/K rows returned to the Hugging Face order. Llama 3.x
// files' rope_freqs.weight becomes the RoPE ops' "freq_factors" scaling.
//
//===----------------------------------------------------------------------===//
#include "compiler/GGUFExport.h"
#include "compiler/Session.h"
#include "frontends/Error.h"
#include "frontends/GGUF.h"
#include "formats/ggml/TensorNames.h"

#include <cmath>
#include <cstring>

using namespace llvm;

namespace qcc {

namespace {
class GGUFWeights final : public WeightSource {
public:
  GGUFWeights(const gguf::Reader &r, const ModelConfig &c) : r_(r), c_(c) {}
  Error load(StringRef name, ArrayRef<int64_t> shape, float *out) override {
    auto gname = ggml::ggufName(name.str());
    const gguf::TensorInfo *t = gname ? r_.tensor(*gname) : nullptr;
    if (!t)
      return fileError(r_.path(), "missing tensor '{0}'", gname.value_or(name.str()));
    int64_t n = t->ne[0], rows = t->rows();
    size_t rb = ggml::rowBytes(t->type, n);
    const uint8_t *src = t->data;
    std::vector<uint8_t> tmp;
    bool isQ = name.contains("q_proj."), isK = name.contains("k_proj.");
    if ((c_.family == "llama" || c_.family == "mistral") && (isQ || isK)) {
      size_t unit = t->ne.size() == 1 ? ggml::rowBytes(t->type, 1) : rb;
      tmp.resize(t->nbytes);
      permuteRopeRows(src, tmp.data(), isQ ? c_.numHeads : c_.numKVHeads, c_.headDim, unit,
                      /*toGGUF=*/false);
      src = tmp.data();
    }
    if (t->ne.size() == 1)
      ggml::dequantizeRow(t->type, src, out, n);
    else
      for (int64_t r = 0; r < rows; ++r)
        ggml::dequantizeRow(t->type, src + r * rb, out + r * n, n);
    int64_t total = n * rows;
    for (int64_t i = 0; i < total; ++i)
      if (!std::isfinite(out[i]))
        return fileError(r_.path(), "tensor '{0}' holds a non-finite value", *gname);
    return Error::success();
  }

private:
  const gguf::Reader &r_;
  const ModelConfig &c_;
};
} // namespace

Expected<std::unique_ptr<Session>> openGGUFSession(StringRef path) {
  auto rd = gguf::Reader::open(path);
  if (!rd)
    return rd.takeError();
  auto s = std::make_unique<Session>();
  gguf::Reader &r = **rd;
  auto arch = r.getString("general.architecture");
  if (!arch)
    return arch.takeError();
  ModelConfig c;
  if (*arch == "llama") {
    c.family = "llama";
    c.architecture = "LlamaForCausalLM";
  } else if (*arch == "qwen2") {
    c.family = "qwen2";
    c.architecture = "Qwen2ForCausalLM";
    c.qkvBias = true;
  } else {
    return fileError(path, "unknown architecture '{0}', expected llama or qwen2", *arch);
  }
  auto I = [&](const char *k) { return r.getInt(*arch + "." + k); };
  auto getI = [&](const char *k, int64_t &dst) -> Error {
    auto v = I(k);
    if (!v)
      return v.takeError();
    dst = *v;
    return Error::success();
  };
  for (auto [k, dst] : {std::pair{"embedding_length", &c.hiddenSize}, {"block_count", &c.numLayers},
                        {"feed_forward_length", &c.intermediateSize}, {"attention.head_count", &c.numHeads},
                        {"context_length", &c.maxPositions}})
    if (auto e = getI(k, *dst))
      return std::move(e);
  c.numKVHeads = I("attention.head_count_kv") ? *I("attention.head_count_kv") : c.numHeads;
  if (c.numHeads <= 0 || c.numKVHeads <= 0 || c.numHeads % c.numKVHeads != 0)
    return fileError(path, "bad head counts {0} / {1}", c.numHeads, c.numKVHeads);
  auto kl = I("attention.key_length");
  c.headDim = kl ? *kl : c.hiddenSize / c.numHeads;
  if (!kl)
    consumeError(kl.takeError());
  auto eps = r.getFloat(*arch + ".attention.layer_norm_rms_epsilon");
  if (!eps)
    return eps.takeError();
  c.rmsNormEps = *eps;
  auto theta = r.getFloat(*arch + ".rope.freq_base");
  c.ropeTheta = theta ? *theta : 10000.0;
  if (!theta)
    consumeError(theta.takeError());
  if (const gguf::Value *st = r.get(*arch + ".rope.scaling.type"); st && st->s == "linear") {
    c.ropeType = "linear";
    auto f = r.getFloat(*arch + ".rope.scaling.factor");
    if (!f)
      return f.takeError();
    c.ropeFactor = *f;
  } else if (st && st->s != "none") {
    return fileError(path, "rope scaling '{0}' is not supported", st->s);
  }
  if (const gguf::TensorInfo *ff = r.tensor("rope_freqs.weight")) {
    // Llama 3.x files: each inverse frequency divided by its factor.
    if (c.ropeType != "default")
      return fileError(path, "rope_freqs.weight together with '{0}' RoPE scaling is not supported",
                       c.ropeType);
    if (c.family != "llama")
      return fileError(path, "rope_freqs.weight is read for the llama architecture, not '{0}'", c.family);
    if (ff->type != ggml::Type::F32 || ff->ne.size() != 1 || ff->ne[0] != c.headDim / 2)
      return fileError(path, "tensor 'rope_freqs.weight' must be F32 with head_dim / 2 = {0} values",
                       c.headDim / 2);
    c.ropeType = "freq_factors";
    c.ropeFreqFactors.resize(c.headDim / 2);
    std::memcpy(c.ropeFreqFactors.data(), ff->data, c.ropeFreqFactors.size() * 4);
    for (float v : c.ropeFreqFactors)
      if (!(v > 0) || !std::isfinite(v))
        return fileError(path, "tensor 'rope_freqs.weight' holds {0}, expected positive finite factors", v);
  }
  const gguf::TensorInfo *emb = r.tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2)
    return fileError(path, "missing tensor 'token_embd.weight'");
  c.vocabSize = emb->ne[1];
  c.tieWordEmbeddings = r.tensor("output.weight") == nullptr;
  c.oBias = r.tensor("blk.0.attn_output.bias") != nullptr;
  if (c.family == "llama")
    c.qkvBias = r.tensor("blk.0.attn_q.bias") != nullptr;
  c.mlpBias = r.tensor("blk.0.ffn_down.bias") != nullptr;

  std::vector<TensorDecl> decls;
  for (auto &[hf, shape] : requiredTensors(c)) {
    std::string gname = ggml::ggufName(hf).value_or(hf);
    const gguf::TensorInfo *t = r.tensor(gname);
    if (!t)
      return fileError(path, "missing tensor '{0}'", gname);
    std::vector<int64_t> got(t->ne.rbegin(), t->ne.rend());
    if (got != shape)
      return fileError(path, "tensor '{0}' has {1} dimensions / wrong shape for the metadata", gname,
                       t->ne.size());
    const auto &tr = ggml::traits(t->type);
    // The format is recorded for every non-F32 tensor so the executor rounds
    // activations as ggml does for it (F16 and BF16 included).
    decls.push_back({hf, shape, tr.quantized ? "F32" : tr.name,
                     t->type == ggml::Type::F32 ? "" : tr.name});
  }
  auto tok = loadGGUFTokenizer(r);
  if (!tok)
    return tok.takeError();
  if ((*tok)->vocabSize() > c.vocabSize)
    return fileError(path, "tokenizer has {0} tokens but token_embd has {1} rows", (*tok)->vocabSize(),
                     c.vocabSize);
  s->context = std::make_unique<mlir::MLIRContext>();
  auto m = buildModule(*s->context, c, decls, path);
  if (!m)
    return m.takeError();
  s->module = std::move(*m);
  s->hf.config = c;
  s->hf.tokenizer = std::move(*tok);
  s->ggufReader = std::move(*rd);
  s->weights = std::make_unique<GGUFWeights>(*s->ggufReader, s->hf.config);
  return std::move(s);
}

} // namespace qcc
