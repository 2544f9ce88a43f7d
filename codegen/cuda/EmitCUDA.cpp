//===- EmitCUDA.cpp - the qcc graph as a CUDA C++ file for one model ------===//
//
// One walk over @forward in program order, as the CPU lowering does
// (codegen/cpu/LowerToCPU.cpp), writing a launch per step into
// qcc_cuda_forward with the step's shapes as template arguments of
// runtime/cuda/Kernels.cuh. What is fused:
//   - a residual qcc.add of a linear's only use: into the linear's epilogue;
//   - linears of one input with one layout and row length (q/k/v,
//     gate/up): one launch over their rows;
//   - the int8 rounding of a linear's input: into the RMSNorm / SwiGLU that
//     produces it (a separate quantizeRows launch after any other producer);
//   - a bias: into the linear's epilogue;
//   - for a single token (a decoding step, `if (n == 1)` in the generated
//     code) over F16 caches, RoPE and the cache append into the q/k/v
//     launch (Kernels.cuh, linearVec; ropeQKV runs for more tokens, and
//     kvAppendFp8 for FP8 caches, whose scales need a head's whole row).
//   - for a single token, SwiGLU (and its int8 rounding) into the gate/up
//     launch (Kernels.cuh, launchSwiglu: SwigluOut), where it is gate's and
//     up's only user and its own users read only its q8 rows.
// Activations live in scratch slots [maxTokens x width] reused after each
// value's last use.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/EmitCUDA.h"
#include "codegen/common/Schedule.h"
#include "codegen/common/Placement.h"

#include "dialects/qcc/QccDialect.h"
#include "formats/ggml/GGMLTypes.h"
#include "runtime/Executor.h" // ropeInvFreq
#include "runtime/cuda/CudaABI.h"
#include "runtime/cuda/Layout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <set>

using namespace mlir;
namespace q = ::mlir::qcc;
using llvm::formatv;

namespace qcc::codegen {

namespace {

/// A float as a C++ hexadecimal literal (exact).
std::string lit(double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%af", float(v));
  return s;
}

bool quantizedLayout(int layout) { return layout != QCC_CUDA_F16 && layout != QCC_CUDA_F32; }

/// The device layout of a matrix of type t whose block scales cover
/// scaleGroup weights (Placement).
int layoutOf(ggml::Type t, int64_t scaleGroup) {
  switch (t) {
  case ggml::Type::Q4_0: return scaleGroup == 128 ? QCC_CUDA_Q4_G128 : QCC_CUDA_Q4_0;
  case ggml::Type::Q4_1: return scaleGroup == 128 ? QCC_CUDA_Q4_1_G128 : QCC_CUDA_Q4_1;
  case ggml::Type::Q8_0: return scaleGroup == 128 ? QCC_CUDA_Q8_G128 : QCC_CUDA_Q8_0;
  case ggml::Type::Q4_K: return QCC_CUDA_Q4_K;
  case ggml::Type::Q6_K: return QCC_CUDA_Q6_K;
  case ggml::Type::F16: return QCC_CUDA_F16;
  default: return QCC_CUDA_F32;
  }
}

const char *layoutName(int l) {
  static const char *names[] = {"QCC_CUDA_Q4_0", "QCC_CUDA_Q8_0", "QCC_CUDA_Q4_K",
                                "QCC_CUDA_Q6_K", "QCC_CUDA_F16", "QCC_CUDA_F32",
                                "QCC_CUDA_Q4_G128", "QCC_CUDA_Q4_1", "QCC_CUDA_Q4_1_G128", "QCC_CUDA_Q8_G128"};
  return names[l];
}

struct Emitter {
  ModuleOp module;
  std::string gpu;
  std::string body, decls;
  /// Stands for the last product launch's L2Ahead (the next product's
  /// weights) in the body until that product is emitted; after the last
  /// product, L2Ahead{}. aheadFrom: where in the body it may be.
  const std::string kAheadMarker = "QCC_L2_AHEAD_PENDING";
  size_t aheadFrom = 0;
  llvm::raw_string_ostream os{body}, ds{decls};
  llvm::StringMap<Placement> placed;
  bool interleaved = false;

  struct Tensor {
    Placement p;
    int use, layout;
    int64_t rows, cols;
  };
  std::vector<Tensor> tensors;
  std::map<std::pair<std::string, int>, int> tensorIndex;
  std::vector<std::array<int64_t, 3>> cacheLayers;
  std::map<int64_t, int> cacheIndex;
  std::map<std::vector<float>, std::string> ropeFreqs;

