//===- Calibrate.cpp - calibrated quantization: GPTQ, AWQ, importance -----===//
//
// The driver runs @forward one op at a time over every calibration window.
// When it reaches a linear layer whose weight is still unquantized, it
// gathers every quantizable linear reading the same value (q/k/v, gate/up),
// reduces that value to statistics (X^T X, mean |x|, per-channel energy),
// applies the method and packs the weights; the layers' outputs are then
// computed with the *rounded* weights, so every later layer is calibrated on
// the inputs the quantized model will really produce. Layers in a ggml block
// format compute them as the compiled model (and llama.cpp) does: activations
// quantized to the format's Q8 partner, integer dot products
// (kernels::QuantLinear); the others in float.
//
// AWQ scales are folded into the op that produces the layers' input, found by
// pattern: an RMSNorm (its weight), or, looking ahead before the producer is
// rounded, the v_proj rows feeding attention (scales tied across the query
// heads of one KV head) and the up_proj rows feeding SwiGLU. A fold divides
// the producer and multiplies the consumer's columns by the same scale, so the
// float model is unchanged.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "quant/AWQ.h"
#include "quant/GPTQ.h"
#include "quant/Gram.h"
#include "quant/Grids.h"
#include "quant/RTN.h"
#include "runtime/Executor.h"
#include "runtime/Kernels.h"
#include "runtime/Progress.h"
#include "runtime/WeightStore.h"
#include "runtime/kernels/QuantLinear.h"
#include "formats/ggml/GGMLTypes.h"
#include "quant/Mixture.h"
#include "formats/ggml/TensorNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <chrono>
#include <map>
#include <omp.h>
#include <cmath>
#include <cstdlib>
#include <functional>

namespace mlir::qcc {
#define GEN_PASS_DEF_CALIBRATE
#include "Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
using namespace mlir::qcc;
namespace gg = ::qcc::ggml;
namespace kq = ::qcc::quant;
namespace kn = ::qcc::kernels;

namespace {

/// Seconds spent per phase, printed when QCC_CALIB_TIMING is set.
struct PhaseTimer {
  static double &slot(int i) {
    static double t[8] = {};
    return t[i];
  }
  int i;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  explicit PhaseTimer(int i) : i(i) {}
  ~PhaseTimer() {
    slot(i) += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};
enum Phase { kEval, kStats, kAWQ, kGPTQ, kRound, kError, kLookahead };

enum class Method { RTN, GPTQ, AWQ, AWQGPTQ };

std::optional<Method> parseMethod(StringRef m) {
  if (m == "rtn")
    return Method::RTN;
  if (m == "gptq")
    return Method::GPTQ;
  if (m == "awq")
    return Method::AWQ;
  if (m == "awq+gptq" || m == "awq-gptq")
    return Method::AWQGPTQ;
  return std::nullopt;
}

/// How a weight is stored: a ggml block format or qcc's generic RTN layout.
struct Grid {
  std::optional<gg::Type> type;
  std::optional<::qcc::rtn::Params> rtn;

