//===- Progress.cpp - a progress bar on stderr ----------------------------===//
#include "runtime/Progress.h"

#include <cstdio>
#include <unistd.h>

namespace qcc {

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()), lastDraw_(start_) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, int64_t items, const char *itemUnit) {
  if (!enabled_ || total_ <= 0)
    return;
  auto now = std::chrono::steady_clock::now();
  double el = std::chrono::duration<double>(now - start_).count();
  int decile = int(10 * done / total_);
  if (tty_) {
    if (done < total_ && std::chrono::duration<double>(now - lastDraw_).count() < 0.2)
      return;
  } else if (decile == lastDecile_ && done < total_) {
    return;
  }
  lastDraw_ = now;
  lastDecile_ = decile;
  const int width = 30;
  int fill = int(width * done / total_);
  std::string bar(fill, '=');
  if (fill < width)
    bar += '>' + std::string(width - fill - 1, ' ');
  double eta = done > 0 ? el * (total_ - done) / done : 0;
  char rate[64] = "";
  if (items > 0 && el > 0)
    snprintf(rate, sizeof rate, "  %.0f %s/s", items / el, itemUnit);
  fprintf(stderr, "%s%s [%s] %lld/%lld %s%s  %.0fs elapsed, ETA %.0fs%s", tty_ ? "\r" : "",
          label_.c_str(), bar.c_str(), (long long)done, (long long)total_, unit_.c_str(), rate, el,
          eta, tty_ ? "   " : "\n");
  fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && tty_ && !finished_)
    fputc('\n', stderr);
  finished_ = true;
}

} // namespace qcc
