//===- HFConfigTest.cpp - config.json parsing -----------------------------===//
#include "TestUtil.h"
#include "frontends/HFConfig.h"

using namespace qcc;
using namespace qcc::test;

namespace {
const char *kBase = R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":96,
  "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100%s})";

llvm::Expected<ModelConfig> parse(TempDir &t, const std::string &json) {
  writeFile(t.file("config.json"), json);
  return parseHFConfig(t.file("config.json"));
}
std::string withExtra(const std::string &extra) {
  char buf[2048];
  snprintf(buf, sizeof buf, kBase, extra.c_str());
  return buf;
}
std::string err(llvm::Expected<ModelConfig> c) {
  if (c)
    return "";
  return llvm::toString(c.takeError());
}
} // namespace

TEST(HFConfig, Defaults) {
  TempDir t;
  auto c = parse(t, withExtra(""));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->family, "llama");
  EXPECT_EQ(c->numKVHeads, 4);
  EXPECT_EQ(c->headDim, 16);
  EXPECT_EQ(c->ropeTheta, 10000.0);
  EXPECT_FALSE(c->tieWordEmbeddings);
  EXPECT_FALSE(c->qkvBias);
}

TEST(HFConfig, RopeStylesOfTransformers4And5) {
  TempDir t;
  auto c5 = parse(t, withExtra(R"(,"rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,
      "low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192})"));
  ASSERT_TRUE(bool(c5)) << llvm::toString(c5.takeError());
  EXPECT_EQ(c5->ropeTheta, 500000.0);
  EXPECT_EQ(c5->ropeType, "llama3");
  EXPECT_EQ(c5->ropeFactor, 8.0);
  auto c4 = parse(t, withExtra(R"(,"rope_theta":1000000.0,"rope_scaling":{"type":"linear","factor":2.0})"));
  ASSERT_TRUE(bool(c4)) << llvm::toString(c4.takeError());
  EXPECT_EQ(c4->ropeTheta, 1000000.0);
  EXPECT_EQ(c4->ropeType, "linear");
  EXPECT_NE(err(parse(t, withExtra(R"(,"rope_scaling":{"rope_type":"yarn","factor":2.0})"))).find("yarn"),
            std::string::npos);
}

TEST(HFConfig, Families) {
  TempDir t;
  std::string q = withExtra(R"(,"num_key_value_heads":2,"head_dim":32,"tie_word_embeddings":true)");
  q.replace(q.find("LlamaForCausalLM"), 16, "Qwen2ForCausalLM");
  auto c = parse(t, q);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->family, "qwen2");
  EXPECT_TRUE(c->qkvBias);
  EXPECT_FALSE(c->oBias);
  EXPECT_EQ(c->headDim, 32);
  EXPECT_TRUE(c->tieWordEmbeddings);
  auto b = parse(t, withExtra(R"(,"attention_bias":true,"mlp_bias":true)"));
  ASSERT_TRUE(bool(b));
  EXPECT_TRUE(b->qkvBias && b->oBias && b->mlpBias);
}

TEST(HFConfig, Errors) {
  TempDir t;
  std::string e = err(parse(t, R"({"architectures":["LlamaForCausalLM"],"hidden_size":64})"));
  EXPECT_NE(e.find("missing required key \"intermediate_size\""), std::string::npos) << e;
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  std::string g = withExtra("");
  g.replace(g.find("LlamaForCausalLM"), 16, "GPT2LMHeadModel");
  e = err(parse(t, g));
  EXPECT_NE(e.find("unknown architecture 'GPT2LMHeadModel'"), std::string::npos) << e;
  EXPECT_NE(err(parse(t, "{\"hidden_size\": ")).find("bad JSON"), std::string::npos);
  EXPECT_NE(err(parse(t, withExtra(R"(,"num_key_value_heads":3)"))).find("multiple"), std::string::npos);
  EXPECT_NE(err(parse(t, withExtra(R"(,"hidden_act":"gelu")"))).find("gelu"), std::string::npos);
  EXPECT_NE(err(parse(t, withExtra(R"(,"hidden_size":"64")"))).find("must be an integer"),
            std::string::npos);
}
