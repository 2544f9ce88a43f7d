//===- Driver.cpp - the command line of the inference binaries qcc writes -===//
//
// `qcc MODEL ... --target=cpu|cuda -o NAME` links a main() (native/AOTMain.cpp,
// cuda/CudaMain.cpp) that hands this driver the compiled model's loader:
//
//   NAME -p TEXT [-n N] [-b B] [--temp T --top-k K --top-p P --seed S --ignore-eos]
//   NAME --perplexity FILE [--ctx 512] [--chunks N] [--kld-base F]
//        [--save-logits F] [--protocol llama.cpp|gptq]
//   NAME --bench [-p 512] [-n 128] [-d DEPTH] [-b B] [-r 5] [-o md|json]
// -b B: B sequences decoded together (batched decoding; binaries whose
// model holds several caches: --target=cuda).
//   common: [-t THREADS] [--kv-type f16|q8_0|fp8] (or -ctk/-ctv; fp8: --target=cuda) [-m FILE.gguf]
//
// Bad flags and files: one line on stderr, exit status 2. The same flags,
// texts and tables for every target, so the same scripts read them all.
//
//===----------------------------------------------------------------------===//
#include "frontends/GGUF.h"
#include "frontends/Tokenizer.h"
#include "runtime/Eval.h"
#include "runtime/Generate.h"
#include "runtime/Sampler.h"
#include "runtime/Driver.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace llvm;
using namespace qcc;

