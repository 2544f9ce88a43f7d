//===- Sampler.h - next-token choice ----------------------------*- C++ -*-===//
#ifndef QCC_RUNTIME_SAMPLER_H
#define QCC_RUNTIME_SAMPLER_H

#include <cstdint>
#include <random>
#include <vector>

namespace qcc {

struct SamplerOptions {
  float temperature = 0.0f; ///< <= 0: greedy (argmax)
  int topK = 0;             ///< 0: no top-k cut
  float topP = 1.0f;        ///< 1: no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(SamplerOptions o) : opts_(o), rng_(o.seed) {}
  int32_t next(const float *logits, int64_t vocab);

private:
  SamplerOptions opts_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

/// Index of the largest logit (lowest index on ties).
int32_t argmax(const float *logits, int64_t n);

} // namespace qcc

#endif
