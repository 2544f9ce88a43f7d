//===- Executor.cpp - float32 reference execution of a qcc module ---------===//
#include "runtime/Executor.h"

#include "frontends/QuantizedCheckpoint.h"
#include "dialects/qcc/QccDialect.h"
#include "frontends/Error.h"
#include "frontends/Safetensors.h"
#include "formats/ggml/GGMLTypes.h"
#include "runtime/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <dnnl.h>
#include <omp.h>

#include <cmath>
#include <optional>
#include <cstring>

using namespace llvm;
using namespace mlir;
namespace q = ::mlir::qcc;

namespace qcc {

namespace {
class CheckpointWeights final : public WeightSource {
public:
  CheckpointWeights(const Checkpoint &ck, const QuantizationConfig *quant)
      : ck_(ck), quant_(quant) {}
  Error load(StringRef name, ArrayRef<int64_t> shape, float *out) override {
    if (auto prefix = quantizedLinearOf(ck_, quant_, name, shape.size())) {
      auto g = readQuantizedLinear(ck_, *quant_, *prefix, shape[0], shape[1]);
      if (!g)
        return g.takeError();
      g->dequantize(out);
      return Error::success();
    }
    const TensorView *t = ck_.find(name);
    if (!t)
      return fileError(ck_.source(), "missing tensor '{0}'", name);
    if (ArrayRef<int64_t>(t->shape) != shape)
      return fileError(t->file, "tensor '{0}' does not have the shape the module declares", name);
    return toFloat32(*t, out);
  }

private:
  const Checkpoint &ck_;
  const QuantizationConfig *quant_;
};

struct Step {
  enum Kind { Embed, RMSNorm, Linear, RoPE, Attention, SwiGLU, Add, LMHead } kind;
  /// For Linear / LMHead on a weight stored in a ggml format: round the
  /// activations as ggml's CPU backend does for that format.
  std::optional<ggml::Type> actRound;
  int in0 = -1, in1 = -1, in2 = -1, out = -1;
  int64_t dIn = 0, dOut = 0;
  const float *w = nullptr, *bias = nullptr;
  float eps = 0;
  int64_t heads = 0, kvHeads = 0, headDim = 0, layer = 0, window = 0;
  float scale = 1;
  std::vector<float> invFreq;
};

} // namespace

std::vector<float> ropeInvFreq(Operation *ropeOp) {
  auto op = cast<q::RoPEOp>(ropeOp);
  kernels::RopeScaling sc;
  std::string type;
  if (DictionaryAttr s = op.getScalingAttr()) {
    auto num = [&](StringRef k, double def) {
      if (auto f = s.getAs<FloatAttr>(k))
        return f.getValueAsDouble();
      if (auto i = s.getAs<IntegerAttr>(k))
        return double(i.getInt());
      return def;
    };
    type = s.getAs<StringAttr>("rope_type").getValue().str();
    sc.type = type.c_str();
    sc.factor = num("factor", 1.0);
    sc.lowFreqFactor = num("low_freq_factor", 1.0);
    sc.highFreqFactor = num("high_freq_factor", 4.0);
    sc.originalMaxPositions = num("original_max_position_embeddings", 8192);
    if (auto f = s.getAs<DenseF32ArrayAttr>("factors"))
      sc.freqFactors = f.asArrayRef().data();
  }
  return kernels::ropeInvFreq(op.getHeadDim(), op.getTheta().convertToDouble(), sc);
}

namespace {
} // namespace

std::unique_ptr<WeightSource> checkpointWeights(const Checkpoint &ck,
                                                const QuantizationConfig *quant) {
  return std::make_unique<CheckpointWeights>(ck, quant);
}

struct Executor::Impl {
  std::vector<Step> steps;
  StringMap<std::vector<float>> weights;
  int numSlots = 0;
  std::vector<std::vector<float>> slots;
  std::vector<std::vector<float>> kCache, vCache; // per layer: maxCtx x kvDim
  int64_t maxCtx = 0, cacheLen = 0, vocab = 0, numLayers = 0;
  std::vector<std::vector<float>> scratch; // per thread attention scores
  std::vector<float> actScratch;           // rounded activations

