//===- Tokenizer.h - tokenizer.json BPE and SentencePiece ------*- C++ -*-===//
//
// Two tokenizer kinds behind one interface:
//  - Hugging Face `tokenizer.json` with a BPE model: byte-level (GPT-2 style:
//    ByteLevel pre-tokenizer / Split regex + ByteLevel) or character-level
//    with byte fallback; added/special tokens are split out first.
//  - SentencePiece `tokenizer.model` (llama-2 style), through libsentencepiece.
// `encode` never adds BOS; callers ask `addBos()`.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_TOKENIZER_H
#define QCC_FRONTENDS_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qcc {

/// Pre-tokenizer regexes as tokenizer.json spells them (GPT-2's ByteLevel
/// default, Llama-3's and Qwen2's Split patterns); PreTokenizers.cpp holds
/// them and every other pre-tokenizer regex.
extern const char *const kGPT2Pattern;
extern const char *const kLlama3Pattern;
extern const char *const kQwen2Pattern;

/// What a tokenizer.ggml.pre value means to llama.cpp for a BPE ("gpt2")
/// vocabulary: the regexes it splits with, in order (each splits every piece
/// the previous ones left, keeping both its matches and the text between
/// them), and the vocabulary flags the value implies.
struct GGUFPreTokenizer {
  std::vector<const char *> names; // the value and its aliases
  std::vector<const char *> patterns;
  bool ignoreMerges = false; // a piece that is itself a token is not merged
  bool addBos = false;       // default of tokenizer.ggml.add_bos_token
  const char *lstripToken = nullptr; // a special token that swallows the whitespace before it
};
/// The pre-tokenizer named `name` ("" means "default"), or null if unknown.
const GGUFPreTokenizer *findGGUFPreTokenizer(llvm::StringRef name);

/// The byte of a byte-fallback token "<0xAB>", or -1 for any other text.
inline int byteToken(const std::string &t) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>' || hex(t[3]) < 0 || hex(t[4]) < 0)
    return -1;
  return hex(t[3]) * 16 + hex(t[4]);
}

/// Token attributes, numbered as GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

class Tokenizer {
public:
  virtual ~Tokenizer() = default;
  /// "bpe" (tokenizer.json) or "spm" (tokenizer.model).
  virtual llvm::StringRef kind() const = 0;
  virtual std::vector<int32_t> encode(llvm::StringRef text) const = 0;
  virtual std::string decode(llvm::ArrayRef<int32_t> ids) const = 0;
  /// Number of token ids (largest id + 1).
  virtual int64_t vocabSize() const = 0;
  /// The token's text as stored in the vocabulary (byte-level or "▁" form).
  virtual std::string tokenText(int32_t id) const = 0;
  virtual float tokenScore(int32_t id) const { return 0.0f; }
  virtual TokenType tokenType(int32_t id) const = 0;
  /// Merges "a b" in rank order (BPE only).
  virtual std::vector<std::string> merges() const { return {}; }
  /// The file the tokenizer came from.
  virtual const std::string &path() const = 0;
  /// llama.cpp's name for this tokenizer's pre-tokenizer (tokenizer.ggml.pre):
  /// "gpt-2", "llama-bpe", "qwen2", "default"; "" if it has no GGUF equivalent.
  virtual std::string ggufPreName() const { return "default"; }

  bool addBos() const { return addBos_; }
  std::optional<int32_t> bos() const { return bos_; }
  std::optional<int32_t> eos() const { return eos_; }
  void setSpecials(std::optional<int32_t> bos, std::optional<int32_t> eos, bool addBos) {
    bos_ = bos;
    eos_ = eos;
    addBos_ = addBos;
  }

protected:
  std::optional<int32_t> bos_, eos_;
  bool addBos_ = false;
};

/// Loads `dir`/tokenizer.json (preferred) or `dir`/tokenizer.model, reading
/// tokenizer_config.json for add_bos / bos / eos where present.
/// `configBos` / `configEos` come from config.json and are used as fallbacks.
llvm::Expected<std::unique_ptr<Tokenizer>>
loadTokenizer(const std::string &dir, std::optional<int64_t> configBos = std::nullopt,
              std::optional<int64_t> configEos = std::nullopt);

llvm::Expected<std::unique_ptr<Tokenizer>> loadBPETokenizer(const std::string &path);
llvm::Expected<std::unique_ptr<Tokenizer>> loadSentencePieceTokenizer(const std::string &path);

namespace gguf {
class Reader;
}
/// The tokenizer stored in a GGUF file's tokenizer.ggml.* metadata.
llvm::Expected<std::unique_ptr<Tokenizer>> loadGGUFTokenizer(const gguf::Reader &r);

} // namespace qcc

#endif
