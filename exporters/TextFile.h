//===- TextFile.h - a small text file, written atomically -------*- C++ -*-===//
#ifndef QCC_EXPORTERS_TEXTFILE_H
#define QCC_EXPORTERS_TEXTFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace qcc {

/// Writes `text` to PATH.tmp and renames it to `path` when complete; on any
/// failure removes the temporary and returns an error naming `path`.
llvm::Error writeTextFile(llvm::StringRef path, llvm::StringRef text);

} // namespace qcc

#endif
