//===- TestUtil.h - helpers for unit tests ---------------------*- C++ -*-===//
#ifndef QCC_TEST_UNIT_TESTUTIL_H
#define QCC_TEST_UNIT_TESTUTIL_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qcc::test {

/// A temporary directory removed at the end of the test.
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("qcc-unit", path)); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

inline void writeFile(const std::string &path, const std::string &bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec);
  os << bytes;
}

/// A safetensors file from a raw header JSON and data section.
inline std::string safetensorsBytes(const std::string &header, const std::string &data,
                                    int64_t lengthOverride = -1) {
  uint64_t n = lengthOverride >= 0 ? uint64_t(lengthOverride) : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = char((n >> (8 * i)) & 0xff);
  return out + header + data;
}

inline std::string f32Bytes(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4);
}

} // namespace qcc::test

#endif
