//===- Importer.cpp - Hugging Face checkpoint -> qcc dialect --------------===//
#include "compiler/Importer.h"
#include "dialects/qcc/QccDialect.h"
#include "frontends/Error.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/ADT/StringSet.h"

using namespace llvm;
using namespace mlir;
namespace q = ::mlir::qcc;

namespace qcc {

namespace {
/// The tensors an architecture needs, with their expected shapes.
std::vector<std::pair<std::string, std::vector<int64_t>>> expectedTensors(const ModelConfig &c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> t;
  int64_t H = c.hiddenSize, F = c.intermediateSize, q = c.numHeads * c.headDim,
          kv = c.numKVHeads * c.headDim;
  t.push_back({"model.embed_tokens.weight", {c.vocabSize, H}});
  for (int64_t i = 0; i < c.numLayers; ++i) {
    auto L = [&](StringRef s) { return LayerNames::layer(i, s); };
    t.push_back({L("input_layernorm.weight"), {H}});
    t.push_back({L("self_attn.q_proj.weight"), {q, H}});
    t.push_back({L("self_attn.k_proj.weight"), {kv, H}});
    t.push_back({L("self_attn.v_proj.weight"), {kv, H}});
    t.push_back({L("self_attn.o_proj.weight"), {H, q}});
    if (c.qkvBias) {
      t.push_back({L("self_attn.q_proj.bias"), {q}});
      t.push_back({L("self_attn.k_proj.bias"), {kv}});
      t.push_back({L("self_attn.v_proj.bias"), {kv}});
    }
    if (c.oBias)
      t.push_back({L("self_attn.o_proj.bias"), {H}});
    t.push_back({L("post_attention_layernorm.weight"), {H}});
    t.push_back({L("mlp.gate_proj.weight"), {F, H}});
    t.push_back({L("mlp.up_proj.weight"), {F, H}});
    t.push_back({L("mlp.down_proj.weight"), {H, F}});
    if (c.mlpBias) {
      t.push_back({L("mlp.gate_proj.bias"), {F}});
      t.push_back({L("mlp.up_proj.bias"), {F}});
      t.push_back({L("mlp.down_proj.bias"), {H}});
    }
  }
  t.push_back({"model.norm.weight", {H}});
  if (!c.tieWordEmbeddings)
    t.push_back({"lm_head.weight", {c.vocabSize, H}});
  return t;
}

std::string shapeStr(ArrayRef<int64_t> s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

Type elementType(MLIRContext &ctx, DType d) {
  Builder b(&ctx);
  switch (d) {
  case DType::F64: return b.getF64Type();
  case DType::F16: return b.getF16Type();
  case DType::BF16: return b.getBF16Type();
  default: return b.getF32Type();
  }
}
} // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> requiredTensors(const ModelConfig &c) {
  return expectedTensors(c);
}

Expected<HFModel> openHFModel(StringRef path) {
  HFModel m;
  auto ck = Checkpoint::open(path);
  if (!ck)
    return ck.takeError();
  m.checkpoint = std::move(*ck);
  SmallString<256> cfg(m.checkpoint->directory());
  sys::path::append(cfg, "config.json");
  m.configPath = cfg.str().str();
  if (!sys::fs::exists(cfg))
    return fileError(m.configPath, "missing: a Hugging Face config.json must sit beside the weights");
  auto c = parseHFConfig(m.configPath);
  if (!c)
    return c.takeError();
  m.config = std::move(*c);
  auto qc = readQuantizationConfig(m.configPath);
  if (!qc)
    return qc.takeError();
  m.quant = std::move(*qc);
  // Checkpoints that tie the head but still store lm_head.weight are fine; an
  // untied config without lm_head.weight is not.
  for (auto &[name, shape] : expectedTensors(m.config)) {
    const TensorView *t = m.checkpoint->find(name);
    if (auto prefix = quantizedLinearOf(*m.checkpoint, m.quant ? &*m.quant : nullptr, name,
                                        shape.size())) {
      if (auto e = checkQuantizedLinear(*m.checkpoint, *m.quant, *prefix, shape[0], shape[1]))
        return std::move(e);
      continue;
    }
    if (!t)
      return fileError(m.checkpoint->source(), "missing tensor '{0}' (expected shape {1} for {2})",
                       name, shapeStr(shape), m.config.architecture);
    if (!isFloatDType(t->dtype))
      return fileError(t->file, "tensor '{0}' has dtype {1}, expected F32, F16 or BF16", name,
                       dtypeName(t->dtype));
    if (t->shape != shape)
      return fileError(t->file, "tensor '{0}' has shape {1}, expected {2} from {3}", name,
                       shapeStr(t->shape), shapeStr(shape), sys::path::filename(m.configPath));
  }
  auto tok = loadTokenizer(m.checkpoint->directory(), m.config.bosTokenId,
                           m.config.eosTokenIds.empty() ? std::nullopt
                                                        : std::optional<int64_t>(m.config.eosTokenIds[0]));
  if (!tok)
    return tok.takeError();
  m.tokenizer = std::move(*tok);
  if (m.tokenizer->vocabSize() > m.config.vocabSize)
    return fileError(m.tokenizer->path(), "tokenizer has {0} tokens but {1} says vocab_size = {2}",
                     m.tokenizer->vocabSize(), sys::path::filename(m.configPath), m.config.vocabSize);
  return m;
}

void registerQccDialects(MLIRContext &ctx) {
  ctx.loadDialect<q::QccDialect, func::FuncDialect>();
}

Expected<OwningOpRef<ModuleOp>> importHFModel(MLIRContext &ctx, const HFModel &model) {
  std::vector<TensorDecl> decls;
  llvm::StringSet<> needed;
  for (auto &[name, shape] : expectedTensors(model.config))
    needed.insert(name);
  for (const std::string &name : model.checkpoint->names()) {
    if (!needed.count(name))
      continue;
    const TensorView *t = model.checkpoint->find(name);
    decls.push_back({name, t->shape, std::string(dtypeName(t->dtype)), ""});
  }
  // Linear layers stored quantized: their float values are what the format
  // encodes (the weight source dequantizes them), declared as F32.
  if (model.quant)
    for (auto &[name, shape] : expectedTensors(model.config))
      if (!model.checkpoint->find(name))
        decls.push_back({name, shape, "F32", ""});
  return buildModule(ctx, model.config, decls, model.checkpoint->source());
}

Expected<OwningOpRef<ModuleOp>> buildModule(MLIRContext &ctx, const ModelConfig &c,
                                            ArrayRef<TensorDecl> decls, StringRef source) {
  registerQccDialects(ctx);
  OpBuilder b(&ctx);
  Location loc = FileLineColLoc::get(&ctx, source, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc, StringRef("model"));
  module->getOperation()->setAttr("qcc.architecture", b.getStringAttr(c.architecture));
  module->getOperation()->setAttr("qcc.checkpoint", b.getStringAttr(source));
  module->getOperation()->setAttr("qcc.vocab_size", b.getI64IntegerAttr(c.vocabSize));
  module->getOperation()->setAttr("qcc.max_positions", b.getI64IntegerAttr(c.maxPositions));
  module->getOperation()->setAttr("qcc.num_layers", b.getI64IntegerAttr(c.numLayers));
  b.setInsertionPointToEnd(module->getBody());

  // Weights, in the order given.
  for (const TensorDecl &d : decls) {
    Type et = d.dtype == "F16" ? Type(b.getF16Type())
              : d.dtype == "BF16" ? Type(b.getBF16Type())
              : d.dtype == "F64" ? Type(b.getF64Type()) : Type(b.getF32Type());
    auto type = RankedTensorType::get(d.shape, et);
    q::QuantAttr quant = d.format.empty() ? q::QuantAttr() : q::quantAttrForFormat(&ctx, d.format);
    b.create<q::WeightOp>(loc, b.getStringAttr(d.name), TypeAttr::get(type), quant, ElementsAttr(),
                          ElementsAttr());
  }

  auto f32 = b.getF32Type();
  int64_t dyn = ShapedType::kDynamic;
  auto act = [&](int64_t d) { return RankedTensorType::get({dyn, d}, f32); };
  auto ids = RankedTensorType::get({dyn}, b.getI32Type());
  auto fn = b.create<func::FuncOp>(loc, "forward",
                                   b.getFunctionType({ids, ids}, {act(c.vocabSize)}));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value tokens = entry->getArgument(0), positions = entry->getArgument(1);
  auto sym = [&](const std::string &n) { return FlatSymbolRefAttr::get(&ctx, n); };
  auto optSym = [&](bool has, const std::string &n) { return has ? sym(n) : FlatSymbolRefAttr(); };
  int64_t H = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKVHeads * c.headDim;
  auto eps = b.getF64FloatAttr(c.rmsNormEps);
  DictionaryAttr scaling;
  if (c.ropeType == "freq_factors") {
    scaling = b.getDictionaryAttr({b.getNamedAttr("rope_type", b.getStringAttr(c.ropeType)),
                                   b.getNamedAttr("factors", b.getDenseF32ArrayAttr(c.ropeFreqFactors))});
  } else if (c.ropeType != "default") {
    SmallVector<NamedAttribute> s{b.getNamedAttr("rope_type", b.getStringAttr(c.ropeType)),
                                  b.getNamedAttr("factor", b.getF64FloatAttr(c.ropeFactor))};
    if (c.ropeType == "llama3") {
      s.push_back(b.getNamedAttr("low_freq_factor", b.getF64FloatAttr(c.ropeLowFreqFactor)));
      s.push_back(b.getNamedAttr("high_freq_factor", b.getF64FloatAttr(c.ropeHighFreqFactor)));
      s.push_back(b.getNamedAttr("original_max_position_embeddings",
                                 b.getI64IntegerAttr(c.ropeOriginalMaxPositions)));
    }
    scaling = b.getDictionaryAttr(s);
  }

  Value x = b.create<q::EmbedOp>(loc, act(H), tokens, sym("model.embed_tokens.weight"));
  for (int64_t i = 0; i < c.numLayers; ++i) {
    auto L = [&](StringRef s) { return LayerNames::layer(i, s); };
    auto linear = [&](Value in, int64_t out, StringRef proj, bool bias) -> Value {
      return b.create<q::LinearOp>(loc, act(out), in, sym(L((proj + ".weight").str())),
                                     optSym(bias, L((proj + ".bias").str())));
    };
    Value h = b.create<q::RMSNormOp>(loc, act(H), x, sym(L("input_layernorm.weight")), eps);
    Value qv = linear(h, q, "self_attn.q_proj", c.qkvBias);
    Value kvv = linear(h, kv, "self_attn.k_proj", c.qkvBias);
    Value vv = linear(h, kv, "self_attn.v_proj", c.qkvBias);
    auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
    auto theta = b.getF64FloatAttr(c.ropeTheta);
    qv = b.create<q::RoPEOp>(loc, act(q), qv, positions, i64(c.numHeads), i64(c.headDim), theta,
                             scaling);
    kvv = b.create<q::RoPEOp>(loc, act(kv), kvv, positions, i64(c.numKVHeads), i64(c.headDim),
                              theta, scaling);
    Value a = b.create<q::AttentionOp>(
        loc, act(q), qv, kvv, vv, positions, i64(i), i64(c.numHeads), i64(c.numKVHeads),
        i64(c.headDim), b.getF64FloatAttr(1.0 / std::sqrt(double(c.headDim))), i64(c.slidingWindow));
    Value o = linear(a, H, "self_attn.o_proj", c.oBias);
    x = b.create<q::AddOp>(loc, x, o);
    h = b.create<q::RMSNormOp>(loc, act(H), x, sym(L("post_attention_layernorm.weight")), eps);
    Value g = linear(h, c.intermediateSize, "mlp.gate_proj", c.mlpBias);
    Value u = linear(h, c.intermediateSize, "mlp.up_proj", c.mlpBias);
    Value s = b.create<q::SwiGLUOp>(loc, g, u);
    Value d = linear(s, H, "mlp.down_proj", c.mlpBias);
    x = b.create<q::AddOp>(loc, x, d);
  }
  x = b.create<q::RMSNormOp>(loc, act(H), x, sym("model.norm.weight"), eps);
  bool tied = c.tieWordEmbeddings;
  Value logits = b.create<q::LMHeadOp>(loc, act(c.vocabSize), x,
                                         sym(tied ? "model.embed_tokens.weight" : "lm_head.weight"),
                                         tied ? b.getUnitAttr() : UnitAttr());
  b.create<func::ReturnOp>(loc, logits);
  if (failed(verify(*module)))
    return fileError(source, "imported module failed verification");
  return std::move(module);
}

} // namespace qcc
