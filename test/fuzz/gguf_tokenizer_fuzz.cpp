//===- gguf_tokenizer_fuzz.cpp - a tokenizer from GGUF metadata -------------===//
//
// Input: one GGUF file. Rebuilds the tokenizer from its tokenizer.ggml.*
// metadata, then encodes and decodes a fixed text and the input's own bytes.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "TokenizerUse.h"
#include "frontends/GGUF.h"
#include "frontends/Tokenizer.h"

using namespace qcc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = fuzz::writeFile("tokenizer.gguf", data, size);
  auto r = gguf::Reader::open(path);
  if (!fuzz::ok(r))
    return 0;
  auto tok = loadGGUFTokenizer(**r);
  if (!fuzz::ok(tok))
    return 0;
  fuzz::useTokenizer(**tok, data, size);
  return 0;
}
