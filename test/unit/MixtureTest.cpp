//===- MixtureTest.cpp - preset rules and tensor names --------------------===//
#include "quant/Mixture.h"
#include "formats/ggml/TensorNames.h"

#include <gtest/gtest.h>

using namespace qcc::ggml;

namespace {
Type pick(const char *preset, const std::string &name, int layer, int n, int64_t row = 4096,
          int gqa = 1, bool hasOutput = true) {
  return chooseType(*presetFromName(preset), {name, layer, n, gqa, hasOutput, row});
}
} // namespace

TEST(TensorNames, RoundTrip) {
  EXPECT_EQ(ggufName("model.layers.12.mlp.down_proj.weight"), "blk.12.ffn_down.weight");
  EXPECT_EQ(ggufName("model.layers.0.self_attn.q_proj.bias"), "blk.0.attn_q.bias");
  EXPECT_EQ(ggufName("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(ggufName("lm_head.weight"), "output.weight");
  EXPECT_EQ(ggufName("model.layers.x.mlp.down_proj.weight"), std::nullopt);
  EXPECT_EQ(ggufName("vision_tower.weight"), std::nullopt);
  for (const char *n : {"model.norm.weight", "model.layers.3.post_attention_layernorm.weight",
                        "model.layers.31.self_attn.o_proj.weight", "model.layers.7.mlp.gate_proj.weight"})
    EXPECT_EQ(hfName(*ggufName(n)), n);
  EXPECT_EQ(layerOf("blk.17.attn_v.weight"), 17);
  EXPECT_EQ(layerOf("model.layers.4.mlp.up_proj.weight"), 4);
  EXPECT_EQ(layerOf("token_embd.weight"), -1);
}

TEST(Mixture, PresetsAsLlamaCppDefinesThem) {
  // 32 layers: use_more_bits = {0..3, 6, 9, ..., 27, 28..31}
  EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", 0, 32), Type::Q6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.4.attn_v.weight", 4, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.6.ffn_down.weight", 6, 32), Type::Q6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.ffn_down.weight", 7, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_q.weight", 7, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q4_K_M", "output.weight", -1, 32), Type::Q6_K);
  EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", -1, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", -1, 32, 4096, 1, /*hasOutput=*/false), Type::Q6_K);
  EXPECT_EQ(pick("Q8_0", "output.weight", -1, 32), Type::Q8_0);
  EXPECT_EQ(pick("Q4_0", "output.weight", -1, 32), Type::Q6_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.3.attn_v.weight", 3, 32), Type::Q5_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.4.attn_v.weight", 4, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.3.ffn_down.weight", 3, 32), Type::Q5_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.4.ffn_down.weight", 4, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.1.attn_v.weight", 1, 32), Type::Q5_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.attn_v.weight", 2, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.1.ffn_down.weight", 1, 32), Type::Q5_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.ffn_down.weight", 2, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.attn_output.weight", 2, 32), Type::Q4_K);
  EXPECT_EQ(pick("Q3_K_L", "blk.9.attn_v.weight", 9, 32), Type::Q5_K);
  EXPECT_EQ(pick("Q3_K_S", "blk.9.attn_v.weight", 9, 32), Type::Q3_K);
  EXPECT_EQ(pick("Q2_K", "blk.9.attn_v.weight", 9, 32, 4096, 4), Type::Q4_K);
  EXPECT_EQ(pick("Q2_K", "blk.9.attn_v.weight", 9, 32, 4096, 2), Type::Q3_K);
  EXPECT_EQ(pick("Q2_K", "blk.9.ffn_down.weight", 9, 32), Type::Q3_K);
  EXPECT_EQ(pick("Q2_K", "blk.9.ffn_up.weight", 9, 32), Type::Q2_K);
  EXPECT_EQ(pick("Q5_K_M", "blk.9.ffn_down.weight", 9, 32), Type::Q6_K);
  EXPECT_EQ(pick("Q5_K_S", "blk.9.ffn_down.weight", 9, 32), Type::Q5_K);
  EXPECT_EQ(pick("F16", "blk.9.ffn_down.weight", 9, 32), Type::F16);
  // 70B-class (80 layers, GQA): attn_v Q4_K -> Q5_K
  EXPECT_EQ(pick("Q4_K_M", "blk.11.attn_v.weight", 11, 80, 8192, 8), Type::Q5_K);
}

TEST(Mixture, RowLengthFallbacks) {
  EXPECT_EQ(pick("Q4_K_M", "blk.7.ffn_down.weight", 7, 32, 4000), Type::Q5_0); // 4000 % 256 != 0
  EXPECT_EQ(pick("Q5_K_S", "blk.7.ffn_down.weight", 7, 32, 4000), Type::Q5_1);
  EXPECT_EQ(pick("Q6_K", "blk.7.ffn_down.weight", 7, 32, 4000), Type::Q8_0);
  EXPECT_EQ(pick("Q2_K", "blk.7.ffn_up.weight", 7, 32, 4000), Type::IQ4_NL);
  EXPECT_EQ(pick("Q4_0", "blk.7.ffn_down.weight", 7, 32, 172), Type::F16);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.ffn_down.weight", 7, 32, 172), Type::F16);
  EXPECT_EQ(applyFallback(Type::Q4_K, 64), Type::Q5_0);
  EXPECT_EQ(applyFallback(Type::Q8_0, 64), Type::Q8_0);
  EXPECT_FALSE(presetFromName("Q7_K").has_value());
  EXPECT_EQ(presetFromName("q4_k")->fileType, 15u); // alias of Q4_K_M
}