  // Scratch slots: float [T x width] or q8 [T x width].
  struct Slot {
    int64_t width;
    bool q8;
  };
  std::vector<Slot> slots;
  std::multimap<std::pair<int64_t, bool>, int> freeSlots;
  int64_t halfWidth = 0; ///< the widest input of a quantized linear (the prompt's half rows)
  int64_t halfLaunchRows = 0; ///< the most rows of a quantized linear launch (split-K partial sums)
  llvm::DenseMap<Value, int> fslot, qslot;
  llvm::DenseMap<Value, bool> wantFloat, wantQ8;
  /// Attentions whose q and k come from RoPE ops used by them alone: one
  /// ropeQKV launch rotates both and appends k and v to the cache.
  llvm::DenseMap<Operation *, std::pair<q::RoPEOp, q::RoPEOp>> ropeOf;
  /// Attentions whose RoPE and cache append their q/k/v launch does for one
  /// token.
  llvm::DenseSet<Operation *> fusedRope;
  /// SwiGLUs their gate/up launch does for one token.
  llvm::DenseSet<Operation *> fusedSwiglu;

  Emitter(ModuleOp m, std::string gpu) : module(m), gpu(std::move(gpu)) {}

  LogicalResult fail(Operation *op, const llvm::Twine &msg) { return op->emitOpError(msg); }

  int slot(int64_t width, bool q8) {
    auto it = freeSlots.find({width, q8});
    if (it != freeSlots.end()) {
      int s = it->second;
      freeSlots.erase(it);
      return s;
    }
    slots.push_back({width, q8});
    return int(slots.size()) - 1;
  }
  std::string fname(Value v) { return formatv("sc.f{0}", fslot.lookup(v)).str(); }
  std::string qname(Value v) { return formatv("sc.q{0}", qslot.lookup(v)).str(); }
  int64_t width(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); }

  FailureOr<int> tensor(Operation *user, FlatSymbolRefAttr sym, int use) {
    auto it = placed.find(sym.getValue());
    if (it == placed.end())
      return fail(user, formatv("weight @{0} has no qcc.gguf placement", sym.getValue()).str());
    const Placement &p = it->second;
    auto key = std::make_pair(p.ggufName, use);
    auto found = tensorIndex.find(key);
    if (found != tensorIndex.end())
      return found->second;
    int64_t rows = 1, cols = p.shape.back();
    for (size_t i = 0; i + 1 < p.shape.size(); ++i)
      rows *= p.shape[i];
    if (use == QCC_CUDA_VECTOR && p.shape.size() != 1)
      return fail(user, formatv("weight {0} must be a vector", p.ggufName).str());
    if (use != QCC_CUDA_VECTOR && p.shape.size() != 2)
      return fail(user, formatv("weight {0} must be a matrix", p.ggufName).str());
    int layout = use == QCC_CUDA_MATRIX ? layoutOf(p.type, p.scaleGroup) : -1;
    tensors.push_back({p, use, layout, rows, cols});
    return tensorIndex[key] = int(tensors.size()) - 1;
  }
  FailureOr<int> matrixLayout(Operation *user, FlatSymbolRefAttr sym) {
    auto t = tensor(user, sym, QCC_CUDA_MATRIX);
    if (failed(t))
      return failure();
    return tensors[*t].layout;
  }

  /// Allocates v's float and/or q8 slots, as its users need them.
  void define(Value v) {
    if (wantFloat.lookup(v))
      fslot[v] = slot(width(v), false);
    if (wantQ8.lookup(v))
      qslot[v] = slot(width(v), true);
  }
  /// The cache index of an attention's layer.
  int cacheFor(q::AttentionOp o) {
    auto [it, inserted] = cacheIndex.try_emplace(o.getLayer(), int(cacheLayers.size()));
    if (inserted)
      cacheLayers.push_back({int64_t(o.getLayer()), int64_t(o.getNumKvHeads()), int64_t(o.getHeadDim())});
    return it->second;
  }
  /// The SwiGLU whose gate and up a gate/up launch computes alone, whose
  /// users take its q8 rows (reordered gate, up), if any.
  q::SwiGLUOp swigluOf(SmallVectorImpl<q::LinearOp> &group) {
    if (group.size() != 2 || !llvm::all_of(group, [](q::LinearOp l) { return l->hasOneUse(); }))
      return {};
    auto sw = dyn_cast<q::SwiGLUOp>(*group[0]->getUsers().begin());
    if (!sw || *group[1]->getUsers().begin() != sw.getOperation() || !wantQ8.lookup(sw.getResult()) ||
        width(sw.getResult()) % 32 || width(group[0].getResult()) != width(sw.getResult()) ||
        width(group[1].getResult()) != width(sw.getResult()))
      return {};
    auto gate = sw.getGate().getDefiningOp<q::LinearOp>(), up = sw.getUp().getDefiningOp<q::LinearOp>();
    if (!gate || !up || gate == up)
      return {};
    group.assign({gate, up});
    return sw;
  }
  /// The attention whose RoPE'd q, k and v a q/k/v launch computes alone
  /// (reordered q, k, v). Its shapes are checked where it is emitted.
  q::AttentionOp ropeAttentionOf(SmallVectorImpl<q::LinearOp> &group) {
    if (group.size() != 3 || !llvm::all_of(group, [](q::LinearOp l) { return l->hasOneUse(); }))
      return {};
    for (auto &[att, ropes] : ropeOf) {
      auto a = cast<q::AttentionOp>(att);
      auto lq = ropes.first.getInput().getDefiningOp<q::LinearOp>();
      auto lk = ropes.second.getInput().getDefiningOp<q::LinearOp>();
      auto lv = a.getV().getDefiningOp<q::LinearOp>();
      // (Each member has one use, so the three are distinct.)
      if (!lq || !lk || !lv || a.getHeadDim() % 2 || !llvm::is_contained(group, lq) ||
          !llvm::is_contained(group, lk) || !llvm::is_contained(group, lv))
        continue;
      group.assign({lq, lk, lv});
      return a;
    }
    return {};
  }

