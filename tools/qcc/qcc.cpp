//===- qcc.cpp - the qcc command line -------------------------------------===//
//
//   qcc import   MODEL [-o model.mlir]
//   qcc generate MODEL -p TEXT [-n N] [--temp T --top-k K --top-p P --seed S]
//   qcc eval     MODEL --text FILE [--ctx 512] [--chunks N] [--protocol gptq|llama.cpp]
//                [--save-logits F] [--kld-base F] [--json]
//   qcc tokenize MODEL (-p TEXT | --text FILE) [--json]
//   qcc MODEL --format=gguf:TYPE -o out.gguf [--tensor-type GLOB=TYPE ...]
//   qcc MODEL --format=gptq|awq|compressed-tensors -o DIR [--bits B --group G --sym|--asym]
//   qcc GPTQ_AWQ_OR_CT_DIR --format=gguf[:TYPE] -o out.gguf   (no re-rounding where the grid fits)
//
// Bad input and bad flags: one line on stderr, exit status 2.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Emit.h"
#include "compiler/CompileCPU.h"
#include "compiler/CompileCUDA.h"
#include "codegen/cuda/EmitCUDA.h"
#include "compiler/GGUFExport.h"
#include "compiler/JIT.h"
#include "compiler/HFQuantExport.h"
#include "compiler/GGUFConvert.h"
#include "compiler/Pipeline.h"
#include "compiler/Report.h"
#include "compiler/Session.h"
#include "quant/Mixture.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"
#include "runtime/Eval.h"
#include "runtime/Executor.h"
#include "runtime/Generate.h"
#include "runtime/Sampler.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <omp.h>

#include <chrono>
#include <map>
#include <random>
#include <csignal>
#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace llvm;
using namespace qcc;

