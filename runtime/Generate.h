//===- Generate.h - streaming text generation over any LanguageModel -*- C++ -*-===//
//
// What `qcc generate` and the compiled binaries' `-p TEXT` share: run the
// prompt, then sample token by token, writing the decoded text as it grows
// (only whole characters: the text so far must extend what was written).
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_GENERATE_H
#define QCC_RUNTIME_GENERATE_H

#include "runtime/LanguageModel.h"
#include "runtime/Sampler.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace qcc {
class Tokenizer;

struct GenerateStats {
  size_t promptTokens = 0;
  int64_t generated = 0;
  double promptSeconds = 0, generateSeconds = 0;
};

/// Feeds `ids` (the encoded prompt, non-empty) to `m`, then samples up to `n`
/// tokens (stopping at the end-of-sequence token unless `ignoreEos`, or
/// when the model's context is full), streaming the prompt and the
/// generated text to `out`, which ends with a newline.
GenerateStats generateStreaming(LanguageModel &m, const Tokenizer &tok, std::vector<int32_t> ids, int64_t n,
                                bool ignoreEos, const SamplerOptions &sampling, llvm::raw_ostream &out);

/// `sequences` continuations of one prompt decoded together, one token of
/// each a step (batched decoding; needs m.maxSequences() >= sequences):
/// sequence i samples with seed sampling.seed + i and stops on its own (end
/// of sequence, full context). Once all are done, writes each one's text
/// (the prompt and its continuation) as "[i] TEXT\n". Token counts in the
/// stats are over all sequences.
GenerateStats generateBatch(LanguageModel &m, const Tokenizer &tok, const std::vector<int32_t> &ids, int64_t n,
                            int64_t sequences, bool ignoreEos, const SamplerOptions &sampling,
                            llvm::raw_ostream &out);

/// "PREFIXprompt N tokens in Ts (R tok/s), generated ..." on one line.
void printGenerateStats(llvm::raw_ostream &os, llvm::StringRef prefix, const GenerateStats &s);

} // namespace qcc

#endif