  /// The q8 slot a producer that fuses the int8 rounding fills for v
  /// ("Q8Act{}": none wanted).
  FailureOr<std::string> q8Out(Operation *op, Value v) {
    if (!wantQ8.lookup(v))
      return std::string("Q8Act{}");
    if (width(v) % 32)
      return fail(op, "a quantized consumer needs a row length that is a multiple of 32");
    return qname(v);
  }
  /// The q8 form of v from its float slot, for producers that do not fuse it.
  void quantizeAfter(Value v) {
    if (wantQ8.lookup(v))
      os << formatv("  launch(quantizeRows<{0}>, rowGrid(n, {0}), kRowThreads, s, {1}, {2});\n", width(v), fname(v), qname(v));
  }

  struct Job {
    int tensor;
    std::string out, add, bias, ldo;
  };
  /// The launch of one token that takes a quantized product's place, if
  /// any: `if (cond) call`, from the layout's name, the parts of K, the
  /// input's q8 rows and the L2Ahead argument.
  using OneToken = llvm::function_ref<std::string(StringRef layout, int parts, StringRef xq, StringRef ahead)>;

  /// One launch of up to three linears of `input` with one layout; for one
  /// token the launch oneToken gives, if any.
  LogicalResult launchLinear(Operation *op, Value input, int layout, int64_t K, ArrayRef<Job> jobs,
                             StringRef tokens, StringRef rowOffset, OneToken oneToken = nullptr) {
    os << "  {\n    LinJobs J{};\n";
    os << formatv("    J.count = {0};\n", jobs.size());
    int64_t start = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job &j = jobs[i];
      os << formatv("    J.j[{0}] = LinJob{{w[{1}], {2}, {3}, {4}, {5}};\n", i, j.tensor, j.out, j.add, j.bias,
                    j.ldo);
      os << formatv("    J.start[{0}] = {1};\n", i, start);
      start += tensors[j.tensor].rows;
    }
    os << formatv("    J.start[{0}] = {1};\n", jobs.size(), start);
    // The weights this launch reads (every plane of each job, at most
    // 3 x 4 = L2Ahead::kMax), which the product launched before it
    // prefetches into L2 as its blocks finish (Kernels.cuh, L2Ahead): they
    // replace that launch's marker; this launch's waits for the next one.
    {
      std::string planes, bytes, rows;
      int count = 0, perJob = 0;
      for (const Job &j : jobs) {
        const Tensor &t = tensors[j.tensor];
        const std::array<size_t, 4> planeSizes = cuda::planeBytes(t.layout, t.rows, t.cols);
        perJob = 0;
        for (int p = 0; p < 4; ++p)
          if (const size_t b = planeSizes[p]) {
            planes += formatv("{0}static_cast<const char *>(w[{1}].p[{2}])", count ? ", " : "", j.tensor, p).str();
            bytes += formatv("{0}{1}", count ? ", " : "", b).str();
            ++count, ++perJob;
          }
        rows += formatv("{0}{1}", rows.empty() ? "" : ", ", t.rows).str();
      }
      const std::string mine =
          formatv("L2Ahead{{{{{0}}, {{{1}}, {2}, {3}, {{{4}}}", planes, bytes, count, perJob, rows).str();
      fillAhead(mine);
    }
    const bool q = quantizedLayout(layout);
    if (q && K % 32 != 0)
      return fail(op, "a quantized matrix needs rows of a multiple of 32");
    std::string xq = q ? formatv("rowsFrom({0}, {1}, {2})", qname(input), K, rowOffset).str() : "Q8Act{}";
    std::string xf = q ? "nullptr" : formatv("{0} + ({1}) * {2}", fname(input), rowOffset, K).str();
    if (q)
      halfWidth = std::max(halfWidth, K), halfLaunchRows = std::max(halfLaunchRows, start);
    // The parts of K a single-token product splits its rows into.
    const int parts = q ? qccCudaKParts(start, K) : 1;
    if (q && oneToken)
      os << "    " << oneToken(layoutName(layout), parts, xq, kAheadMarker) << "    else\n  ";
    os << formatv("    launchLinear<{0}, {1}, {2}>(J, {3}, {4}, {5}, int({6}), s, {7});\n  }\n", layoutName(layout), K, parts,
                  xq, xf, q ? "sc.hx" : "HalfRows{}", tokens, kAheadMarker);
    return success();
  }