  void run(ArrayRef<int32_t> tokens, float *logits, bool lastOnly);
};

Executor::Executor() : impl_(std::make_unique<Impl>()) {}
Executor::~Executor() = default;
int64_t Executor::cacheLength() const { return impl_->cacheLen; }
int64_t Executor::maxContext() const { return impl_->maxCtx; }
int64_t Executor::vocabSize() const { return impl_->vocab; }
void Executor::reset() { impl_->cacheLen = 0; }

Expected<std::unique_ptr<Executor>> Executor::create(ModuleOp module, WeightSource &ws,
                                                     int64_t maxContext) {
  std::unique_ptr<Executor> ex(new Executor());
  Impl &im = *ex->impl_;
  im.maxCtx = maxContext;
  std::string where = "module";
  if (auto ck = module->getAttrOfType<StringAttr>("qcc.checkpoint"))
    where = ck.getValue().str();
  auto fn = module.lookupSymbol<func::FuncOp>("forward");
  if (!fn || fn.getNumArguments() != 2 || fn.getBody().getBlocks().size() != 1)
    return fileError(where, "expected func.func @forward(%tokens, %positions) with one block");
  SymbolTable symbols(module);

  // Load (and upcast) every referenced weight once.
  auto weight = [&](FlatSymbolRefAttr ref) -> Expected<const float *> {
    if (!ref)
      return nullptr;
    auto it = im.weights.find(ref.getValue());
    if (it != im.weights.end())
      return it->second.data();
    auto w = symbols.lookup<q::WeightOp>(ref.getValue());
    if (!w)
      return fileError(where, "unknown weight @{0}", ref.getValue());
    auto shape = w.getTensorType().getShape();
    std::vector<float> data(w.getTensorType().getNumElements());
    if (auto e = ws.load(ref.getValue(), shape, data.data()))
      return std::move(e);
    auto &slot = im.weights[ref.getValue()];
    slot = std::move(data);
    return slot.data();
  };

  // Value -> slot, reusing slots whose value is dead.
  Block &body = fn.getBody().front();
  llvm::DenseMap<Value, int> slotOf;
  llvm::DenseMap<Value, Operation *> lastUse;
  for (Operation &op : body)
    for (Value v : op.getOperands())
      lastUse[v] = &op;
  std::vector<int> freeSlots;
  auto alloc = [&](Value v) {
    int s;
    if (!freeSlots.empty()) {
      s = freeSlots.back();
      freeSlots.pop_back();
    } else {
      s = im.numSlots++;
    }
    slotOf[v] = s;
    return s;
  };
  auto dim = [](Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); };
  auto actRoundOf = [&](FlatSymbolRefAttr ref) -> std::optional<ggml::Type> {
    auto w = symbols.lookup<q::WeightOp>(ref.getValue());
    if (!w || !w.getQuantAttr())
      return std::nullopt;
    auto t = ggml::typeFromName(w.getQuantAttr().getFormat());
    if (!t || *t == ggml::Type::F32)
      return std::nullopt;
    return t;
  };
  Value tokensArg = body.getArgument(0), positionsArg = body.getArgument(1);

  for (Operation &op : body) {
    Step st;
    auto in = [&](Value v) -> int {
      auto it = slotOf.find(v);
      return it == slotOf.end() ? -1 : it->second;
    };
    Expected<const float *> w = nullptr, b = nullptr;
    if (auto e = dyn_cast<q::EmbedOp>(op)) {
      if (e.getTokens() != tokensArg)
        return fileError(where, "qcc.embed must read the @forward token argument");
      st.kind = Step::Embed;
      st.dOut = dim(e.getResult());
      w = weight(e.getWeightAttr());
    } else if (auto n = dyn_cast<q::RMSNormOp>(op)) {
      st.kind = Step::RMSNorm;
      st.in0 = in(n.getInput());
      st.dIn = st.dOut = dim(n.getInput());
      st.eps = float(n.getEpsilon().convertToDouble());
      w = weight(n.getWeightAttr());
    } else if (auto l = dyn_cast<q::LinearOp>(op)) {
      st.kind = Step::Linear;
      st.in0 = in(l.getInput());
      st.dIn = dim(l.getInput());
      st.dOut = dim(l.getResult());
      w = weight(l.getWeightAttr());
      b = weight(l.getBiasAttr());
      st.actRound = actRoundOf(l.getWeightAttr());
    } else if (auto r = dyn_cast<q::RoPEOp>(op)) {
      if (r.getPositions() != positionsArg)
        return fileError(where, "qcc.rope must read the @forward positions argument");
      st.kind = Step::RoPE;
      st.in0 = in(r.getInput());
      st.dIn = st.dOut = dim(r.getInput());
      st.heads = r.getNumHeads();
      st.headDim = r.getHeadDim();
      st.invFreq = ropeInvFreq(r);
    } else if (auto a = dyn_cast<q::AttentionOp>(op)) {
      if (a.getPositions() != positionsArg)
        return fileError(where, "qcc.attention must read the @forward positions argument");
      st.kind = Step::Attention;
      st.in0 = in(a.getQ());
      st.in1 = in(a.getK());
      st.in2 = in(a.getV());
      st.heads = a.getNumHeads();
      st.kvHeads = a.getNumKvHeads();
      st.headDim = a.getHeadDim();
      st.layer = a.getLayer();
      st.scale = float(a.getScale().convertToDouble());
      st.window = a.getSlidingWindow();
      st.dOut = dim(a.getResult());
      im.numLayers = std::max(im.numLayers, st.layer + 1);
    } else if (auto s = dyn_cast<q::SwiGLUOp>(op)) {
      st.kind = Step::SwiGLU;
      st.in0 = in(s.getGate());
      st.in1 = in(s.getUp());
      st.dOut = dim(s.getResult());
    } else if (auto ad = dyn_cast<q::AddOp>(op)) {
      st.kind = Step::Add;
      st.in0 = in(ad.getLhs());
      st.in1 = in(ad.getRhs());
      st.dOut = dim(ad.getResult());
    } else if (auto h = dyn_cast<q::LMHeadOp>(op)) {
      st.kind = Step::LMHead;
      st.in0 = in(h.getInput());
      st.dIn = dim(h.getInput());
      st.dOut = im.vocab = dim(h.getResult());
      w = weight(h.getWeightAttr());
      st.actRound = actRoundOf(h.getWeightAttr());
    } else if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      if (ret.getNumOperands() != 1 || !ret.getOperand(0).getDefiningOp<q::LMHeadOp>())
        return fileError(where, "@forward must return the result of qcc.lm_head");
      continue;
    } else {
      return fileError(where, "the reference executor does not know op '{0}'",
                       op.getName().getStringRef());
    }
    if (!w)
      return w.takeError();
    if (!b)
      return b.takeError();
    st.w = *w;
    st.bias = *b;
    if (st.kind != Step::LMHead)
      st.out = alloc(op.getResult(0));
    for (Value v : op.getOperands())
      if (lastUse[v] == &op && slotOf.count(v))
        freeSlots.push_back(slotOf[v]);
    im.steps.push_back(std::move(st));
  }
  if (im.vocab == 0)
    return fileError(where, "@forward has no qcc.lm_head");
  im.slots.resize(im.numSlots);
  im.kCache.resize(im.numLayers);
  im.vCache.resize(im.numLayers);
  for (auto &s : im.steps)
    if (s.kind == Step::Attention) {
      im.kCache[s.layer].assign(maxContext * s.kvHeads * s.headDim, 0.0f);
      im.vCache[s.layer].assign(maxContext * s.kvHeads * s.headDim, 0.0f);
    }
  im.scratch.resize(omp_get_max_threads());
  return std::move(ex);
}