  static std::optional<Grid> of(QuantAttr q, int64_t n) {
    if (!q)
      return std::nullopt;
    Grid g;
    if (q.getFormat().empty() || q.getFormat() == "int") {
      g.rtn = rtnParams(q);
      if (!g.rtn || (q.getGroup() > 0 && n % q.getGroup() != 0))
        return std::nullopt;
      return g;
    }
    auto t = gg::typeFromName(q.getFormat());
    if (!t || !gg::traits(*t).quantized || n % gg::traits(*t).blockSize != 0)
      return std::nullopt;
    g.type = t;
    return g;
  }
  size_t rowBytes(int64_t n) const {
    return rtn ? ::qcc::rtn::rowBytes(*rtn, n) : gg::rowBytes(*type, n);
  }
  /// The search, weighted by `imp`, into packed bytes.
  std::vector<uint8_t> quantize(const float *W, int64_t rows, int64_t n, const float *imp) const {
    std::vector<uint8_t> out(rowBytes(n) * rows);
    if (rtn)
      ::qcc::rtn::quantizeRows(*rtn, W, out.data(), rows, n, imp);
    else
      gg::quantizeRows(*type, W, out.data(), rows, n, imp);
    return out;
  }
  void dequantize(const uint8_t *bytes, int64_t rows, int64_t n, float *out) const {
    const size_t rb = rowBytes(n);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      if (rtn)
        ::qcc::rtn::dequantizeRow(*rtn, bytes + r * rb, out + r * n, n);
      else
        gg::dequantizeRow(*type, bytes + r * rb, out + r * n, n);
    }
  }
  /// AWQ's fast stand-in while searching scales: min-max / max-abs rounding at
  /// the format's bits and (sub-)block size.
  void proxyRound(const float *W, int64_t rows, int64_t n, const float *, float *out) const {
    ::qcc::rtn::Params p = rtn ? *rtn : ::qcc::rtn::Params{};
    if (!rtn) {
      const gg::TypeTraits &tr = gg::traits(*type);
      p = {unsigned(tr.bits), tr.group, tr.symmetric};
    }
    std::vector<uint8_t> bytes(::qcc::rtn::rowBytes(p, n) * rows);
    ::qcc::rtn::quantizeRows(p, W, bytes.data(), rows, n, nullptr, /*minmax=*/true);
    const size_t rb = ::qcc::rtn::rowBytes(p, n);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      ::qcc::rtn::dequantizeRow(p, bytes.data() + r * rb, out + r * n, n);
  }
};

/// Statistics of one value over every calibration token.
struct Stats {
  int64_t n = 0;
  std::vector<float> H;       ///< X^T X [n x n] (empty when not needed)
  std::vector<float> meanAbs; ///< mean |x_j|
  std::vector<float> energy;  ///< sum x_j^2 (the diagonal of H)
};

// Determinism: the sums below run over a fixed partition of the tokens
// (kChunk rows, the Gram matrix's own chunks), and the partial results are
// added in chunk order, so the statistics do not depend on the number of
// threads.
constexpr int64_t kChunk = kq::kGramChunk;

Stats statistics(const float *X, int64_t T, int64_t n, bool gram) {
  PhaseTimer timer(kStats);
  Stats s;
  s.n = n;
  const int64_t chunks = (T + kChunk - 1) / kChunk;
  std::vector<double> ma(chunks * n, 0), en(chunks * n, 0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t t = c * kChunk; t < std::min(T, (c + 1) * kChunk); ++t)
      for (int64_t j = 0; j < n; ++j) {
        double v = X[t * n + j];
        ma[c * n + j] += std::fabs(v);
        en[c * n + j] += v * v;
      }
  s.meanAbs.assign(n, 0);
  s.energy.assign(n, 0);
  for (int64_t j = 0; j < n; ++j) {
    double a = 0, e = 0;
    for (int64_t c = 0; c < chunks; ++c)
      a += ma[c * n + j], e += en[c * n + j];
    s.meanAbs[j] = float(a / double(std::max<int64_t>(T, 1)));
    s.energy[j] = float(e);
  }
  if (gram) {
    s.H.resize(n * n);
    kq::gram(X, T, n, s.H.data());
  }
  return s;
}

/// Divides input channel j of the statistics (and the value itself) by s_j.
void rescale(Stats &st, std::vector<float> &X, int64_t T, const std::vector<float> &s) {
  const int64_t n = st.n;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < n; ++j)
      X[t * n + j] /= s[j];
  for (int64_t j = 0; j < n; ++j) {
    st.meanAbs[j] /= s[j];
    st.energy[j] /= s[j] * s[j];
  }
  if (!st.H.empty())
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        st.H[i * n + j] /= s[i] * s[j];
}

int64_t dimOf(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); }

struct Driver {
  ModuleOp module;
  SymbolTable symbols;
  ::qcc::WeightStore *store;
  const std::vector<std::vector<int32_t>> &windows;
  Method method;
  kq::GPTQOptions gptqOpts;
  int awqGrid;
  bool progressOn;
  bool foldOnly = false;
  bool measure = false;

  int64_t N = 0, L = 0, T = 0;
  std::vector<Operation *> ops;
  llvm::DenseMap<Value, std::vector<float>> bufs;
  /// Freed activation buffers, reused so that each op's result does not
  /// fault in hundreds of fresh megabytes.
  std::vector<std::vector<float>> spare;
  llvm::StringMap<std::vector<float>> eff; ///< current float (or rounded) weights in use
  /// Rounded ggml weights whose products run as the compiled model runs them
  /// (activations quantized, integer dot products): the later layers are
  /// calibrated on what the quantized model really computes, at the speed of
  /// its integer kernels.
  llvm::StringMap<std::unique_ptr<kn::QuantLinear>> packed;
  llvm::StringSet<> done;
  std::vector<std::vector<float>> scratch;
  std::string error;
  int numLayers = 0, layersDone = 0;
  std::unique_ptr<::qcc::Progress> progress;

  Driver(ModuleOp m, ::qcc::WeightStore *s, const std::vector<std::vector<int32_t>> &w, Method me)
      : module(m), symbols(m), store(s), windows(w), method(me) {}

  bool fail(const Twine &msg) {
    if (error.empty())
      error = msg.str();
    return false;
  }