namespace {
const DriverBackend *backend = nullptr;

[[noreturn]] void die(const Twine &msg) {
  errs() << msg << "\n";
  exit(2);
}
template <typename T> T check(Expected<T> v) {
  if (!v)
    die(toString(v.takeError()));
  return std::move(*v);
}

using Options = DriverOptions;

const char *kUsage =
    "usage: NAME -p TEXT [-n N] [-b B] [--temp T] [--top-k K] [--top-p P] [--seed S] [--ignore-eos]\n"
    "       NAME --perplexity FILE [--ctx 512] [--chunks N] [--kld-base F] [--save-logits F]\n"
    "            [--protocol llama.cpp|gptq]\n"
    "       NAME --bench [-p 512] [-n 128] [-d DEPTH] [-b B] [-r 5] [-o md|json]\n"
    "  -b B: B sequences decoded together (GPU binaries): B continuations of the\n"
    "        prompt (seeds S..S+B-1), or --bench's aggregate rate over B sequences\n"
    "  common: [-t THREADS] [--kv-type f16|q8_0|fp8] (-ctk / -ctv; fp8: GPU binaries) [-m FILE.gguf]\n"
    "          [--float-activations] (quantized layers on unrounded float activations:\n"
    "          the reference executor's arithmetic, slower; CPU binaries)\n";

Options parse(int argc, char **argv) {
  Options o;
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  o.self = len > 0 ? std::string(exe, len) : std::string(argv[0]);
  o.model = o.self + ".gguf";
  auto value = [&](int &i) -> StringRef {
    if (i + 1 >= argc)
      die(formatv("{0}: {1} needs a value", o.self, argv[i]));
    return argv[++i];
  };
  auto integer = [&](int &i, int64_t lo) {
    StringRef flag = argv[i], v = value(i);
    int64_t x;
    if (v.getAsInteger(10, x) || x < lo)
      die(formatv("{0}: {1} expects an integer >= {2}, got '{3}'", o.self, flag, lo, v));
    return x;
  };
  auto real = [&](int &i) {
    StringRef flag = argv[i], v = value(i);
    double x;
    if (v.getAsDouble(x) || !std::isfinite(x))
      die(formatv("{0}: {1} expects a number, got '{2}'", o.self, flag, v));
    return x;
  };
  bool kvSeen = false;
  for (int i = 1; i < argc; ++i) {
    StringRef a = argv[i];
    if (a == "-h" || a == "--help") {
      outs() << kUsage;
      exit(0);
    } else if (a == "-p" || a == "--prompt") {
      o.prompt = value(i).str();
      o.promptGiven = true;
    } else if (a == "-n" || a == "--n-predict" || a == "--n-gen") {
      o.n = integer(i, 0);
      o.nGiven = true;
    } else if (a == "--temp") {
      o.temp = real(i);
      if (o.temp < 0)
        die(formatv("{0}: --temp must be >= 0", o.self));
    } else if (a == "--top-k") {
      o.topK = int(integer(i, 0));
    } else if (a == "--top-p") {
      o.topP = real(i);
      if (!(o.topP > 0 && o.topP <= 1))
        die(formatv("{0}: --top-p must be in (0, 1]", o.self));
    } else if (a == "--seed") {
      o.seed = uint64_t(integer(i, 0));
    } else if (a == "--ignore-eos") {
      o.ignoreEos = true;
    } else if (a == "--perplexity") {
      o.perplexity = true;
      o.text = value(i).str();
    } else if (a == "--ctx" || a == "-c") {
      o.ctx = integer(i, 2);
    } else if (a == "--chunks") {
      o.chunks = integer(i, 1);
    } else if (a == "--kld-base") {
      o.kldBase = value(i).str();
    } else if (a == "--save-logits") {
      o.saveLogits = value(i).str();
    } else if (a == "--protocol") {
      o.protocol = value(i).str();
      if (o.protocol != "llama.cpp" && o.protocol != "gptq")
        die(formatv("{0}: --protocol must be llama.cpp or gptq, got '{1}'", o.self, o.protocol));
    } else if (a == "--bench") {
      o.bench = true;
    } else if (a == "-b" || a == "--batch") {
      o.batch = integer(i, 1);
      if (o.batch > 1024)
        die(formatv("{0}: -b expects at most 1024 sequences, got {1}", o.self, o.batch));
    } else if (a == "-d" || a == "--n-depth") {
      o.benchDepth = integer(i, 0);
    } else if (a == "-r" || a == "--repetitions") {
      o.reps = integer(i, 1);
    } else if (a == "-o" || a == "--output") {
      o.output = value(i).str();
      if (o.output != "md" && o.output != "json")
        die(formatv("{0}: -o must be md or json, got '{1}'", o.self, o.output));
    } else if (a == "-t" || a == "--threads") {
      o.threads = integer(i, 1);
    } else if (a == "--kv-type" || a == "-ctk" || a == "-ctv" || a == "--cache-type-k" ||
               a == "--cache-type-v") {
      StringRef flag = a;
      KVType k = check(parseKVType(value(i)));
      if (kvSeen && k != o.kv)
        die(formatv("{0}: {1}: keys and values share one cache type here", o.self, flag));
      o.kv = k;
      kvSeen = true;
    } else if (a == "--float-activations") {
      o.floatActivations = true;
    } else if (a == "-m" || a == "--model") {
      o.model = value(i).str();
    } else {
      die(formatv("{0}: unknown flag '{1}' (see --help)", o.self, a));
    }
  }
  if (o.bench && o.perplexity)
    die(formatv("{0}: --bench and --perplexity are separate runs", o.self));
  if (o.benchDepth > 0 && !o.bench)
    die(formatv("{0}: -d is a --bench option (the cache's tokens before each test)", o.self));
  if (o.perplexity && o.batch > 1)
    die(formatv("{0}: -b is for generation and --bench, not --perplexity", o.self));
  if (o.bench) {
    if (o.promptGiven) {
      int64_t p;
      if (StringRef(o.prompt).getAsInteger(10, p) || p < 0)
        die(formatv("{0}: --bench -p expects a prompt length in tokens, got '{1}'", o.self, o.prompt));
      o.benchP = p;
    }
    if (!o.nGiven)
      o.n = 128;
  } else if (!o.perplexity && !o.promptGiven) {
    die(formatv("{0}: nothing to do: give -p TEXT, --perplexity FILE or --bench", o.self));
  }
  return o;
}

int64_t contextLength(const gguf::Reader &r) {
  auto arch = r.getString("general.architecture");
  if (!arch) {
    consumeError(arch.takeError());
    return 4096;
  }
  auto c = r.getInt(*arch + ".context_length");
  if (!c) {
    consumeError(c.takeError());
    return 4096;
  }
  return *c;
}

std::unique_ptr<LanguageModel> load(const Options &o, std::shared_ptr<gguf::Reader> r, int64_t ctx) {
  auto m = check(backend->load(o, std::move(r), ctx));
  if (m->maxSequences() < o.batch)
    die(formatv("{0}: -b {1}: this binary decodes one sequence at a time (batched decoding is in "
                "--target=cuda binaries)",
                o.self, o.batch));
  return m;
}

int generate(const Options &o, std::shared_ptr<gguf::Reader> r) {
  auto tok = check(loadGGUFTokenizer(*r));
  std::vector<int32_t> ids;
  if (tok->addBos() && tok->bos())
    ids.push_back(*tok->bos());
  auto enc = tok->encode(o.prompt);
  ids.insert(ids.end(), enc.begin(), enc.end());
  if (ids.empty())
    die(formatv("{0}: the prompt encodes to no tokens", o.self));
  const int64_t maxCtx = contextLength(*r);
  if (int64_t(ids.size()) > maxCtx)
    die(formatv("{0}: the prompt has {1} tokens, more than the model's context of {2}", o.self,
                ids.size(), maxCtx));
  auto m = load(o, r, std::min<int64_t>(maxCtx, int64_t(ids.size()) + o.n));
  const SamplerOptions sampling{o.temp, o.topK, o.topP, o.seed};
  GenerateStats st = o.batch > 1 ? generateBatch(*m, *tok, ids, o.n, o.batch, o.ignoreEos, sampling, outs())
                                 : generateStreaming(*m, *tok, std::move(ids), o.n, o.ignoreEos, sampling, outs());
  printGenerateStats(errs(), "", st);
  return 0;
}

int perplexity(const Options &o, std::shared_ptr<gguf::Reader> r) {
  auto buf = MemoryBuffer::getFile(o.text);
  if (!buf)
    die(formatv("{0}: cannot read: {1}", o.text, buf.getError().message()));
  auto tok = check(loadGGUFTokenizer(*r));
  std::vector<int32_t> tokens = tok->encode((*buf)->getBuffer());
  auto m = load(o, r, o.ctx);
  EvalOptions e;
  e.ctx = o.ctx;
  e.chunks = o.chunks;
  e.protocol = o.protocol == "gptq" ? Protocol::GPTQ : Protocol::LlamaCpp;
  e.saveLogits = o.saveLogits;
  e.kldBase = o.kldBase;
  e.progress = isatty(2);
  bool addBos = tok->addBos() && tok->bos();
  EvalResult res = check(evaluate(*m, tokens, addBos, tok->bos().value_or(0), e));
  outs() << formatv("text {0}: {1} tokens\nprotocol {2}, ctx {3}, {4} chunks, {5} scored tokens, "
                    "{6:f1}s ({7:f0} tok/s)\n",
                    o.text, res.tokens, o.protocol, o.ctx, res.chunks, res.scored, res.seconds,
                    res.chunks * o.ctx / std::max(res.seconds, 1e-9));
  printEvalSummary(outs(), res);
  return 0;
}

/// llama-bench's two tests: pp (one batch of P random tokens into an empty
/// cache) and tg (N tokens one at a time into an empty cache), a warm-up
/// run, then `reps` timed runs; printed in llama-bench's table / JSON shape.
/// With -b B each test runs B sequences together (pp: B prompts in one
/// batch; tg: steps of one token for each) and reports the aggregate rate,
/// as test "pp512 x16" / "tg128 x16" and JSON's n_parallel. With -d D
/// each sequence's cache first holds D random tokens (untimed), as
/// llama-bench's n_depth ("tg128 @ d4096").
int bench(const Options &o, std::shared_ptr<gguf::Reader> r) {
  int64_t params = 0, bytes = 0;
  for (const gguf::TensorInfo &t : r->tensors()) {
    int64_t ne = 1;
    for (int64_t d : t.ne)
      ne *= d;
    params += ne;
    bytes += t.nbytes;
  }
  std::string arch = "llama", ftype;
  if (auto a = r->getString("general.architecture"))
    arch = *a;
  else
    consumeError(a.takeError());
  {
    // The file's type as llama.cpp names it: the most common quantized type.
    std::map<std::string, int64_t> n;
    for (const gguf::TensorInfo &t : r->tensors())
      if (t.ne.size() == 2)
        n[ggml::traits(t.type).name] += t.nbytes;
    int64_t best = -1;
    for (auto &[k, v] : n)
      if (v > best)
        best = v, ftype = k;
  }
  const int64_t D = o.benchDepth;
  const int64_t ctx = std::max<int64_t>(1, D + std::max(o.benchP, o.n));
  auto m = load(o, r, ctx);
  const int64_t B = o.batch;
  std::vector<float> logits(size_t(B) * m->vocabSize());
  std::mt19937 rng(0);
  std::uniform_int_distribution<int32_t> pick(0, int32_t(m->vocabSize() - 1));
  const int threads = o.threads ? int(o.threads) : backend->threads();
  struct Test {
    std::string name;
    int64_t p, g;
    std::vector<double> ns;
  };
  std::vector<Test> tests;
  const std::string times = (B > 1 ? formatv(" x{0}", B).str() : std::string()) +
                            (D > 0 ? formatv(" @ d{0}", D).str() : std::string());
  if (o.benchP > 0)
    tests.push_back({formatv("pp{0}{1}", o.benchP, times).str(), o.benchP, 0, {}});
  if (o.n > 0)
    tests.push_back({formatv("tg{0}{1}", o.n, times).str(), 0, o.n, {}});
  std::vector<int32_t> all(B); // one token of each sequence
  for (int64_t q = 0; q < B; ++q)
    all[q] = int32_t(q);
  for (Test &t : tests) {
    for (int64_t rep = -1; rep < o.reps; ++rep) { // rep -1: warm-up
      m->reset();
      if (D > 0) { // the depth: B sequences of D tokens, untimed
        std::vector<int32_t> dids(size_t(D * B)), dseqs(dids.size());
        for (size_t i = 0; i < dids.size(); ++i)
          dids[i] = pick(rng), dseqs[i] = int32_t(int64_t(i) / D);
        m->forwardBatch(dseqs, dids, logits.data(), true);
      }
      std::vector<int32_t> ids(std::max<int64_t>(t.p, 1) * B), seqs(ids.size());
      for (size_t i = 0; i < ids.size(); ++i)
        ids[i] = pick(rng), seqs[i] = int32_t(i / std::max<int64_t>(t.p, 1));
      auto t0 = std::chrono::steady_clock::now();
      if (t.p)
        m->forwardBatch(seqs, ids, logits.data(), true);
      std::vector<int32_t> next(ids.begin(), ids.begin() + B);
      for (int64_t i = 0; i < t.g; ++i) {
        m->forwardBatch(all, next, logits.data(), false);
        for (int32_t &id : next)
          id = pick(rng);
      }
      auto t1 = std::chrono::steady_clock::now();
      if (rep >= 0)
        t.ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    }
  }
  auto stats = [](const std::vector<double> &v) {
    double mean = 0, sd = 0;
    for (double x : v)
      mean += x;
    mean /= v.size();
    for (double x : v)
      sd += (x - mean) * (x - mean);
    sd = v.size() > 1 ? std::sqrt(sd / (v.size() - 1)) : 0;
    return std::make_pair(mean, sd);
  };
  // Each timed run's rate: all sequences' tokens over its time.
  auto rates = [&](const Test &t) {
    std::vector<double> ts;
    for (double ns : t.ns)
      ts.push_back(1e9 * double(B * (t.p + t.g)) / ns);
    return ts;
  };
  const std::string modelType = formatv("{0} {1}", arch, ftype).str();
  if (o.output == "json") {
    outs() << "[\n";
    for (size_t i = 0; i < tests.size(); ++i) {
      const Test &t = tests[i];
      const std::vector<double> ts = rates(t);
      auto [ns, nsd] = stats(t.ns);
      auto [tps, tsd] = stats(ts);
      std::string samplesNs, samplesTs;
      for (size_t k = 0; k < t.ns.size(); ++k) {
        samplesNs += formatv("{0}{1}", k ? ", " : "", int64_t(t.ns[k])).str();
        samplesTs += formatv("{0}{1:f6}", k ? ", " : "", ts[k]).str();
      }
      outs() << formatv("  {{\n    \"build_commit\": \"qcc\",\n    \"model_filename\": \"{0}\",\n"
                        "    \"model_type\": \"{1}\",\n    \"model_size\": {2},\n"
                        "    \"model_n_params\": {3},\n    \"n_threads\": {4},\n"
                        "    \"type_k\": \"{5}\",\n    \"type_v\": \"{5}\",\n"
                        "    \"n_prompt\": {6},\n    \"n_gen\": {7},\n    \"n_depth\": {16},\n"
                        "    \"n_parallel\": {15},\n"
                        "    \"avg_ns\": {8},\n"
                        "    \"stddev_ns\": {9},\n    \"avg_ts\": {10:f6},\n"
                        "    \"stddev_ts\": {11:f6},\n    \"samples_ns\": [ {12} ],\n"
                        "    \"samples_ts\": [ {13} ]\n  }{14}\n",
                        o.model, modelType, bytes, params, threads,
                        kvTypeName(o.kv), t.p, t.g, int64_t(ns), int64_t(nsd),
                        tps, tsd, samplesNs, samplesTs, i + 1 < tests.size() ? "," : "", B, D);
    }
    outs() << "]\n";
    return 0;
  }
  outs() << "| model                          |       size |     params | backend    | threads |"
            "            test |                  t/s |\n";
  outs() << "| ------------------------------ | ---------: | ---------: | ---------- | ------: |"
            " --------------: | -------------------: |\n";
  for (const Test &t : tests) {
    auto [tps, tsd] = stats(rates(t));
    std::string params_ = params >= 1000000000 ? formatv("{0:f2} B", params / 1e9).str()
                                               : formatv("{0:f2} M", params / 1e6).str();
    outs() << formatv("| {0,-30} | {1,10} | {2,10} | {3,-10} | {4,7} | {5,15} | {6,20} |\n",
                      modelType, formatv("{0:f2} MiB", bytes / 1048576.0).str(), params_,
                      backend->name, threads, t.name,
                      formatv("{0:f2} ± {1:f2}", tps, tsd).str());
  }
  return 0;
}

} // namespace

namespace qcc {

int runDriver(int argc, char **argv, const DriverBackend &b) {
  backend = &b;
  Options o = parse(argc, argv);
  if (b.configure)
    b.configure(o);
  std::shared_ptr<gguf::Reader> r = check(gguf::Reader::open(o.model));
  if (o.bench)
    return bench(o, std::move(r));
  if (o.perplexity)
    return perplexity(o, std::move(r));
  return generate(o, std::move(r));
}

[[noreturn]] void driverError(const Twine &msg) { die(msg); }

} // namespace qcc