namespace {
cl::SubCommand ImportCmd("import", "Import a checkpoint and print its qcc MLIR module");
cl::SubCommand GenerateCmd("generate", "Generate text from a prompt");
cl::SubCommand EvalCmd("eval", "Perplexity (and KL divergence) on a text");
cl::SubCommand TokenizeCmd("tokenize", "Print the token ids of a text");
cl::SubCommand LogitsCmd("logits", "Write the float32 logits of a token sequence (for testing)");
cl::SubCommand DequantCmd("dequant", "Write one GGUF tensor dequantized to float32 (ggml row order)");

cl::opt<std::string> ModelPath(cl::Positional, cl::desc("MODEL (directory or .safetensors)"),
                               cl::sub(ImportCmd), cl::sub(GenerateCmd), cl::sub(EvalCmd),
                               cl::sub(TokenizeCmd), cl::sub(LogitsCmd), cl::sub(DequantCmd));
cl::opt<std::string> Output("o", cl::desc("output file"), cl::value_desc("file"), cl::sub(ImportCmd),
                            cl::sub(LogitsCmd), cl::sub(DequantCmd));
cl::opt<std::string> TensorName("tensor", cl::desc("GGUF tensor name"), cl::sub(DequantCmd));
cl::list<int32_t> Ids("ids", cl::desc("comma-separated token ids"), cl::CommaSeparated,
                      cl::sub(LogitsCmd));
cl::opt<bool> Incremental("incremental", cl::desc("feed one token at a time through the KV cache"),
                          cl::sub(LogitsCmd));
cl::opt<std::string> Prompt("p", cl::desc("prompt text"), cl::sub(GenerateCmd), cl::sub(TokenizeCmd));
cl::alias PromptA("prompt", cl::aliasopt(Prompt), cl::desc("alias for -p"));
cl::opt<int> NumTokens("n", cl::desc("tokens to generate (default 64)"), cl::init(64),
                       cl::sub(GenerateCmd));
cl::opt<float> Temp("temp", cl::desc("sampling temperature (0 = greedy, the default)"), cl::init(0.0f),
                    cl::sub(GenerateCmd));
cl::opt<int> TopK("top-k", cl::desc("keep the K most likely tokens (0 = all)"), cl::init(0),
                  cl::sub(GenerateCmd));
cl::opt<float> TopP("top-p", cl::desc("nucleus sampling threshold (1 = off)"), cl::init(1.0f),
                    cl::sub(GenerateCmd));
cl::opt<uint64_t> Seed("seed", cl::desc("random seed for sampling"), cl::init(0), cl::sub(GenerateCmd));
cl::opt<bool> IgnoreEos("ignore-eos", cl::desc("keep generating past end-of-sequence"),
                        cl::sub(GenerateCmd));
cl::opt<std::string> TextFile("text", cl::desc("text file"), cl::value_desc("file"), cl::sub(EvalCmd),
                              cl::sub(TokenizeCmd));
cl::opt<int64_t> Ctx("ctx", cl::desc("window length in tokens (default 512)"), cl::init(512),
                     cl::sub(EvalCmd));
cl::opt<int64_t> Chunks("chunks", cl::desc("evaluate at most N windows (default: all)"), cl::init(-1),
                        cl::sub(EvalCmd));
cl::opt<std::string> ProtocolOpt("protocol", cl::desc("gptq (default) or llama.cpp"), cl::init("gptq"),
                                 cl::sub(EvalCmd));
cl::opt<std::string> SaveLogits("save-logits", cl::desc("save log-probs for a later --kld-base"),
                                cl::value_desc("file"), cl::sub(EvalCmd));
cl::opt<std::string> KldBase("kld-base", cl::desc("compare against log-probs saved by --save-logits"),
                             cl::value_desc("file"), cl::sub(EvalCmd));
cl::opt<bool> Json("json", cl::desc("machine-readable output on stdout"), cl::sub(EvalCmd),
                   cl::sub(TokenizeCmd));
cl::opt<bool> NoProgress("no-progress", cl::desc("no progress bar on stderr"), cl::sub(EvalCmd));
cl::opt<int> Threads("threads", cl::desc("worker threads (default: all cores)"), cl::init(0),
                     cl::sub(GenerateCmd), cl::sub(EvalCmd));

// Top level: compile MODEL to a file.
cl::opt<std::string> Input(cl::Positional, cl::desc("MODEL"));
cl::opt<std::string> Format("format", cl::desc("output format: gguf:TYPE with TYPE one of F32 F16 BF16 "
                                               "Q8_0 Q6_K Q5_K_M Q5_K_S Q4_K_M Q4_K_S Q4_0 Q4_1 "
                                               "Q5_0 Q5_1 Q3_K_L Q3_K_M Q3_K_S Q2_K; gguf alone "
                                               "(from a GPTQ / AWQ / compressed-tensors model: "
                                               "the types that hold its groups exactly); or a GPU "
                                               "checkpoint directory: gptq, awq, compressed-tensors"));
// GPU checkpoint formats (--format=gptq|awq|compressed-tensors)
cl::opt<unsigned> Bits("bits", cl::desc("GPU formats: bits per weight (gptq 2/3/4/8, awq 4, "
                                         "compressed-tensors 2..8; default 4)"),
                       cl::init(4));
cl::opt<int64_t> Group("group", cl::desc("GPU formats: weights per scale along the input dimension "
                                         "(default 128; -1: one group per row)"),
                       cl::init(128));
cl::opt<bool> Sym("sym", cl::desc("GPU formats: symmetric groups (default for gptq, compressed-tensors)"));
cl::opt<bool> Asym("asym", cl::desc("GPU formats: groups with a zero point (default for awq)"));
cl::opt<bool> QuantizeHead("quantize-head", cl::desc("GPU formats: quantize lm_head too (untied heads only)"));
cl::opt<std::string> TopOutput("o", cl::desc("output file"), cl::value_desc("file"));
cl::opt<std::string> Target("target", cl::desc("cpu or cuda: also compile the model to native CPU code or "
                                               "to CUDA kernels and write the executable -o NAME beside "
                                               "its weights NAME.gguf"));
cl::opt<std::string> GPU("gpu", cl::desc("--target=cuda: sm_90a (default: Hopper), sm_89 or sm_80"),
                         cl::init("sm_90a"));
cl::opt<std::string> EmitCudaSource("emit-cuda-source", cl::desc("--target=cuda: also write the generated "
                                                                 "CUDA C++ to this file"),
                                    cl::value_desc("file"));
cl::opt<std::string> CPU("cpu", cl::desc("--target=cpu: native (default), x86-64-v3, x86-64-v4 or znver4"),
                         cl::init("native"));
cl::list<std::string> TensorType("tensor-type", cl::desc("per-tensor override GLOB=TYPE, e.g. "
                                                         "'blk.*.ffn_down.weight=Q6_K' (repeatable)"));
cl::opt<bool> Quiet("quiet", cl::desc("no summary on stderr"));
// Calibrated quantization (the compile command, and eval / generate / logits with --quant).
#define QCC_CALIB_SUBS cl::sub(cl::SubCommand::getTopLevel()), cl::sub(EvalCmd), cl::sub(GenerateCmd), cl::sub(LogitsCmd)
cl::opt<std::string> CalibFile("calib", cl::desc("calibration text (plain UTF-8) for GPTQ / AWQ / importance"),
                               cl::value_desc("file"), QCC_CALIB_SUBS);
cl::opt<int64_t> CalibSamples("calib-samples", cl::desc("calibration windows (default 128)"), cl::init(128),
                              QCC_CALIB_SUBS);
cl::opt<int64_t> CalibCtx("calib-ctx", cl::desc("tokens per calibration window (default 512)"), cl::init(512),
                          QCC_CALIB_SUBS);
cl::opt<uint64_t> CalibSeed("seed", cl::desc("seed for drawing calibration windows (default 0)"), cl::init(0),
                            cl::sub(cl::SubCommand::getTopLevel()), cl::sub(EvalCmd), cl::sub(LogitsCmd));
cl::opt<std::string> Method("method", cl::desc("rtn, gptq, awq or awq+gptq (default: gptq with --calib, rtn without)"),
                            QCC_CALIB_SUBS);
cl::opt<bool> ActOrder("act-order", cl::desc("GPTQ: columns by decreasing activation energy (desc_act)"),
                       QCC_CALIB_SUBS);
cl::opt<bool> StaticGroups("static-groups", cl::desc("GPTQ: fit every group before rounding any column"),
                           QCC_CALIB_SUBS);
cl::opt<double> Damp("damp", cl::desc("GPTQ dampening, fraction of the mean Hessian diagonal (default 0.01)"),
                     cl::init(0.01), QCC_CALIB_SUBS);
cl::opt<bool> AllowRequantize("allow-requantize",
                              cl::desc("accept a MODEL whose weights are already quantized (a quantized GGUF, or a "
                                       "GPTQ / AWQ / compressed-tensors checkpoint)"));
cl::opt<double> Bpw("bpw", cl::desc("size budget: bits per weight of the whole model (as llama.cpp counts "
                                     "them); formats chosen from measured sensitivity (needs --calib)"),
                    cl::init(0));
cl::opt<std::string> ReportFile("report", cl::desc("write what was decided per tensor (format, method, error on "
                                                 "the calibration inputs) as JSON, and a plot beside it (.svg)"),
                                 cl::value_desc("file.json"));
cl::opt<bool> AWQFoldOnly("awq-fold-only", cl::desc("apply the AWQ scale folds and round nothing (a check)"),
                          cl::sub(EvalCmd), cl::sub(LogitsCmd));
cl::opt<bool> NoProgressTop("no-progress", cl::desc("no progress bar on stderr"));
// eval / generate on a quantized model without writing a file
cl::opt<bool> Reference("reference", cl::desc("run the float32 reference interpreter instead of the "
                                               "compiled code (a .gguf MODEL, or --quant of a ggml mixture "
                                               "such as Q4_K_M, is JIT-compiled by default)"),
                        cl::sub(EvalCmd), cl::sub(GenerateCmd), cl::sub(LogitsCmd));
cl::opt<std::string> KVTypeOpt("kv-type", cl::desc("compiled code: KV cache type f16 (default) or q8_0 (fp8: GPU binaries)"),
                               cl::init("f16"), cl::sub(EvalCmd), cl::sub(GenerateCmd), cl::sub(LogitsCmd));
cl::opt<std::string> QuantPreset("quant", cl::desc("quantize in memory first: a gguf preset (Q4_K_M, ...) "
                                                   "or rtn:BITS[:gGROUP][:sym][:int] (e.g. rtn:4:g128; :int = the "
                                                   "grid GPTQ / AWQ / compressed-tensors files store)"),
                                 cl::sub(EvalCmd), cl::sub(GenerateCmd), cl::sub(LogitsCmd));

[[noreturn]] void die(Error e) {
  std::string msg = toString(std::move(e));
  errs() << "qcc: error: " << msg << "\n";
  exit(kBadInputExit);
}
[[noreturn]] void die(const Twine &msg) {
  errs() << "qcc: error: " << msg << "\n";
  exit(kBadInputExit);
}
template <typename T> T check(Expected<T> v) {
  if (!v)
    die(v.takeError());
  return std::move(*v);
}

/// Runs `pm` on the session's module; a failure dies with the first diagnostic.
void runPasses(Session &s, mlir::PassManager &pm, StringRef what) {
  if (auto e = runPipeline(pm, *s.module, what))
    die(std::move(e));
}

std::optional<CalibrationOptions> calibrationFromFlags(Session &s, bool progress);

std::unique_ptr<Session> open() {
  if (ModelPath.empty())
    die("missing MODEL (a model directory, a .safetensors file or a .gguf file)");
  auto s = check(openSession(ModelPath));
  if (QuantPreset.empty() && (!CalibFile.empty() || AWQFoldOnly))
    die("--calib / --awq-fold-only need --quant SPEC (what to quantize to)");
  if (!QuantPreset.empty()) {
    // Quantize in memory and run what the packed blocks compute.
    auto store = std::make_shared<WeightStore>(s->weights.get());
    mlir::PassManager pm(s->context.get());
    if (!buildQuantPipeline(pm, QuantPreset, *store, calibrationFromFlags(*s, false)))
      die(formatv("--quant: '{0}' is neither a gguf preset (Q8_0 Q6_K Q5_K_M Q5_K_S Q4_K_M Q4_K_S "
                  "Q4_0 Q4_1 Q5_0 Q5_1 Q3_K_L Q3_K_M Q3_K_S Q2_K F16 BF16 F32) nor "
                  "rtn:BITS[:gGROUP][:sym][:int] with BITS 2..8",
                  QuantPreset.getValue()));
    runPasses(*s, pm, ModelPath + " --quant " + QuantPreset);
    s->quantStore = store;
    s->baseWeights = std::move(s->weights);
    s->weights = packedWeights(*store, *s->baseWeights);
  }
  return s;
}

/// Whether --quant names a ggml block mixture (Q4_K_M, Q8_0, ...), which the
/// compiled code runs; the float presets and qcc's rtn:BITS grids (no ggml
/// block holds them) run on the interpreter.
bool quantRunsCompiled() {
  if (QuantPreset.empty() || AWQFoldOnly)
    return false;
  std::optional<ggml::Preset> p = ggml::presetFromName(QuantPreset);
  return p && ggml::traits(p->base).quantized;
}

/// What generate / eval / logits run: compiled code (the code `--target=cpu`
/// binaries run) for a .gguf MODEL and for --quant of a ggml mixture (the
/// packed model written to a temporary GGUF, compiled against it, and
/// removed once mapped); with --reference, a float --quant preset, an
/// rtn:BITS grid or a float checkpoint, the float32 reference interpreter.
std::unique_ptr<JITModel> TheJIT; // outlives the model bound to it
std::unique_ptr<LanguageModel> makeModel(Session &s, int64_t maxCtx) {
  const bool gguf = StringRef(ModelPath).ends_with(".gguf");
  const bool compiled = !Reference && (QuantPreset.empty() ? gguf : quantRunsCompiled());
  if (!compiled)
    return check(Executor::create(*s.module, *s.weights, maxCtx));
  KVType kv = check(parseKVType(KVTypeOpt));
  if (QuantPreset.empty()) {
    TheJIT = check(JITModel::compile(*s.module, ModelPath));
    return check(TheJIT->model(maxCtx, kv));
  }
  SmallString<128> tmp;
  if (std::error_code ec = sys::fs::createTemporaryFile("qcc-jit", "gguf", tmp))
    die(formatv("cannot create a temporary file for the quantized model: {0}", ec.message()));
  const std::string path = tmp.str().str();
  auto fail = [&](Error e) {
    sys::fs::remove(path);
    die(std::move(e));
  };
  if (auto st = exportGGUF(*s.module, s.config(), s.tokenizer(), *s.quantStore, "model", path,
                           s.ggufReader.get()); !st)
    fail(st.takeError());
  auto packed = openSession(path);
  if (!packed)
    fail(packed.takeError());
  auto jit = JITModel::compile(*(*packed)->module, path);
  if (!jit)
    fail(jit.takeError());
  TheJIT = std::move(*jit);
  auto m = TheJIT->model(maxCtx, kv);
  sys::fs::remove(path); // mapped: the pages stay until the model is gone
  return check(std::move(m));
}

/// A text to tokenize whole (--text, --calib), memory-mapped. Its token ids
/// are held in memory (up to 4 bytes a byte for a byte-level vocabulary), so
/// its size is bounded.
constexpr uint64_t kMaxTextBytes = uint64_t(256) << 20;
std::unique_ptr<MemoryBuffer> readText(const std::string &path) {
  uint64_t size = 0;
  if (!sys::fs::file_size(path, size) && size > kMaxTextBytes)
    die(fileError(path, "text is {0} MiB, expected at most {1} MiB (take a sample of it)",
                  size >> 20, kMaxTextBytes >> 20));
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    die(fileError(path, "cannot read text: {0}", buf.getError().message()));
  if ((*buf)->getBufferSize() > kMaxTextBytes) // not a regular file: read, then checked
    die(fileError(path, "text is over {0} MiB (take a sample of it)", kMaxTextBytes >> 20));
  return std::move(*buf);
}

/// `samples` windows of `ctx` tokens drawn reproducibly (seeded) from the
/// tokenized text; a window starts with BOS when the tokenizer adds one.
Expected<std::vector<std::vector<int32_t>>> calibrationWindows(const Tokenizer &tok,
                                                              StringRef text,
                                                              const std::string &path,
                                                              int64_t samples, int64_t ctx,
                                                              uint64_t seed) {
  std::vector<int32_t> ids = tok.encode(text);
  const bool bos = tok.addBos() && tok.bos();
  const int64_t body = ctx - (bos ? 1 : 0);
  if (ids.empty())
    return fileError(path, "calibration text is empty (expected plain text of at least {0} tokens)", body);
  if (int64_t(ids.size()) < body)
    return fileError(path, "calibration text has {0} tokens, fewer than --calib-ctx {1} needs ({2})",
                     ids.size(), ctx, body);
  std::mt19937_64 rng(seed);
  const uint64_t span = uint64_t(ids.size()) - uint64_t(body) + 1;
  std::vector<std::vector<int32_t>> w(samples);
  for (auto &win : w) {
    uint64_t off = rng() % span;
    if (bos)
      win.push_back(*tok.bos());
    win.insert(win.end(), ids.begin() + off, ids.begin() + off + body);
  }
  return w;
}

/// The calibration the flags ask for (none without --calib); dies on bad flags.
std::optional<CalibrationOptions> calibrationFromFlags(Session &s, bool progress) {
  std::string method = Method.empty() ? (CalibFile.empty() ? "rtn" : "gptq") : Method.getValue();
  if (AWQFoldOnly)
    method = "awq";
  if (method != "rtn" && method != "gptq" && method != "awq" && method != "awq+gptq")
    die(formatv("--method must be rtn, gptq, awq or awq+gptq, got '{0}'", method));
  if (method != "rtn" && CalibFile.empty())
    die(formatv("--method={0} needs calibration text: give --calib FILE", method));
  if (CalibSamples < 1 || CalibCtx < 2)
    die("--calib-samples must be >= 1 and --calib-ctx >= 2");
  if (!(Damp > 0) || Damp > 10)
    die("--damp must be in (0, 10]");
  if (CalibFile.empty())
    return std::nullopt;
  CalibrationOptions c;
  c.method = method;
  c.windows = check(calibrationWindows(s.tokenizer(), readText(CalibFile)->getBuffer(), CalibFile, CalibSamples,
                                       CalibCtx, GenerateCmd ? Seed.getValue() : CalibSeed.getValue()));
  c.damp = Damp;
  c.actOrder = ActOrder;
  c.staticGroups = StaticGroups;
  c.foldOnly = AWQFoldOnly;
  c.progress = progress;
  return c;
}

/// qcc MODEL --format=gptq|awq|compressed-tensors -o DIR
int runExportHF() {
  using M = QuantizationConfig::Method;
  const M m = Format == "gptq" ? M::GPTQ : Format == "awq" ? M::AWQ : M::CompressedTensors;
  if (TopOutput.empty())
    die("-o DIR is required (the model directory to write)");
  if (Sym && Asym)
    die("--sym and --asym exclude each other");
  if (!TensorType.empty() || Bpw.getNumOccurrences())
    die(formatv("--tensor-type and --bpw choose GGUF block formats; --format={0} takes --bits and "
                "--group",
                Format.getValue()));
  const bool sym = Sym ? true : Asym ? false : m != M::AWQ;
  const unsigned bits = Bits;
  if (m == M::GPTQ && bits != 2 && bits != 3 && bits != 4 && bits != 8)
    die(formatv("--format=gptq: --bits must be 2, 3, 4 or 8, got {0}", bits));
  if (m == M::AWQ && bits != 4)
    die(formatv("--format=awq: the AWQ GEMM layout is 4-bit only, got --bits {0}", bits));
  if (m == M::CompressedTensors && (bits < 2 || bits > 8))
    die(formatv("--format=compressed-tensors: --bits must be in 2..8, got {0}", bits));
  if (Group == 0 || Group < -1)
    die(formatv("--group must be positive or -1 (one group per row), got {0}", Group.getValue()));
  if (m == M::AWQ && Group == -1)
    die("--format=awq needs a group size (--group G)");
  if (m == M::AWQ && QuantizeHead)
    die("--format=awq keeps lm_head in float (AWQ loaders do not read a quantized head)");
  if (!CalibFile.empty() && !sys::fs::exists(CalibFile))
    die(fileError(CalibFile, "cannot read calibration text: no such file"));

  auto t0 = std::chrono::steady_clock::now();
  auto s = check(openSession(Input));
  if (s->ggufReader)
    die(fileError(Input, "is a GGUF file; --format={0} writes a Hugging Face model directory and "
                         "needs one (config.json and safetensors) as input",
                  Format.getValue()));
  if (s->hf.quant && !AllowRequantize)
    die(fileError(s->hf.configPath, "describes a {0}-quantized checkpoint ({1}-bit); re-quantizing "
                                    "its dequantized weights loses quality: pass --allow-requantize",
                  s->hf.quant->methodName(), s->hf.quant->bits));
  if (QuantizeHead && s->config().tieWordEmbeddings)
    die(fileError(s->hf.configPath, "ties lm_head to the embedding (tie_word_embeddings); the GPU "
                                    "formats quantize linear layers only, so --quantize-head needs an "
                                    "untied head"));
  WeightStore store(s->weights.get());
  mlir::PassManager pm(s->context.get());
  IntGroupPipelineOptions o;
  o.bits = bits;
  o.group = Group == -1 ? 0 : Group.getValue();
  o.symmetric = sym;
  o.includeHead = QuantizeHead;
  o.calibration = calibrationFromFlags(*s, !NoProgressTop && !Quiet);
  buildIntGroupPipeline(pm, o, store);
  runPasses(*s, pm, Input);
  HFQuantExportOptions e;
  e.format = m;
  e.bits = int(bits);
  e.group = o.group;
  e.symmetric = sym;
  e.actOrder = ActOrder;
  e.method = o.calibration ? o.calibration->method : "rtn";
  e.damp = Damp;
  auto st = check(exportQuantizedHF(*s->module, s->hf, store, e, TopOutput));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!Quiet) {
    if (!st.floatLayers.empty())
      errs() << formatv("qcc: note: {0} linear layers stay in float (row length not a multiple of "
                        "--group {1}): {2}\n",
                        st.floatLayers.size(), o.group, join(st.floatLayers, ", "));
    errs() << formatv("qcc: wrote {0} ({1} W{2} {3} {4}, method {5}; {6} layers quantized, {7:f2} "
                      "MiB of tensors) in {8:f1}s\n",
                      TopOutput.getValue(), Format.getValue(), bits,
                      o.group ? formatv("g{0}", o.group).str() : std::string("per-row"),
                      sym ? "sym" : "asym", e.method, st.quantizedLayers, st.bytes / 1048576.0, secs);
  }
  return 0;
}

