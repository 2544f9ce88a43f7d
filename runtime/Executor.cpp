//===- Executor.cpp - float32 reference execution of a qcc module ---------===//
#include "runtime/Executor.h"
#include "dialects/qcc/QccDialect.h"
#include "frontends/Error.h"
#include "frontends/Safetensors.h"
#include "runtime/ggml/GGMLTypes.h"

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
  explicit CheckpointWeights(const Checkpoint &ck) : ck_(ck) {}
  Error load(StringRef name, ArrayRef<int64_t> shape, float *out) override {
    const TensorView *t = ck_.find(name);
    if (!t)
      return fileError(ck_.source(), "missing tensor '{0}'", name);
    if (ArrayRef<int64_t>(t->shape) != shape)
      return fileError(t->file, "tensor '{0}' does not have the shape the module declares", name);
    return toFloat32(*t, out);
  }

private:
  const Checkpoint &ck_;
};

/// Row-major C[M x N] = alpha * A[M x K] * op(B) + beta * C, op(B) = B^T if transB.
void gemm(bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
          const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0)
    return;
  dnnl_status_t st = dnnl_sgemm('N', transB ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success) {
    // Only reachable on a programming error (bad leading dimensions).
    fprintf(stderr, "qcc: internal error: dnnl_sgemm failed (%d)\n", int(st));
    std::abort();
  }
}

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

std::vector<float> ropeInvFreq(q::RoPEOp op) {
  int64_t hd = op.getHeadDim();
  float theta = float(op.getTheta().convertToDouble());
  std::vector<float> inv(hd / 2);
  for (int64_t i = 0; i < hd / 2; ++i)
    inv[i] = 1.0f / std::pow(theta, float(2 * i) / float(hd));
  DictionaryAttr s = op.getScalingAttr();
  if (!s)
    return inv;
  auto num = [&](StringRef k, double def) {
    if (auto f = s.getAs<FloatAttr>(k))
      return f.getValueAsDouble();
    if (auto i = s.getAs<IntegerAttr>(k))
      return double(i.getInt());
    return def;
  };
  StringRef type = s.getAs<StringAttr>("rope_type").getValue();
  double factor = num("factor", 1.0);
  if (type == "linear") {
    for (float &f : inv)
      f = float(f / factor);
  } else if (type == "llama3") {
    double lowF = num("low_freq_factor", 1.0), highF = num("high_freq_factor", 4.0);
    double oldCtx = num("original_max_position_embeddings", 8192);
    double lowWave = oldCtx / lowF, highWave = oldCtx / highF;
    for (float &f : inv) {
      double wave = 2 * M_PI / f;
      double scaled = wave > lowWave ? f / factor : f;
      if (!(wave < highWave) && !(wave > lowWave)) {
        double smooth = (oldCtx / wave - lowF) / (highF - lowF);
        scaled = (1 - smooth) * scaled / factor + smooth * scaled;
      }
      f = float(scaled);
    }
  }
  return inv;
}
} // namespace

std::unique_ptr<WeightSource> checkpointWeights(const Checkpoint &ck) {
  return std::make_unique<CheckpointWeights>(ck);
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
      for (int64_t t = 0; t < n; ++t) {
        int64_t id = tokens[t];
        if (id < 0 || id >= vocab)
          id = 0; // callers validate ids; never read out of bounds
        std::memcpy(out + t * s.dOut, s.w + id * s.dOut, s.dOut * sizeof(float));
      }
      break;
    case Step::RMSNorm:
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < n; ++t) {
        const float *r = x + t * s.dIn;
        double ss = 0;
        for (int64_t i = 0; i < s.dIn; ++i)
          ss += double(r[i]) * r[i];
        float inv = 1.0f / std::sqrt(float(ss / s.dIn) + s.eps);
        float *o = out + t * s.dIn;
        for (int64_t i = 0; i < s.dIn; ++i)
          o[i] = s.w[i] * (r[i] * inv);
      }
      break;
    case Step::Linear:
      gemm(true, n, s.dOut, s.dIn, 1.0f, x, s.dIn, s.w, s.dIn, 0.0f, out, s.dOut);
      if (s.bias)