  WeightOp weight(FlatSymbolRefAttr ref) {
    return ref ? symbols.lookup<WeightOp>(ref.getValue()) : WeightOp();
  }

  bool loadFloat(WeightOp w, std::vector<float> &out) {
    if (auto v = w.getValueAttr()) {
      auto dense = dyn_cast<DenseElementsAttr>(v);
      if (!dense || !dense.getElementType().isF32())
        return fail("@" + w.getSymName() + ": inline value must be a dense f32 tensor");
      out.assign(dense.getValues<float>().begin(), dense.getValues<float>().end());
      return true;
    }
    if (!store)
      return fail("@" + w.getSymName() + ": no data (neither an inline value nor a weight store)");
    if (auto e = store->loadFloat(w.getSymName(), w.getTensorType().getShape(), out))
      return fail(llvm::toString(std::move(e)));
    return true;
  }

  /// Replaces a float weight's data (an AWQ fold).
  void storeFloat(WeightOp w, const std::vector<float> &data) {
    if (w.getValueAttr()) {
      auto t = RankedTensorType::get(w.getTensorType().getShape(), Float32Type::get(w.getContext()));
      w.setValueAttr(DenseElementsAttr::get(t, ArrayRef<float>(data)));
    } else if (store) {
      store->setFloat(w.getSymName(), data);
    }
  }

  /// w /= by, elementwise, for a 1-D float weight (a norm or a bias).
  bool divideFloat(WeightOp w, const std::vector<float> &by) {
    std::vector<float> v;
    if (!loadFloat(w, v))
      return false;
    for (size_t i = 0; i < v.size(); ++i)
      v[i] /= by[i];
    storeFloat(w, v);
    return true;
  }

  /// The weights a linear computes with now: float (folded) before it is
  /// rounded, the rounded values after.
  std::vector<float> *effective(WeightOp w) {
    auto it = eff.find(w.getSymName());
    if (it != eff.end())
      return &it->second;
    std::vector<float> data;
    if (!loadFloat(w, data))
      return nullptr;
    return &(eff[w.getSymName()] = std::move(data));
  }

  std::optional<Grid> gridOf(WeightOp w) {
    if (!w || done.contains(w.getSymName()))
      return std::nullopt;
    return Grid::of(w.getQuantAttr(), w.getTensorType().getShape().back());
  }

  /// Records a weight op holding `data` (AWQ scales) next to the weights.
  FlatSymbolRefAttr recordWeight(const std::string &name, const std::vector<float> &data) {
    OpBuilder b(module.getContext());
    b.setInsertionPointToStart(module.getBody());
    auto t = RankedTensorType::get({int64_t(data.size())}, b.getF32Type());
    auto w = b.create<WeightOp>(module.getLoc(), b.getStringAttr(name), TypeAttr::get(t),
                                QuantAttr(), DenseElementsAttr::get(t, ArrayRef<float>(data)),
                                ElementsAttr());
    w->setAttr("qcc.record", b.getUnitAttr());
    symbols.insert(w);
    return FlatSymbolRefAttr::get(w.getSymNameAttr());
  }

  // ------------------------------------------------------------ evaluation