int runCompileFile();

/// --target=cpu|cuda -o NAME: NAME.gguf (quantized as --format says, or a
/// .gguf MODEL as it is), then NAME, the model compiled against that file.
int runCompileAOT() {
  const std::string target = Target;
  const bool cuda = target == "cuda";
  if (TopOutput.empty())
    die(formatv("--target={0} needs -o NAME (the executable; its weights go to NAME.gguf)", target));
  if (cuda) {
    if (Error e = codegen::checkGPU(GPU))
      die(std::move(e));
  } else
    check(codegen::resolveCPU(CPU));
  const std::string name = TopOutput, weights = name + ".gguf";
  const bool fromGGUF = StringRef(Input).ends_with(".gguf");
  if (!Format.empty() && !StringRef(Format).starts_with("gguf"))
    die(formatv("--target={0} runs GGUF block formats: --format must be gguf:TYPE, got '{1}'", target,
                Format.getValue()));
  if (Format.empty() && !fromGGUF) {
    // As --format=gguf: Q4_K_M for a float checkpoint, the lossless block
    // mapping for a GPTQ / AWQ / compressed-tensors one.
    Format = "gguf";
    if (!Quiet)
      errs() << "qcc: no --format: compiling the weights as --format=gguf (Q4_K_M, or a quantized "
                "checkpoint's own grid)\n";
  }
  auto t0 = std::chrono::steady_clock::now();
  if (Format.empty()) {
    // An existing GGUF is compiled as it is: no re-quantizing.
    if (!sys::fs::exists(Input))
      die(fileError(Input, "cannot read: no such file"));
    check(gguf::Reader::open(Input)); // a clear error before anything is written
    std::string tmp = AtomicFile::tempName(weights);
    if (std::error_code ec = sys::fs::copy_file(Input, tmp)) {
      sys::fs::remove(tmp);
      die(fileError(weights, "cannot write: {0}", ec.message()));
    }
    if (std::error_code ec = sys::fs::rename(tmp, weights)) {
      sys::fs::remove(tmp);
      die(fileError(weights, "cannot write: {0}", ec.message()));
    }
  } else {
    TopOutput = weights;
    if (int rc = runCompileFile())
      return rc;
  }
  // The module the code is generated from is the one the weights file
  // describes: the same path for qcc's own output and for any GGUF.
  auto s = check(openSession(weights));
  if (auto e = cuda ? compileCUDA(*s->module, weights, name, GPU, EmitCudaSource)
                    : compileCPU(*s->module, weights, name, CPU)) {
    sys::fs::remove(weights);
    die(std::move(e));
  }
  if (!Quiet) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    errs() << formatv("qcc: wrote {0} (compiled for {1}) and its weights {2} in {3:f1}s\n", name,
                      cuda ? "--gpu=" + GPU.getValue() : "--cpu=" + CPU.getValue(), weights, secs);
  }
  return 0;
}

