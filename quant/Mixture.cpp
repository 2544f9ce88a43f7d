//===- Mixture.cpp - llama.cpp's named quantization mixtures --------------===//
#include "quant/Mixture.h"

#include "llvm/ADT/StringRef.h"

namespace qcc::ggml {

namespace {
const Preset kPresets[] = {
    {"F32", 0, Type::F32},      {"F16", 1, Type::F16},       {"BF16", 32, Type::BF16},
    {"Q4_0", 2, Type::Q4_0},    {"Q4_1", 3, Type::Q4_1},     {"Q8_0", 7, Type::Q8_0},
    {"Q5_0", 8, Type::Q5_0},    {"Q5_1", 9, Type::Q5_1},     {"Q2_K", 10, Type::Q2_K},
    {"Q3_K_S", 11, Type::Q3_K}, {"Q3_K_M", 12, Type::Q3_K}, {"Q3_K_L", 13, Type::Q3_K},
    {"Q4_K_S", 14, Type::Q4_K}, {"Q4_K_M", 15, Type::Q4_K}, {"Q5_K_S", 16, Type::Q5_K},
    {"Q5_K_M", 17, Type::Q5_K}, {"Q6_K", 18, Type::Q6_K},
};

bool useMoreBits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }
} // namespace

std::optional<Preset> presetFromName(const std::string &name) {
  std::string n = name;
  if (llvm::StringRef(n).equals_insensitive("Q3_K")) n = "Q3_K_M";
  if (llvm::StringRef(n).equals_insensitive("Q4_K")) n = "Q4_K_M";
  if (llvm::StringRef(n).equals_insensitive("Q5_K")) n = "Q5_K_M";
  for (auto &p : kPresets)
    if (llvm::StringRef(n).equals_insensitive(p.name))
      return p;
  return std::nullopt;
}

Type applyFallback(Type t, int64_t ne0) {
  if (ne0 % traits(t).blockSize == 0)
    return t;
  switch (t) {
  case Type::Q2_K: case Type::Q3_K: t = Type::IQ4_NL; break;
  case Type::Q4_K: t = Type::Q5_0; break;
  case Type::Q5_K: t = Type::Q5_1; break;
  case Type::Q6_K: t = Type::Q8_0; break;
  default: t = Type::F16; break; // legacy types have no smaller block: keep full precision
  }
  if (ne0 % traits(t).blockSize != 0)
    t = Type::F16;
  return t;
}

Type chooseType(const Preset &p, const TensorContext &c) {
  if (!traits(p.base).quantized)
    return p.base;
  llvm::StringRef name(c.ggufName);
  const std::string ps = p.name;
  Type t = p.base;
  const int i = c.layer, n = c.numLayers;
  if (name == "output.weight" || (!c.hasOutput && name == "token_embd.weight")) {
    if (c.rowLength % traits(p.base).blockSize != 0)
      t = Type::Q8_0;
    else if (p.base != Type::Q8_0)
      t = Type::Q6_K;
  } else if (name == "token_embd.weight") {
    t = p.base;
  } else if (name.contains("attn_v.weight")) {
    if (ps == "Q2_K") t = c.gqa >= 4 ? Type::Q4_K : Type::Q3_K;
    else if (ps == "Q3_K_M") t = i < 2 ? Type::Q5_K : Type::Q4_K;
    else if (ps == "Q3_K_L") t = Type::Q5_K;
    else if ((ps == "Q4_K_M" || ps == "Q5_K_M") && useMoreBits(i, n)) t = Type::Q6_K;
    else if (ps == "Q4_K_S" && i < 4) t = Type::Q5_K;
    if (n == 80 && c.gqa > 1 && (t == Type::Q3_K || t == Type::Q4_K))
      t = Type::Q5_K; // 70B-class models
  } else if (name.contains("ffn_down")) {
    if (ps == "Q2_K") t = Type::Q3_K;
    else if (ps == "Q3_K_M") t = i < n / 16 ? Type::Q5_K : Type::Q4_K;
    else if (ps == "Q3_K_L") t = Type::Q5_K;
    else if (ps == "Q4_K_M" && useMoreBits(i, n)) t = Type::Q6_K;
    else if (ps == "Q5_K_M" && useMoreBits(i, n)) t = Type::Q6_K;
    else if (ps == "Q4_K_S" && i < n / 8) t = Type::Q5_K;
  } else if (name.contains("attn_output.weight")) {
    if (ps == "Q2_K") t = Type::Q3_K;
    else if (ps == "Q3_K_M") t = Type::Q4_K;
    else if (ps == "Q3_K_L") t = Type::Q5_K;
  }
  return applyFallback(t, c.rowLength);
}

} // namespace qcc::ggml