  bool eval(Operation *op, llvm::DenseMap<Value, std::vector<float>> &out,
            llvm::DenseMap<Value, std::vector<float>> *extra = nullptr) {
    auto in = [&](Value v) -> const float * {
      if (extra) {
        auto it = extra->find(v);
        if (it != extra->end())
          return it->second.data();
      }
      auto it = bufs.find(v);
      return it == bufs.end() ? nullptr : it->second.data();
    };
    auto result = [&](int64_t d) -> float * {
      auto &b = out[op->getResult(0)];
      if (b.capacity() < size_t(T * d)) {
        // The smallest spare buffer that is large enough.
        auto best = spare.end();
        for (auto it = spare.begin(); it != spare.end(); ++it)
          if (it->capacity() >= size_t(T * d) &&
              (best == spare.end() || it->capacity() < best->capacity()))
            best = it;
        if (best != spare.end()) {
          b.swap(*best);
          spare.erase(best);
        }
      }
      b.resize(T * d); // every kernel writes all of its output
      return b.data();
    };
    if (auto e = dyn_cast<EmbedOp>(op)) {
      std::vector<float> table;
      WeightOp w = weight(e.getWeightAttr());
      if (!loadFloat(w, table))
        return false;
      int64_t d = dimOf(e.getResult()), rows = w.getTensorType().getShape()[0];
      float *o = result(d);
      for (int64_t i = 0; i < N; ++i)
        kn::embed(windows[i].data(), L, table.data(), rows, d, o + i * L * d);
      return true;
    }
    if (auto n = dyn_cast<RMSNormOp>(op)) {
      std::vector<float> wv;
      if (!loadFloat(weight(n.getWeightAttr()), wv))
        return false;
      int64_t d = dimOf(n.getInput());
      kn::rmsNorm(in(n.getInput()), wv.data(), result(d), T, d,
                  float(n.getEpsilon().convertToDouble()));
      return true;
    }
    if (auto l = dyn_cast<LinearOp>(op)) {
      std::vector<float> bias;
      if (l.getBiasAttr() && !loadFloat(weight(l.getBiasAttr()), bias))
        return false;
      int64_t din = dimOf(l.getInput()), dout = dimOf(l.getResult());
      if (auto p = packed.find(l.getWeightAttr().getValue()); p != packed.end()) {
        p->second->apply(in(l.getInput()), T, bias.empty() ? nullptr : bias.data(), result(dout));
        return true;
      }
      std::vector<float> *W = effective(weight(l.getWeightAttr()));
      if (!W)
        return false;
      kn::linearChunked(in(l.getInput()), W->data(), bias.empty() ? nullptr : bias.data(), result(dout),
                    T, din, dout);
      return true;
    }
    if (auto r = dyn_cast<RoPEOp>(op)) {
      std::vector<float> inv = ::qcc::ropeInvFreq(op);
      int64_t d = dimOf(r.getInput());
      const float *x = in(r.getInput());
      float *o = result(d);
      for (int64_t i = 0; i < N; ++i)
        kn::rope(x + i * L * d, o + i * L * d, L, 0, r.getNumHeads(), r.getHeadDim(), inv.data());
      return true;
    }
    if (auto a = dyn_cast<AttentionOp>(op)) {
      int64_t qd = dimOf(a.getQ()), kvd = dimOf(a.getK());
      const float *Q = in(a.getQ()), *K = in(a.getK()), *V = in(a.getV());
      float *o = result(qd);
      for (int64_t i = 0; i < N; ++i)
        kn::attention(Q + i * L * qd, K + i * L * kvd, V + i * L * kvd, o + i * L * qd, L, 0,
                      a.getNumHeads(), a.getNumKvHeads(), a.getHeadDim(),
                      float(a.getScale().convertToDouble()), a.getSlidingWindow(), scratch);
      return true;
    }
    if (auto s = dyn_cast<SwiGLUOp>(op)) {
      int64_t d = dimOf(s.getResult());
      kn::swiglu(in(s.getGate()), in(s.getUp()), result(d), T * d);
      return true;
    }
    if (auto ad = dyn_cast<AddOp>(op)) {
      int64_t d = dimOf(ad.getResult());
      kn::add(in(ad.getLhs()), in(ad.getRhs()), result(d), T * d);
      return true;
    }
    return fail("qcc-calibrate does not know op '" + op->getName().getStringRef() + "'");
  }

  // ------------------------------------------------------------ quantization

  /// Linear / LM-head ops reading `x` whose weights are still to be rounded.
  SmallVector<Operation *> unroundedReaders(Value x) {
    SmallVector<Operation *> r;
    for (Operation *u : x.getUsers()) {
      WeightOp w;
      if (auto l = dyn_cast<LinearOp>(u))
        w = weight(l.getWeightAttr());
      else if (auto h = dyn_cast<LMHeadOp>(u))
        w = weight(h.getWeightAttr());
      if (w && gridOf(w) && !llvm::is_contained(r, u))
        r.push_back(u);
    }
    llvm::sort(r, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    return r;
  }

  static FlatSymbolRefAttr weightRef(Operation *op) {
    if (auto l = dyn_cast<LinearOp>(op))
      return l.getWeightAttr();
    return cast<LMHeadOp>(op).getWeightAttr();
  }

  bool awq() const { return method == Method::AWQ || method == Method::AWQGPTQ; }

  /// Searches AWQ scales for `readers` (sharing n inputs) with statistics
  /// `st`; multiplies their effective columns by them. Empty if no gain.
  std::vector<float> searchAndScale(ArrayRef<Operation *> readers, const Stats &st,
                                    const std::vector<float> &meanAbs) {
    std::vector<kq::AWQTarget> targets;
    std::vector<Grid> grids;
    for (Operation *r : readers)
      grids.push_back(*gridOf(weight(weightRef(r))));
    for (size_t i = 0; i < readers.size(); ++i) {
      std::vector<float> *W = effective(weight(weightRef(readers[i])));
      if (!W)
        return {};
      const Grid g = grids[i];
      targets.push_back({W->data(), int64_t(W->size()) / st.n,
                         [g](const float *w, int64_t rows, int64_t n, const float *imp, float *out) {
                           g.proxyRound(w, rows, n, imp, out);
                         }});
    }
    PhaseTimer timer(kAWQ);
    kq::AWQResult res = kq::searchScales(targets, st.n, meanAbs.data(), st.H.data(), awqGrid);
    if (res.alpha == 0)
      return {};
    for (Operation *r : readers) {
      WeightOp w = weight(weightRef(r));
      std::vector<float> &W = *effective(w);
      int64_t rows = int64_t(W.size()) / st.n;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < st.n; ++j)
          W[i * st.n + j] *= res.scale[j];
      if (w.getValueAttr()) // keep the IR's float model equal to the folded one
        storeFloat(w, W);
    }
    return res.scale;
  }