int runCompile() {
  if (Input.empty())
    die("expected a command (import, generate, eval, tokenize) or MODEL --format=gguf:TYPE -o FILE");
  if (Target.getNumOccurrences() && Target != "cpu" && Target != "cuda")
    die(formatv("--target must be cpu or cuda, got '{0}'", Target.getValue()));
  if (Target == "cpu" || Target == "cuda")
    return runCompileAOT();
  return runCompileFile();
}

int runCompileFile() {
  if (Format == "gptq" || Format == "awq" || Format == "compressed-tensors")
    return runExportHF();
  StringRef fmt = Format;
  const bool plainGGUF = fmt == "gguf";
  if (!plainGGUF && !fmt.consume_front("gguf:"))
    die(formatv("--format must be gguf:TYPE (e.g. gguf:Q4_K_M), gguf, gptq, awq or "
                "compressed-tensors, got '{0}'",
                Format.getValue()));
  if (Bpw.getNumOccurrences() && CalibFile.empty())
    die("--bpw needs --calib FILE: formats are chosen from each tensor's measured error");
  if (Bpw.getNumOccurrences() && (!(Bpw > 0) || Bpw > 32))
    die(formatv("--bpw must be in (0, 32], got {0}", Bpw.getValue()));
  if (TopOutput.empty())
    die("-o FILE is required");
  if (!plainGGUF && !ggml::presetFromName(fmt.str()))
    die(formatv("--format: unknown GGUF type '{0}', expected F32 F16 BF16 Q8_0 Q6_K Q5_K_M Q5_K_S "
                "Q4_K_M Q4_K_S Q4_0 Q4_1 Q5_0 Q5_1 Q3_K_L Q3_K_M Q3_K_S Q2_K", fmt));

  if (!CalibFile.empty() && !sys::fs::exists(CalibFile))
    die(fileError(CalibFile, "cannot read calibration text: no such file"));
  auto t0 = std::chrono::steady_clock::now();
  auto s = check(openSession(Input));
  if (s->ggufReader && !AllowRequantize) {
    // Rounding already-rounded weights again loses more than either step.
    std::map<std::string, int> quantized;
    for (const gguf::TensorInfo &t : s->ggufReader->tensors())
      if (ggml::traits(t.type).quantized)
        quantized[ggml::traits(t.type).name]++;
    if (!quantized.empty()) {
      std::string types;
      for (auto &[t, n] : quantized)
        types += formatv("{0}{1} x{2}", types.empty() ? "" : ", ", t, n).str();
      die(fileError(Input, "holds quantized tensors ({0}); re-quantizing loses quality: pass "
                           "--allow-requantize, or start from an F32/F16/BF16 file",
                    types));
    }
  }
  // A GPTQ / AWQ / compressed-tensors model converts without re-rounding
  // where the block format holds its groups; --calib / --bpw would re-round
  // everything from the dequantized weights instead.
  const bool convert = !s->ggufReader && s->hf.quant && !AllowRequantize;
  if (convert && (!CalibFile.empty() || Bpw.getNumOccurrences()))
    die(fileError(s->hf.configPath, "describes a {0}-quantized checkpoint, which converts to GGUF "
                                    "without re-rounding; --calib / --bpw re-quantize every weight: "
                                    "pass --allow-requantize to do that",
                  s->hf.quant->methodName()));
  std::vector<std::string> tensorTypes(TensorType.begin(), TensorType.end());
  std::string preset = plainGGUF ? "Q4_K_M" : fmt.str();
  if (convert && plainGGUF) {
    LosslessPlan plan = check(planLosslessGGUF(*s));
    preset = plan.preset;
    tensorTypes.insert(tensorTypes.end(), plan.tensorTypes.begin(), plan.tensorTypes.end());
  }
  WeightStore store(s->weights.get());
  if (convert) {
    ConversionResult r = check(packLosslessGGUF(*s, store, tensorTypes, preset));
    if (!Quiet) {
      if (r.kept)
        errs() << formatv("qcc: {0} {1} layers moved into ggml blocks without re-rounding their codes{2}\n",
                          r.kept, s->hf.quant->methodName(),
                          r.scalesRounded ? formatv(" ({0} with scales rounded once to fp16)", r.scalesRounded).str()
                                          : std::string());
      if (r.worstError > 0)
        errs() << formatv("qcc: largest change of a weight (fp16 rounding of Q4_1 minimums or of scales): "
                          "{0:e3} ({1})\n",
                          r.worstError, r.worstName);
      if (!r.rerounded.empty())
        errs() << formatv("qcc: note: re-quantizing {0} tensors whose groups the chosen type cannot "
                          "hold: {1}\n",
                          r.rerounded.size(), join(r.rerounded, ", "));
    }
  }
  mlir::PassManager pm(s->context.get());
  GGUFPipelineOptions o;
  o.preset = preset;
  o.tensorTypes = tensorTypes;
  o.calibration = calibrationFromFlags(*s, !NoProgressTop && !Quiet);
  if (Bpw.getNumOccurrences())
    o.bpw = Bpw.getValue();
  buildGGUFPipeline(pm, o, store);
  runPasses(*s, pm, Input);
  std::string name;
  if (s->ggufReader) {
    const gguf::Value *n = s->ggufReader->get("general.name");
    name = n && n->type == gguf::ValueType::STRING ? n->s : sys::path::stem(Input).str();
  } else {
    name = sys::path::filename(s->hf.checkpoint->directory()).str();
  }
  auto stats = check(exportGGUF(*s->module, s->config(), s->tokenizer(), store,
                                name.empty() ? "model" : name, TopOutput, s->ggufReader.get()));
  if (!ReportFile.empty())
    if (auto e = writeReport(*s->module, ReportFile))
      die(std::move(e));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!Quiet) {
    std::string types;
    for (auto &[t, n] : stats.tensorsPerType)
      types += formatv("{0}{1} x{2}", types.empty() ? "" : ", ", t, n).str();
    errs() << formatv("qcc: wrote {0} ({1:f2} MiB, {2:f3} bits per weight over {3} weights; {4}) "
                      "in {5:f1}s\n",
                      TopOutput.getValue(), stats.fileBytes / 1048576.0,
                      8.0 * stats.weightBytes / std::max<uint64_t>(stats.numWeights, 1),
                      stats.numWeights, types, secs);
  }
  return 0;
}

