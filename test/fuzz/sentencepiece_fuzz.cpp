//===- sentencepiece_fuzz.cpp - tokenizer.model (SentencePiece) -------------===//
#include "FuzzInput.h"
#include "TokenizerUse.h"

using namespace qcc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = fuzz::writeFile("tokenizer.model", data, size);
  auto tok = loadSentencePieceTokenizer(path);
  if (!fuzz::ok(tok))
    return 0;
  fuzz::useTokenizer(**tok, data, size);
  return 0;
}