  void markScale(ArrayRef<Operation *> readers, FlatSymbolRefAttr ref) {
    for (Operation *r : readers)
      weight(weightRef(r))->setAttr("qcc.awq_scale", ref);
  }

  /// Before `producer` (a linear about to be rounded) is rounded: if its
  /// output reaches linear layers through attention's v or SwiGLU's up, fold
  /// AWQ scales for those layers into the producer's rows.
  bool lookaheadFold(LinearOp producer, size_t opIndex) {
    Value out = producer.getResult();
    if (!out.hasOneUse())
      return true;
    Operation *mid = *out.getUsers().begin();
    std::function<int64_t(int64_t)> rowOf;
    int64_t m = 0;
    if (auto a = dyn_cast<AttentionOp>(mid); a && a.getV() == out) {
      int64_t hd = a.getHeadDim(), group = a.getNumHeads() / a.getNumKvHeads();
      m = dimOf(a.getResult());
      rowOf = [hd, group](int64_t c) { return ((c / hd) / group) * hd + c % hd; };
    } else if (auto s = dyn_cast<SwiGLUOp>(mid); s && s.getUp() == out && s.getGate() != out) {
      m = dimOf(s.getResult());
      rowOf = [](int64_t c) { return c; };
    } else {
      return true;
    }
    Value y = mid->getResult(0);
    SmallVector<Operation *> consumers = unroundedReaders(y);
    if (consumers.empty() || llvm::any_of(y.getUsers(), [&](Operation *u) {
          return !llvm::is_contained(consumers, u);
        }))
      return true;
    // Evaluate in float up to `y`.
    llvm::DenseMap<Value, std::vector<float>> tmp;
    for (size_t i = opIndex; i < ops.size() && !tmp.count(y); ++i) {
      Operation *op = ops[i];
      if (isa<LMHeadOp>(op) || bufs.count(op->getResult(0)) || tmp.count(op->getResult(0)))
        continue;
      if (llvm::any_of(op->getOperands(), [&](Value v) {
            return !bufs.count(v) && !tmp.count(v) && !isa<BlockArgument>(v);
          }))
        continue;
      if (!eval(op, tmp, &tmp))
        return false;
    }
    if (!tmp.count(y))
      return true;
    Stats st = statistics(tmp[y].data(), T, m, /*gram=*/true);
    tmp.clear();
    // Channels that come from one producer row share one scale.
    int64_t rowsP = dimOf(out);
    std::vector<double> pooled(rowsP, 0);
    std::vector<int> count(rowsP, 0);
    for (int64_t c = 0; c < m; ++c) {
      pooled[rowOf(c)] += st.meanAbs[c];
      count[rowOf(c)]++;
    }
    std::vector<float> meanAbs(m);
    for (int64_t c = 0; c < m; ++c)
      meanAbs[c] = float(pooled[rowOf(c)] / count[rowOf(c)]);
    std::vector<float> s = searchAndScale(consumers, st, meanAbs);
    if (s.empty())
      return true;
    WeightOp pw = weight(producer.getWeightAttr());
    std::vector<float> *P = effective(pw);
    if (!P)
      return false;
    int64_t n = pw.getTensorType().getShape().back();
    std::vector<float> rowScale(rowsP, 1.0f);
    for (int64_t c = 0; c < m; ++c)
      rowScale[rowOf(c)] = s[c];
    for (int64_t r = 0; r < rowsP; ++r)
      for (int64_t j = 0; j < n; ++j)
        (*P)[r * n + j] /= rowScale[r];
    if (pw.getValueAttr())
      storeFloat(pw, *P);
    if (auto b = producer.getBiasAttr())
      if (!divideFloat(weight(b), rowScale))
        return false;
    markScale(consumers, recordWeight(pw.getSymName().str() + ".awq_scale", s));
    return true;
  }

