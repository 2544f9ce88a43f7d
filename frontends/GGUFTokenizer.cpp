//===- GGUFTokenizer.cpp - tokenizers from GGUF metadata ------------------===//
//
// tokenizer.ggml.model "gpt2": rebuilt as a tokenizer.json BPE description
// (vocab, merges, control/user-defined tokens as added tokens, the
// pre-tokenizer regexes llama.cpp associates with tokenizer.ggml.pre, see
// PreTokenizers.cpp) and loaded by the same BPE code as tokenizer.json.
// tokenizer.ggml.model "llama": SentencePiece BPE over pieces and scores
// (highest-scoring adjacent pair first, byte fallback), as llama.cpp runs it.
//
//===----------------------------------------------------------------------===//
#include "frontends/Error.h"
#include "frontends/GGUF.h"
#include "frontends/SymbolMerge.h"
#include "frontends/Tokenizer.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"

#include <queue>

using namespace llvm;

namespace qcc {

Expected<std::unique_ptr<Tokenizer>> loadBPETokenizerFromJSON(const std::string &path,
                                                              const json::Object &root);

namespace {
json::Object split(const char *re) {
  return json::Object{{"type", "Split"}, {"pattern", json::Object{{"Regex", re}}},
                      {"behavior", "Isolated"}, {"invert", false}};
}

const std::string kSpace = "\xE2\x96\x81"; // "▁"

class ScoreSPMTokenizer final : public Tokenizer {
public:
  StringRef kind() const override { return "spm"; }
  const std::string &path() const override { return path_; }
  int64_t vocabSize() const override { return int64_t(tokens_.size()); }
  std::string tokenText(int32_t id) const override { return tokens_[id]; }
  float tokenScore(int32_t id) const override { return scores_[id]; }
  TokenType tokenType(int32_t id) const override { return types_[id]; }

  std::vector<int32_t> encode(StringRef text) const override {
    std::string s = addSpacePrefix_ && !text.empty() ? kSpace : "";
    for (char c : text) {
      if (c == ' ')
        s += kSpace;
      else
        s += c;
    }
    // symbols: UTF-8 characters
    std::vector<std::string> sym;
    for (size_t i = 0; i < s.size();) {
      unsigned char c = s[i];
      size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      n = std::min(n, s.size() - i);
      sym.push_back(s.substr(i, n));
      i += n;
    }
    // Highest score first (priority = -score), leftmost on ties.
    sym = mergeByPriority<std::string, float>(
        std::move(sym),
        [&](const std::string &a, const std::string &b) -> std::optional<std::pair<float, std::string>> {
          auto it = ids_.find(a + b);
          if (it == ids_.end())
            return std::nullopt;
          return std::make_pair(-scores_[it->second], a + b);
        });
    std::vector<int32_t> out;
    for (const std::string &piece : sym) {
      auto it = ids_.find(piece);
      if (it != ids_.end()) {
        out.push_back(it->second);
        continue;
      }
      for (unsigned char b : piece) {
        char buf[8];
        snprintf(buf, sizeof buf, "<0x%02X>", b);
        auto bt = ids_.find(buf);
        if (bt != ids_.end())
          out.push_back(bt->second);
        else if (unk_)
          out.push_back(*unk_);
      }
    }
    return out;
  }

  std::string decode(ArrayRef<int32_t> ids) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 0 || size_t(id) >= tokens_.size() || types_[id] == TokenType::Control)
        continue;
      const std::string &t = tokens_[id];
      if (int b = byteToken(t); types_[id] == TokenType::Byte && b >= 0) {
        out += char(b);
        continue;
      }
      std::string piece = t;
      size_t p;
      while ((p = piece.find(kSpace)) != std::string::npos)
        piece.replace(p, 3, " ");
      out += piece;
    }
    if (addSpacePrefix_ && !out.empty() && out[0] == ' ')
      out.erase(0, 1);
    return out;
  }

  std::string path_;
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  StringMap<int32_t> ids_;
  std::optional<int32_t> unk_;
  bool addSpacePrefix_ = true;
};

std::optional<int32_t> optId(const gguf::Reader &r, const char *key, int64_t n) {
  const gguf::Value *v = r.get(key);
  if (!v || v->type == gguf::ValueType::ARRAY || v->type == gguf::ValueType::STRING || v->i < 0 || v->i >= n)
    return std::nullopt;
  return int32_t(v->i);
}
} // namespace

