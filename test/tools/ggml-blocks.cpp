//===- ggml-blocks.cpp - dump blocks for the gguf-py oracle ---------------===//
//
//   ggml-blocks TYPE ROWS N SEED DIR
// writes DIR/x.f32 (random weights, heavy-tailed), DIR/q.bin (qcc's blocks of
// them), DIR/dq.f32 (qcc's dequantization of q.bin), DIR/rnd.bin (random
// block bytes with finite fp16 scales) and DIR/rnd_dq.f32 (its dequantization).
//
//===----------------------------------------------------------------------===//
#include "frontends/Safetensors.h"
#include "formats/ggml/GGMLTypes.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace qcc;

static void save(const std::string &path, const void *p, size_t n) {
  FILE *f = fopen(path.c_str(), "wb");
  if (!f || fwrite(p, 1, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path.c_str());
    exit(2);
  }
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: ggml-blocks TYPE ROWS N SEED DIR\n");
    return 2;
  }
  auto t = ggml::typeFromName(argv[1]);
  if (!t) {
    fprintf(stderr, "unknown type %s\n", argv[1]);
    return 2;
  }
  int64_t rows = atoll(argv[2]), n = atoll(argv[3]);
  std::mt19937 rng(atoi(argv[4]));
  std::string dir = argv[5];
  std::student_t_distribution<float> dist(4.0f);
  std::vector<float> x(rows * n);
  for (auto &v : x)
    v = 0.02f * dist(rng);
  // a few rows with structure: all-zero, constant, all-positive, tiny
  if (rows >= 4) {
    std::fill(x.begin(), x.begin() + n, 0.0f);
    std::fill(x.begin() + n, x.begin() + 2 * n, 0.5f);
    for (int64_t i = 0; i < n; ++i)
      x[2 * n + i] = std::fabs(x[2 * n + i]) + 0.01f;
    for (int64_t i = 0; i < n; ++i)
      x[3 * n + i] *= 1e-6f;
  }
  size_t rb = ggml::rowBytes(*t, n);
  std::vector<uint8_t> q(rows * rb), rnd(rows * rb);
  ggml::quantizeRows(*t, x.data(), q.data(), rows, n);
  std::vector<float> dq(rows * n), rdq(rows * n);
  for (int64_t r = 0; r < rows; ++r)
    ggml::dequantizeRow(*t, q.data() + r * rb, dq.data() + r * n, n);
  // random bytes; then make every fp16 scale field finite and moderate
  for (auto &b : rnd)
    b = uint8_t(rng());
  const auto &tr = ggml::traits(*t);
  std::vector<int> halfOffsets;
  switch (*t) {
  case ggml::Type::Q4_0: case ggml::Type::Q5_0: case ggml::Type::Q8_0: case ggml::Type::IQ4_NL:
    halfOffsets = {0}; break;
  case ggml::Type::Q4_1: case ggml::Type::Q5_1: case ggml::Type::Q4_K: case ggml::Type::Q5_K:
    halfOffsets = {0, 2}; break;
  case ggml::Type::Q2_K: halfOffsets = {80, 82}; break;
  case ggml::Type::Q3_K: halfOffsets = {108}; break;
  case ggml::Type::Q6_K: halfOffsets = {208}; break;
  default: break;
  }
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (size_t b = 0; b < rnd.size() / tr.blockBytes; ++b)
    for (int off : halfOffsets) {
      uint16_t h = floatToHalf(scale(rng));
      std::memcpy(&rnd[b * tr.blockBytes + off], &h, 2);
    }
  if (!tr.quantized) // float types: only meaningful as float data
    for (int64_t i = 0; i < rows * n; ++i) {
      uint16_t h = *t == ggml::Type::F16 ? floatToHalf(x[i]) : floatToBF16(x[i]);
      if (*t != ggml::Type::F32)
        std::memcpy(&rnd[2 * i], &h, 2);
      else
        std::memcpy(&rnd[4 * i], &x[i], 4);
    }
  for (int64_t r = 0; r < rows; ++r)
    ggml::dequantizeRow(*t, rnd.data() + r * rb, rdq.data() + r * n, n);
  save(dir + "/x.f32", x.data(), x.size() * 4);
  save(dir + "/q.bin", q.data(), q.size());
  save(dir + "/dq.f32", dq.data(), dq.size() * 4);
  save(dir + "/rnd.bin", rnd.data(), rnd.size());
  save(dir + "/rnd_dq.f32", rdq.data(), rdq.size() * 4);
  return 0;
}