  /// The candidate formats of --bpw, with ggml's row-length fallbacks.
  static SmallVector<gg::Type> candidates(int64_t n) {
    SmallVector<gg::Type> r;
    for (gg::Type t : {gg::Type::Q2_K, gg::Type::Q3_K, gg::Type::Q4_K, gg::Type::Q5_K,
                       gg::Type::Q6_K, gg::Type::Q8_0}) {
      gg::Type f = gg::applyFallback(t, n);
      if (gg::traits(f).quantized && !llvm::is_contained(r, f))
        r.push_back(f);
    }
    return r;
  }

  /// Relative output error tr(dW H dW^T) / tr(W H W^T) of `w` at each
  /// candidate format (energy-weighted search), on at most 256 of its rows.
  bool recordSensitivity(WeightOp w, const Stats &st) {
    std::vector<float> *Wp = effective(w);
    if (!Wp)
      return false;
    const int64_t n = st.n, rows = int64_t(Wp->size()) / n;
    const int64_t stride = std::max<int64_t>(1, rows / 256);
    std::vector<float> sample;
    for (int64_t r = 0; r < rows; r += stride)
      sample.insert(sample.end(), Wp->begin() + r * n, Wp->begin() + (r + 1) * n);
    const int64_t sr = int64_t(sample.size()) / n;
    std::vector<float> zero(sample.size(), 0.0f), deq(sample.size());
    const double ref = kq::outputError(sample.data(), zero.data(), sr, n, st.H.data());
    SmallVector<NamedAttribute> errs;
    Builder b(w.getContext());
    for (gg::Type t : candidates(n)) {
      Grid g;
      g.type = t;
      std::vector<uint8_t> bytes = g.quantize(sample.data(), sr, n, st.energy.data());
      g.dequantize(bytes.data(), sr, n, deq.data());
      double e = kq::outputError(deq.data(), sample.data(), sr, n, st.H.data());
      errs.push_back(b.getNamedAttr(gg::traits(t).name, b.getF64FloatAttr(ref > 0 ? e / ref : 0.0)));
    }
    w->setAttr("qcc.sensitivity", b.getDictionaryAttr(errs));
    done.insert(w.getSymName());
    return true;
  }

