//===- AtomicFile.h - an output file written in full or not at all -*- C++ -*-===//
//
// Every file qcc writes goes through AtomicFile. The bytes go to an unnamed
// file in the target's directory (Linux O_TMPFILE), so a process killed at
// any point before commit() leaves nothing behind, and a failed write (a
// full disk) leaves the old file untouched. commit() checks every write,
// gives the data a name beside the target and renames it over the target in
// one step. Where the file system has no O_TMPFILE, a named temporary
// `PATH.qcc-tmp-PID` is used instead and removed on any failure.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_ATOMICFILE_H
#define QCC_FRONTENDS_ATOMICFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace qcc {

class AtomicFile {
public:
  /// Starts writing `path` (its directory must exist).
  static llvm::Expected<std::unique_ptr<AtomicFile>> create(llvm::StringRef path);
  ~AtomicFile(); ///< discards the data unless committed

  llvm::raw_fd_ostream &os() { return *os_; }
  /// Flushes, checks that every write succeeded and puts the file in place.
  llvm::Error commit();

  /// Where a named temporary of `path` lives (the fallback, and the brief
  /// link before the rename): `path`.qcc-tmp-PID.
  static std::string tempName(llvm::StringRef path);

private:
  AtomicFile() = default;
  std::string path_, named_; ///< named_: the named temporary, when one exists
  int fd_ = -1;
  bool unnamed_ = false;
  std::unique_ptr<llvm::raw_fd_ostream> os_;
};

/// Writes `text` to `path` through an AtomicFile.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef text);

} // namespace qcc

#endif
