//===- JSONFile.h - one JSON file, read and parsed -------------*- C++ -*-===//
#ifndef QCC_FRONTENDS_JSONFILE_H
#define QCC_FRONTENDS_JSONFILE_H

#include "frontends/Error.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

namespace qcc {

/// The parsed contents of `path`; errors name the file: "cannot open WHAT: ..."
/// or "bad JSON: ...".
inline llvm::Expected<llvm::json::Value> readJSONFile(llvm::StringRef path, llvm::StringRef what) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return fileError(path, "cannot open {0}: {1}", what, buf.getError().message());
  auto v = llvm::json::parse((*buf)->getBuffer());
  if (!v)
    return fileError(path, "bad JSON: {0}", llvm::toString(v.takeError()));
  return std::move(*v);
}

} // namespace qcc

#endif