int runImport() {
  auto s = open();
  std::string out = Output.empty() ? "-" : Output.getValue();
  if (out == "-") {
    s->module->print(outs());
    return 0;
  }
  auto file = check(AtomicFile::create(out));
  s->module->print(file->os());
  if (auto e = file->commit())
    die(std::move(e));
  return 0;
}

int runGenerate() {
  if (NumTokens < 0)
    die("-n must be >= 0");
  if (Temp < 0 || TopP <= 0 || TopP > 1 || TopK < 0)
    die("--temp must be >= 0, --top-p in (0, 1], --top-k >= 0");
  auto s = open();
  Tokenizer &tok = s->tokenizer();
  std::vector<int32_t> ids;
  if (tok.addBos() && tok.bos())
    ids.push_back(*tok.bos());
  auto enc = tok.encode(Prompt);
  ids.insert(ids.end(), enc.begin(), enc.end());
  if (ids.empty())
    die("the prompt encodes to no tokens; give -p TEXT");
  int64_t maxCtx = std::min<int64_t>(s->config().maxPositions, int64_t(ids.size()) + NumTokens);
  if (int64_t(ids.size()) > maxCtx)
    die(formatv("prompt has {0} tokens, more than max_position_embeddings {1}", ids.size(),
                s->config().maxPositions));
  auto ex = makeModel(*s, std::max<int64_t>(maxCtx, 1));
  GenerateStats st = generateStreaming(*ex, tok, std::move(ids), NumTokens, IgnoreEos, {Temp, TopK, TopP, Seed}, outs());
  printGenerateStats(errs(), "qcc: ", st);
  return 0;
}