  bool roundGroup(Value x, size_t opIndex) {
    SmallVector<Operation *> readers = unroundedReaders(x);
    if (readers.empty())
      return true;
    const int64_t n = dimOf(x);
    std::vector<float> &X = bufs[x];
    const bool needGram = method != Method::RTN;
    Stats st = statistics(X.data(), T, n, needGram);

    // A weight that is also the embedding (a tied head) cannot take scales.
    bool tiedToEmbedding = false;
    module.walk([&](EmbedOp e) {
      for (Operation *r : readers)
        tiedToEmbedding |= e.getWeightAttr() == weightRef(r);
    });
    if (awq() && !measure && !tiedToEmbedding && llvm::all_of(readers, [&](Operation *r) {
          return !weight(weightRef(r))->hasAttr("qcc.awq_scale");
        })) {
      // Fold into an RMSNorm that feeds only these layers.
      if (auto norm = x.getDefiningOp<RMSNormOp>();
          norm && llvm::all_of(x.getUsers(), [&](Operation *u) {
            return llvm::is_contained(readers, u);
          })) {
        std::vector<float> s = searchAndScale(readers, st, st.meanAbs);
        if (!s.empty()) {
          WeightOp nw = weight(norm.getWeightAttr());
          if (!divideFloat(nw, s))
            return false;
          rescale(st, X, T, s);
          markScale(readers, recordWeight(nw.getSymName().str() + ".awq_scale", s));
        }
      }
    }
    if (awq() && !measure)
      for (Operation *r : readers)
        if (auto l = dyn_cast<LinearOp>(r))
          if (!lookaheadFold(l, opIndex))
            return false;

    if (measure) {
      // The LM head (often also the embedding) keeps the preset's format: its
      // relative error weighs far more on the output than a layer's does.
      for (Operation *r : readers)
        if (isa<LinearOp>(r) && !recordSensitivity(weight(weightRef(r)), st))
          return false;
      return true;
    }
    if (foldOnly) {
      for (Operation *r : readers) {
        WeightOp w = weight(weightRef(r));
        storeFloat(w, *effective(w));
        done.insert(w.getSymName());
      }
      return true;
    }
    std::vector<double> Hd;
    if (method == Method::GPTQ || method == Method::AWQGPTQ)
      Hd.assign(st.H.begin(), st.H.end());
    for (Operation *r : readers) {
      WeightOp w = weight(weightRef(r));
      Grid grid = *gridOf(w);
      std::vector<float> *Wp = effective(w);
      if (!Wp)
        return false;
      std::vector<float> &W = *Wp;
      const int64_t rows = int64_t(W.size()) / n;
      std::vector<uint8_t> bytes;
      std::string methodName = method == Method::RTN ? "rtn" : method == Method::AWQ ? "awq"
                               : method == Method::GPTQ ? "gptq" : "awq+gptq";
      if (Hd.empty() && method == Method::AWQ && grid.rtn && !st.H.empty()) {
        // AWQ onto a GPU checkpoint's groups: the clipping search on the Gram matrix.
        PhaseTimer timer(kRound);
        bytes.resize(grid.rowBytes(n) * rows);
        kq::clipSearch(*grid.rtn, W.data(), rows, n, st.energy.data(), st.H.data(), bytes.data());
      } else if (Hd.empty()) {
        PhaseTimer timer(kRound);
        bytes = grid.quantize(W.data(), rows, n, st.energy.data());
      } else {
        PhaseTimer timer(kGPTQ);
        std::vector<float> Wq = W;
        bytes.resize(grid.rowBytes(n) * rows);
        kq::GPTQStats gs;
        if (grid.type) {
          kq::GGMLGrid g(*grid.type, rows, n);
          gs = kq::gptq(Wq.data(), rows, n, Hd.data(), st.energy.data(), g, gptqOpts);
          g.pack(bytes.data());
        } else {
          kq::RTNGrid g(*grid.rtn, rows, n);
          gs = kq::gptq(Wq.data(), rows, n, Hd.data(), st.energy.data(), g, gptqOpts);
          g.pack(bytes.data());
        }
        Builder b(w.getContext());
        w->setAttr("qcc.gptq_damp", b.getF64FloatAttr(gs.damp));
        if (gs.escalations)
          w->setAttr("qcc.gptq_damp_escalations", b.getI64IntegerAttr(gs.escalations));
      }
      std::vector<float> deq(W.size());
      grid.dequantize(bytes.data(), rows, n, deq.data());
      Builder b(w.getContext());
      if (!st.H.empty()) {
        PhaseTimer timer(kError);
        std::vector<float> zero(W.size(), 0.0f);
        double e = kq::outputError(deq.data(), W.data(), rows, n, st.H.data());
        double ref = kq::outputError(W.data(), zero.data(), rows, n, st.H.data());
        w->setAttr("qcc.calib_error", b.getF64FloatAttr(ref > 0 ? e / ref : 0.0));
      }
      w->setAttr("qcc.method", b.getStringAttr(methodName));
      if (w.getValueAttr()) {
        auto t = RankedTensorType::get({int64_t(bytes.size())}, b.getIntegerType(8));
        w.setPackedAttr(DenseElementsAttr::get(
            t, ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(bytes.data()), bytes.size())));
      }
      if (grid.type && kn::QuantLinear::supported(*grid.type))
        packed[w.getSymName()] = std::make_unique<kn::QuantLinear>(*grid.type, bytes.data(), rows, n);
      if (store && !w.getValueAttr()) {
        auto shape = w.getTensorType().getShape();
        store->setPacked(w.getSymName(),
                         {grid.type.value_or(gg::Type::F32), grid.rtn,
                          std::vector<int64_t>(shape.begin(), shape.end()), std::move(bytes)});
      }
      W = std::move(deq);
      done.insert(w.getSymName());
      int layer = gg::layerOf(w.getSymName().str());
      if (progress && layer + 1 > layersDone) {
        layersDone = layer + 1;
        progress->update(layersDone);
      }
    }
    return true;
  }

  std::map<std::string, double> opSeconds; // QCC_CALIB_TIMING: eval time per op kind

  bool run() {
    auto fn = module.lookupSymbol<func::FuncOp>("forward");
    if (!fn || fn.getBody().getBlocks().size() != 1)
      return fail("expected func.func @forward with one block");
    N = int64_t(windows.size());
    L = N ? int64_t(windows[0].size()) : 0;
    T = N * L;
    if (T == 0)
      return fail("no calibration tokens");
    Block &body = fn.getBody().front();
    for (Operation &op : body)
      if (!isa<func::ReturnOp>(op))
        ops.push_back(&op);
    llvm::DenseMap<Value, size_t> lastUse;
    for (size_t i = 0; i < ops.size(); ++i)
      for (Value v : ops[i]->getOperands())
        lastUse[v] = i;
    module.walk([&](AttentionOp a) { numLayers = std::max<int>(numLayers, a.getLayer() + 1); });
    if (progressOn)
      progress = std::make_unique<::qcc::Progress>("calibrate", numLayers + 1, "layers", true);

    for (size_t i = 0; i < ops.size(); ++i) {
      Operation *op = ops[i];
      if (isa<LinearOp, LMHeadOp>(op) && !roundGroup(op->getOperand(0), i))
        return false;
      if (auto h = dyn_cast<LMHeadOp>(op)) {
        eff.erase(h.getWeightAttr().getValue());
        if (progress)
          progress->update(numLayers + 1);
        continue; // logits are not needed
      }
      {
        PhaseTimer timer(kEval);
        auto t0 = std::chrono::steady_clock::now();
        if (!eval(op, bufs))
          return false;
        std::string key = op->getName().getStringRef().str();
        if (auto l = dyn_cast<LinearOp>(op))
          key += " " + std::to_string(dimOf(l.getInput())) + "x" + std::to_string(dimOf(l.getResult()));
        opSeconds[key] +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      if (auto l = dyn_cast<LinearOp>(op)) {
        eff.erase(l.getWeightAttr().getValue());
        packed.erase(l.getWeightAttr().getValue());
      }
      for (Value v : op->getOperands())
        if (lastUse[v] == i) {
          auto it = bufs.find(v);
          if (it == bufs.end())
            continue;
          if (spare.size() < 2)
            spare.push_back(std::move(it->second));
          bufs.erase(it);
        }
    }
    if (progress)
      progress->finish();
    if (std::getenv("QCC_CALIB_TIMING"))
      fprintf(stderr, "qcc-calibrate: eval %.1fs stats %.1fs awq %.1fs gptq %.1fs round %.1fs error %.1fs\n",
              PhaseTimer::slot(kEval), PhaseTimer::slot(kStats), PhaseTimer::slot(kAWQ),
              PhaseTimer::slot(kGPTQ), PhaseTimer::slot(kRound), PhaseTimer::slot(kError));
    if (std::getenv("QCC_CALIB_TIMING"))
      for (auto &[name, sec] : opSeconds)
        fprintf(stderr, "qcc-calibrate:   eval %s %.1fs\n", name.c_str(), sec);
    return true;
  }
};

