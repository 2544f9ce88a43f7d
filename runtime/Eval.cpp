//===- Eval.cpp - perplexity and KL divergence ----------------------------===//
#include "runtime/Eval.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"
#include "runtime/Progress.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace qcc {

namespace {
// Log-probability file: header, the token stream it was computed on, then one
// row per scored position: float min, float step, nVocab x uint16 with
// logprob = min + step * q (a 16-bit code per entry, as llama.cpp's own
// --kl-divergence-base files do).
constexpr char kMagic[8] = {'Q', 'C', 'C', 'L', 'G', 'P', '0', '1'};
struct Header {
  char magic[8];
  uint32_t protocol, ctx, vocab, addBos;
  uint64_t numTokens, numRows;
};

size_t rowBytes(int64_t vocab) { return 8 + 2 * size_t(vocab); }

/// log_softmax of `logits` into `lp` (double accumulation), returns argmax.
int32_t logSoftmax(const float *logits, int64_t n, std::vector<float> &lp) {
  lp.resize(n);
  float mx = logits[0];
  int32_t am = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > mx) {
      mx = logits[i];
      am = int32_t(i);
    }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(double(logits[i]) - mx);
  float lse = float(mx + std::log(sum));
  for (int64_t i = 0; i < n; ++i)
    lp[i] = logits[i] - lse;
  return am;
}

void encodeRow(const std::vector<float> &lp, std::vector<uint8_t> &row) {
  float mn = *std::min_element(lp.begin(), lp.end());
  float mx = *std::max_element(lp.begin(), lp.end());
  mn = std::max(mn, -100.0f);
  float step = (mx - mn) / 65535.0f;
  if (!(step > 0))
    step = 1e-9f;
  row.resize(rowBytes(lp.size()));
  std::memcpy(row.data(), &mn, 4);
  std::memcpy(row.data() + 4, &step, 4);
  uint16_t *q = reinterpret_cast<uint16_t *>(row.data() + 8);
  for (size_t i = 0; i < lp.size(); ++i)
    q[i] = uint16_t(std::clamp(std::nearbyint((lp[i] - mn) / step), 0.0f, 65535.0f));
}

void decodeRow(const uint8_t *row, int64_t vocab, std::vector<float> &lp) {
  float mn, step;
  std::memcpy(&mn, row, 4);
  std::memcpy(&step, row + 4, 4);
  const uint8_t *q = row + 8;
  lp.resize(vocab);
  for (int64_t i = 0; i < vocab; ++i) {
    uint16_t v;
    std::memcpy(&v, q + 2 * i, 2);
    lp[i] = mn + step * v;
  }
}

double percentile(std::vector<float> &sorted, double p) {
  if (sorted.empty())
    return 0;
  double idx = p * (sorted.size() - 1);
  size_t lo = size_t(idx), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (idx - lo) * (sorted[hi] - sorted[lo]);
}
} // namespace

