//===- Grids.h - the grids GPTQ rounds onto ---------------------*- C++ -*-===//
//
// ColumnQuantizers for quant/GPTQ.h: a ggml block format (a group is one
// block, a super-block for the k-quants, whose scales and scale codes are
// searched when the block's first column is reached) and qcc's generic RTN
// layout (a group of `group` columns with a float scale and integer zero).
// After GPTQ has rounded every column, `pack` writes the format's bytes.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_GRIDS_H
#define QCC_QUANT_GRIDS_H

#include "quant/GPTQ.h"
#include "quant/RTN.h"
#include "formats/ggml/GGMLTypes.h"

#include <vector>

namespace qcc::quant {

class GGMLGrid final : public ColumnQuantizer {
public:
  GGMLGrid(ggml::Type t, int64_t rows, int64_t n);
  int64_t groupSize() const override { return bs_; }
  void fitGroup(int64_t r, int64_t g, const float *x, const float *imp) override;
  float round(int64_t r, int64_t c, float v) override;
  /// rows x rowBytes(t, n) bytes.
  void pack(uint8_t *out) const;

private:
  ggml::Type t_;
  int64_t rows_, n_, bs_, nb_;
  std::vector<ggml::BlockFit> fits_;
  std::vector<int16_t> codes_;
};

class RTNGrid final : public ColumnQuantizer {
public:
  /// `minmax`: the GPTQ paper's max-abs / min-max grid instead of qcc's search.
  RTNGrid(const rtn::Params &p, int64_t rows, int64_t n, bool minmax = false);
  int64_t groupSize() const override { return g_; }
  void fitGroup(int64_t r, int64_t g, const float *x, const float *imp) override;
  float round(int64_t r, int64_t c, float v) override;
  /// rows x rtn::rowBytes(p, n) bytes.
  void pack(uint8_t *out) const;
  int code(int64_t r, int64_t c) const { return codes_[r * n_ + c]; }
  float scale(int64_t r, int64_t g) const { return scale_[r * (n_ / g_) + g]; }
  float zero(int64_t r, int64_t g) const { return zero_[r * (n_ / g_) + g]; }

private:
  rtn::Params p_;
  int64_t rows_, n_, g_;
  bool minmax_;
  int qmax_;
  std::vector<float> scale_, zero_;
  std::vector<int> codes_;
};

} // namespace qcc::quant

#endif