struct CalibratePass : public ::mlir::qcc::impl::CalibrateBase<CalibratePass> {
  using CalibrateBase::CalibrateBase;
  CalibratePass(::qcc::WeightStore *store, std::vector<std::vector<int32_t>> windows,
                const CalibrateOptions &o, bool progress)
      : CalibrateBase(o), store_(store), windows_(std::move(windows)), progress_(progress) {}

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto m = parseMethod(method);
    if (!m) {
      module.emitError() << "qcc-calibrate: unknown method '" << method
                         << "', expected rtn, gptq, awq or awq+gptq";
      return signalPassFailure();
    }
    std::vector<std::vector<int32_t>> windows = windows_;
    if (windows.empty() && !ids.empty()) {
      int64_t w = ctx > 0 ? int64_t(ctx) : int64_t(ids.size());
      for (size_t i = 0; i + w <= ids.size(); i += w)
        windows.emplace_back(ids.begin() + i, ids.begin() + i + w);
    }
    if (windows.empty()) {
      module.emitError("qcc-calibrate: no calibration windows (give ids=... or --calib TEXT)");
      return signalPassFailure();
    }
    Driver d(module, store_, windows, *m);
    d.gptqOpts.dampFrac = damp;
    d.gptqOpts.blockSize = blockSize;
    d.gptqOpts.actOrder = actOrder;
    d.gptqOpts.staticGroups = staticGroups;
    d.awqGrid = awqGrid;
    d.progressOn = progress_;
    d.foldOnly = foldOnly;
    d.measure = measure;
    if (measure)
      d.method = Method::GPTQ; // needs X^T X; nothing is rounded
    if (!d.run()) {
      module.emitError() << "qcc-calibrate: " << d.error;
      return signalPassFailure();
    }
    module->setAttr("qcc.calibration",
                    DictionaryAttr::get(&getContext(),
                                        {NamedAttribute(StringAttr::get(&getContext(), "method"),
                                                        StringAttr::get(&getContext(), method)),
                                         NamedAttribute(StringAttr::get(&getContext(), "windows"),
                                                        IntegerAttr::get(IntegerType::get(&getContext(), 64), d.N)),
                                         NamedAttribute(StringAttr::get(&getContext(), "ctx"),
                                                        IntegerAttr::get(IntegerType::get(&getContext(), 64), d.L))}));
  }

  ::qcc::WeightStore *store_ = nullptr;
  std::vector<std::vector<int32_t>> windows_;
  bool progress_ = false;
};
} // namespace

std::unique_ptr<Pass> mlir::qcc::createCalibratePass(::qcc::WeightStore *store,
                                                     std::vector<std::vector<int32_t>> windows,
                                                     const CalibrateOptions &options, bool progress) {
  return std::make_unique<CalibratePass>(store, std::move(windows), options, progress);
}
