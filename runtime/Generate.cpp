//===- Generate.cpp - streaming text generation over any LanguageModel ----===//
#include "runtime/Generate.h"

#include "frontends/Tokenizer.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>

using namespace llvm;

namespace qcc {

GenerateStats generateStreaming(LanguageModel &m, const Tokenizer &tok, std::vector<int32_t> ids, int64_t n,
                                bool ignoreEos, const SamplerOptions &sampling, raw_ostream &out) {
  std::vector<float> logits(m.vocabSize());
  Sampler sampler(sampling);
  GenerateStats s;
  s.promptTokens = ids.size();
  std::string shown = tok.decode(ids);
  out << shown;
  out.flush();
  auto t0 = std::chrono::steady_clock::now();
  m.forward(ids, logits.data(), /*lastOnly=*/true);
  auto t1 = std::chrono::steady_clock::now();
  for (; s.generated < n; ++s.generated) {
    int32_t next = sampler.next(logits.data(), m.vocabSize());
    if (!ignoreEos && tok.eos() && next == *tok.eos())
      break;
    ids.push_back(next);
    std::string text = tok.decode(ids);
    if (text.size() > shown.size() && text.compare(0, shown.size(), shown) == 0) {
      out << text.substr(shown.size());
      out.flush();
    }
    shown = text;
    if (s.generated + 1 < n && m.cacheLength() < m.maxContext())
      m.forward(ArrayRef<int32_t>(&ids.back(), 1), logits.data(), true);
    else if (s.generated + 1 < n)
      break; // context full
  }
  auto t2 = std::chrono::steady_clock::now();
  out << "\n";
  out.flush();
  s.promptSeconds = std::chrono::duration<double>(t1 - t0).count();
  s.generateSeconds = std::chrono::duration<double>(t2 - t1).count();
  return s;
}

GenerateStats generateBatch(LanguageModel &m, const Tokenizer &tok, const std::vector<int32_t> &ids, int64_t n,
                            int64_t sequences, bool ignoreEos, const SamplerOptions &sampling, raw_ostream &out) {
  const int64_t V = m.vocabSize();
  std::vector<float> logits(size_t(sequences) * V);
  std::vector<Sampler> samplers;
  std::vector<std::vector<int32_t>> text(sequences, ids);
  std::vector<int32_t> next(sequences);
  GenerateStats s;
  s.promptTokens = ids.size() * sequences;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t q = 0; q < sequences; ++q) {
    SamplerOptions o = sampling;
    o.seed += uint64_t(q);
    samplers.emplace_back(o);
    m.forwardBatch(std::vector<int32_t>(ids.size(), int32_t(q)), ids, logits.data(), /*lastOnly=*/true);
    next[q] = samplers[q].next(logits.data(), V);
  }
  auto t1 = std::chrono::steady_clock::now();
  std::vector<int32_t> live(sequences);
  for (int64_t q = 0; q < sequences; ++q)
    live[q] = int32_t(q);
  for (int64_t step = 0; step < n && !live.empty(); ++step) {
    // Take each live sequence's sampled token; those that end drop out.
    std::vector<int32_t> seqs, toks;
    for (int32_t q : live) {
      if (!ignoreEos && tok.eos() && next[q] == *tok.eos())
        continue;
      text[q].push_back(next[q]);
      ++s.generated;
      if (step + 1 < n && m.sequenceLength(q) < m.maxContext())
        seqs.push_back(q), toks.push_back(next[q]);
    }
    if (seqs.empty())
      break;
    m.forwardBatch(seqs, toks, logits.data(), /*lastOnly=*/false);
    for (size_t k = 0; k < seqs.size(); ++k)
      next[seqs[k]] = samplers[seqs[k]].next(logits.data() + k * V, V);
    live = seqs;
  }
  auto t2 = std::chrono::steady_clock::now();
  for (int64_t q = 0; q < sequences; ++q)
    out << "[" << q << "] " << tok.decode(text[q]) << "\n";
  out.flush();
  s.promptSeconds = std::chrono::duration<double>(t1 - t0).count();
  s.generateSeconds = std::chrono::duration<double>(t2 - t1).count();
  return s;
}

void printGenerateStats(raw_ostream &os, StringRef prefix, const GenerateStats &s) {
  os << formatv("{0}prompt {1} tokens in {2:f3}s ({3:f1} tok/s), generated {4} tokens in {5:f3}s "
                "({6:f1} tok/s)\n",
                prefix, s.promptTokens, s.promptSeconds, s.promptTokens / std::max(s.promptSeconds, 1e-9),
                s.generated, s.generateSeconds, s.generated / std::max(s.generateSeconds, 1e-9));
}

} // namespace qcc