Expected<std::unique_ptr<Tokenizer>> loadGGUFTokenizer(const gguf::Reader &r) {
  auto model = r.getString("tokenizer.ggml.model");
  if (!model)
    return model.takeError();
  const gguf::Value *tok = r.get("tokenizer.ggml.tokens");
  if (!tok || tok->type != gguf::ValueType::ARRAY || tok->elemType != gguf::ValueType::STRING ||
      tok->strings.empty())
    return fileError(r.path(), "tokenizer.ggml.tokens must be a non-empty string array");
  const auto &tokens = tok->strings;
  int64_t n = int64_t(tokens.size());
  std::vector<int64_t> types(n, int64_t(TokenType::Normal));
  if (const gguf::Value *tt = r.get("tokenizer.ggml.token_type")) {
    if (tt->type != gguf::ValueType::ARRAY || int64_t(tt->ints.size()) != n)
      return fileError(r.path(), "tokenizer.ggml.token_type must be an integer array of {0} entries", n);
    types = tt->ints;
  }
  std::optional<int32_t> bos = optId(r, "tokenizer.ggml.bos_token_id", n);
  std::optional<int32_t> eos = optId(r, "tokenizer.ggml.eos_token_id", n);
  auto flag = [&](const char *key, bool def) {
    const gguf::Value *v = r.get(key);
    return v && v->type == gguf::ValueType::BOOL ? bool(v->i) : def;
  };

  std::unique_ptr<Tokenizer> result;
  if (*model == "gpt2") {
    const gguf::Value *merges = r.get("tokenizer.ggml.merges");
    if (!merges || merges->type != gguf::ValueType::ARRAY || merges->elemType != gguf::ValueType::STRING)
      return fileError(r.path(), "tokenizer.ggml.merges (a string array) is required for a gpt2 tokenizer");
    std::string pre = "default";
    if (const gguf::Value *p = r.get("tokenizer.ggml.pre"); p && p->type == gguf::ValueType::STRING)
      pre = p->s;
    const GGUFPreTokenizer *preTok = findGGUFPreTokenizer(pre);
    if (!preTok)
      return fileError(r.path(), "tokenizer.ggml.pre '{0}' is not supported (not one of the BPE pre-tokenizers "
                       "llama.cpp knew in February 2025)", pre);
    json::Array steps;
    for (const char *re : preTok->patterns)
      steps.push_back(split(re));
    bool ignoreMerges = preTok->ignoreMerges;
    steps.push_back(json::Object{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}});
    json::Object vocab;
    json::Array added;
    for (int64_t i = 0; i < n; ++i) {
      if (types[i] == int64_t(TokenType::Control) || types[i] == int64_t(TokenType::UserDefined))
        added.push_back(json::Object{{"id", i}, {"content", tokens[i]},
                                     {"special", types[i] == int64_t(TokenType::Control)},
                                     {"lstrip", preTok->lstripToken && tokens[i] == preTok->lstripToken}});
      else
        vocab[tokens[i]] = i;
    }
    json::Array mergeArr;
    for (auto &m : merges->strings)
      mergeArr.push_back(m);
    json::Object root{
        {"added_tokens", std::move(added)},
        {"pre_tokenizer", json::Object{{"type", "Sequence"}, {"pretokenizers", std::move(steps)}}},
        {"decoder", json::Object{{"type", "ByteLevel"}}},
        {"model", json::Object{{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(mergeArr)},
                               {"ignore_merges", ignoreMerges}}}};
    auto t = loadBPETokenizerFromJSON(r.path(), root);
    if (!t)
      return t.takeError();
    result = std::move(*t);
    result->setSpecials(bos, eos, flag("tokenizer.ggml.add_bos_token", preTok->addBos));
  } else if (*model == "llama") {
    auto t = std::make_unique<ScoreSPMTokenizer>();
    t->path_ = r.path();
    t->tokens_ = tokens;
    t->scores_.assign(n, 0.0f);
    if (const gguf::Value *sc = r.get("tokenizer.ggml.scores")) {
      if (sc->type != gguf::ValueType::ARRAY || int64_t(sc->floats.size()) != n)
        return fileError(r.path(), "tokenizer.ggml.scores must be a float array of {0} entries", n);
      for (int64_t i = 0; i < n; ++i)
        t->scores_[i] = float(sc->floats[i]);
    }
    for (int64_t i = 0; i < n; ++i) {
      t->types_.push_back(TokenType(types[i]));
      if (types[i] != int64_t(TokenType::Control) && types[i] != int64_t(TokenType::Unknown))
        t->ids_.try_emplace(tokens[i], int32_t(i));
    }
    t->unk_ = optId(r, "tokenizer.ggml.unknown_token_id", n);
    t->addSpacePrefix_ = flag("tokenizer.ggml.add_space_prefix", true);
    t->setSpecials(bos ? bos : std::optional<int32_t>(1), eos ? eos : std::optional<int32_t>(2),
                   flag("tokenizer.ggml.add_bos_token", true));
    result = std::move(t);
  } else {
    return fileError(r.path(), "tokenizer.ggml.model '{0}' is not supported, expected gpt2 or llama", *model);
  }
  return std::move(result);
}

} // namespace qcc
