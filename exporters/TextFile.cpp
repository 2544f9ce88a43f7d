//===- TextFile.cpp - a small text file, written atomically ---------------===//
#include "exporters/TextFile.h"
#include "frontends/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace qcc {

Error writeTextFile(StringRef path, StringRef text) {
  std::string tmp = (path + ".tmp").str();
  std::error_code ec;
  {
    raw_fd_ostream os(tmp, ec);
    if (ec)
      return fileError(path, "cannot write: {0}", ec.message());
    os << text;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      sys::fs::remove(tmp);
      return fileError(path, "write failed");
    }
  }
  if (auto e = sys::fs::rename(tmp, path)) {
    sys::fs::remove(tmp);
    return fileError(path, "cannot rename into place: {0}", e.message());
  }
  return Error::success();
}

} // namespace qcc
