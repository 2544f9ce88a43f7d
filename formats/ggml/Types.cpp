//===- Types.cpp - ggml type table ----------------------------------------===//
#include "formats/ggml/GGMLTypes.h"

namespace qcc::ggml {

namespace {
const TypeTraits kTraits[] = {
    {Type::F32, "F32", 1, 4, false, 32, 0, true},
    {Type::F16, "F16", 1, 2, false, 16, 0, true},
    {Type::BF16, "BF16", 1, 2, false, 16, 0, true},
    {Type::Q4_0, "Q4_0", QK, sizeof(BlockQ4_0), true, 4, 32, true},
    {Type::Q4_1, "Q4_1", QK, sizeof(BlockQ4_1), true, 4, 32, false},
    {Type::Q5_0, "Q5_0", QK, sizeof(BlockQ5_0), true, 5, 32, true},
    {Type::Q5_1, "Q5_1", QK, sizeof(BlockQ5_1), true, 5, 32, false},
    {Type::Q8_0, "Q8_0", QK, sizeof(BlockQ8_0), true, 8, 32, true},
    {Type::IQ4_NL, "IQ4_NL", QK, sizeof(BlockIQ4_NL), true, 4, 32, true},
    {Type::Q2_K, "Q2_K", QK_K, sizeof(BlockQ2_K), true, 2, 16, false},
    {Type::Q3_K, "Q3_K", QK_K, sizeof(BlockQ3_K), true, 3, 16, true},
    {Type::Q4_K, "Q4_K", QK_K, sizeof(BlockQ4_K), true, 4, 32, false},
    {Type::Q5_K, "Q5_K", QK_K, sizeof(BlockQ5_K), true, 5, 32, false},
    {Type::Q6_K, "Q6_K", QK_K, sizeof(BlockQ6_K), true, 6, 16, true},
};
} // namespace

const TypeTraits &traits(Type t) {
  for (auto &tr : kTraits)
    if (tr.type == t)
      return tr;
  return kTraits[0];
}

std::optional<Type> typeFromId(uint32_t id) {
  for (auto &tr : kTraits)
    if (uint32_t(tr.type) == id)
      return tr.type;
  return std::nullopt;
}

std::optional<Type> typeFromName(llvm::StringRef name) {
  for (auto &tr : kTraits)
    if (name.equals_insensitive(tr.name))
      return tr.type;
  return std::nullopt;
}

size_t rowBytes(Type t, int64_t n) {
  const TypeTraits &tr = traits(t);
  return size_t(n / tr.blockSize) * tr.blockBytes;
}

} // namespace qcc::ggml
