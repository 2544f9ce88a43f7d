//===- TokenizerUse.h - what the tokenizer targets do with a tokenizer -*- C++ -*-===//
#ifndef QCC_TEST_FUZZ_TOKENIZERUSE_H
#define QCC_TEST_FUZZ_TOKENIZERUSE_H

#include "frontends/Tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace qcc::fuzz {

/// Encodes and decodes a fixed multilingual text and the first bytes of the
/// input itself (arbitrary, often invalid UTF-8), and reads every id's text.
inline void useTokenizer(const Tokenizer &tok, const uint8_t *data, size_t size) {
  static const char *kText = "Hello, world! It's 2026: naïve café, ÆØÅ, 東京, 🙂 \t\n  x=3.14159 "
                             "<s></s><|endoftext|> don't   stop";
  std::vector<int32_t> ids = tok.encode(kText);
  (void)tok.decode(ids);
  std::string raw(reinterpret_cast<const char *>(data), std::min<size_t>(size, 512));
  ids = tok.encode(raw);
  (void)tok.decode(ids);
  const int64_t v = std::min<int64_t>(tok.vocabSize(), 4096);
  for (int32_t i = 0; i < v; ++i) {
    (void)tok.tokenText(i);
    (void)tok.tokenType(i);
  }
  // Out-of-range ids must be handled, not read past the vocabulary.
  (void)tok.decode({-1, int32_t(tok.vocabSize()), int32_t(tok.vocabSize()) + 7});
}

} // namespace qcc::fuzz

#endif
