//===- LowerToCPU.cpp - qcc graph to buffers, linalg and microkernels -----===//
//
// One walk over @forward in program order. Every qcc value (a 2-D f32
// activation tensor) gets a buffer memref<?xDxf32>; n, the number of tokens,
// is the only dynamic size. Weights are views of the GGUF data section.
// See Passes.td for what each op becomes.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"
#include "codegen/common/Schedule.h"
#include "codegen/common/Placement.h"

#include "dialects/qcc/QccDialect.h"
#include "formats/ggml/GGMLTypes.h"
#include "runtime/Executor.h" // ropeInvFreq: one definition of RoPE's frequencies

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <map>
#include "llvm/Support/FormatVariadic.h"

namespace mlir::qcc {
#define GEN_PASS_DEF_LOWERTOCPU
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::qcc

using namespace mlir;
namespace q = ::mlir::qcc;
using llvm::formatv;

namespace {

using ::qcc::codegen::Placement;

struct Lowering {
  ModuleOp module;
  OpBuilder b;
  Location loc;
  func::FuncOp fn;
  Value rt, wfile, tokens, pos0, logits, n;
  llvm::DenseMap<Value, Value> buf;
  llvm::StringMap<Placement> placed;
  llvm::StringMap<func::FuncOp> externs;
  std::string signature;
  llvm::StringSet<> signed_;
  bool interleaved = false;
  // RoPE cos/sin tables per distinct frequency vector.
  std::map<std::vector<float>, std::pair<Value, Value>> ropeTables;
  int globals = 0, kernels = 0;
  /// The kernels emitted so far, by their printed form (under one name).
  std::map<std::string, func::FuncOp> kernelByText;

  Lowering(ModuleOp m) : module(m), b(m.getContext()), loc(m.getLoc()) {}

  Type f32() { return b.getF32Type(); }
  Type i64() { return b.getI64Type(); }
  Type ptrTy() { return LLVM::LLVMPointerType::get(b.getContext()); }
  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cI64(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  Value cI32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value cF32(double v) { return arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(float(v))); }

  LogicalResult fail(Operation *op, const llvm::Twine &msg) {
    return op->emitOpError(msg);
  }

  /// The data pointer of `memref` (offset 0) plus `elemOffset` elements.
  Value ptr(Value memref, Value elemOffset = {}, int64_t elemBytes = 4) {
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    if (elemOffset)
      base = arith::AddIOp::create(b, loc, base,
                                   arith::MulIOp::create(b, loc, elemOffset, cIdx(elemBytes)));
    Value i = arith::IndexCastOp::create(b, loc, i64(), base);
    return LLVM::IntToPtrOp::create(b, loc, ptrTy(), i);
  }

  func::FuncOp external(StringRef name, TypeRange args, TypeRange results = {}) {
    auto it = externs.find(name);
    if (it != externs.end())
      return it->second;
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(module.getBody());
    auto f = func::FuncOp::create(b, loc, name, b.getFunctionType(args, results));
    f.setPrivate();
    externs[name] = f;
    return f;
  }

  /// Calls the runtime function `name`; its result if `result` is given.
  Value call(StringRef name, ArrayRef<Value> args, Type result = {}) {
    SmallVector<Type> types;
    for (Value a : args)
      types.push_back(a.getType());
    SmallVector<Type> results;
    if (result)
      results.push_back(result);
    auto c = func::CallOp::create(b, loc, external(name, types, results), ValueRange(args));
    return result ? c.getResult(0) : Value();
  }
  Value toI64(Value index) { return arith::IndexCastOp::create(b, loc, i64(), index); }

  /// Rows of a token-major activation buffer per task of an element-wise
  /// kernel: a decoding step's one row runs inline.
  static constexpr int64_t kRowGrain = 8;
  /// Output rows per call of the linear layers' row kernel (a multiple of
  /// the 8-row regrouping of kernels/Repack.h).
  static constexpr int64_t kGemmRows = 64;

