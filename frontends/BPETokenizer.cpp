//===- BPETokenizer.cpp - Hugging Face tokenizer.json (BPE model) ---------===//
//
// Pipeline, as the tokenizers library runs it:
//   added tokens split out -> normalizer -> pre-tokenizer -> BPE per piece.
// Regex pre-tokenizers (the ByteLevel GPT-2 pattern and `Split` patterns such
// as Llama-3's or Qwen2's) run on ICU's regex engine over UTF-8 directly.
//
//===----------------------------------------------------------------------===//
#include "frontends/Error.h"
#include "frontends/JSONFile.h"
#include "frontends/SymbolMerge.h"
#include "frontends/Tokenizer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/utext.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>

using namespace llvm;

namespace qcc {

namespace {

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

/// Length of the UTF-8 sequence starting with byte `c` (1 for invalid bytes).
size_t utf8Len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;
}

/// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256+n.
std::array<uint32_t, 256> byteToCodepoint() {
  std::array<uint32_t, 256> m{};
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    m[b] = keep ? b : 256 + n++;
  }
  return m;
}

/// One pre-tokenizer step: text pieces in, text pieces out.
struct PreStep {
  enum Kind { Regex, Digits, ByteLevelMark } kind;
  std::string source; // the regex text, for GGUF export
  std::unique_ptr<icu::RegexPattern> pattern; // Regex
  bool isolated = true; // Split behavior: Isolated keeps matches, Removed drops them
  bool invert = false;
  bool individualDigits = false;
};

struct NormStep {
  enum Kind { NFC, NFKC, Prepend, Replace } kind;
  std::string a, b;
};

class BPETokenizer final : public Tokenizer {
public:
  StringRef kind() const override { return "bpe"; }
  const std::string &path() const override { return path_; }
  int64_t vocabSize() const override { return int64_t(idToToken_.size()); }
  std::string tokenText(int32_t id) const override {
    return id >= 0 && size_t(id) < idToToken_.size() ? idToToken_[id] : std::string();
  }
  TokenType tokenType(int32_t id) const override {
    auto it = addedIds_.find(id);
    if (it != addedIds_.end())
      return it->second ? TokenType::Control : TokenType::UserDefined;
    if (unk_ && *unk_ == id)
      return TokenType::Unknown;
    const std::string &t = idToToken_[id];
    if (byteFallback_ && byteToken(t) >= 0)
      return TokenType::Byte;
    return TokenType::Normal;
  }
  std::vector<std::string> merges() const override { return mergeList_; }

  std::vector<int32_t> encode(StringRef text) const override;
  std::string decode(ArrayRef<int32_t> ids) const override;

  static Expected<std::unique_ptr<Tokenizer>> load(const std::string &path);
  static Expected<std::unique_ptr<Tokenizer>> fromJSON(const std::string &path,
                                                       const json::Object &root);
  std::string ggufPreName() const override;

private:
  void encodeSegment(StringRef seg, std::vector<int32_t> &out) const;
  /// Normalizes (a Prepend only when `first`), pre-tokenizes and merges.
  void encodeChunk(StringRef chunk, bool first, std::vector<int32_t> &out) const;
  void bpe(StringRef piece, std::vector<int32_t> &out) const;
  void preTokenize(const std::string &text, std::vector<std::string> &pieces) const;

  std::string path_;
  StringMap<int32_t> vocab_;
  std::vector<std::string> idToToken_;
  DenseMap<uint64_t, std::pair<int32_t, int32_t>> mergeRank_; // (a,b) -> (rank, merged)
  std::vector<std::string> mergeList_;
  struct Added {
    std::string content;
    int32_t id;
    bool special;
    bool lstrip = false, rstrip = false; // whitespace next to it is dropped
  };
  std::vector<Added> added_; // longest first
  DenseMap<int32_t, bool> addedIds_;
  std::vector<NormStep> norm_;
  std::vector<PreStep> pre_;
  bool byteLevel_ = false, addPrefixSpace_ = false, byteFallback_ = false, ignoreMerges_ = false;
  std::optional<int32_t> unk_;
  std::array<int32_t, 256> byteToId_{};
  DenseMap<uint32_t, uint8_t> codepointToByte_;
  mutable std::mutex cacheMutex_;
  mutable StringMap<std::vector<int32_t>> cache_;
};

