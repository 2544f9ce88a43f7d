//===- SentencePieceTokenizer.cpp - tokenizer.model via libsentencepiece --===//
#include "frontends/Error.h"
#include "frontends/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <sentencepiece_processor.h>

using namespace llvm;

namespace qcc {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
public:
  StringRef kind() const override { return "spm"; }
  const std::string &path() const override { return path_; }
  int64_t vocabSize() const override { return sp_.GetPieceSize(); }
  std::string tokenText(int32_t id) const override { return sp_.IdToPiece(id); }
  float tokenScore(int32_t id) const override { return sp_.GetScore(id); }
  TokenType tokenType(int32_t id) const override {
    if (sp_.IsUnknown(id)) return TokenType::Unknown;
    if (sp_.IsControl(id)) return TokenType::Control;
    if (sp_.IsUnused(id)) return TokenType::Unused;
    if (sp_.IsByte(id)) return TokenType::Byte;
    return TokenType::Normal;
  }
  std::vector<int32_t> encode(StringRef text) const override {
    std::vector<int> ids;
    (void)sp_.Encode(absl::string_view(text.data(), text.size()), &ids);
    return std::vector<int32_t>(ids.begin(), ids.end());
  }
  std::string decode(ArrayRef<int32_t> ids) const override {
    std::vector<int> v(ids.begin(), ids.end());
    std::string out;
    (void)sp_.Decode(v, &out);
    return out;
  }

  std::string path_;
  sentencepiece::SentencePieceProcessor sp_;
};

} // namespace

Expected<std::unique_ptr<Tokenizer>> loadSentencePieceTokenizer(const std::string &path) {
  auto tok = std::make_unique<SentencePieceTokenizer>();
  tok->path_ = path;
  auto buf = MemoryBuffer::getFile(path, false, false);
  if (!buf)
    return fileError(path, "cannot open tokenizer: {0}", buf.getError().message());
  // libsentencepiece reports most bad models through its status, but some
  // (a zero-length piece: Darts' trie builder) only by throwing.
  std::string thrown;
  sentencepiece::util::Status st;
  try {
    st = tok->sp_.LoadFromSerializedProto(
        absl::string_view((*buf)->getBufferStart(), (*buf)->getBufferSize()));
  } catch (const std::exception &e) {
    thrown = e.what();
  } catch (...) {
    thrown = "unknown exception";
  }
  if (!thrown.empty())
    return fileError(path, "not a valid SentencePiece model: {0}", thrown);
  if (!st.ok())
    return fileError(path, "not a valid SentencePiece model: {0}", st.ToString());
  if (tok->sp_.GetPieceSize() <= 0)
    return fileError(path, "SentencePiece model has an empty vocabulary");
  auto bos = tok->sp_.bos_id(), eos = tok->sp_.eos_id();
  tok->setSpecials(bos >= 0 ? std::optional<int32_t>(bos) : std::nullopt,
                   eos >= 0 ? std::optional<int32_t>(eos) : std::nullopt, /*addBos=*/bos >= 0);
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

Expected<std::unique_ptr<Tokenizer>> loadTokenizer(const std::string &dir,
                                                   std::optional<int64_t> configBos,
                                                   std::optional<int64_t> configEos) {
  SmallString<256> json(dir), model(dir), cfg(dir);
  sys::path::append(json, "tokenizer.json");
  sys::path::append(model, "tokenizer.model");
  sys::path::append(cfg, "tokenizer_config.json");
  Expected<std::unique_ptr<Tokenizer>> tok =
      sys::fs::exists(json) ? loadBPETokenizer(json.str().str())
      : sys::fs::exists(model)
          ? loadSentencePieceTokenizer(model.str().str())
          : Expected<std::unique_ptr<Tokenizer>>(
                fileError(dir, "no tokenizer: expected tokenizer.json or tokenizer.model"));
  if (!tok)
    return tok.takeError();
  Tokenizer &t = **tok;

  // Specials: tokenizer_config.json wins, then the tokenizer's own, then config.json.
  std::optional<int32_t> bos = t.bos(), eos = t.eos();
  bool addBos = t.addBos();
  auto idOf = [&](const json::Value *v) -> std::optional<int32_t> {
    if (!v)
      return std::nullopt;
    std::optional<StringRef> s = v->getAsString();
    if (!s)
      if (auto *o = v->getAsObject())
        s = o->getString("content");
    if (!s)
      return std::nullopt;
    for (int32_t i = 0; i < t.vocabSize(); ++i)
      if (t.tokenText(i) == *s)
        return i;
    return std::nullopt;
  };
  if (!bos && configBos)
    bos = int32_t(*configBos);
  if (!eos && configEos)
    eos = int32_t(*configEos);
  if (sys::fs::exists(cfg)) {
    auto buf = MemoryBuffer::getFile(cfg);
    if (!buf)
      return fileError(cfg, "cannot open: {0}", buf.getError().message());
    auto js = json::parse((*buf)->getBuffer());
    if (!js)
      return fileError(cfg, "bad JSON: {0}", toString(js.takeError()));
    if (auto *o = js->getAsObject()) {
      if (auto b = idOf(o->get("bos_token")))
        bos = b;
      if (auto e = idOf(o->get("eos_token")))
        eos = e;
      if (auto ab = o->getBoolean("add_bos_token"))
        addBos = *ab;
    }
  }
  if (!bos)
    addBos = false;
  t.setSpecials(bos, eos, addBos);
  return tok;
}

} // namespace qcc
