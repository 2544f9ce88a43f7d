//===- Grids.cpp - the grids GPTQ rounds onto -----------------------------===//
#include "quant/Grids.h"

#include <algorithm>
#include <cmath>

namespace qcc::quant {

GGMLGrid::GGMLGrid(ggml::Type t, int64_t rows, int64_t n)
    : t_(t), rows_(rows), n_(n), bs_(ggml::traits(t).blockSize), nb_(n / bs_),
      fits_(rows * nb_), codes_(rows * n, 0) {}

void GGMLGrid::fitGroup(int64_t r, int64_t g, const float *x, const float *imp) {
  int16_t scratch[ggml::QK_K];
  ggml::fitBlock(t_, x, imp, fits_[r * nb_ + g], scratch);
}

float GGMLGrid::round(int64_t r, int64_t c, float v) {
  const ggml::BlockFit &f = fits_[r * nb_ + c / bs_];
  int q = ggml::nearestCode(f, int(c % bs_), v);
  codes_[r * n_ + c] = int16_t(q);
  return ggml::codeValue(f, int(c % bs_), q);
}

void GGMLGrid::pack(uint8_t *out) const {
  const size_t bb = ggml::traits(t_).blockBytes;
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t b = 0; b < nb_; ++b)
      ggml::encodeBlock(fits_[r * nb_ + b], &codes_[r * n_ + b * bs_], out + (r * nb_ + b) * bb);
}

RTNGrid::RTNGrid(const rtn::Params &p, int64_t rows, int64_t n, bool minmax)
    : p_(p), rows_(rows), n_(n), g_(p.groupSize(n)), minmax_(minmax), qmax_((1 << p.bits) - 1),
      scale_(rows * (n / g_)), zero_(rows * (n / g_)), codes_(rows * n, 0) {
  p_.group = g_;
}

void RTNGrid::fitGroup(int64_t r, int64_t g, const float *x, const float *imp) {
  std::vector<int> q(g_);
  rtn::fitGroup(p_, x, imp, g_, minmax_, scale_[r * (n_ / g_) + g], zero_[r * (n_ / g_) + g],
                q.data());
}

float RTNGrid::round(int64_t r, int64_t c, float v) {
  const int64_t gi = r * (n_ / g_) + c / g_;
  const float s = scale_[gi], z = zero_[gi];
  // (a symmetric scale from the search may be negative)
  int q = s != 0 ? std::clamp(int(std::nearbyint(v / s + z)), 0, qmax_) : int(z);
  codes_[r * n_ + c] = q;
  return s * (float(q) - z);
}

void RTNGrid::pack(uint8_t *out) const {
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < n_ / g_; ++g)
      rtn::writeGroupBytes(out + r * rtn::rowBytes(p_, n_) + g * (8 + g_), scale_[r * (n_ / g_) + g],
                           zero_[r * (n_ / g_) + g], &codes_[r * n_ + g * g_], g_);
}

} // namespace qcc::quant