Expected<std::unique_ptr<icu::RegexPattern>> compileRegex(const std::string &path,
                                                          const std::string &pat) {
  UErrorCode st = U_ZERO_ERROR;
  UParseError pe;
  std::unique_ptr<icu::RegexPattern> p(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pat), 0, pe, st));
  if (U_FAILURE(st))
    return fileError(path, "pre-tokenizer regex '{0}' does not compile: {1}", pat, u_errorName(st));
  return std::move(p);
}

Error parsePreTokenizer(const std::string &path, const json::Object &o, std::vector<PreStep> &steps,
                        bool &byteLevel, bool &addPrefixSpace) {
  StringRef type = o.getString("type").value_or("");
  if (type == "Sequence") {
    if (auto *arr = o.getArray("pretokenizers"))
      for (auto &v : *arr)
        if (auto *so = v.getAsObject())
          if (auto e = parsePreTokenizer(path, *so, steps, byteLevel, addPrefixSpace))
            return e;
    return Error::success();
  }
  if (type == "ByteLevel") {
    byteLevel = true;
    addPrefixSpace = o.getBoolean("add_prefix_space").value_or(false);
    if (o.getBoolean("use_regex").value_or(true)) {
      auto p = compileRegex(path, kGPT2Pattern);
      if (!p)
        return p.takeError();
      PreStep s{PreStep::Regex, kGPT2Pattern, std::move(*p)};
      steps.push_back(std::move(s));
    }
    steps.push_back(PreStep{PreStep::ByteLevelMark, ""});
    return Error::success();
  }
  if (type == "Split") {
    const json::Object *pat = o.getObject("pattern");
    std::string re;
    if (pat && pat->getString("Regex"))
      re = pat->getString("Regex")->str();
    else if (pat && pat->getString("String")) {
      // a literal: quote it for ICU
      re = "\\Q" + pat->getString("String")->str() + "\\E";
    } else
      return fileError(path, "Split pre-tokenizer needs a pattern");
    StringRef behavior = o.getString("behavior").value_or("Isolated");
    if (behavior != "Isolated" && behavior != "Removed")
      return fileError(path, "Split behavior '{0}' is not supported, expected Isolated or Removed", behavior);
    auto p = compileRegex(path, re);
    if (!p)
      return p.takeError();
    PreStep s{PreStep::Regex, re, std::move(*p)};
    s.isolated = behavior == "Isolated";
    s.invert = o.getBoolean("invert").value_or(false);
    if (s.invert)
      return fileError(path, "Split with invert=true is not supported");
    steps.push_back(std::move(s));
    return Error::success();
  }
  if (type == "Digits") {
    PreStep s{PreStep::Digits, ""};
    s.individualDigits = o.getBoolean("individual_digits").value_or(false);
    steps.push_back(std::move(s));
    return Error::success();
  }
  return fileError(path, "pre_tokenizer type '{0}' is not supported, expected ByteLevel, Split, Digits or Sequence", type);
}

Error parseNormalizer(const std::string &path, const json::Object &o, std::vector<NormStep> &steps) {
  StringRef type = o.getString("type").value_or("");
  if (type == "Sequence") {
    if (auto *arr = o.getArray("normalizers"))
      for (auto &v : *arr)
        if (auto *so = v.getAsObject())
          if (auto e = parseNormalizer(path, *so, steps))
            return e;
    return Error::success();
  }
  if (type == "NFC") { steps.push_back({NormStep::NFC}); return Error::success(); }
  if (type == "NFKC") { steps.push_back({NormStep::NFKC}); return Error::success(); }
  if (type == "Prepend") {
    steps.push_back({NormStep::Prepend, o.getString("prepend").value_or("").str()});
    return Error::success();
  }
  if (type == "Replace") {
    const json::Object *pat = o.getObject("pattern");
    if (!pat || !pat->getString("String"))
      return fileError(path, "Replace normalizer: only string patterns are supported");
    steps.push_back({NormStep::Replace, pat->getString("String")->str(),
                     o.getString("content").value_or("").str()});
    return Error::success();
  }
  return fileError(path, "normalizer type '{0}' is not supported, expected NFC, NFKC, Prepend, Replace or Sequence", type);
}

