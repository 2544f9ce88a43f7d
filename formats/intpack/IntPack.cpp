//===- IntPack.cpp - integer group quantization, GPU checkpoint layouts ---===//
#include "formats/intpack/IntPack.h"

#include "frontends/Safetensors.h" // fp16 / bf16 conversion

#include <cstring>

namespace qcc::intpack {

const int kAWQOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

int64_t packedWords(int64_t n, int bits) { return (n * bits + 31) / 32; }

void packDense(const uint8_t *vals, int64_t n, int64_t stride, int bits, uint32_t *words,
               int64_t wstride) {
  const int64_t nw = packedWords(n, bits);
  for (int64_t j = 0; j < nw; ++j)
    words[j * wstride] = 0;
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t k = 0; k < n; ++k) {
    const uint64_t v = vals[k * stride] & mask;
    const int64_t bit = k * bits, w = bit / 32;
    const int off = int(bit % 32);
    words[w * wstride] |= uint32_t(v << off);
    if (off + bits > 32)
      words[(w + 1) * wstride] |= uint32_t(v >> (32 - off));
  }
}

void unpackDense(const uint32_t *words, int64_t wstride, int64_t n, int bits, uint8_t *vals,
                 int64_t stride) {
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t bit = k * bits, w = bit / 32;
    const int off = int(bit % 32);
    uint64_t v = words[w * wstride] >> off;
    if (off + bits > 32)
      v |= uint64_t(words[(w + 1) * wstride]) << (32 - off);
    vals[k * stride] = uint8_t(v & mask);
  }
}

void packAWQ(const uint8_t *vals, int64_t n, uint32_t *words) {
  for (int64_t w = 0; w < n / 8; ++w) {
    uint32_t x = 0;
    for (int k = 0; k < 8; ++k)
      x |= uint32_t(vals[w * 8 + kAWQOrder[k]] & 0xF) << (4 * k);
    words[w] = x;
  }
}

void unpackAWQ(const uint32_t *words, int64_t n, uint8_t *vals) {
  for (int64_t w = 0; w < n / 8; ++w)
    for (int k = 0; k < 8; ++k)
      vals[w * 8 + kAWQOrder[k]] = uint8_t((words[w] >> (4 * k)) & 0xF);
}

bool GroupQuant::trivialGroups() const {
  for (int64_t i = 0; i < int64_t(gIdx.size()); ++i)
    if (gIdx[i] != int32_t(i / groupSize))
      return false;
  return true;
}

void GroupQuant::dequantize(float *w) const {
  const int64_t ng = groups();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const int64_t g = groupOf(i);
      w[o * in + i] = scale[o * ng + g] * float(int(q[o * in + i]) - int(zero[o * ng + g]));
    }
}

std::string GroupQuant::validate() const {
  if (bits < 1 || bits > 8)
    return "bits must be 1..8, got " + std::to_string(bits);
  if (out <= 0 || in <= 0 || groupSize <= 0)
    return "empty shape or group size";
  const int64_t ng = groups();
  if (int64_t(q.size()) != out * in || int64_t(scale.size()) != out * ng ||
      int64_t(zero.size()) != out * ng)
    return "code, scale or zero count does not match the shape";
  if (!gIdx.empty() && int64_t(gIdx.size()) != in)
    return "g_idx has " + std::to_string(gIdx.size()) + " entries for " + std::to_string(in) +
           " input channels";
  for (int32_t g : gIdx)
    if (g < 0 || g >= ng)
      return "g_idx entry " + std::to_string(g) + " outside [0, " + std::to_string(ng) + ")";
  const int top = (1 << bits) - 1;
  for (uint8_t c : q)
    if (c > top)
      return "a code exceeds " + std::to_string(top);
  for (int16_t z : zero)
    if (z < 0 || z > top + 1)
      return "a zero point is outside [0, " + std::to_string(top + 1) + "]";
  return "";
}

namespace {
PackedTensor tensor(std::string suffix, std::string dtype, std::vector<int64_t> shape,
                    size_t elemBytes) {
  PackedTensor t{std::move(suffix), std::move(dtype), std::move(shape), {}};
  int64_t n = 1;
  for (int64_t d : t.shape)
    n *= d;
  t.bytes.assign(size_t(n) * elemBytes, 0);
  return t;
}

uint16_t toHalf(float f, const std::string &dtype) {
  return dtype == "BF16" ? floatToBF16(f) : floatToHalf(f);
}

/// [groups][out] fp16 scales (GPTQ, AWQ).
PackedTensor scalesGO(const GroupQuant &g) {
  const int64_t ng = g.groups();
  PackedTensor t = tensor("scales", "F16", {ng, g.out}, 2);
  auto *p = reinterpret_cast<uint16_t *>(t.bytes.data());
  for (int64_t k = 0; k < ng; ++k)
    for (int64_t o = 0; o < g.out; ++o)
      p[k * g.out + o] = floatToHalf(g.scale[o * ng + k]);
  return t;
}
/// Group k's zero points (minus `offset`, wrapped to `bits`) over the output
/// channels, packed densely at words + k * kStride with word stride wStride.
void packZeros(const GroupQuant &g, int offset, uint32_t *words, int64_t kStride, int64_t wStride) {
  const int64_t ng = g.groups();
  const int top = (1 << g.bits) - 1;
  std::vector<uint8_t> zs(g.out);
  for (int64_t k = 0; k < ng; ++k) {
    for (int64_t o = 0; o < g.out; ++o)
      zs[o] = uint8_t((g.zero[o * ng + k] - offset) & top);
    packDense(zs.data(), g.out, 1, g.bits, words + k * kStride, wStride);
  }
}
/// The group of each input channel, I32 [in].
PackedTensor gIdxTensor(const GroupQuant &g, std::string suffix) {
  PackedTensor t = tensor(std::move(suffix), "I32", {g.in}, 4);
  auto *p = reinterpret_cast<int32_t *>(t.bytes.data());
  for (int64_t i = 0; i < g.in; ++i)
    p[i] = g.groupOf(i);
  return t;
}
} // namespace