  /// The constant holding a RoPE op's frequencies (one per distinct vector).
  std::string ropeFreq(q::RoPEOp o) {
    std::vector<float> freq = ::qcc::ropeInvFreq(o);
    auto [it, inserted] = ropeFreqs.try_emplace(freq, formatv("kRope{0}", ropeFreqs.size()).str());
    if (inserted) {
      ds << formatv("const RopeFreq<{0}> {1} = {{{{", freq.size(), it->second);
      for (size_t i = 0; i < freq.size(); ++i)
        ds << (i ? ", " : "") << lit(freq[i]);
      ds << "}};\n";
    }
    return it->second;
  }

  std::string vectorArg(Operation *op, FlatSymbolRefAttr sym, LogicalResult &r) {
    auto t = tensor(op, sym, QCC_CUDA_VECTOR);
    if (failed(t)) {
      r = failure();
      return "nullptr";
    }
    return formatv("static_cast<const float *>(w[{0}].p[0])", *t).str();
  }

  LogicalResult run(std::string &out) {
    auto fwd = module.lookupSymbol<func::FuncOp>("forward");
    if (!fwd || fwd.getNumArguments() != 2 || fwd.getBody().getBlocks().size() != 1)
      return module.emitError("qcc-emit-cuda needs func.func @forward(tokens, positions)");
    if (auto l = module->getAttrOfType<StringAttr>("qcc.rope_layout"))
      interleaved = l.getValue() == "interleaved";
    // Weight placements.
    if (failed(readPlacements(module, placed)))
      return failure();
    auto vocabType = dyn_cast<RankedTensorType>(fwd.getFunctionType().getResult(0));
    if (!vocabType || vocabType.getRank() != 2 || vocabType.isDynamicDim(1))
      return fwd.emitOpError("must return [tokens x vocab] logits");
    const int64_t vocab = vocabType.getDimSize(1);
    Block &blk = fwd.getBody().front();

    // Which form each value's users read: int8 rows for quantized matrices,
    // float rows for everything else.
    for (Operation &op : blk) {
      for (OpOperand &use : op.getOpOperands()) {
        Value v = use.get();
        if (isa<BlockArgument>(v))
          continue;
        FlatSymbolRefAttr wsym;
        if (auto l = dyn_cast<q::LinearOp>(op))
          wsym = l.getWeightAttr();
        else if (auto l = dyn_cast<q::LMHeadOp>(op))
          wsym = l.getWeightAttr();
        if (wsym) {
          auto layout = matrixLayout(&op, wsym);
          if (failed(layout))
            return failure();
          (quantizedLayout(*layout) ? wantQ8 : wantFloat)[v] = true;
        } else {
          wantFloat[v] = true;
        }
      }
    }

    // Residual adds fused into the linear they add (as the CPU lowering),
    // RoPE ops emitted with their attention, then each value's last use in
    // emission order.
    Schedule sched(blk);
    auto &fusedInto = sched.fusedInto;
    auto &emittedAt = sched.emittedAt;
    for (auto att : blk.getOps<q::AttentionOp>()) {
      auto rq = att.getQ().getDefiningOp<q::RoPEOp>(), rk = att.getK().getDefiningOp<q::RoPEOp>();
      if (!rq || !rk || rq == rk || !rq->hasOneUse() || !rk->hasOneUse() ||
          rq.getHeadDim() != att.getHeadDim() || rk.getHeadDim() != att.getHeadDim() ||
          rq.getNumHeads() != att.getNumHeads() || rk.getNumHeads() != att.getNumKvHeads() ||
          ::qcc::ropeInvFreq(rq) != ::qcc::ropeInvFreq(rk))
        continue;
      ropeOf[att] = {rq, rk};
      emittedAt[rq] = att;
      emittedAt[rk] = att;
    }
    sched.computeLifetimes(blk);
    auto &order = sched.order;
    auto &freeAfter = sched.freeAfter;

    std::set<Operation *> emitted;
    for (Operation &op : blk) {
      if (!emittedAt.count(&op) && !emitted.count(&op) && failed(emit(op, fusedInto, emittedAt, emitted, vocab)))
        return failure();
      // Slots whose value was last read here (or by a linear launched
      // earlier with its group, or later with its add: either way no launch
      // after this point reads them).
      for (Value v : freeAfter[order[&op]]) {
        if (fslot.count(v))
          freeSlots.insert({{width(v), false}, fslot[v]});
        if (qslot.count(v))
          freeSlots.insert({{width(v), true}, qslot[v]});
      }
    }
    write(out, vocab);
    return success();
  }