#pragma omp parallel for schedule(static)
        for (int64_t t = 0; t < n; ++t)
          for (int64_t i = 0; i < s.dOut; ++i)
            out[t * s.dOut + i] += s.bias[i];
      break;
    case Step::RoPE: {
      int64_t half = s.headDim / 2;
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < n; ++t) {
        float pos = float(p0 + t);
        for (int64_t i = 0; i < half; ++i) {
          float ang = pos * s.invFreq[i];
          float c = std::cos(ang), sn = std::sin(ang);
          for (int64_t h = 0; h < s.heads; ++h) {
            const float *r = x + t * s.dIn + h * s.headDim;
            float *o = out + t * s.dIn + h * s.headDim;
            float a = r[i], b = r[i + half];
            o[i] = a * c - b * sn;
            o[i + half] = b * c + a * sn;
          }
        }
      }
      break;
    }
    case Step::Attention: {
      const int64_t hd = s.headDim, kvDim = s.kvHeads * hd, qDim = s.heads * hd;
      const int64_t group = s.heads / s.kvHeads, P = p0 + n;
      float *K = kCache[s.layer].data(), *V = vCache[s.layer].data();
      std::memcpy(K + p0 * kvDim, slots[s.in1].data(), n * kvDim * sizeof(float));
      std::memcpy(V + p0 * kvDim, slots[s.in2].data(), n * kvDim * sizeof(float));
      const float *Q = x;
      int64_t window = s.window;
#pragma omp parallel for schedule(dynamic, 1)
      for (int64_t h = 0; h < s.heads; ++h) {
        auto &S = scratch[omp_get_thread_num()];
        if (S.size() < size_t(n * P))
          S.resize(n * P);
        int64_t g = h / group;
        gemm(true, n, P, hd, s.scale, Q + h * hd, qDim, K + g * hd, kvDim, 0.0f, S.data(), P);
        for (int64_t t = 0; t < n; ++t) {
          float *row = S.data() + t * P;
          int64_t last = p0 + t; // inclusive
          int64_t first = window > 0 ? std::max<int64_t>(0, last - window + 1) : 0;
          float mx = -INFINITY;
          for (int64_t j = first; j <= last; ++j)
            mx = std::max(mx, row[j]);
          float sum = 0;
          for (int64_t j = first; j <= last; ++j) {
            row[j] = std::exp(row[j] - mx);
            sum += row[j];
          }
          float inv = 1.0f / sum;
          for (int64_t j = 0; j < P; ++j)
            row[j] = (j >= first && j <= last) ? row[j] * inv : 0.0f;
        }
        gemm(false, n, hd, P, 1.0f, S.data(), P, V + g * hd, kvDim, 0.0f, out + h * hd, qDim);
      }
      break;
    }
    case Step::SwiGLU: {
      const float *u = slots[s.in1].data();
      int64_t total = n * s.dOut;
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < total; ++i) {
        float g = x[i];
        out[i] = g / (1.0f + std::exp(-g)) * u[i];
      }
      break;
    }
    case Step::Add: {
      const float *y = slots[s.in1].data();
      int64_t total = n * s.dOut;
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < total; ++i)
        out[i] = x[i] + y[i];
      break;
    }
    case Step::LMHead:
      if (lastOnly)
        gemm(true, 1, s.dOut, s.dIn, 1.0f, x + (n - 1) * s.dIn, s.dIn, s.w, s.dIn, 0.0f, logits,
             s.dOut);
      else
        gemm(true, n, s.dOut, s.dIn, 1.0f, x, s.dIn, s.w, s.dIn, 0.0f, logits, s.dOut);
      break;
    }
  }
  cacheLen = p0 + n;
}

} // namespace qcc