std::vector<PackedTensor> toGPTQ(const GroupQuant &g) {
  const int64_t ng = g.groups();
  std::vector<PackedTensor> r;
  // qweight [in*bits/32, out]: column o is the packed stream of q[o][*].
  PackedTensor qw = tensor("qweight", "I32", {packedWords(g.in, g.bits), g.out}, 4);
  auto *w = reinterpret_cast<uint32_t *>(qw.bytes.data());
  for (int64_t o = 0; o < g.out; ++o)
    packDense(&g.q[o * g.in], g.in, 1, g.bits, w + o, g.out);
  r.push_back(std::move(qw));
  // qzeros [groups, out*bits/32]: row k is the stream of (zero - 1) over o.
  const int64_t zw = packedWords(g.out, g.bits);
  PackedTensor qz = tensor("qzeros", "I32", {ng, zw}, 4);
  packZeros(g, 1, reinterpret_cast<uint32_t *>(qz.bytes.data()), zw, 1);
  r.push_back(std::move(qz));
  r.push_back(scalesGO(g));
  r.push_back(gIdxTensor(g, "g_idx"));
  return r;
}

std::vector<PackedTensor> toAWQ(const GroupQuant &g) {
  const int64_t ng = g.groups();
  std::vector<PackedTensor> r;
  PackedTensor qw = tensor("qweight", "I32", {g.in, g.out / 8}, 4);
  auto *w = reinterpret_cast<uint32_t *>(qw.bytes.data());
  std::vector<uint8_t> row(g.out);
  for (int64_t i = 0; i < g.in; ++i) {
    for (int64_t o = 0; o < g.out; ++o)
      row[o] = g.q[o * g.in + i];
    packAWQ(row.data(), g.out, w + i * (g.out / 8));
  }
  r.push_back(std::move(qw));
  PackedTensor qz = tensor("qzeros", "I32", {ng, g.out / 8}, 4);
  auto *z = reinterpret_cast<uint32_t *>(qz.bytes.data());
  for (int64_t k = 0; k < ng; ++k) {
    for (int64_t o = 0; o < g.out; ++o)
      row[o] = uint8_t(g.zero[o * ng + k]);
    packAWQ(row.data(), g.out, z + k * (g.out / 8));
  }
  r.push_back(std::move(qz));
  r.push_back(scalesGO(g));
  return r;
}

std::vector<PackedTensor> toCompressedTensors(const GroupQuant &g, const std::string &scaleDType) {
  const int64_t ng = g.groups(), pw = packedWords(g.in, g.bits);
  std::vector<PackedTensor> r;
  PackedTensor qw = tensor("weight_packed", "I32", {g.out, pw}, 4);
  auto *w = reinterpret_cast<uint32_t *>(qw.bytes.data());
  for (int64_t o = 0; o < g.out; ++o)
    packDense(&g.q[o * g.in], g.in, 1, g.bits, w + o * pw, 1);
  r.push_back(std::move(qw));
  PackedTensor sc = tensor("weight_scale", scaleDType, {g.out, ng}, 2);
  auto *s = reinterpret_cast<uint16_t *>(sc.bytes.data());
  for (int64_t i = 0; i < g.out * ng; ++i)
    s[i] = toHalf(g.scale[i], scaleDType);
  r.push_back(std::move(sc));
  if (!g.symmetric) {
    // Packed along the output dimension: column k is the stream over o.
    const int64_t zw = packedWords(g.out, g.bits);
    PackedTensor zp = tensor("weight_zero_point", "I32", {zw, ng}, 4);
    packZeros(g, 0, reinterpret_cast<uint32_t *>(zp.bytes.data()), 1, ng);
    r.push_back(std::move(zp));
  }
  PackedTensor shape = tensor("weight_shape", "I64", {2}, 8);
  int64_t dims[2] = {g.out, g.in};
  std::memcpy(shape.bytes.data(), dims, 16);
  r.push_back(std::move(shape));
  if (!g.trivialGroups())
    r.push_back(gIdxTensor(g, "weight_g_idx"));
  return r;
}

} // namespace qcc::intpack