  LogicalResult emit(Operation &op, llvm::DenseMap<Operation *, q::LinearOp> &fusedInto,
                     llvm::DenseMap<Operation *, Operation *> &emittedAt, std::set<Operation *> &emitted,
                     int64_t vocab) {
    {
      LogicalResult r = success();
      os << "  // " << op.getName().getStringRef();
      if (op.getNumResults())
        os << " -> " << width(op.getResult(0)) << " wide";
      os << "\n";
      if (auto o = dyn_cast<q::EmbedOp>(op)) {
        auto t = tensor(&op, o.getWeightAttr(), QCC_CUDA_TABLE);
        if (failed(t))
          return failure();
        wantFloat[o.getResult()] = true;
        define(o.getResult());
        const int64_t D = width(o.getResult());
        if (tensors[*t].cols != D)
          return fail(&op, "embedding width differs from its table");
        os << formatv("  launch(embed<{0}>, rowGrid(n, {0}), kRowThreads, s, static_cast<const float *>(w[{1}].p[0]), {2}, "
                      "S->tokens, {3});\n",
                      D, *t, tensors[*t].rows, fname(o.getResult()));
        quantizeAfter(o.getResult());
      } else if (auto o = dyn_cast<q::RMSNormOp>(op)) {
        std::string wv = vectorArg(&op, o.getWeightAttr(), r);
        if (failed(r))
          return failure();
        Value v = o.getResult();
        define(v);
        const int64_t D = width(v);
        auto q8 = q8Out(&op, v);
        if (failed(q8))
          return failure();
        os << formatv("  launch(rmsNorm<{0}>, rowGrid(n, {0}), kRowThreads, s, {1}, {2}, {3}, {4}, {5});\n", D,
                      fname(o.getInput()), wv, lit(o.getEpsilon().convertToDouble()),
                      wantFloat.lookup(v) ? fname(v) : "nullptr", *q8);
      } else if (auto o = dyn_cast<q::LinearOp>(op)) {
        auto layout = matrixLayout(&op, o.getWeightAttr());
        if (failed(layout))
          return failure();
        const int64_t K = width(o.getInput());
        // The linears of this input that can share the launch.
        SmallVector<q::LinearOp> group{o};
        if (!o.getBiasAttr())
          for (Operation *it = op.getNextNode(); it && group.size() < 3; it = it->getNextNode()) {
            auto l = dyn_cast<q::LinearOp>(it);
            if (!l || l.getInput() != o.getInput() || emittedAt.count(it) || l.getBiasAttr())
              continue;
            auto lay = matrixLayout(it, l.getWeightAttr());
            if (failed(lay))
              return failure();
            // Several jobs in one launch each need whole 32-row tiles.
            if (*lay == *layout && width(l.getResult()) % 32 == 0 && width(o.getResult()) % 32 == 0)
              group.push_back(l);
          }
        // One token: RoPE and the cache append in the q/k/v launch, or
        // SwiGLU in the gate/up launch.
        std::string vecOut;
        q::SwiGLUOp swiglu = quantizedLayout(*layout) ? swigluOf(group) : q::SwiGLUOp();
        if (auto att = quantizedLayout(*layout) ? ropeAttentionOf(group) : q::AttentionOp()) {
          fusedRope.insert(att);
          auto rq = ropeOf.lookup(att).first;
          wantFloat[rq.getResult()] = true;
          define(rq.getResult()); // written here; the attention reads it
          const int c = cacheFor(att);
          vecOut = formatv("RopeOut<{0}, {1}, {2}, {3}>{{{4}, static_cast<__half *>(S->kcache[{5}]), "
                           "static_cast<__half *>(S->vcache[{5}]), S->pos, S->seq, S->maxCtx, {6}}",
                           att.getNumHeads(), att.getNumKvHeads(), att.getHeadDim(), interleaved ? "true" : "false",
                           fname(rq.getResult()), c, ropeFreq(rq))
                       .str();
        }
        SmallVector<Job> jobs;
        for (q::LinearOp l : group) {
          auto t = tensor(l, l.getWeightAttr(), QCC_CUDA_MATRIX);
          if (failed(t))
            return failure();
          if (tensors[*t].cols != K || tensors[*t].rows != width(l.getResult()))
            return fail(l, "weight shape differs from the layer's");
          std::string bias = "nullptr";
          if (auto b = l.getBiasAttr()) {
            bias = vectorArg(l, b, r);
            if (failed(r))
              return failure();
          }
          wantFloat[l.getResult()] = true; // a linear writes float rows
          define(l.getResult());
          jobs.push_back({*t, fname(l.getResult()), "nullptr", bias, std::to_string(width(l.getResult()))});
          emitted.insert(l);
        }
        auto rope = [&](StringRef lay, int parts, StringRef xq, StringRef ahead) {
          return formatv("if (n == 1 && S->kvType == QCC_CUDA_KV_F16)\n      launchVec<{0}, {1}, 2, {2}>(J, Q8In{{{3}}, "
                         "{4}, s, 1, {5});\n",
                         lay, K, parts, xq, vecOut, ahead)
              .str();
        };
        std::string hOut, q8;
        if (swiglu) {
          Value v = swiglu.getResult();
          fusedSwiglu.insert(swiglu);
          define(v); // written here; the down product (and any float user) reads it
          hOut = wantFloat.lookup(v) ? fname(v) : "nullptr";
          q8 = qname(v);
        }
        auto glu = [&](StringRef lay, int parts, StringRef xq, StringRef ahead) {
          return formatv("if (n == 1)\n      launchSwiglu<{0}, {1}, {2}, {3}>(J, {4}, {5}, {6}, s, {7});\n", lay, K, parts,
                         width(swiglu.getResult()), xq, hOut, q8, ahead)
              .str();
        };
        const OneToken oneToken = !vecOut.empty() ? OneToken(rope) : swiglu ? OneToken(glu) : OneToken();
        if (failed(launchLinear(&op, o.getInput(), *layout, K, jobs, "n", "0", oneToken)))
          return failure();
        for (q::LinearOp l : group)
          quantizeAfter(l.getResult());
      } else if (auto o = dyn_cast<q::AddOp>(op)) {
        Value v = o.getResult();
        wantFloat[v] = true;
        define(v);
        if (auto lin = fusedInto.lookup(&op)) {
          Value other = o.getLhs() == lin.getResult() ? o.getRhs() : o.getLhs();
          auto layout = matrixLayout(lin, lin.getWeightAttr());
          auto t = tensor(lin, lin.getWeightAttr(), QCC_CUDA_MATRIX);
          if (failed(layout) || failed(t))
            return failure();
          const int64_t K = width(lin.getInput());
          if (tensors[*t].cols != K || tensors[*t].rows != width(v))
            return fail(lin, "weight shape differs from the layer's");
          Job j{*t, fname(v), fname(other), "nullptr", std::to_string(width(v))};
          if (failed(launchLinear(lin, lin.getInput(), *layout, K, {j}, "n", "0")))
            return failure();
        } else {
          os << formatv("  launch(add<{0}>, rowGrid(n, {0}), kRowThreads, s, {1}, {2}, {3});\n", width(v),
                        fname(o.getLhs()), fname(o.getRhs()), fname(v));
        }
        quantizeAfter(v);
      } else if (auto o = dyn_cast<q::RoPEOp>(op)) {
        const int64_t H = o.getNumHeads(), hd = o.getHeadDim();
        if (hd % 2 || H * hd != width(o.getResult()))
          return fail(&op, "RoPE needs an even head size and heads x head size columns");
        std::string freq = ropeFreq(o);
        Value v = o.getResult();
        wantFloat[v] = true;
        define(v);
        os << formatv("  launch(rope<{0}, {1}, {2}>, rowGrid(n, {0} * {1} / 2), kRowThreads, s, {3}, {4}, S->pos, {5});\n", H, hd,
                      interleaved ? "true" : "false", fname(o.getInput()), fname(v), freq);
        quantizeAfter(v);
      } else if (auto o = dyn_cast<q::AttentionOp>(op)) {
        const int64_t H = o.getNumHeads(), KV = o.getNumKvHeads(), hd = o.getHeadDim();
        if (KV <= 0 || H % KV || width(o.getQ()) != H * hd || width(o.getK()) != KV * hd ||
            width(o.getV()) != KV * hd)
          return fail(&op, "attention shapes disagree with its heads");
        const int c = cacheFor(o);
        if (cacheLayers[c][1] != KV || cacheLayers[c][2] != hd)
          return fail(&op, "a layer's cache is used with two shapes");
        Value v = o.getResult();
        wantFloat[v] = true;
        define(v);
        Value q = o.getQ();
        if (auto fused = ropeOf.lookup(&op); fused.first) {
          auto [rq, rk] = fused;
          std::string freq = ropeFreq(rq);
          q = rq.getResult();
          wantFloat[q] = true;
          if (fusedRope.contains(&op))
            os << "  if (n > 1 || S->kvType != QCC_CUDA_KV_F16) // else in the q/k/v launch\n  ";
          else
            define(q); // (else defined at the q/k/v launch)
          os << formatv("  launchRopeAppend<{0}, {1}, {2}, {3}>({4}, {5}, {6}, {7}, kvCache(S, {8}), S->pos, S->seq, "
                        "S->maxCtx, {9}, n, s);\n",
                        H, KV, hd, interleaved ? "true" : "false", fname(rq.getInput()), fname(rk.getInput()),
                        fname(o.getV()), fname(q), c, freq);
        } else {
          os << formatv("  launchAppend<{0}, {1}>({2}, {3}, kvCache(S, {4}), S->pos, S->seq, S->maxCtx, n, s);\n",
                        KV, hd, fname(o.getK()), fname(o.getV()), c);
        }
        os << formatv("  launchAttention<{0}, {1}, {2}>({3}, kvCache(S, {4}), "
                      "{5}, S->pos, S->seq, S->maxCtx, {6}, {7}, {8}, int(n), s);\n",
                      H, KV, hd, fname(q), c, fname(v), lit(o.getScale().convertToDouble()),
                      o.getSlidingWindow(), wantQ8.lookup(v) && hd % 32 == 0 ? qname(v) : "Q8Act{}");
        if (hd % 32)
          quantizeAfter(v);
      } else if (auto o = dyn_cast<q::SwiGLUOp>(op)) {
        Value v = o.getResult();
        if (fusedSwiglu.contains(o))
          os << "  if (n > 1) // else in the gate/up launch\n  ";
        else
          define(v);
        const int64_t D = width(v);
        auto q8 = q8Out(&op, v);
        if (failed(q8))
          return failure();
        os << formatv("  launch(swiglu<{0}>, rowGrid(n, {0}), kRowThreads, s, {1}, {2}, {3}, {4});\n", D, fname(o.getGate()),
                      fname(o.getUp()), wantFloat.lookup(v) ? fname(v) : "nullptr", *q8);
      } else if (auto o = dyn_cast<q::LMHeadOp>(op)) {
        auto layout = matrixLayout(&op, o.getWeightAttr());
        auto t = tensor(&op, o.getWeightAttr(), QCC_CUDA_MATRIX);
        if (failed(layout) || failed(t))
          return failure();
        const int64_t K = width(o.getInput());
        if (tensors[*t].cols != K || tensors[*t].rows != vocab)
          return fail(&op, "the head's weight is not [vocab x hidden]");
        os << "  if (logitRows > 0)\n";
        Job j{*t, "S->logits", "nullptr", "nullptr", std::to_string(vocab)};
        if (failed(launchLinear(&op, o.getInput(), *layout, K, {j}, "logitRows", "n - logitRows")))
          return failure();
      } else if (isa<func::ReturnOp>(op)) {
        return success();
      } else {
        return fail(&op, "has no CUDA lowering");
      }
    }
    return success();
  }

