//===- Progress.h - a progress bar on stderr -------------------*- C++ -*-===//
#ifndef QCC_RUNTIME_PROGRESS_H
#define QCC_RUNTIME_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <string>

namespace qcc {

/// Draws "label [=====>    ] done/total unit  rate  ETA" on stderr. On a
/// terminal it redraws in place; otherwise it prints a line every 10%.
class Progress {
public:
  Progress(std::string label, int64_t total, std::string unit, bool enabled);
  /// `items` counts work for the rate (e.g. tokens), `itemUnit` names it.
  void update(int64_t done, int64_t items = 0, const char *itemUnit = "tok");
  void finish();
  double seconds() const;

private:
  std::string label_, unit_;
  int64_t total_;
  bool enabled_, tty_, finished_ = false;
  int lastDecile_ = -1;
  std::chrono::steady_clock::time_point start_, lastDraw_;
};

} // namespace qcc

#endif
