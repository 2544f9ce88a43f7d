//===- FuzzInput.h - libFuzzer inputs as files --------------------*- C++ -*-===//
//
// qcc's readers take paths (they memory-map what they read), so each fuzz
// target writes its input to a file in a per-process scratch directory
// (under $TMPDIR, on tmpfs in practice) and calls the reader on that path,
// exactly as `qcc` does. An llvm::Error is the expected answer to bad input:
// it is consumed; anything else (a crash, a sanitizer report, a leak, a
// timeout) is a finding.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_TEST_FUZZ_FUZZINPUT_H
#define QCC_TEST_FUZZ_FUZZINPUT_H

#include "frontends/Safetensors.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace qcc::fuzz {

/// The scratch directory of this process, created on first use.
inline const std::string &scratchDir() {
  static const std::string dir = [] {
    const char *t = std::getenv("TMPDIR");
    std::string d = std::string(t && *t ? t : "/tmp") + "/qcc-fuzz-" + std::to_string(getpid());
    mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}

/// Writes `data` to scratchDir()/`name` (replacing it) and returns the path.
inline std::string writeFile(const std::string &name, const uint8_t *data, size_t size) {
  std::string path = scratchDir() + "/" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort(); // the harness itself failed, not the reader
  }
  return path;
}

inline std::string writeFile(const std::string &name, const std::string &text) {
  return writeFile(name, reinterpret_cast<const uint8_t *>(text.data()), text.size());
}

/// Consumes an expected error (bad input is answered with one).
inline void consume(llvm::Error e) { llvm::consumeError(std::move(e)); }

template <typename T> bool ok(llvm::Expected<T> &v) {
  if (v)
    return true;
  llvm::consumeError(v.takeError());
  return false;
}

/// Converts every float tensor of `ck` to float32, as the importer does.
inline void readFloatTensors(const Checkpoint &ck) {
  std::vector<float> buf;
  for (const std::string &name : ck.names()) {
    const TensorView *t = ck.find(name);
    if (!t || !isFloatDType(t->dtype))
      continue;
    buf.resize(size_t(t->numel()));
    consume(toFloat32(*t, buf.data()));
  }
}

} // namespace qcc::fuzz

#endif