  /// Emits `body` as a kernel over [begin, end) of [0, total): a private
  /// function @qcc_<what>_<i>(rt, captured..., begin, end, thread) marked
  /// `qcc.parallel = grain`, called here over [0, total) on thread 0.
  /// qcc-cpu-dispatch-parallel then runs that call on the runtime's threads,
  /// in contiguous ranges with bounds on multiples of `grain`, so the body
  /// must compute each index of its range as it would alone. The body sees
  /// the function's copies of `rt` and of `captured` (nothing else from
  /// @qcc_forward). Kernels whose functions come out the same (the same op
  /// at the same shapes and types, in another layer: the weights are
  /// captured values) are emitted once.
  void parallel(StringRef what, Value total, int64_t grain, ArrayRef<Value> captured,
                llvm::function_ref<void(Value begin, Value end, Value thread, ValueRange cap)> body) {
    SmallVector<Type> types{ptrTy()};
    for (Value v : captured)
      types.push_back(v.getType());
    types.append({b.getIndexType(), b.getIndexType(), i64()});
    func::FuncOp k;
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(fn);
      k = func::FuncOp::create(b, loc, "qcc_kernel", b.getFunctionType(types, {}));
      k.setPrivate();
      k->setAttr("qcc.parallel", b.getI64IntegerAttr(grain));
      Block *e = k.addEntryBlock();
      b.setInsertionPointToStart(e);
      const unsigned nc = captured.size();
      Value outerRt = rt, outerN = n, outerPos = pos0;
      rt = e->getArgument(0);
      n = pos0 = Value(); // the body reaches the outer function only through `captured`
      body(e->getArgument(nc + 1), e->getArgument(nc + 2), e->getArgument(nc + 3),
           e->getArguments().slice(1, nc));
      rt = outerRt, n = outerN, pos0 = outerPos;
      func::ReturnOp::create(b, loc);
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    k->print(os, OpPrintingFlags().useLocalScope());
    auto [it, inserted] = kernelByText.try_emplace(text, k);
    if (inserted) {
      k.setSymName(formatv("qcc_{0}_{1}", what, kernels++).str());
    } else {
      k.erase();
      k = it->second;
    }
    SmallVector<Value> args{rt};
    args.append(captured.begin(), captured.end());
    args.append({cIdx(0), total, cI64(0)});
    func::CallOp::create(b, loc, k, args);
  }

  /// Rows [begin, end) of a buffer whose first dimension is the token.
  Value rowsOf(Value m, Value begin, Value end) {
    auto t = cast<MemRefType>(m.getType());
    const int64_t rank = t.getRank();
    SmallVector<OpFoldResult> off(rank, b.getIndexAttr(0)), st(rank, b.getIndexAttr(1)), sz;
    off[0] = begin;
    sz.push_back(arith::SubIOp::create(b, loc, end, begin).getResult());
    for (int64_t i = 1; i < rank; ++i)
      sz.push_back(b.getIndexAttr(t.getDimSize(i)));
    return memref::SubViewOp::create(b, loc, m, off, sz, st);
  }

  MemRefType actType(int64_t d) { return MemRefType::get({ShapedType::kDynamic, d}, f32()); }
  Value alloc(int64_t d) { return memref::AllocOp::create(b, loc, actType(d), ValueRange{n}); }
  int64_t width(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); }

