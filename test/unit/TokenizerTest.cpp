//===- TokenizerTest.cpp - BPE and SentencePiece --------------------------===//
#include "TestUtil.h"
#include "frontends/Tokenizer.h"

#include <unicode/regex.h>

using namespace qcc;
using namespace qcc::test;


TEST(Tokenizer, ByteLevelBPEMergesByRank) {
  TempDir t;
  // Full byte alphabet generated the GPT-2 way.
  std::vector<std::string> sym(256);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    uint32_t cp = keep ? b : 256 + n++;
    std::string s;
    if (cp < 0x80)
      s += char(cp);
    else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    sym[b] = s;
  }
  std::string vocab;
  auto esc = [](const std::string &s) {
    std::string o;
    for (char c : s) {
      if (c == '"' || c == '\\')
        o += '\\';
      o += c;
    }
    return o;
  };
  for (int b = 0; b < 256; ++b)
    vocab += (b ? "," : "") + ("\"" + esc(sym[b]) + "\":" + std::to_string(b));
  vocab += R"(,"lo":256,"low":257,"Ġl":258,"Ġlow":259,"er":260)";
  std::string json = R"({"added_tokens":[{"id":261,"content":"<|end|>","special":true}],
    "normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
    "decoder":{"type":"ByteLevel"},
    "model":{"type":"BPE","vocab":{)" + vocab + R"(},"merges":["l o","lo w",["Ġ","l"],"Ġl ow","e r"]}})";
  // note: "Ġl ow" uses "ow" which is not in the vocab -> must be rejected
  writeFile(t.file("tokenizer.json"), json);
  auto bad = loadBPETokenizer(t.file("tokenizer.json"));
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("missing from the vocab"), std::string::npos);

  json.replace(json.find("\"Ġl ow\""), std::string("\"Ġl ow\"").size(), "\"Ġ low\"");
  writeFile(t.file("tokenizer.json"), json);
  auto tok = loadBPETokenizer(t.file("tokenizer.json"));
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  // "lower low<|end|>!" -> low er Ġlow <|end|> !
  auto ids = (*tok)->encode("lower low<|end|>!");
  EXPECT_EQ(ids, (std::vector<int32_t>{257, 260, 259, 261, '!'}));
  EXPECT_EQ((*tok)->decode(ids), "lower low<|end|>!");
  // "Ġ l" (rank 2) must not win over "l o" (rank 0): " lo" -> Ġ lo
  EXPECT_EQ((*tok)->encode(" lo"), (std::vector<int32_t>{32, 256})); // id 32 is byte 0x20 = "Ġ"
  EXPECT_EQ((*tok)->tokenType(261), TokenType::Control);
  // Multi-byte UTF-8 survives the byte-level round trip.
  std::string u = "na\xc3\xafve \xe2\x82\xac";
  EXPECT_EQ((*tok)->decode((*tok)->encode(u)), u);
}

TEST(Tokenizer, SentencePieceFromSharedModel) {
  std::string path = std::string(QCC_SHARED_DIR) + "/models/stories260K-hf/tokenizer.model";
  if (!llvm::sys::fs::exists(path))
    GTEST_SKIP() << "shared models not present";
  auto tok = loadSentencePieceTokenizer(path);
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  EXPECT_EQ((*tok)->vocabSize(), 512);
  EXPECT_EQ((*tok)->bos(), 1);
  EXPECT_EQ((*tok)->eos(), 2);
  EXPECT_TRUE((*tok)->addBos());
  auto ids = (*tok)->encode("Once upon a time");
  EXPECT_FALSE(ids.empty());
  EXPECT_EQ((*tok)->decode(ids), "Once upon a time");
}

TEST(Tokenizer, RejectsGarbage) {
  TempDir t;
  writeFile(t.file("tokenizer.model"), "definitely not a protobuf");
  auto tok = loadSentencePieceTokenizer(t.file("tokenizer.model"));
  ASSERT_FALSE(bool(tok));
  EXPECT_NE(llvm::toString(tok.takeError()).find("not a valid SentencePiece model"), std::string::npos);
  writeFile(t.file("tokenizer.json"), R"({"model":{"type":"Unigram","vocab":[]}})");
  auto j = loadBPETokenizer(t.file("tokenizer.json"));
  ASSERT_FALSE(bool(j));
  EXPECT_NE(llvm::toString(j.takeError()).find("Unigram"), std::string::npos);
}

// Every BPE tokenizer.ggml.pre value llama.cpp knew in February 2025
// (src/llama-vocab.cpp) has a table entry whose regexes ICU compiles.
TEST(Tokenizer, GGUFPreTokenizerTable) {
  const char *names[] = {
      "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "deepseek-llm", "deepseek-coder",
      "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat",
      "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "refact", "command-r",
      "qwen2", "deepseek-r1-qwen", "stablelm2", "olmo", "dbrx", "smaug-bpe", "poro-chat", "chatglm-bpe",
      "viking", "jais", "tekken", "smollm", "codeshell", "bloom", "gpt3-finnish", "exaone", "chameleon",
      "minerva-7b", "megrez"};
  for (const char *name : names) {
    const GGUFPreTokenizer *p = findGGUFPreTokenizer(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_FALSE(p->patterns.empty()) << name;
    for (const char *re : p->patterns) {
      UErrorCode st = U_ZERO_ERROR;
      UParseError pe;
      std::unique_ptr<icu::RegexPattern> c(
          icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(re), 0, pe, st));
      EXPECT_TRUE(U_SUCCESS(st)) << name << ": " << re << ": " << u_errorName(st);
    }
    bool llama3 = std::string(name).find("llama") == 0 || std::string(name) == "falcon3";
    EXPECT_EQ(p->ignoreMerges, llama3 || std::string(name) == "tekken") << name;
    EXPECT_EQ(p->addBos, llama3 || std::string(name) == "tekken" || std::string(name) == "chameleon") << name;
    EXPECT_EQ(p->lstripToken != nullptr, std::string(name).find("jina-v2-") == 0) << name;
  }
  EXPECT_EQ(findGGUFPreTokenizer(""), findGGUFPreTokenizer("default"));
  EXPECT_EQ(findGGUFPreTokenizer("gpt-4o"), nullptr);
  EXPECT_EQ(findGGUFPreTokenizer("bert-bge"), nullptr); // a WordPiece vocabulary's value
}