  /// Puts `ahead` where the last product launch left its marker.
  void fillAhead(const std::string &ahead) {
    os.flush();
    for (size_t at; (at = body.find(kAheadMarker, aheadFrom)) != std::string::npos;)
      body.replace(at, kAheadMarker.size(), ahead);
    aheadFrom = body.size();
  }

  void write(std::string &out, int64_t vocab) {
    fillAhead("L2Ahead{}"); // after the last product: none
    llvm::raw_string_ostream f(out);
    f << "// Generated by qcc (codegen/cuda/EmitCUDA.cpp) for " << gpu << ": one model's forward pass.\n"
      << (gpu == "sm_90a" ? "#define QCC_CUDA_PDL 1 // programmatic dependent launches (Kernels.cuh)\n"
                          "#define QCC_CUDA_WGMMA 1 // prompt products on warpgroups (Kernels.cuh)\n"
                        : "")
      << "#include \"runtime/cuda/Kernels.cuh\"\n\nusing namespace qcc_cuda;\n\n";
    // `extern`: a const object at namespace scope is otherwise internal.
    f << "extern \"C\" {\nextern const QccCudaTensor qcc_cuda_tensors[] = {\n";
    for (const Tensor &t : tensors)
      f << formatv("    {{\"{0}\", {1}, {2}ull, {3}ull, {4}, {5}, {6}, {7}},\n", t.p.ggufName, unsigned(t.p.type),
                   t.p.offset, t.p.bytes, t.rows, t.cols, t.use, t.layout);
    f << "};\n" << formatv("extern const int qcc_cuda_num_tensors = {0};\n", tensors.size());
    f << "extern const QccCudaCacheLayer qcc_cuda_cache_layers[] = {\n";
    for (auto &c : cacheLayers)
      f << formatv("    {{{0}, {1}, {2}},\n", c[0], c[1], c[2]);
    if (cacheLayers.empty())
      f << "    {0, 0, 0},\n";
    f << "};\n" << formatv("extern const int qcc_cuda_num_cache_layers = {0};\n", cacheLayers.size());
    f << formatv("extern const int64_t qcc_cuda_vocab = {0};\n", vocab);
    f << formatv("extern const char qcc_cuda_arch[] = \"{0}\";\n}\n\n", gpu);
    f << "namespace {\n" << decls;
    f << "struct Scratch {\n";
    for (size_t i = 0; i < slots.size(); ++i)
      f << formatv(slots[i].q8 ? "  Q8Act q{0};\n" : "  float *f{0};\n", i);
    if (halfWidth)
      f << "  HalfRows hx; // a prompt's input to a quantized linear, in half\n";
    f << "};\n\n/// The slots' places in the scratch memory for T tokens; its size.\n"
      << "size_t layout(char *base, int64_t T, Scratch &sc) {\n  size_t off = 0;\n"
      << "  auto take = [&](size_t bytes) {\n    char *p = base ? base + off : nullptr;\n"
      << "    off += (bytes + 255) / 256 * 256;\n    return p;\n  };\n";
    for (size_t i = 0; i < slots.size(); ++i) {
      const int64_t W = slots[i].width;
      if (slots[i].q8)
        f << formatv("  sc.q{0} = Q8Act{{reinterpret_cast<int8_t *>(take(size_t(T) * {1})), "
                     "reinterpret_cast<int8_t *>(take(size_t(T) * {1})), "
                     "reinterpret_cast<float2 *>(take(size_t(T) * {2} * 8))};\n",
                     i, W, W / 32);
      else
        f << formatv("  sc.f{0} = reinterpret_cast<float *>(take(size_t(T) * {1} * 4));\n", i, W);
    }
    // Split-K prompt products' partial sums: launches of up to 8192 rows
    // (those whose 128x128 tiles leave SMs idle).
    if (halfWidth)
      f << formatv("  sc.hx = HalfRows{{reinterpret_cast<__half *>(take(size_t(T) * {0} * 2)), "
                   "reinterpret_cast<float *>(take(size_t(T) * 4)), "
                   "reinterpret_cast<float *>(take(size_t(kHalfSplit) * T * {1} * 4)), T * {1}};\n",
                   halfWidth, std::min<int64_t>(halfLaunchRows, 8192));
    f << "  return off;\n}\n} // namespace\n\n";
    f << "extern \"C\" size_t qcc_cuda_scratch_bytes(int64_t maxTokens) {\n  Scratch sc;\n"
      << "  return layout(nullptr, maxTokens, sc);\n}\n\n";
    f << "extern \"C\" int qcc_cuda_forward(const QccCudaState *S, int64_t n, int64_t logitRows, void *stream) {\n"
      << "  if (n <= 0 || n > S->maxTokens || logitRows < 0 || logitRows > n)\n    return int(cudaErrorInvalidValue);\n"
      << "  cudaStream_t s = static_cast<cudaStream_t>(stream);\n  const QccCudaWeight *w = S->w;\n"
      << "  Scratch sc;\n  layout(static_cast<char *>(S->scratch), S->maxTokens, sc);\n"
      << body << "  return int(cudaPeekAtLastError());\n}\n";
  }
};

} // namespace