  /// The weight `sym` placed in the file: its view, recorded in the signature.
  FailureOr<const Placement *> weight(Operation *user, FlatSymbolRefAttr sym) {
    auto it = placed.find(sym.getValue());
    if (it == placed.end())
      return fail(user, formatv("weight @{0} has no qcc.gguf placement", sym.getValue()).str());
    const Placement &p = it->second;
    if (signed_.insert(p.ggufName).second)
      signature += formatv("{0} {1} {2} {3}\n", p.ggufName, unsigned(p.type), p.offset, p.bytes).str();
    return &p;
  }
  /// A view of the placed weight: [rows x rowBytes] bytes for a block
  /// format, [len] f32 for a float vector.
  Value blocksView(const Placement &p) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < p.shape.size(); ++i)
      rows *= p.shape[i];
    int64_t rowBytes = p.bytes / std::max<int64_t>(rows, 1);
    auto t = MemRefType::get({rows, rowBytes}, b.getI8Type());
    return memref::ViewOp::create(b, loc, t, wfile, cIdx(p.offset), ValueRange{});
  }
  /// A float vector weight (norm scale, bias) as f32: F32 tensors viewed in
  /// place; F16 / BF16 ones widened into a buffer the caller frees
  /// (releaseVector) after its use.
  struct Vec {
    Value v;
    bool owned = false;
  };
  FailureOr<Vec> vectorView(Operation *user, const Placement &p) {
    using GT = ::qcc::ggml::Type;
    const bool half = p.type == GT::F16 || p.type == GT::BF16;
    if (p.shape.size() != 1 || !(p.type == GT::F32 ? p.offset % 4 == 0 : half && p.offset % 2 == 0))
      return fail(user, formatv("vector weight {0} must be an aligned F32, F16 or BF16 tensor in the GGUF file",
                                p.ggufName)
                            .str());
    if (!half)
      return Vec{memref::ViewOp::create(b, loc, MemRefType::get({p.shape[0]}, f32()), wfile, cIdx(p.offset),
                                        ValueRange{}),
                 false};
    Type et = p.type == GT::F16 ? Type(b.getF16Type()) : Type(b.getBF16Type());
    Value src = memref::ViewOp::create(b, loc, MemRefType::get({p.shape[0]}, et), wfile, cIdx(p.offset),
                                       ValueRange{});
    Value dst = memref::AllocOp::create(b, loc, MemRefType::get({p.shape[0]}, f32()));
    auto par = utils::IteratorType::parallel;
    linalg::GenericOp::create(b, loc, ValueRange{src}, ValueRange{dst}, {map(1, {d(0)}), map(1, {d(0)})}, {par},
                              [&](OpBuilder &b, Location loc, ValueRange a) {
                                linalg::YieldOp::create(b, loc, Value(arith::ExtFOp::create(b, loc, f32(), a[0])));
                              });
    return Vec{dst, true};
  }
  void releaseVector(const Vec &w) {
    if (w.owned)
      memref::DeallocOp::create(b, loc, w.v);
  }

  AffineMap map(unsigned dims, ArrayRef<AffineExpr> r) {
    return AffineMap::get(dims, 0, r, b.getContext());
  }
  AffineExpr d(unsigned i) { return b.getAffineDimExpr(i); }
  AffineExpr c(int64_t v) { return b.getAffineConstantExpr(v); }

  /// out = a + b, elementwise over [n x D] (b may be a broadcast [D] vector).
  void addInto(Value a, Value bv, Value out, bool broadcast) {
    parallel("add", n, kRowGrain, {a, bv, out}, [&](Value lo, Value hi, Value, ValueRange c) {
      auto par = utils::IteratorType::parallel;
      linalg::GenericOp::create(
          b, loc, ValueRange{rowsOf(c[0], lo, hi), broadcast ? c[1] : rowsOf(c[1], lo, hi)},
          ValueRange{rowsOf(c[2], lo, hi)},
          {map(2, {d(0), d(1)}), broadcast ? map(2, {d(1)}) : map(2, {d(0), d(1)}),
           map(2, {d(0), d(1)})},
          {par, par}, [](OpBuilder &b, Location loc, ValueRange a) {
            linalg::YieldOp::create(b, loc, Value(arith::AddFOp::create(b, loc, a[0], a[1])));
          });
    });
  }

  LogicalResult lowerEmbed(q::EmbedOp op) {
    auto p = weight(op, op.getWeightAttr());
    if (failed(p))
      return failure();
    int64_t d = width(op.getResult());
    Value out = alloc(d);
    const Placement &pl = **p;
    parallel("embed", n, kRowGrain, {ptr(blocksView(pl)), tokens, out},
             [&](Value lo, Value hi, Value, ValueRange c) {
               call("qcc_rt_embed", {rt, cI32(int(pl.type)), c[0], cI64(pl.shape[0]), cI64(d),
                                     ptr(c[1], lo), toI64(arith::SubIOp::create(b, loc, hi, lo)),
                                     ptr(c[2], arith::MulIOp::create(b, loc, lo, cIdx(d)))});
             });
    buf[op.getResult()] = out;
    return success();
  }

  LogicalResult lowerRMSNorm(q::RMSNormOp op) {
    auto p = weight(op, op.getWeightAttr());
    if (failed(p))
      return failure();
    auto wv = vectorView(op, **p);
    if (failed(wv))
      return failure();
    Value w = wv->v;
    const int64_t D = width(op.getResult());
    const float eps = float(op.getEpsilon().convertToDouble());
    Value x = buf.lookup(op.getInput());
    Value ss = memref::AllocOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, f32()),
                                       ValueRange{n});
    Value out = alloc(D);
    parallel("rms_norm", n, kRowGrain, {x, ss, w, out}, [&](Value lo, Value hi, Value, ValueRange c) {
      Value xr = rowsOf(c[0], lo, hi), sr = rowsOf(c[1], lo, hi), orows = rowsOf(c[3], lo, hi);
      linalg::FillOp::create(b, loc, ValueRange{cF32(0)}, ValueRange{sr});
      auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
      auto fm = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::reassoc |
                                                                   arith::FastMathFlags::contract);
      linalg::GenericOp::create(b, loc, ValueRange{xr}, ValueRange{sr},
                                {map(2, {d(0), d(1)}), map(2, {d(0)})}, {par, red},
                                [&](OpBuilder &b, Location loc, ValueRange a) {
                                  Value sq = arith::MulFOp::create(b, loc, a[0], a[0], fm);
                                  linalg::YieldOp::create(
                                      b, loc, Value(arith::AddFOp::create(b, loc, a[1], sq, fm)));
                                });
      linalg::GenericOp::create(
          b, loc, ValueRange{xr, sr, c[2]}, ValueRange{orows},
          {map(2, {d(0), d(1)}), map(2, {d(0)}), map(2, {d(1)}), map(2, {d(0), d(1)})}, {par, par},
          [&](OpBuilder &b, Location loc, ValueRange a) {
            Value mean = arith::DivFOp::create(
                b, loc, a[1], arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(float(D))));
            Value e = arith::AddFOp::create(
                b, loc, mean, arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(eps)));
            Value inv = arith::DivFOp::create(
                b, loc, arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(1.0f)),
                math::SqrtOp::create(b, loc, e));
            Value v = arith::MulFOp::create(b, loc, a[2], arith::MulFOp::create(b, loc, a[0], inv));
            linalg::YieldOp::create(b, loc, v);
          });
    });
    memref::DeallocOp::create(b, loc, ss);
    releaseVector(*wv);
    buf[op.getResult()] = out;
    return success();
  }

  /// y = x W^T (+ addend), through the runtime's quantized GEMM.
  LogicalResult emitLinear(Operation *op, FlatSymbolRefAttr wsym, Value input, Value addend,
                           Value out, Value rowOffset, Value rows) {
    auto p = weight(op, wsym);
    if (failed(p))
      return failure();
    const Placement &pl = **p;
    int64_t dOut = pl.shape[0], dIn = pl.shape[1];
    Value xp = ptr(input, rowOffset ? arith::MulIOp::create(b, loc, rowOffset, cIdx(dIn)) : Value());
    Value ap = addend ? ptr(addend) : Value(LLVM::ZeroOp::create(b, loc, ptrTy()));
    Value wp = ptr(blocksView(pl)), rows64 = toI64(rows);
    auto type = [&] { return cI32(int(pl.type)); };
    // Activations rounded or quantized token by token, then the product in
    // blocks of kGemmRows output rows for all tokens.
    call("qcc_rt_linear_prepare", {rt, type(), wp, cI64(dIn), rows64});
    parallel("activations", rows, kRowGrain, {wp, xp}, [&](Value lo, Value hi, Value, ValueRange c) {
      call("qcc_rt_linear_activations", {rt, type(), c[0], cI64(dIn), c[1], toI64(lo), toI64(hi)});
    });
    parallel("linear", cIdx(dOut), kGemmRows, {wp, xp, rows64, ap, ptr(out)},
             [&](Value lo, Value hi, Value thread, ValueRange c) {
               auto loop = scf::ForOp::create(b, loc, lo, hi, cIdx(kGemmRows));
               OpBuilder::InsertionGuard g(b);
               b.setInsertionPointToStart(loop.getBody());
               Value r0 = loop.getInductionVar();
               Value nr = arith::MinSIOp::create(b, loc, cIdx(kGemmRows), arith::SubIOp::create(b, loc, hi, r0));
               call(::qcc::ggml::traits(pl.type).quantized ? "qcc_rt_linear_rows" : "qcc_rt_linear_rows_float",
                    {rt, type(), c[0], cI64(dIn), cI64(dOut), c[1], c[2], c[3], c[4], toI64(r0), toI64(nr),
                     thread});
             });
    return success();
  }

  LogicalResult lowerLinear(q::LinearOp op, Value addend, Value result) {
    Value out = alloc(width(result));
    if (failed(emitLinear(op, op.getWeightAttr(), buf.lookup(op.getInput()), addend, out, {}, n)))
      return failure();
    if (auto bias = op.getBiasAttr()) {
      auto p = weight(op, bias);
      if (failed(p))
        return failure();
      auto bv = vectorView(op, **p);
      if (failed(bv))
        return failure();
      addInto(out, bv->v, out, /*broadcast=*/true);
      releaseVector(*bv);
    }
    buf[result] = out;
    return success();
  }

  LogicalResult lowerLMHead(q::LMHeadOp op) {
    // Only the last m rows, m = the logits buffer's rows (1 or n).
    Value m = memref::DimOp::create(b, loc, logits, 0);
    Value first = arith::SubIOp::create(b, loc, n, m);
    return emitLinear(op, op.getWeightAttr(), buf.lookup(op.getInput()), {}, logits, first, m);
  }

  /// cos and sin of position * freq, [n x half], once per distinct frequency vector.
  std::pair<Value, Value> ropeTable(const std::vector<float> &freq) {
    auto it = ropeTables.find(freq);
    if (it != ropeTables.end())
      return it->second;
    const int64_t half = freq.size();
    auto ft = MemRefType::get({half}, f32());
    std::string name = formatv("qcc_rope_freq_{0}", globals++).str();
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(module.getBody());
      auto tt = RankedTensorType::get({half}, f32());
      memref::GlobalOp::create(b, loc, name, b.getStringAttr("private"), ft,
                               DenseElementsAttr::get(tt, ArrayRef<float>(freq)),
                               /*constant=*/true, IntegerAttr());
    }
    Value f = memref::GetGlobalOp::create(b, loc, ft, name);
    Value cosT = alloc(half), sinT = alloc(half);
    parallel("rope_table", n, kRowGrain, {f, cosT, sinT, pos0}, [&](Value lo, Value hi, Value, ValueRange c) {
      auto par = utils::IteratorType::parallel;
      // Row t of the range is position pos0 + lo + t.
      Value p0 = arith::AddIOp::create(b, loc, c[3], lo);
      linalg::GenericOp::create(
          b, loc, ValueRange{c[0]}, ValueRange{rowsOf(c[1], lo, hi), rowsOf(c[2], lo, hi)},
          {map(2, {d(1)}), map(2, {d(0), d(1)}), map(2, {d(0), d(1)})}, {par, par},
          [&](OpBuilder &b, Location loc, ValueRange a) {
            Value t = linalg::IndexOp::create(b, loc, 0);
            Value p = arith::AddIOp::create(b, loc, t, p0);
            Value pf = arith::SIToFPOp::create(
                b, loc, b.getF32Type(), arith::IndexCastOp::create(b, loc, b.getI64Type(), p));
            Value ang = arith::MulFOp::create(b, loc, pf, a[0]);
            linalg::YieldOp::create(b, loc, ValueRange{math::CosOp::create(b, loc, ang),
                                                        math::SinOp::create(b, loc, ang)});
          });
    });
    return ropeTables[freq] = {cosT, sinT};
  }

  LogicalResult lowerRoPE(q::RoPEOp op) {
    const int64_t H = op.getNumHeads(), hd = op.getHeadDim(), half = hd / 2;
    if (hd % 2)
      return fail(op, "head_dim must be even");
    auto [cosT, sinT] = ropeTable(::qcc::ropeInvFreq(op));
    Value x = buf.lookup(op.getInput());
    Value out = alloc(H * hd);
    // [n, H*hd] as [n, H, 2, half] (rotate-half) or [n, H, half, 2] (pairs).
    SmallVector<int64_t> shape = interleaved ? SmallVector<int64_t>{ShapedType::kDynamic, H, half, 2}
                                             : SmallVector<int64_t>{ShapedType::kDynamic, H, 2, half};
    auto t4 = MemRefType::get(shape, f32());
    SmallVector<ReassociationIndices> re = {{0}, {1, 2, 3}};
    // Loops (t, h, a, b) over the 4-D view; the pair index is a (interleaved:
    // b), the feature within the half b (interleaved: a).
    const unsigned pairDim = interleaved ? 3 : 2, iDim = interleaved ? 2 : 3;
    auto at = [&](int64_t which) {
      SmallVector<AffineExpr> r = {d(0), d(1), d(2), d(3)};
      r[pairDim] = c(which);
      return map(4, r);
    };
    auto par = utils::IteratorType::parallel;
    parallel("rope", n, kRowGrain, {x, out, cosT, sinT}, [&](Value lo, Value hi, Value, ValueRange c) {
      SmallVector<OpFoldResult> os = {memref::DimOp::create(b, loc, c[0], 0).getResult(),
                                      b.getIndexAttr(shape[1]), b.getIndexAttr(shape[2]),
                                      b.getIndexAttr(shape[3])};
      Value x4 = rowsOf(memref::ExpandShapeOp::create(b, loc, t4, c[0], re, os), lo, hi);
      Value o4 = rowsOf(memref::ExpandShapeOp::create(b, loc, t4, c[1], re, os), lo, hi);
      linalg::GenericOp::create(
          b, loc, ValueRange{x4, x4, rowsOf(c[2], lo, hi), rowsOf(c[3], lo, hi)}, ValueRange{o4},
          {at(0), at(1), map(4, {d(0), d(iDim)}), map(4, {d(0), d(iDim)}),
           map(4, {d(0), d(1), d(2), d(3)})},
          {par, par, par, par}, [&](OpBuilder &b, Location loc, ValueRange a) {
            // o0 = x0 c - x1 s; o1 = x1 c + x0 s
            Value c0 = arith::MulFOp::create(b, loc, a[0], a[2]);
            Value s1 = arith::MulFOp::create(b, loc, a[1], a[3]);
            Value c1 = arith::MulFOp::create(b, loc, a[1], a[2]);
            Value s0 = arith::MulFOp::create(b, loc, a[0], a[3]);
            Value o0 = arith::SubFOp::create(b, loc, c0, s1);
            Value o1 = arith::AddFOp::create(b, loc, c1, s0);
            Value which = linalg::IndexOp::create(b, loc, pairDim);
            Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, which,
                                                  arith::ConstantIndexOp::create(b, loc, 0));
            linalg::YieldOp::create(b, loc, Value(arith::SelectOp::create(b, loc, isFirst, o0, o1)));
          });
    });
    buf[op.getResult()] = out;
    return success();
  }

  LogicalResult lowerAttention(q::AttentionOp op) {
    const int64_t H = op.getNumHeads(), KV = op.getNumKvHeads(), hd = op.getHeadDim();
    Value out = alloc(H * hd);
    Value q = ptr(buf.lookup(op.getQ())), n64 = toI64(n), p64 = toI64(pos0);
    const int64_t layer = op.getLayer(), window = op.getSlidingWindow();
    const double scale = op.getScale().convertToDouble();
    // The cache append, then the runtime's units of work (heads x query
    // blocks) across the threads.
    Value units = call("qcc_rt_attention_begin",
                       {rt, cI64(layer), ptr(buf.lookup(op.getK())), ptr(buf.lookup(op.getV())), n64, p64,
                        cI64(H), cI64(KV), cI64(hd)},
                       i64());
    parallel("attention", arith::IndexCastOp::create(b, loc, b.getIndexType(), units), 1,
             {cI64(layer), q, n64, p64, ptr(out)}, [&](Value lo, Value hi, Value thread, ValueRange c) {
               call("qcc_rt_attention_units", {rt, c[0], c[1], c[2], c[3], cI64(H), cI64(KV), cI64(hd),
                                               cF32(scale), cI64(window), c[4], toI64(lo), toI64(hi), thread});
             });
    buf[op.getResult()] = out;
    return success();
  }

  LogicalResult lowerSwiGLU(q::SwiGLUOp op) {
    Value out = alloc(width(op.getResult()));
    parallel("swiglu", n, kRowGrain, {buf.lookup(op.getGate()), buf.lookup(op.getUp()), out},
             [&](Value lo, Value hi, Value, ValueRange c) {
               auto par = utils::IteratorType::parallel;
               linalg::GenericOp::create(
                   b, loc, ValueRange{rowsOf(c[0], lo, hi), rowsOf(c[1], lo, hi)}, ValueRange{rowsOf(c[2], lo, hi)},
                   {map(2, {d(0), d(1)}), map(2, {d(0), d(1)}), map(2, {d(0), d(1)})}, {par, par},
                   [&](OpBuilder &b, Location loc, ValueRange a) {
                     Value one = arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(1.0f));
                     Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, a[0]));
                     Value s = arith::DivFOp::create(b, loc, a[0], arith::AddFOp::create(b, loc, one, e));
                     linalg::YieldOp::create(b, loc, Value(arith::MulFOp::create(b, loc, s, a[1])));
                   });
             });
    buf[op.getResult()] = out;
    return success();
  }

  LogicalResult run() {
    auto fwd = module.lookupSymbol<func::FuncOp>("forward");
    if (!fwd || fwd.getNumArguments() != 2 || fwd.getBody().getBlocks().size() != 1)
      return module.emitError("qcc-lower-to-cpu needs func.func @forward(tokens, positions)");
    if (auto l = module->getAttrOfType<StringAttr>("qcc.rope_layout"))
      interleaved = l.getValue() == "interleaved";
    // Weight placements.
    if (failed(::qcc::codegen::readPlacements(module, placed)))
      return failure();
    auto vocabType = dyn_cast<RankedTensorType>(fwd.getFunctionType().getResult(0));
    if (!vocabType || vocabType.getRank() != 2 || vocabType.isDynamicDim(1))
      return fwd.emitOpError("must return [tokens x vocab] logits");
    const int64_t vocab = vocabType.getDimSize(1);

    // The function.
    b.setInsertionPointToEnd(module.getBody());
    auto bytesT = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    auto tokT = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
    auto logT = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, f32());
    fn = func::FuncOp::create(
        b, loc, "qcc_forward",
        b.getFunctionType({ptrTy(), bytesT, tokT, b.getIndexType(), logT}, {}));
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    rt = entry->getArgument(0);
    wfile = entry->getArgument(1);
    tokens = entry->getArgument(2);
    pos0 = entry->getArgument(3);
    logits = entry->getArgument(4);
    n = memref::DimOp::create(b, loc, tokens, 0);

    // Adds to fuse into the linear producing one of their operands, then the
    // last use of each value in emission order (a fused linear is emitted,
    // and reads its input, where its add is).
    Block &body = fwd.getBody().front();
    ::qcc::codegen::Schedule sched(body);
    sched.computeLifetimes(body);
    auto &fusedInto = sched.fusedInto;
    auto &emittedAt = sched.emittedAt;
    auto &order = sched.order;
    auto &freeAfter = sched.freeAfter;

    for (Operation &op : body) {
      LogicalResult r = success();
      if (emittedAt.count(&op))
        continue; // emitted with its add
      if (auto o = dyn_cast<q::EmbedOp>(op))
        r = lowerEmbed(o);
      else if (auto o = dyn_cast<q::RMSNormOp>(op))
        r = lowerRMSNorm(o);
      else if (auto o = dyn_cast<q::LinearOp>(op))
        r = lowerLinear(o, {}, o.getResult());
      else if (auto o = dyn_cast<q::RoPEOp>(op))
        r = lowerRoPE(o);
      else if (auto o = dyn_cast<q::AttentionOp>(op))
        r = lowerAttention(o);
      else if (auto o = dyn_cast<q::SwiGLUOp>(op))
        r = lowerSwiGLU(o);
      else if (auto o = dyn_cast<q::AddOp>(op)) {
        if (auto lin = fusedInto.lookup(&op)) {
          Value other = o.getLhs() == lin.getResult() ? o.getRhs() : o.getLhs();
          r = lowerLinear(lin, buf.lookup(other), o.getResult());
        } else {
          Value out = alloc(width(o.getResult()));
          addInto(buf.lookup(o.getLhs()), buf.lookup(o.getRhs()), out, false);
          buf[o.getResult()] = out;
        }
      } else if (auto o = dyn_cast<q::LMHeadOp>(op))
        r = lowerLMHead(o);
      else if (isa<func::ReturnOp>(op))
        continue;
      else
        r = op.emitOpError("has no CPU lowering");
      if (failed(r))
        return failure();
      for (Value v : freeAfter[order[&op]])
        if (Value m = buf.lookup(v))
          memref::DeallocOp::create(b, loc, m);
    }
    for (auto &[freq, t] : ropeTables) {
      memref::DeallocOp::create(b, loc, t.first);
      memref::DeallocOp::create(b, loc, t.second);
    }
    func::ReturnOp::create(b, loc);

    // The constants the runtime checks, then drop the graph and its weights.
    b.setInsertionPointToEnd(module.getBody());
    auto sigT = LLVM::LLVMArrayType::get(b.getI8Type(), signature.size() + 1);
    LLVM::GlobalOp::create(b, loc, sigT, /*isConstant=*/true, LLVM::Linkage::External,
                           "qcc_model_signature", b.getStringAttr(signature + '\0'));
    LLVM::GlobalOp::create(b, loc, i64(), true, LLVM::Linkage::External, "qcc_model_vocab",
                           b.getI64IntegerAttr(vocab));
    fwd.erase();
    for (auto w : llvm::make_early_inc_range(module.getOps<q::WeightOp>()))
      w.erase();
    return success();
  }
};

struct LowerToCPUPass : public q::impl::LowerToCPUBase<LowerToCPUPass> {
  void runOnOperation() override {
    ModuleOp m = getOperation();
    Lowering l(m);
    if (failed(l.run()))
      return signalPassFailure();
    // exp (SiLU) as a polynomial in arith, so that the loops vectorize.
    RewritePatternSet ps(&getContext());
    populateMathPolynomialApproximationPatterns(ps, [](StringRef name) { return name == "math.exp"; });
    if (failed(applyPatternsGreedily(m, std::move(ps))))
      return signalPassFailure();
  }
};

} // namespace
