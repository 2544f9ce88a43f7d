//===- ToGGML.cpp - integer groups as ggml blocks, without re-rounding ----===//
#include "formats/intpack/ToGGML.h"
#include "frontends/Safetensors.h"

#include <cmath>
#include <cstring>

namespace qcc::intpack {

namespace {
constexpr int64_t QK = 32;

bool fp16Exact(float s) { return halfToFloat(floatToHalf(s)) == s; }
} // namespace

std::string ggmlUnrepresentable(const GroupQuant &g, ggml::Type type) {
  if (type != ggml::Type::Q4_0 && type != ggml::Type::Q4_1 && type != ggml::Type::Q8_0)
    return "only Q4_0, Q4_1 and Q8_0 blocks take integer groups as they are";
  if (!g.trivialGroups())
    return "act-order g_idx (groups are not contiguous columns)";
  if (g.in % QK != 0 || g.groupSize % QK != 0)
    return "groups of " + std::to_string(g.groupSize) + " columns do not split into blocks of 32";
  const int64_t ng = g.groups();
  for (int64_t o = 0; o < g.out; ++o)
    for (int64_t k = 0; k < ng; ++k) {
      const int z = g.zero[o * ng + k];
      for (int64_t i = k * g.groupSize; i < std::min(g.in, (k + 1) * g.groupSize); ++i) {
        const int c = g.q[o * g.in + i];
        bool ok = type == ggml::Type::Q4_0   ? (c - z + 8 >= 0 && c - z + 8 <= 15)
                  : type == ggml::Type::Q4_1 ? c <= 15
                                             : (c - z >= -128 && c - z <= 127);
        if (!ok)
          return std::string("codes outside the ") + ggml::traits(type).name + " range";
      }
    }
  return "";
}

bool scalesFitFP16(const GroupQuant &g) {
  for (float s : g.scale)
    if (!fp16Exact(s))
      return false;
  return true;
}

std::optional<ggml::Type> losslessGGMLType(const GroupQuant &g) {
  for (ggml::Type t : {ggml::Type::Q4_0, ggml::Type::Q4_1, ggml::Type::Q8_0})
    if (ggmlUnrepresentable(g, t).empty())
      return t;
  return std::nullopt;
}

std::vector<uint8_t> toGGML(const GroupQuant &g, ggml::Type type, double *worstError) {
  const int64_t nb = g.in / QK, ng = g.groups();
  const size_t bb = ggml::traits(type).blockBytes;
  std::vector<uint8_t> out(g.out * nb * bb);
  double worst = 0;
  for (int64_t o = 0; o < g.out; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k = b * QK / g.groupSize;
      const float s = g.scale[o * ng + k];
      const int z = g.zero[o * ng + k];
      const uint8_t *c = &g.q[o * g.in + b * QK];
      uint8_t *dst = &out[(o * nb + b) * bb];
      const double d = halfToFloat(floatToHalf(s));
      for (int j = 0; j < QK; ++j)
        if (type != ggml::Type::Q4_1)
          worst = std::max(worst, std::fabs((d - double(s)) * (c[j] - z)));
      if (type == ggml::Type::Q4_0) {
        ggml::BlockQ4_0 blk;
        blk.d = floatToHalf(s);
        for (int j = 0; j < QK / 2; ++j)
          blk.qs[j] = uint8_t((c[j] - z + 8) | ((c[j + QK / 2] - z + 8) << 4));
        std::memcpy(dst, &blk, sizeof blk);
      } else if (type == ggml::Type::Q4_1) {
        ggml::BlockQ4_1 blk;
        blk.d = floatToHalf(s);
        const double m = -double(s) * z, mh = halfToFloat(floatToHalf(float(m)));
        blk.m = floatToHalf(float(m));
        for (int j = 0; j < QK; ++j)
          worst = std::max(worst, std::fabs(d * c[j] + mh - double(s) * (c[j] - z)));
        for (int j = 0; j < QK / 2; ++j)
          blk.qs[j] = uint8_t(c[j] | (c[j + QK / 2] << 4));
        std::memcpy(dst, &blk, sizeof blk);
      } else {
        ggml::BlockQ8_0 blk;
        blk.d = floatToHalf(s);
        for (int j = 0; j < QK; ++j)
          blk.qs[j] = int8_t(c[j] - z);
        std::memcpy(dst, &blk, sizeof blk);
      }
    }
  if (worstError)
    *worstError = worst;
  return out;
}

} // namespace qcc::intpack
