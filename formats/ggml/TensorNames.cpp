//===- TensorNames.cpp - Hugging Face <-> GGUF tensor names ---------------===//
#include "formats/ggml/TensorNames.h"

#include <cstdlib>
#include <cstring>
#include <utility>

namespace qcc::ggml {

namespace {
const std::pair<const char *, const char *> kGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};
const std::pair<const char *, const char *> kLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate_proj.bias", "ffn_gate.bias"},
    {"mlp.up_proj.bias", "ffn_up.bias"},
    {"mlp.down_proj.bias", "ffn_down.bias"},
};

/// Splits "<prefix><digits>.<leaf>" into (layer, leaf).
bool splitLayer(const std::string &name, const char *prefix, int &layer, std::string &leaf) {
  size_t n = std::strlen(prefix);
  if (name.compare(0, n, prefix) != 0)
    return false;
  char *end = nullptr;
  long v = std::strtol(name.c_str() + n, &end, 10);
  if (end == name.c_str() + n || *end != '.')
    return false;
  layer = int(v);
  leaf = std::string(end + 1);
  return true;
}
} // namespace

std::optional<std::string> ggufName(const std::string &hf) {
  for (auto &[a, b] : kGlobal)
    if (hf == a)
      return std::string(b);
  int layer;
  std::string leaf;
  if (splitLayer(hf, "model.layers.", layer, leaf))
    for (auto &[a, b] : kLayer)
      if (leaf == a)
        return "blk." + std::to_string(layer) + "." + b;
  return std::nullopt;
}

std::optional<std::string> hfName(const std::string &gg) {
  for (auto &[a, b] : kGlobal)
    if (gg == b)
      return std::string(a);
  int layer;
  std::string leaf;
  if (splitLayer(gg, "blk.", layer, leaf))
    for (auto &[a, b] : kLayer)
      if (leaf == b)
        return "model.layers." + std::to_string(layer) + "." + a;
  return std::nullopt;
}

int layerOf(const std::string &name) {
  int layer;
  std::string leaf;
  if (splitLayer(name, "blk.", layer, leaf) || splitLayer(name, "model.layers.", layer, leaf))
    return layer;
  return -1;
}

} // namespace qcc::ggml
