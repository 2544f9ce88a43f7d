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

void printGenerateStats(raw_ostream &os, StringRef prefix, const GenerateStats &s) {
  os << formatv("{0}prompt {1} tokens in {2:f3}s ({3:f1} tok/s), generated {4} tokens in {5:f3}s "
                "({6:f1} tok/s)\n",
                prefix, s.promptTokens, s.promptSeconds, s.promptTokens / std::max(s.promptSeconds, 1e-9),
                s.generated, s.generateSeconds, s.generated / std::max(s.generateSeconds, 1e-9));
}

} // namespace qcc
