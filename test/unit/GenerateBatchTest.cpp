// Batched decoding's host loop (runtime/Generate: generateBatch) against the
// single-sequence loop, on a toy model that holds several sequences: each
// sequence decoded in a batch must be the text it gives alone with its seed,
// whatever the other sequences do (one ending early, one filling its
// context), and every batch the model sees must be well formed.
#include "frontends/Tokenizer.h"
#include "runtime/Generate.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace qcc;

namespace {

constexpr int64_t kVocab = 12;
constexpr int32_t kEos = 11;

/// Token i is the letter 'a' + i (the end-of-sequence token prints '$').
class LetterTokenizer final : public Tokenizer {
public:
  LetterTokenizer() { setSpecials(std::nullopt, kEos, false); }
  llvm::StringRef kind() const override { return "bpe"; }
  std::vector<int32_t> encode(llvm::StringRef text) const override {
    std::vector<int32_t> ids;
    for (char c : text)
      ids.push_back(int32_t(c - 'a'));
    return ids;
  }
  std::string decode(llvm::ArrayRef<int32_t> ids) const override {
    std::string s;
    for (int32_t id : ids)
      s += id == kEos ? '$' : char('a' + id);
    return s;
  }
  int64_t vocabSize() const override { return kVocab; }
  std::string tokenText(int32_t id) const override { return decode({id}); }
  TokenType tokenType(int32_t) const override { return TokenType::Normal; }
  const std::string &path() const override { return path_; }

private:
  std::string path_ = "letters";
};

/// Logits are a fixed function of a sequence's whole history, so the same
/// history gives the same logits in a batch or alone. Checks what a real
/// model's cache would need: positions follow each sequence's length, a
/// batch names each sequence once, lengths stay within the context.
class ToyModel final : public LanguageModel {
public:
  ToyModel(int64_t sequences, int64_t ctx) : hist_(sequences), ctx_(ctx) {}

  void forward(llvm::ArrayRef<int32_t> tokens, float *logits, bool lastOnly) override {
    std::vector<int32_t> seqs(tokens.size(), 0);
    forwardBatch(seqs, tokens, logits, lastOnly);
  }
  void forwardBatch(llvm::ArrayRef<int32_t> seqs, llvm::ArrayRef<int32_t> tokens, float *logits,
                    bool lastOnly) override {
    ASSERT_EQ(seqs.size(), tokens.size());
    ASSERT_FALSE(tokens.empty());
    if (!lastOnly) { // a decoding step: one token a sequence
      std::set<int32_t> seen(seqs.begin(), seqs.end());
      EXPECT_EQ(seen.size(), seqs.size()) << "a sequence twice in one step";
      ++steps;
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      ASSERT_GE(seqs[i], 0);
      ASSERT_LT(seqs[i], int32_t(hist_.size()));
      auto &h = hist_[seqs[i]];
      ASSERT_LT(int64_t(h.size()), ctx_) << "past the context";
      h.push_back(tokens[i]);
      if (!lastOnly || i + 1 == tokens.size())
        fill(h, logits + (lastOnly ? 0 : i * kVocab));
    }
  }
  void reset() override {
    for (auto &h : hist_)
      h.clear();
  }
  int64_t cacheLength() const override { return int64_t(hist_[0].size()); }
  int64_t sequenceLength(int64_t seq) const override { return int64_t(hist_[seq].size()); }
  int64_t maxSequences() const override { return int64_t(hist_.size()); }
  int64_t maxContext() const override { return ctx_; }
  int64_t vocabSize() const override { return kVocab; }

  int64_t steps = 0;

private:
  static void fill(const std::vector<int32_t> &h, float *out) {
    uint64_t x = 1469598103934665603ull;
    for (int32_t t : h)
      x = (x ^ uint64_t(t + 1)) * 1099511628211ull;
    for (int64_t v = 0; v < kVocab; ++v) {
      x ^= x >> 29, x *= 0xbf58476d1ce4e5b9ull, x ^= x >> 32;
      out[v] = float(x % 1000) / 250.0f; // spread enough that sampling varies
    }
  }
  std::vector<std::vector<int32_t>> hist_;
  int64_t ctx_;
};

/// "[i] TEXT\n" blocks of generateBatch's output, by i.
std::map<int, std::string> split(const std::string &out) {
  std::map<int, std::string> texts;
  size_t at = 0;
  while (at < out.size()) {
    EXPECT_EQ(out[at], '[');
    const size_t close = out.find("] ", at);
    const int i = std::stoi(out.substr(at + 1, close - at - 1));
    const size_t end = out.find('\n', close);
    texts[i] = out.substr(close + 2, end - close - 2);
    at = end + 1;
  }
  return texts;
}

std::string alone(const std::vector<int32_t> &prompt, int64_t n, int64_t ctx, SamplerOptions s) {
  ToyModel m(1, ctx);
  LetterTokenizer tok;
  std::string out;
  llvm::raw_string_ostream os(out);
  generateStreaming(m, tok, prompt, n, /*ignoreEos=*/false, s, os);
  os.flush();
  return out.substr(0, out.size() - 1); // the closing newline
}

TEST(GenerateBatch, EachSequenceIsItsRunAlone) {
  const std::vector<int32_t> prompt = {0, 3, 2};
  const int64_t n = 24, ctx = 64, B = 6;
  ToyModel m(B, ctx);
  LetterTokenizer tok;
  std::string out;
  llvm::raw_string_ostream os(out);
  const SamplerOptions s{0.9f, 0, 1.0f, 40};
  GenerateStats st = generateBatch(m, tok, prompt, n, B, /*ignoreEos=*/false, s, os);
  os.flush();
  auto texts = split(out);
  ASSERT_EQ(texts.size(), size_t(B));
  std::set<std::string> distinct;
  int64_t tokens = 0;
  bool someEnded = false;
  for (int i = 0; i < B; ++i) {
    SamplerOptions si = s;
    si.seed += uint64_t(i);
    EXPECT_EQ(texts[i], alone(prompt, n, ctx, si)) << "sequence " << i;
    distinct.insert(texts[i]);
    tokens += int64_t(texts[i].size() - prompt.size());
    someEnded |= int64_t(texts[i].size()) < int64_t(prompt.size()) + n;
  }
  EXPECT_GT(distinct.size(), 1u) << "the seeds should give different texts";
  EXPECT_TRUE(someEnded) << "no sequence met its end token: the test does not cover a batch shrinking";
  EXPECT_EQ(st.generated, tokens);
  EXPECT_EQ(st.promptTokens, prompt.size() * B);
  EXPECT_LE(m.steps, n - 1);
}

TEST(GenerateBatch, GreedyAndContextFull) {
  // A context of 10 stops each sequence once its cache is full, as the
  // single-sequence loop stops.
  const std::vector<int32_t> prompt = {1, 1, 4};
  ToyModel m(3, 10);
  LetterTokenizer tok;
  std::string out;
  llvm::raw_string_ostream os(out);
  generateBatch(m, tok, prompt, 30, 3, /*ignoreEos=*/true, SamplerOptions{}, os);
  os.flush();
  auto texts = split(out);
  ASSERT_EQ(texts.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(texts[i], texts[0]); // greedy: equal
  ToyModel one(1, 10);
  std::string a;
  llvm::raw_string_ostream as(a);
  generateStreaming(one, tok, prompt, 30, true, SamplerOptions{}, as);
  as.flush();
  EXPECT_EQ(texts[0] + "\n", a);
}

} // namespace
