//===- PreTokenizers.cpp - the pre-tokenizer regexes, in one table --------===//
//
// Every pre-tokenizer regex qcc runs is defined here once, spelled for ICU:
//  - tokenizer.json spellings (GPT-2's ByteLevel default, Llama-3's and
//    Qwen2's Split patterns): they load tokenizer.json files and name a
//    tokenizer's GGUF pre-tokenizer on export;
//  - for each tokenizer.ggml.pre value llama.cpp (src/llama-vocab.cpp) knows
//    for BPE vocabularies, the regex sequence llama.cpp splits with and the
//    vocabulary flags the value implies.
//
// llama.cpp does not run its regexes on a Unicode regex engine: the GPT-2 and
// Llama-3 patterns go through hand-written matchers, the others through
// std::regex over a copy of the text in which every non-ASCII character is
// replaced by one stand-in per Unicode category (letter, number, punctuation,
// mark, symbol; whitespace; other), \p{X} becoming "that stand-in or the ASCII
// characters of X". ICU over the real text with the same classes splits the
// same way, except where llama.cpp's ASCII tables or regex dialect differ from
// Unicode; those differences are written into the patterns below:
//  - (?i:'s|...) is spelled '[sS]|...: llama.cpp folds ASCII case only, ICU's
//    (?i) also folds e.g. "ſ" (U+017F) to "s";
//  - "$" is spelled \z: std::regex's $ is the end of the piece only;
//  - a class of non-ASCII characters leaves out whitespace: llama.cpp runs a
//    regex without \p{X} on text whose non-ASCII whitespace became U+000B
//    (deepseek-llm's and deepseek-coder's ranges include U+2000..U+3000);
//  - llama.cpp's ASCII list for \p{S} lacks "~" (deepseek-v3's pattern, the
//    only one with \p{S}, treats "~" as neither punctuation nor symbol).
// Both engines see the same Unicode categories as long as ICU's Unicode
// version is llama.cpp's (15.1 at the commit this follows); an older ICU
// leaves the characters added since unassigned.
//
//===----------------------------------------------------------------------===//
#include "frontends/Tokenizer.h"

using namespace llvm;

namespace qcc {

// --- tokenizer.json spellings -------------------------------------------------
const char *const kGPT2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char *const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
    R"(\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
    R"(\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

// --- llama.cpp's regexes --------------------------------------------------------
// llama.cpp writes GPT-2's pattern without the final |\s+, but its matcher for
// it takes a lone whitespace character as the regex's \s+ would (and text a
// split leaves unmatched becomes a piece of its own anyway): kGPT2Pattern.

// Llama-3's and Qwen2's patterns with the contractions' case spelled out.
const char *const kLlama3AsciiCase =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|)"
    R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kQwen2AsciiCase =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|)"
    R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Digits.
const char *const kDigit = R"(\p{N})";
const char *const kDigitRun = R"(\p{N}+)";
const char *const kDigitsUpTo3 = R"(\p{N}{1,3})";
const char *const kAsciiDigits3 = R"([0-9][0-9][0-9])";

// Punctuation runs split out before GPT-2's pattern ("default", falcon).
const char *const kDefaultPunct = R"([\p{P}\$\+<=>\^~\|]+)";
const char *const kFalconPunct = R"([\p{P}\$\+<=>\^~\|`]+)";

// DeepSeek LLM / Coder.
const char *const kLineBreak = R"([\r\n])";
// Cased letters (as llama.cpp lists them), escaped: several are canonically
// equivalent to other characters (U+2126 OHM SIGN to U+03A9) and would not
// survive an editor that normalizes text.
const char *const kDeepSeekLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-)"
    R"(\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-)"
    R"(\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-)"
    R"(\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-)"
    R"(\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3})"
    R"(\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-)"
    R"(\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B})"
    R"(\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B})"
    R"(\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06})"
    R"(\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
    R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-)"
    R"(\x{1E943}]+)";