int runEval() {
  if (TextFile.empty())
    die("eval needs --text FILE");
  Protocol proto;
  if (ProtocolOpt == "gptq")
    proto = Protocol::GPTQ;
  else if (ProtocolOpt == "llama.cpp" || ProtocolOpt == "llamacpp")
    proto = Protocol::LlamaCpp;
  else
    die(formatv("--protocol must be gptq or llama.cpp, got '{0}'", ProtocolOpt.getValue()));
  if (Ctx < 2)
    die("--ctx must be at least 2");
  if (Chunks == 0 || Chunks < -1)
    die("--chunks must be positive");
  std::unique_ptr<MemoryBuffer> textBuf = readText(TextFile);
  StringRef text = textBuf->getBuffer();
  auto s = open();
  Tokenizer &tok = s->tokenizer();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> tokens = tok.encode(text);
  double tokSec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto ex = makeModel(*s, Ctx);
  EvalOptions o;
  o.ctx = Ctx;
  o.chunks = Chunks;
  o.protocol = proto;
  o.saveLogits = SaveLogits;
  o.kldBase = KldBase;
  o.progress = !NoProgress;
  bool addBos = tok.addBos() && tok.bos();
  EvalResult r = check(evaluate(*ex, tokens, addBos, tok.bos().value_or(0), o));

  if (Json) {
    json::Object j{{"model", ModelPath.getValue()},
                   {"text", TextFile.getValue()},
                   {"protocol", ProtocolOpt.getValue()},
                   {"ctx", Ctx.getValue()},
                   {"chunks", r.chunks},
                   {"tokens", r.tokens},
                   {"scored", r.scored},
                   {"ppl", r.ppl},
                   {"ppl_stderr", r.pplErr},
                   {"mean_nll", r.meanNLL},
                   {"tokenize_seconds", tokSec},
                   {"seconds", r.seconds},
                   {"tokens_per_second", r.chunks * Ctx / std::max(r.seconds, 1e-9)}};
    if (r.kld) {
      auto &k = *r.kld;
      j["kld"] = json::Object{{"mean", k.mean},   {"mean_stderr", k.meanErr}, {"max", k.max},
                              {"p99_9", k.p999},  {"p99", k.p99},             {"p95", k.p95},
                              {"p90", k.p90},     {"median", k.median},       {"min", k.min},
                              {"top1_agreement", k.top1}, {"top1_stderr", k.top1Err},
                              {"base_ppl", k.basePPL},    {"positions", k.positions}};
    }
    outs() << formatv("{0:2}", json::Value(std::move(j))) << "\n";
    return 0;
  }
  outs() << formatv("model {0}\ntext {1}: {2} tokens ({3:f1}s to tokenize)\nprotocol {4}, ctx {5}, "
                    "{6} chunks, {7} scored tokens, {8:f1}s ({9:f0} tok/s)\n",
                    ModelPath.getValue(), TextFile.getValue(), r.tokens, tokSec,
                    ProtocolOpt.getValue(), Ctx.getValue(), r.chunks, r.scored, r.seconds,
                    r.chunks * Ctx / std::max(r.seconds, 1e-9));
  printEvalSummary(outs(), r);
  return 0;
}

