//===- Eval.h - perplexity and KL divergence --------------------*- C++ -*-===//
//
// Two scoring protocols over one tokenized text:
//  - gptq: non-overlapping ctx-token windows of the whole text (tokenized
//    once, with one BOS at the start if the vocab adds one); every token
//    after the first of each window is scored.
//  - llama.cpp: what llama-perplexity does: windows of ctx tokens, the first
//    replaced by BOS when the vocab adds one, only the second half scored.
// A run can save its log-probabilities (--save-logits) and a later run can be
// compared against them (--kld-base): mean KL divergence, its percentiles and
// top-1 agreement.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_EVAL_H
#define QCC_RUNTIME_EVAL_H

#include "runtime/LanguageModel.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace qcc {

enum class Protocol : uint32_t { GPTQ = 0, LlamaCpp = 1 };

struct EvalOptions {
  int64_t ctx = 512;
  int64_t chunks = -1; ///< -1: every full window
  Protocol protocol = Protocol::GPTQ;
  std::string saveLogits, kldBase;
  bool progress = true;
};

struct KLDStats {
  double mean = 0, meanErr = 0, max = 0, p999 = 0, p99 = 0, p95 = 0, p90 = 0, median = 0, min = 0;
  double top1 = 0, top1Err = 0; ///< fraction of positions whose argmax agrees
  double basePPL = 0;
  int64_t positions = 0;
};

struct EvalResult {
  double ppl = 0, pplErr = 0, meanNLL = 0;
  int64_t tokens = 0, scored = 0, chunks = 0;
  double seconds = 0;
  std::optional<KLDStats> kld;
};

/// Scores `tokens` (the encoded text, without BOS). `bos` is prepended /
/// substituted as the protocol says when `addBos` is set.
llvm::Expected<EvalResult> evaluate(LanguageModel &ex, llvm::ArrayRef<int32_t> tokens, bool addBos,
                                    int32_t bos, const EvalOptions &opts);

/// Prints "PPL = … +/- …" and, with a KLD base, its ratio, mean KLD,
/// percentiles and top-1 agreement: what `qcc eval` and the compiled
/// binaries' --perplexity print.
void printEvalSummary(llvm::raw_ostream &os, const EvalResult &r);

} // namespace qcc

#endif