llvm::Expected<std::string> emitCUDA(ModuleOp module, llvm::StringRef gpu) {
  Emitter e(module, gpu.str());
  std::string out;
  if (failed(e.run(out)))
    return llvm::createStringError("cannot generate CUDA code for this model (see the diagnostic above)");
  return out;
}

} // namespace qcc::codegen

namespace qcc::codegen {

llvm::Error checkGPU(llvm::StringRef gpu) {
  if (gpu == "sm_80" || gpu == "sm_89" || gpu == "sm_90a")
    return llvm::Error::success();
  return llvm::createStringError("--gpu must be sm_80, sm_89 or sm_90a, got '" + gpu.str() + "'");
}

namespace {
struct EmitCUDAPass : public PassWrapper<EmitCUDAPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(EmitCUDAPass)
  EmitCUDAPass() = default;
  EmitCUDAPass(const EmitCUDAPass &o) : PassWrapper(o) {}
  StringRef getArgument() const override { return "qcc-emit-cuda"; }
  StringRef getDescription() const override {
    return "Print the CUDA C++ file of @forward (runtime/cuda/CudaABI.h) on stdout";
  }
  Option<std::string> gpu{*this, "gpu", llvm::cl::desc("sm_80, sm_89 or sm_90a"), llvm::cl::init("sm_90a")};
  void runOnOperation() override {
    if (llvm::Error e = checkGPU(gpu)) {
      getOperation().emitError(llvm::toString(std::move(e)));
      return signalPassFailure();
    }
    auto src = emitCUDA(getOperation(), gpu);
    if (!src) {
      llvm::consumeError(src.takeError());
      return signalPassFailure();
    }
    llvm::outs() << *src;
  }
};
} // namespace

void registerEmitCUDAPass() { PassRegistration<EmitCUDAPass>(); }

} // namespace qcc::codegen