int runLogits() {
  if (Ids.empty() || Output.empty())
    die("logits needs --ids A,B,C and -o FILE");
  auto s = open();
  auto ex = makeModel(*s, int64_t(Ids.size()));
  int64_t V = ex->vocabSize(), n = Ids.size();
  for (int32_t id : Ids)
    if (id < 0 || id >= V)
      die(formatv("--ids: token id {0} is outside the vocabulary of {1}", id, V));
  std::vector<int32_t> ids(Ids.begin(), Ids.end());
  std::vector<float> logits(n * V);
  if (Incremental)
    for (int64_t i = 0; i < n; ++i)
      ex->forward(ArrayRef<int32_t>(&ids[i], 1), logits.data() + i * V, true);
  else
    ex->forward(ids, logits.data(), false);
  std::error_code ec;
  raw_fd_ostream os(Output, ec);
  if (ec)
    die(fileError(Output, "cannot write: {0}", ec.message()));
  os.write(reinterpret_cast<const char *>(logits.data()), logits.size() * sizeof(float));
  return 0;
}

int runDequant() {
  if (TensorName.empty() || Output.empty())
    die("dequant needs FILE.gguf --tensor NAME -o FILE");
  auto r = check(gguf::Reader::open(ModelPath));
  const gguf::TensorInfo *t = r->tensor(TensorName);
  if (!t)
    die(fileError(ModelPath, "no tensor '{0}'", TensorName.getValue()));
  int64_t n = t->ne[0], rows = t->rows();
  size_t rb = ggml::rowBytes(t->type, n);
  std::vector<float> out(n * rows);
  for (int64_t i = 0; i < rows; ++i)
    ggml::dequantizeRow(t->type, t->data + i * rb, out.data() + i * n, n);
  std::error_code ec;
  raw_fd_ostream os(Output, ec);
  if (ec)
    die(fileError(Output, "cannot write: {0}", ec.message()));
  os.write(reinterpret_cast<const char *>(out.data()), out.size() * 4);
  return 0;
}

