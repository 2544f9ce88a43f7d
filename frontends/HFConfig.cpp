//===- HFConfig.cpp - Hugging Face config.json ----------------------------===//
#include "frontends/HFConfig.h"
#include "frontends/JSONFile.h"
#include "frontends/Error.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace llvm;

namespace qcc {

namespace {
struct Reader {
  const std::string &path;
  const json::Object &obj;
  Error err = Error::success();

  ~Reader() { consumeError(std::move(err)); }

  void fail(Error e) {
    if (!err)
      err = std::move(e);
    else
      consumeError(std::move(e));
  }
  int64_t integer(StringRef key, std::optional<int64_t> def = std::nullopt,
                  const json::Object *o = nullptr) {
    const json::Object &src = o ? *o : obj;
    const json::Value *v = src.get(key);
    if (!v || v->kind() == json::Value::Null) {
      if (def)
        return *def;
      fail(fileError(path, "missing required key \"{0}\"", key));
      return 0;
    }
    auto i = v->getAsInteger();
    if (!i) {
      fail(fileError(path, "key \"{0}\" must be an integer", key));
      return 0;
    }
    return *i;
  }
  double number(StringRef key, std::optional<double> def, const json::Object *o = nullptr) {
    const json::Object &src = o ? *o : obj;
    const json::Value *v = src.get(key);
    if (!v || v->kind() == json::Value::Null) {
      if (def)
        return *def;
      fail(fileError(path, "missing required key \"{0}\"", key));
      return 0;
    }
    auto d = v->getAsNumber();
    if (!d) {
      fail(fileError(path, "key \"{0}\" must be a number", key));
      return 0;
    }
    return *d;
  }
  bool boolean(StringRef key, bool def) {
    const json::Value *v = obj.get(key);
    if (!v || v->kind() == json::Value::Null)
      return def;
    auto b = v->getAsBoolean();
    if (!b) {
      fail(fileError(path, "key \"{0}\" must be true or false", key));
      return def;
    }
    return *b;
  }
};
} // namespace

Expected<ModelConfig> parseHFConfig(const std::string &path) {
  auto json = readJSONFile(path, "config");
  if (!json)
    return json.takeError();
  const json::Object *obj = json->getAsObject();
  if (!obj)
    return fileError(path, "expected a JSON object");

  ModelConfig c;
  const json::Array *archs = obj->getArray("architectures");
  if (archs && !archs->empty() && (*archs)[0].getAsString())
    c.architecture = (*archs)[0].getAsString()->str();
  std::string modelType = obj->getString("model_type").value_or("").str();
  if (c.architecture == "LlamaForCausalLM" || (c.architecture.empty() && modelType == "llama"))
    c.family = "llama";
  else if (c.architecture == "MistralForCausalLM" || (c.architecture.empty() && modelType == "mistral"))
    c.family = "mistral";
  else if (c.architecture == "Qwen2ForCausalLM" || (c.architecture.empty() && modelType == "qwen2"))
    c.family = "qwen2";
  else
    return fileError(path, "unknown architecture '{0}' (model_type '{1}'), expected LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM",
                     c.architecture, modelType);
  if (c.architecture.empty())
    c.architecture = c.family == "llama" ? "LlamaForCausalLM"
                     : c.family == "mistral" ? "MistralForCausalLM" : "Qwen2ForCausalLM";

  Reader r{path, *obj};
  c.hiddenSize = r.integer("hidden_size");
  c.intermediateSize = r.integer("intermediate_size");
  c.numLayers = r.integer("num_hidden_layers");
  c.numHeads = r.integer("num_attention_heads");
  c.vocabSize = r.integer("vocab_size");
  c.numKVHeads = r.integer("num_key_value_heads", c.numHeads);
  c.headDim = r.integer("head_dim", c.numHeads > 0 ? c.hiddenSize / c.numHeads : 0);
  c.maxPositions = r.integer("max_position_embeddings", 2048);
  c.rmsNormEps = r.number("rms_norm_eps", 1e-6);
  c.tieWordEmbeddings = r.boolean("tie_word_embeddings", false);
  if (c.family == "llama") {
    c.qkvBias = c.oBias = r.boolean("attention_bias", false);
    c.mlpBias = r.boolean("mlp_bias", false);
  } else if (c.family == "qwen2") {
    c.qkvBias = true;
  }
  if (c.family != "llama") {
    bool useSW = c.family == "mistral" || r.boolean("use_sliding_window", false);
    if (useSW)
      c.slidingWindow = r.integer("sliding_window", 0);
  }
  std::string act = obj->getString("hidden_act").value_or("silu").str();
  if (act != "silu")
    return fileError(path, "hidden_act '{0}' is not supported, expected \"silu\"", act);

  // RoPE: transformers 5 writes rope_parameters {rope_theta, rope_type, ...};
  // transformers 4 writes rope_theta at the top level and rope_scaling.
  const json::Object *rp = obj->getObject("rope_parameters");
  const json::Object *rs = obj->getObject("rope_scaling");
  const json::Object *params = rp ? rp : rs;
  if (rp && rp->get("rope_theta"))
    c.ropeTheta = r.number("rope_theta", 10000.0, rp);
  else
    c.ropeTheta = r.number("rope_theta", 10000.0);
  if (params) {
    auto type = params->getString("rope_type");
    if (!type)
      type = params->getString("type");
    c.ropeType = type.value_or("default").str();
    if (c.ropeType != "default" && c.ropeType != "linear" && c.ropeType != "llama3")
      return fileError(path, "rope_type '{0}' is not supported, expected default, linear or llama3", c.ropeType);
    if (c.ropeType != "default")
      c.ropeFactor = r.number("factor", std::nullopt, params);
    if (c.ropeType == "llama3") {
      c.ropeLowFreqFactor = r.number("low_freq_factor", 1.0, params);
      c.ropeHighFreqFactor = r.number("high_freq_factor", 4.0, params);
      c.ropeOriginalMaxPositions = r.integer("original_max_position_embeddings", 8192, params);
    }
  }
  if (auto *v = obj->get("bos_token_id"); v && v->getAsInteger())
    c.bosTokenId = *v->getAsInteger();
  if (auto *v = obj->get("eos_token_id")) {
    if (auto i = v->getAsInteger())
      c.eosTokenIds.push_back(*i);
    else if (auto *a = v->getAsArray())
      for (auto &e : *a)
        if (auto i = e.getAsInteger())
          c.eosTokenIds.push_back(*i);
  }
  if (r.err)
    return std::move(r.err);

  auto positive = [&](int64_t v, const char *key) -> Error {
    if (v <= 0)
      return fileError(path, "\"{0}\" must be positive, got {1}", key, v);
    return Error::success();
  };
  for (auto [v, key] : {std::pair{c.hiddenSize, "hidden_size"},
                        {c.intermediateSize, "intermediate_size"},
                        {c.numLayers, "num_hidden_layers"},
                        {c.numHeads, "num_attention_heads"},
                        {c.numKVHeads, "num_key_value_heads"},
                        {c.headDim, "head_dim"},
                        {c.vocabSize, "vocab_size"}})
    if (auto e = positive(v, key))
      return std::move(e);
  if (c.numHeads % c.numKVHeads != 0)
    return fileError(path, "num_attention_heads ({0}) must be a multiple of num_key_value_heads ({1})",
                     c.numHeads, c.numKVHeads);
  if (c.headDim % 2 != 0)
    return fileError(path, "head_dim ({0}) must be even for RoPE", c.headDim);
  if (!(c.rmsNormEps > 0))
    return fileError(path, "rms_norm_eps must be positive");
  return c;
}

} // namespace qcc