Expected<std::unique_ptr<Tokenizer>> BPETokenizer::load(const std::string &path) {
  auto json = readJSONFile(path, "tokenizer");
  if (!json)
    return json.takeError();
  if (!json->getAsObject())
    return fileError(path, "expected a tokenizer.json object with a \"model\"");
  return fromJSON(path, *json->getAsObject());
}

Expected<std::unique_ptr<Tokenizer>> BPETokenizer::fromJSON(const std::string &path,
                                                            const json::Object &rootObj) {
  const json::Object *root = &rootObj;
  auto *model = root->getObject("model");
  if (!model)
    return fileError(path, "expected a tokenizer.json object with a \"model\"");
  StringRef mtype = model->getString("type").value_or("BPE");
  if (mtype != "BPE")
    return fileError(path, "tokenizer model type '{0}' is not supported, expected BPE", mtype);

  auto tok = std::make_unique<BPETokenizer>();
  tok->path_ = path;
  auto *vocab = model->getObject("vocab");
  if (!vocab)
    return fileError(path, "model.vocab is missing");
  int64_t maxId = -1;
  for (auto &kv : *vocab) {
    auto id = kv.second.getAsInteger();
    if (!id || *id < 0 || *id > (1 << 24))
      return fileError(path, "vocab entry '{0}' has a bad id", kv.first);
    tok->vocab_[kv.first] = int32_t(*id);
    maxId = std::max(maxId, *id);
  }
  if (auto *addedArr = root->getArray("added_tokens")) {
    for (auto &v : *addedArr) {
      auto *a = v.getAsObject();
      auto id = a ? a->getInteger("id") : std::nullopt;
      auto content = a ? a->getString("content") : std::nullopt;
      if (!id || !content || *id < 0 || *id > (1 << 24) || content->empty())
        return fileError(path, "added_tokens entry needs an id and a non-empty content");
      bool special = a->getBoolean("special").value_or(false);
      tok->added_.push_back({content->str(), int32_t(*id), special, a->getBoolean("lstrip").value_or(false),
                             a->getBoolean("rstrip").value_or(false)});
      tok->addedIds_[int32_t(*id)] = special;
      tok->vocab_[*content] = int32_t(*id);
      maxId = std::max(maxId, *id);
    }
  }
  std::stable_sort(tok->added_.begin(), tok->added_.end(),
                   [](const Added &a, const Added &b) { return a.content.size() > b.content.size(); });
  tok->idToToken_.assign(maxId + 1, std::string());
  for (auto &kv : tok->vocab_)
    tok->idToToken_[kv.second] = kv.first().str();

  tok->byteFallback_ = model->getBoolean("byte_fallback").value_or(false);
  tok->ignoreMerges_ = model->getBoolean("ignore_merges").value_or(false);
  if (auto unk = model->getString("unk_token")) {
    auto it = tok->vocab_.find(*unk);
    if (it != tok->vocab_.end())
      tok->unk_ = it->second;
  }
  if (auto *merges = model->getArray("merges")) {
    int32_t rank = 0;
    for (auto &m : *merges) {
      std::string a, b;
      if (auto s = m.getAsString()) {
        size_t sp = s->find(' ', 1);
        if (sp == StringRef::npos)
          return fileError(path, "merge '{0}' is not of the form \"a b\"", *s);
        a = s->substr(0, sp).str();
        b = s->substr(sp + 1).str();
      } else if (auto *pair = m.getAsArray(); pair && pair->size() == 2 &&
                                             (*pair)[0].getAsString() && (*pair)[1].getAsString()) {
        a = (*pair)[0].getAsString()->str();
        b = (*pair)[1].getAsString()->str();
      } else {
        return fileError(path, "merges must be strings \"a b\" or pairs [a, b]");
      }
      auto ia = tok->vocab_.find(a), ib = tok->vocab_.find(b), im = tok->vocab_.find(a + b);
      if (ia == tok->vocab_.end() || ib == tok->vocab_.end() || im == tok->vocab_.end())
        return fileError(path, "merge '{0} {1}' uses a token missing from the vocab", a, b);
      uint64_t key = (uint64_t(uint32_t(ia->second)) << 32) | uint32_t(ib->second);
      tok->mergeRank_.try_emplace(key, rank, im->second);
      tok->mergeList_.push_back(a + " " + b);
      ++rank;
    }
  }
  if (auto *n = root->getObject("normalizer"))
    if (auto e = parseNormalizer(path, *n, tok->norm_))
      return std::move(e);
  if (auto *p = root->getObject("pre_tokenizer"))
    if (auto e = parsePreTokenizer(path, *p, tok->pre_, tok->byteLevel_, tok->addPrefixSpace_))
      return std::move(e);
  // A TemplateProcessing post-processor that starts with a special token means
  // the tokenizer adds that token (BOS) in front of every encoding.
  std::function<void(const json::Object &)> post = [&](const json::Object &pp) {
    StringRef type = pp.getString("type").value_or("");
    if (type == "Sequence") {
      if (auto *arr = pp.getArray("processors"))
        for (auto &v : *arr)
          if (auto *o = v.getAsObject())
            post(*o);
    } else if (type == "TemplateProcessing") {
      auto *single = pp.getArray("single");
      auto *first = single && !single->empty() ? (*single)[0].getAsObject() : nullptr;
      auto *special = first ? first->getObject("SpecialToken") : nullptr;
      if (special)
        if (auto id = special->getString("id")) {
          auto it = tok->vocab_.find(*id);
          if (it != tok->vocab_.end())
            tok->setSpecials(it->second, std::nullopt, /*addBos=*/true);
        }
    }
  };
  if (auto *pp = root->getObject("post_processor"))
    post(*pp);
  if (auto *d = root->getObject("decoder"))
    if (d->getString("type").value_or("") == "ByteLevel")
      tok->byteLevel_ = true;
  if (tok->byteLevel_) {
    // Some vocabularies leave out bytes their training text never had (0xC0,
    // 0xF5..0xFF, control bytes): such a byte has no token and is dropped
    // from the output, as `tokenizers` and llama.cpp drop it. Printable ASCII
    // must be there, or this is no byte-level vocabulary.
    auto map = byteToCodepoint();
    for (int b = 0; b < 256; ++b) {
      auto it = tok->vocab_.find(utf8(map[b]));
      if (it == tok->vocab_.end() && b >= 0x21 && b <= 0x7e)
        return fileError(path, "byte-level vocab lacks the symbol for byte {0:x2}", b);
      tok->byteToId_[b] = it == tok->vocab_.end() ? -1 : it->second;
      tok->codepointToByte_[map[b]] = uint8_t(b);
    }
  }
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

void BPETokenizer::preTokenize(const std::string &text, std::vector<std::string> &pieces) const {
  pieces.assign(1, text);
  if (byteLevel_ && addPrefixSpace_ && !text.empty() && text[0] != ' ')
    pieces[0].insert(0, " ");
  for (auto &step : pre_) {
    if (step.kind == PreStep::ByteLevelMark)
      continue;
    std::vector<std::string> next;
    for (auto &p : pieces) {
      if (step.kind == PreStep::Digits) {
        size_t i = 0;
        while (i < p.size()) {
          size_t j = i;
          bool digit = isdigit((unsigned char)p[i]);
          if (digit && step.individualDigits)
            j = i + 1;
          else
            while (j < p.size() && bool(isdigit((unsigned char)p[j])) == digit)
              ++j;
          next.push_back(p.substr(i, j - i));
          i = j;
        }
        continue;
      }
      UErrorCode st = U_ZERO_ERROR;
      UText *ut = utext_openUTF8(nullptr, p.data(), int64_t(p.size()), &st);
      std::unique_ptr<icu::RegexMatcher> m(step.pattern->matcher(st));
      m->reset(ut);
      int64_t last = 0;
      while (m->find(st) && U_SUCCESS(st)) {
        int64_t b = m->start64(st), e = m->end64(st);
        if (b > last)
          next.push_back(p.substr(last, b - last));
        if (e > b && step.isolated)
          next.push_back(p.substr(b, e - b));
        last = e;
        if (e == b) { // empty match: step forward to avoid looping
          if (b >= int64_t(p.size()))
            break;
        }
      }
      if (last < int64_t(p.size()))
        next.push_back(p.substr(last));
      utext_close(ut);
    }
    pieces.swap(next);
  }
}

void BPETokenizer::bpe(StringRef piece, std::vector<int32_t> &out) const {
  if (piece.empty())
    return;
  std::string key;
  if (byteLevel_) {
    static const auto map = byteToCodepoint();
    for (unsigned char c : piece)
      key += utf8(map[c]);
  } else {
    key = piece.str();
  }
  {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  auto whole = ignoreMerges_ ? vocab_.find(key) : vocab_.end();
  if (whole != vocab_.end()) {
    ids.push_back(whole->second);
  } else {
    // Initial symbols: bytes (byte-level) or characters (with byte fallback).
    std::vector<int32_t> sym;
    if (byteLevel_) {
      for (unsigned char c : piece)
        sym.push_back(byteToId_[c]);
    } else {
      for (size_t i = 0; i < key.size();) {
        size_t n = std::min(utf8Len((unsigned char)key[i]), key.size() - i);
        auto it = vocab_.find(StringRef(key).substr(i, n));
        if (it != vocab_.end()) {
          sym.push_back(it->second);
        } else if (byteFallback_) {
          for (size_t k = 0; k < n; ++k) {
            char buf[8];
            snprintf(buf, sizeof buf, "<0x%02X>", (unsigned char)key[i + k]);
            auto bt = vocab_.find(buf);
            if (bt != vocab_.end())
              sym.push_back(bt->second);
            else if (unk_)
              sym.push_back(*unk_);
          }
        } else if (unk_) {
          sym.push_back(*unk_);
        }
        i += n;
      }
    }
    // Lowest merge rank first, leftmost on ties; a byte without a token (-1)
    // merges with nothing and is dropped.
    ids = mergeByPriority<int32_t, int32_t>(
        std::move(sym), [&](int32_t a, int32_t b) -> std::optional<std::pair<int32_t, int32_t>> {
          if (a < 0 || b < 0)
            return std::nullopt;
          auto it = mergeRank_.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
          if (it == mergeRank_.end())
            return std::nullopt;
          return it->second;
        });
    ids.erase(std::remove(ids.begin(), ids.end(), -1), ids.end());
  }
  out.insert(out.end(), ids.begin(), ids.end());
  if (key.size() < 256) {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    if (cache_.size() >= (1u << 20)) // bounded: a huge text has millions of distinct words
      cache_.clear();
    cache_[key] = std::move(ids);
  }
}

void BPETokenizer::encodeChunk(StringRef chunk, bool first, std::vector<int32_t> &out) const {
  std::string text = chunk.str();
  for (auto &n : norm_) {
    switch (n.kind) {
    case NormStep::NFC:
    case NormStep::NFKC: {
      UErrorCode st = U_ZERO_ERROR;
      const icu::Normalizer2 *norm = n.kind == NormStep::NFC ? icu::Normalizer2::getNFCInstance(st)
                                                             : icu::Normalizer2::getNFKCInstance(st);
      if (U_SUCCESS(st)) {
        std::string res;
        norm->normalize(icu::UnicodeString::fromUTF8(text), st).toUTF8String(res);
        if (U_SUCCESS(st))
          text = res;
      }
      break;
    }
    case NormStep::Prepend:
      if (first)
        text = n.a + text;
      break;
    case NormStep::Replace: {
      if (n.a.empty())
        break;
      std::string res;
      size_t pos = 0, hit;
      while ((hit = text.find(n.a, pos)) != std::string::npos) {
        res.append(text, pos, hit - pos);
        res += n.b;
        pos = hit + n.a.size();
      }
      res.append(text, pos, std::string::npos);
      text = res;
      break;
    }
    }
  }
  std::vector<std::string> pieces;
  preTokenize(text, pieces);
  for (auto &p : pieces)
    bpe(p, out);
}

void BPETokenizer::encodeSegment(StringRef text, std::vector<int32_t> &out) const {
  if (text.empty())
    return;
  // A long text is normalized and pre-tokenized a piece of about 1 MiB at a
  // time, so the copies and pre-tokens in memory stay bounded (one line of
  // hundreds of megabytes would otherwise hold tens of bytes a byte). A piece
  // ends where every pre-tokenizer starts a new pre-token whatever the
  // context: after a newline that a non-space follows, or (in a line longer
  // than a piece) before a space that a letter follows and an ASCII letter or
  // digit precedes. The ids equal those of the text in one piece.
  constexpr size_t kPiece = size_t(1) << 20;
  auto alnum = [](char c) { return std::isalnum((unsigned char)c) != 0; };
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.size();
    if (end - pos > 2 * kPiece) {
      const size_t limit = pos + 2 * kPiece;
      size_t cut = std::string::npos;
      for (size_t nl = text.find('\n', pos + kPiece); nl != std::string::npos && nl + 1 < limit;
           nl = text.find('\n', nl + 1))
        if (!space(text[nl + 1])) {
          cut = nl + 1;
          break;
        }
      if (cut == std::string::npos)
        for (size_t sp = text.find(' ', pos + kPiece); sp != std::string::npos && sp + 1 < limit;
             sp = text.find(' ', sp + 1))
          if (alnum(text[sp - 1]) && std::isalpha((unsigned char)text[sp + 1])) {
            cut = sp;
            break;
          }
      if (cut != std::string::npos)
        end = cut;
    }
    encodeChunk(text.substr(pos, end - pos), pos == 0, out);
    pos = end;
  }
}

std::vector<int32_t> BPETokenizer::encode(StringRef text) const {
  std::vector<int32_t> out;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const Added *hit = nullptr;
    for (auto &a : added_)
      if (text.substr(i).starts_with(a.content)) {
        hit = &a;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    // lstrip / rstrip drop ASCII whitespace (llama.cpp's isspace; tokenizer.json
    // would also drop other Unicode whitespace).
    const char *ws = " \t\n\v\f\r";
    StringRef left = text.substr(start, i - start);
    encodeSegment(hit->lstrip ? left.rtrim(ws) : left, out);
    out.push_back(hit->id);
    i += hit->content.size();
    if (hit->rstrip)
      i = std::min(text.find_first_not_of(ws, i), text.size());
    start = i;
  }
  encodeSegment(text.substr(start), out);
  return out;
}

std::string BPETokenizer::decode(ArrayRef<int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= idToToken_.size())
      continue;
    const std::string &t = idToToken_[id];
    if (addedIds_.count(id)) {
      out += t;
      continue;
    }
    if (byteLevel_) {
      for (size_t i = 0; i < t.size();) {
        size_t n = std::min(utf8Len((unsigned char)t[i]), t.size() - i);
        uint32_t cp = 0;
        const UTF8 *src = reinterpret_cast<const UTF8 *>(t.data() + i);
        UTF32 c32;
        UTF32 *dst = &c32;
        if (ConvertUTF8toUTF32(&src, src + n, &dst, dst + 1, strictConversion) == conversionOK)
          cp = c32;
        auto it = codepointToByte_.find(cp);
        if (it != codepointToByte_.end())
          out += char(it->second);
        else
          out.append(t, i, n);
        i += n;
      }
    } else if (int b = byteToken(t); byteFallback_ && b >= 0) {
      out += char(b);
    } else {
      // SentencePiece-style vocab: "▁" is a space
      std::string s = t;
      size_t p;
      while ((p = s.find("\xE2\x96\x81")) != std::string::npos)
        s.replace(p, 3, " ");
      out += s;
    }
  }
  if (!byteLevel_ && !norm_.empty() && norm_.front().kind == NormStep::Prepend &&
      !out.empty() && out[0] == ' ')
    out.erase(0, 1);
  return out;
}

std::string BPETokenizer::ggufPreName() const {
  if (!byteLevel_)
    return "";
  std::vector<std::string> pats;
  for (auto &p : pre_)
    if (p.kind == PreStep::Regex)
      pats.push_back(p.source);
    else if (p.kind == PreStep::Digits)
      return "";
  if (pats.size() == 1 && pats[0] == kGPT2Pattern)
    return "gpt-2";
  if (pats.size() == 1 && pats[0] == kLlama3Pattern)
    return "llama-bpe";
  if (pats.size() == 1 && pats[0] == kQwen2Pattern)
    return "qwen2";
  return "";
}

} // namespace

Expected<std::unique_ptr<Tokenizer>> loadBPETokenizerFromJSON(const std::string &path,
                                                              const json::Object &root) {
  return BPETokenizer::fromJSON(path, root);
}

Expected<std::unique_ptr<Tokenizer>> loadBPETokenizer(const std::string &path) {
  return BPETokenizer::load(path);
}

} // namespace qcc