Expected<EvalResult> evaluate(LanguageModel &ex, ArrayRef<int32_t> textTokens, bool addBos, int32_t bos,
                              const EvalOptions &o) {
  const int64_t vocab = ex.vocabSize(), ctx = o.ctx;
  if (ctx < 2 || ctx > ex.maxContext())
    return fileError("--ctx", "context {0} must be between 2 and {1}", ctx, ex.maxContext());
  std::vector<int32_t> tokens;
  if (addBos)
    tokens.push_back(bos);
  tokens.insert(tokens.end(), textTokens.begin(), textTokens.end());
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab)
      return fileError("--text", "token id {0} is outside the model's vocabulary of {1}", t, vocab);
  int64_t nChunks = int64_t(tokens.size()) / ctx;
  if (o.chunks >= 0)
    nChunks = std::min(nChunks, o.chunks);
  if (nChunks == 0)
    return fileError("--text", "text has {0} tokens, fewer than one window of --ctx {1}",
                     tokens.size(), ctx);
  const int64_t first = o.protocol == Protocol::LlamaCpp ? ctx / 2 : 0;
  const int64_t perChunk = ctx - 1 - first;
  const int64_t rows = nChunks * perChunk;

  // KLD base: validate that it was computed on the same windows.
  std::unique_ptr<MemoryBuffer> base;
  if (!o.kldBase.empty()) {
    auto b = MemoryBuffer::getFile(o.kldBase, false, false);
    if (!b)
      return fileError(o.kldBase, "cannot open: {0}", b.getError().message());
    base = std::move(*b);
    Header h;
    if (base->getBufferSize() < sizeof h)
      return fileError(o.kldBase, "truncated log-prob file");
    std::memcpy(&h, base->getBufferStart(), sizeof h);
    if (std::memcmp(h.magic, kMagic, 8) != 0)
      return fileError(o.kldBase, "not a qcc log-prob file (written by qcc eval --save-logits)");
    if (h.protocol != uint32_t(o.protocol) || h.ctx != uint32_t(ctx) || h.vocab != uint32_t(vocab))
      return fileError(o.kldBase, "was saved with protocol {0}, ctx {1}, vocab {2}; this run uses protocol {3}, ctx {4}, vocab {5}",
                       h.protocol == 0 ? "gptq" : "llama.cpp", h.ctx, h.vocab,
                       o.protocol == Protocol::GPTQ ? "gptq" : "llama.cpp", ctx, vocab);
    uint64_t need = sizeof h + h.numTokens * 4 + h.numRows * rowBytes(vocab);
    if (base->getBufferSize() != need)
      return fileError(o.kldBase, "truncated or corrupt: {0} bytes, expected {1}",
                       base->getBufferSize(), need);
    if (h.numTokens < uint64_t(nChunks * ctx) || h.numRows < uint64_t(rows) ||
        std::memcmp(base->getBufferStart() + sizeof h, tokens.data(), nChunks * ctx * 4) != 0)
      return fileError(o.kldBase, "was computed on a different text, tokenization or fewer chunks");
  }

  // Output log-prob file, put in place only when complete.
  std::unique_ptr<AtomicFile> saveFile;
  raw_fd_ostream *save = nullptr;
  if (!o.saveLogits.empty()) {
    auto f = AtomicFile::create(o.saveLogits);
    if (!f)
      return f.takeError();
    saveFile = std::move(*f);
    save = &saveFile->os();
    Header h;
    std::memcpy(h.magic, kMagic, 8);
    h.protocol = uint32_t(o.protocol);
    h.ctx = uint32_t(ctx);
    h.vocab = uint32_t(vocab);
    h.addBos = addBos;
    h.numTokens = uint64_t(nChunks * ctx);
    h.numRows = uint64_t(rows);
    save->write(reinterpret_cast<const char *>(&h), sizeof h);
    save->write(reinterpret_cast<const char *>(tokens.data()), nChunks * ctx * 4);
  }

  const uint8_t *baseRows = nullptr;
  if (base) {
    Header h;
    std::memcpy(&h, base->getBufferStart(), sizeof h);
    baseRows = reinterpret_cast<const uint8_t *>(base->getBufferStart()) + sizeof h + h.numTokens * 4;
  }

  EvalResult res;
  res.tokens = int64_t(textTokens.size());
  res.chunks = nChunks;
  std::vector<float> logits(ctx * vocab), lp, blp, klds;
  std::vector<uint8_t> row;
  std::vector<int32_t> window(ctx);
  double nllSum = 0, nll2Sum = 0, baseNllSum = 0, kldSum = 0, kld2Sum = 0;
  int64_t agree = 0, rowIdx = 0;
  Progress bar("eval", nChunks, "chunks", o.progress);
  for (int64_t c = 0; c < nChunks; ++c) {
    std::copy(tokens.begin() + c * ctx, tokens.begin() + (c + 1) * ctx, window.begin());
    if (o.protocol == Protocol::LlamaCpp && addBos)
      window[0] = bos;
    ex.reset();
    ex.forward(window, logits.data(), /*lastOnly=*/false);
    for (int64_t j = first; j < ctx - 1; ++j, ++rowIdx) {
      int32_t target = window[j + 1];
      int32_t am = logSoftmax(logits.data() + j * vocab, vocab, lp);
      double nll = -double(lp[target]);
      nllSum += nll;
      nll2Sum += nll * nll;
      if (save) {
        encodeRow(lp, row);
        save->write(reinterpret_cast<const char *>(row.data()), row.size());
      }
      if (base) {
        const uint8_t *rowp = baseRows + size_t(rowIdx) * rowBytes(vocab);
        decodeRow(rowp, vocab, blp);
        double kl = 0, z = 0;
        int32_t bam = 0;
        for (int64_t i = 0; i < vocab; ++i) {
          double p = std::exp(double(blp[i]));
          z += p;
          kl += p * (double(blp[i]) - double(lp[i]));
          if (blp[i] > blp[bam])
            bam = int32_t(i);
        }
        kl /= z;
        kl = std::max(kl, 0.0);
        klds.push_back(float(kl));
        kldSum += kl;
        kld2Sum += kl * kl;
        agree += bam == am;
        baseNllSum += -double(blp[target]);
      }
    }
    bar.update(c + 1, (c + 1) * ctx);
  }
  bar.finish();
  res.seconds = bar.seconds();
  res.scored = rows;
  res.meanNLL = nllSum / rows;
  res.ppl = std::exp(res.meanNLL);
  double var = nll2Sum / rows - res.meanNLL * res.meanNLL;
  res.pplErr = rows > 1 ? res.ppl * std::sqrt(std::max(var, 0.0) / (rows - 1)) : 0;
  if (base) {
    KLDStats k;
    k.positions = rows;
    k.mean = kldSum / rows;
    double kv = kld2Sum / rows - k.mean * k.mean;
    k.meanErr = rows > 1 ? std::sqrt(std::max(kv, 0.0) / (rows - 1)) : 0;
    k.top1 = double(agree) / rows;
    k.top1Err = rows > 1 ? std::sqrt(k.top1 * (1 - k.top1) / (rows - 1)) : 0;
    k.basePPL = std::exp(baseNllSum / rows);
    std::sort(klds.begin(), klds.end());
    k.min = klds.front();
    k.max = klds.back();
    k.median = percentile(klds, 0.5);
    k.p90 = percentile(klds, 0.90);
    k.p95 = percentile(klds, 0.95);
    k.p99 = percentile(klds, 0.99);
    k.p999 = percentile(klds, 0.999);
    res.kld = k;
  }
  if (saveFile)
    if (auto e = saveFile->commit())
      return std::move(e);
  return res;
}

void printEvalSummary(raw_ostream &os, const EvalResult &r) {
  os << formatv("PPL = {0:f4} +/- {1:f4}\n", r.ppl, r.pplErr);
  if (!r.kld)
    return;
  const KLDStats &k = *r.kld;
  os << formatv("base PPL = {0:f4}, PPL ratio = {1:f5}\n", k.basePPL, r.ppl / k.basePPL);
  os << formatv("Mean KLD = {0:f6} +/- {1:f6}\n", k.mean, k.meanErr);
  os << formatv("KLD max {0:f6}, 99.9% {1:f6}, 99% {2:f6}, 95% {3:f6}, 90% {4:f6}, "
                "median {5:f6}, min {6:f6}\n",
                k.max, k.p999, k.p99, k.p95, k.p90, k.median, k.min);
  os << formatv("Same top-1 = {0:f3} +/- {1:f3} %\n", 100 * k.top1, 100 * k.top1Err);
}

} // namespace qcc