void Executor::forward(ArrayRef<int32_t> tokens, float *logits, bool lastOnly) {
  impl_->run(tokens, logits, lastOnly);
}

void Executor::Impl::run(ArrayRef<int32_t> tokens, float *logits, bool lastOnly) {
  const int64_t n = tokens.size();
  const int64_t p0 = cacheLen;
  if (n == 0)
    return;
  if (p0 + n > maxCtx) {
    fprintf(stderr, "qcc: internal error: %lld tokens exceed the KV cache of %lld\n",
            (long long)(p0 + n), (long long)maxCtx);
    std::abort();
  }
  for (auto &s : steps) {
    float *out = s.out >= 0 ? nullptr : nullptr;
    if (s.out >= 0) {
      auto &buf = slots[s.out];
      if (buf.size() < size_t(n * s.dOut))
        buf.resize(n * s.dOut);
      out = buf.data();
    }
    const float *x = s.in0 >= 0 ? slots[s.in0].data() : nullptr;
    if (s.actRound && (s.kind == Step::Linear || s.kind == Step::LMHead)) {
      // the rows the product will read, rounded as ggml rounds them
      int64_t r0 = (s.kind == Step::LMHead && lastOnly) ? n - 1 : 0;
      if (actScratch.size() < size_t(n * s.dIn))
        actScratch.resize(n * s.dIn);
      const ggml::Type t = *s.actRound;
#pragma omp parallel for schedule(static)
      for (int64_t r = r0; r < n; ++r)
        ggml::roundActivations(t, x + r * s.dIn, actScratch.data() + r * s.dIn, s.dIn);
      x = actScratch.data();
    }
    switch (s.kind) {
    case Step::Embed:
      kernels::embed(tokens.data(), n, s.w, vocab, s.dOut, out);
      break;
    case Step::RMSNorm:
      kernels::rmsNorm(x, s.w, out, n, s.dIn, s.eps);
      break;
    case Step::Linear:
      kernels::linear(x, s.w, s.bias, out, n, s.dIn, s.dOut);
      break;
    case Step::RoPE:
      kernels::rope(x, out, n, p0, s.heads, s.headDim, s.invFreq.data());
      break;
    case Step::Attention: {
      const int64_t kvDim = s.kvHeads * s.headDim;
      float *K = kCache[s.layer].data(), *V = vCache[s.layer].data();
      std::memcpy(K + p0 * kvDim, slots[s.in1].data(), n * kvDim * sizeof(float));
      std::memcpy(V + p0 * kvDim, slots[s.in2].data(), n * kvDim * sizeof(float));
      kernels::attention(x, K, V, out, n, p0, s.heads, s.kvHeads, s.headDim, s.scale, s.window,
                         scratch);
      break;
    }
    case Step::SwiGLU:
      kernels::swiglu(x, slots[s.in1].data(), out, n * s.dOut);
      break;
    case Step::Add:
      kernels::add(x, slots[s.in1].data(), out, n * s.dOut);
      break;
    case Step::LMHead:
      if (lastOnly)
        kernels::linear(x + (n - 1) * s.dIn, s.w, nullptr, logits, 1, s.dIn, s.dOut);
      else
        kernels::linear(x, s.w, nullptr, logits, n, s.dIn, s.dOut);
      break;
    }
  }
  cacheLen = p0 + n;
}

} // namespace qcc