int runTokenize() {
  std::string text = TextFile.empty() ? Prompt.getValue() : readText(TextFile)->getBuffer().str();
  if (ModelPath.empty())
    die("missing MODEL (a model directory or a file inside one)");
  // Only the tokenizer is needed: MODEL may be a .gguf, a directory or any file in it.
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<gguf::Reader> reader;
  if (StringRef(ModelPath).ends_with(".gguf")) {
    reader = check(gguf::Reader::open(ModelPath));
    tok = check(loadGGUFTokenizer(*reader));
  } else {
    std::string dir = sys::fs::is_directory(ModelPath) ? ModelPath.getValue()
                                                        : sys::path::parent_path(ModelPath).str();
    tok = check(loadTokenizer(dir.empty() ? "." : dir));
  }
  auto ids = tok->encode(text);
  if (Json) {
    json::Array a;
    for (int32_t i : ids)
      a.push_back(i);
    outs() << json::Value(std::move(a)) << "\n";
  } else {
    for (size_t i = 0; i < ids.size(); ++i)
      outs() << (i ? " " : "") << ids[i];
    outs() << "\n";
  }
  return 0;
}
/// `qcc --help` (and each command's) lists only qcc's own options, grouped.
void groupOptionsForHelp() {
  static cl::OptionCategory General("General options");
  static cl::OptionCategory Compile("Compile: qcc MODEL --format=gguf:TYPE -o FILE");
  static cl::OptionCategory Calib("Calibrated quantization (compile; eval / generate / logits with --quant)");
  static cl::OptionCategory Eval("Evaluation (eval)");
  static cl::OptionCategory Gen("Generation (generate)");
  static cl::OptionCategory Tools("Inspection (tokenize, logits, dequant)");
  auto put = [](cl::OptionCategory &c, std::initializer_list<cl::Option *> opts) {
    for (cl::Option *o : opts)
      o->addCategory(c);
  };
  put(General, {&ModelPath, &Input, &Output, &TopOutput, &Target, &CPU, &Threads, &NoProgress, &NoProgressTop, &Quiet, &Json});
  put(Compile, {&Format, &static_cast<cl::Option &>(TensorType), &Bpw, &ReportFile, &AllowRequantize, &Bits,
                &Group, &Sym, &Asym, &QuantizeHead});
  put(Calib, {&CalibFile, &CalibSamples, &CalibCtx, &CalibSeed, &Method, &ActOrder, &StaticGroups, &Damp,
              &AWQFoldOnly, &QuantPreset});
  put(Eval, {&Reference, &KVTypeOpt, &TextFile, &Ctx, &Chunks, &ProtocolOpt, &SaveLogits, &KldBase});
  put(Gen, {&Prompt, &PromptA, &NumTokens, &Temp, &TopK, &TopP, &Seed, &IgnoreEos});
  put(Tools, {&TensorName, &static_cast<cl::Option &>(Ids), &Incremental});
  for (cl::SubCommand *sub : {&cl::SubCommand::getTopLevel(), &ImportCmd, &GenerateCmd, &EvalCmd,
                              &TokenizeCmd, &LogitsCmd, &DequantCmd})
    cl::HideUnrelatedOptions({&General, &Compile, &Calib, &Eval, &Gen, &Tools}, *sub);
}
} // namespace

/// Keeps freed large buffers in the process. qcc allocates and frees
/// activation and statistics buffers of hundreds of megabytes per op; glibc
/// returns each one to the kernel (mmap/munmap), so every op faults in and
/// zeroes fresh pages again. With the threshold at 1 GiB they come from the
/// heap and are reused: the calibrated pipeline on debtext-29m spent 9 s of
/// system time on page faults before (docs/BENCHMARKS.md, "Time").
static void keepLargeAllocations() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

int main(int argc, char **argv) {
  keepLargeAllocations();
  // A write past the file-size limit then fails with EFBIG and is reported
  // like any other failed write (the old output stays) instead of killing qcc.
  signal(SIGXFSZ, SIG_IGN);
  groupOptionsForHelp();
  std::string errMsg;
  raw_string_ostream errStream(errMsg);
  if (!cl::ParseCommandLineOptions(argc, argv, "qcc: quantizing compiler for LLMs\n", &errStream)) {
    errStream.flush();
    StringRef first = StringRef(errMsg).split('\n').first.trim();
    first.consume_front("qcc: ");
    die(first.empty() ? "bad command line (see qcc --help)" : first);
  }
  if (Threads > 0)
    omp_set_num_threads(Threads);
  if (ImportCmd)
    return runImport();
  if (GenerateCmd)
    return runGenerate();
  if (EvalCmd)
    return runEval();
  if (TokenizeCmd)
    return runTokenize();
  if (LogitsCmd)
    return runLogits();
  if (DequantCmd)
    return runDequant();
  return runCompile();
}
