//===- PreTokenizers.cpp - the pre-tokenizer regexes, in one place --------===//
//
// Every pre-tokenizer regex qcc runs is defined here once: the tokenizer.json
// spellings (GPT-2's ByteLevel default, Llama-3's and Qwen2's Split patterns)
// and llama.cpp's "default" sequence for tokenizer.ggml.pre.
//
//===----------------------------------------------------------------------===//
#include "frontends/Tokenizer.h"

namespace qcc {

const char *const kGPT2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const kLlamaCppDefaultPatterns[4] = {
    "[\\p{P}\\$\\+<=>\\^~\\|]+",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    "\\p{N}+", "[0-9][0-9][0-9]"};

} // namespace qcc
