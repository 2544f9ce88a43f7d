//===- Sampler.cpp - next-token choice ------------------------------------===//
#include "runtime/Sampler.h"

#include <algorithm>
#include <cmath>

namespace qcc {

int32_t argmax(const float *logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best])
      best = i;
  return int32_t(best);
}

int32_t Sampler::next(const float *logits, int64_t vocab) {
  if (opts_.temperature <= 0)
    return argmax(logits, vocab);
  cand_.clear();
  for (int64_t i = 0; i < vocab; ++i)
    cand_.push_back({logits[i] / opts_.temperature, int32_t(i)});
  auto byLogit = [](auto &a, auto &b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = cand_.size();
  if (opts_.topK > 0 && size_t(opts_.topK) < keep) {
    keep = opts_.topK;
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), byLogit);
    cand_.resize(keep);
  } else {
    std::sort(cand_.begin(), cand_.end(), byLogit);
  }
  float mx = cand_.front().first;
  double sum = 0;
  for (auto &c : cand_) {
    c.first = std::exp(c.first - mx);
    sum += c.first;
  }
  if (opts_.topP < 1.0f) {
    double acc = 0;
    size_t n = 0;
    while (n < cand_.size()) {
      acc += cand_[n].first / sum;
      ++n;
      if (acc >= opts_.topP)
        break;
    }
    cand_.resize(n);
    sum = 0;
    for (auto &c : cand_)
      sum += c.first;
  }
  double r = std::uniform_real_distribution<double>(0.0, sum)(rng_);
  for (auto &c : cand_) {
    r -= c.first;
    if (r <= 0)
      return c.second;
  }
  return cand_.back().second;
}

} // namespace qcc