const char *const kDeepSeekPunct = R"(\s?[[!-/:-~！-／：-～‘-‟　-。]--[\s]]+)";
const char *const kTrailingSpace = R"(\s+\z)";
const char *const kDeepSeekCJK = R"([[一-龥ࠀ-一가-퟿]--[\s]]+)";
const char *const kSpaceLetters = R"(\s?\p{L}+)";
const char *const kSpacePunct = R"(\s?\p{P}+)";

// DeepSeek-V3 ("~" is no symbol: see above).
const char *const kDeepSeek3CJK = R"([一-龥぀-ゟ゠-ヿ]+)";
const char *const kDeepSeek3 =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}[\p{S}--[~]]]?[\p{L}\p{M}]+|)"
    R"( ?[\p{P}[\p{S}--[~]]]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// BLOOM, GPT-3 Finnish, Poro, Viking: everything but whitespace and a few
// punctuation marks (the parentheses and bar are part of the class).
const char *const kBloom = R"( ?[^(\s|.,!?…。，、।۔،)]+)";

// Tekken (Mistral NeMo): llama.cpp's rewrite of the tokenizer.json pattern,
// whose \p{Lu}/\p{Ll} splits become "a letter other than a-z" / "other than A-Z".
const char *const kTekken =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|)"
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|)"
    R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Chameleon: sentinel and image tokens, tabs/newlines/space pairs, digits,
// single punctuation marks, then GPT-2's pattern.
const char *const kChameleonSentinel = R"(<sentinel:[0-9]+>)";
const char *const kChameleonImage = R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)";
const char *const kChameleonSpace = R"(([\t\n]|    |  ))";
const char *const kChameleonPunct = R"([\p{P}!-/:-@\[-`{-~])";

const std::vector<GGUFPreTokenizer> &table() {
  static const std::vector<GGUFPreTokenizer> t = {
      {{"default"}, {kDefaultPunct, kGPT2Pattern, kDigitRun, kAsciiDigits3}},
      {{"llama-bpe", "llama3", "llama-v3", "falcon3"}, {kLlama3AsciiCase}, true, true},
      {{"dbrx", "smaug-bpe", "chatglm-bpe"}, {kLlama3AsciiCase}},
      {{"deepseek-llm"}, {kLineBreak, kDeepSeekLetters, kDeepSeekPunct, kTrailingSpace, kDeepSeekCJK, kDigitRun}},
      {{"deepseek-coder"}, {kLineBreak, kSpaceLetters, kSpacePunct, kDeepSeekCJK, kDigit}},
      {{"deepseek-v3"}, {kDigitsUpTo3, kDeepSeek3CJK, kDeepSeek3}},
      {{"falcon"}, {kFalconPunct, kGPT2Pattern, kAsciiDigits3}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, {kDigit, kGPT2Pattern}},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "roberta-bpe", "mpt", "olmo", "jais"},
       {kGPT2Pattern}},
      {{"jina-v2-es", "jina-v2-de", "jina-v2-code"}, {kGPT2Pattern}, false, false, "<mask>"},
      {{"qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"}, {kQwen2AsciiCase}},
      {{"bloom", "gpt3-finnish", "poro-chat"}, {kBloom}},
      {{"viking"}, {kBloom, kDigit}},
      {{"tekken"}, {kTekken}, true, true},
      {{"chameleon"},
       {kChameleonSentinel, kChameleonImage, kChameleonSpace, kDigit, kChameleonPunct, kGPT2Pattern},
       false, true},
  };
  return t;
}

} // namespace

const GGUFPreTokenizer *findGGUFPreTokenizer(StringRef name) {
  if (name.empty()) // llama.cpp: a missing value means "default"
    name = "default";
  for (const GGUFPreTokenizer &p : table())
    for (const char *n : p.names)
      if (name == n)
        return &p;
  return nullptr;
}

} // namespace qcc
