//===- AtomicFile.cpp - an output file written in full or not at all ------===//
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace llvm;

namespace qcc {

std::string AtomicFile::tempName(StringRef path) {
  return (path + ".qcc-tmp-" + Twine(getpid())).str();
}

Expected<std::unique_ptr<AtomicFile>> AtomicFile::create(StringRef path) {
  std::unique_ptr<AtomicFile> f(new AtomicFile());
  f->path_ = path.str();
  SmallString<256> dir(path);
  sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
#ifdef O_TMPFILE
  f->fd_ = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  f->unnamed_ = f->fd_ >= 0;
#endif
  if (f->fd_ < 0) {
    f->named_ = tempName(path);
    f->fd_ = ::open(f->named_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0666);
    if (f->fd_ < 0) {
      std::string msg = std::strerror(errno);
      f->named_.clear();
      return fileError(path, "cannot write: {0}", msg);
    }
  }
  f->os_ = std::make_unique<raw_fd_ostream>(f->fd_, /*shouldClose=*/false);
  return std::move(f);
}

Error AtomicFile::commit() {
  os_->flush();
  if (os_->has_error()) {
    std::string msg = os_->error().message();
    os_->clear_error();
    return fileError(path_, "write failed: {0} (the old file, if any, is unchanged)", msg);
  }
  if (unnamed_) {
    // Name the unnamed file beside the target, then rename it over the target.
    named_ = tempName(path_);
    ::unlink(named_.c_str());
    std::string proc = "/proc/self/fd/" + std::to_string(fd_);
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, named_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      std::string msg = std::strerror(errno);
      named_.clear();
      return fileError(path_, "cannot give the finished file a name: {0}", msg);
    }
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    std::string msg = std::strerror(errno);
    return fileError(path_, "write failed: {0}", msg);
  }
  fd_ = -1;
  if (auto ec = sys::fs::rename(named_, path_))
    return fileError(path_, "cannot rename the finished file into place: {0}", ec.message());
  named_.clear();
  return Error::success();
}

AtomicFile::~AtomicFile() {
  if (os_) {
    os_->clear_error(); // a discarded stream's errors are already reported (or moot)
    os_.reset();
  }
  if (fd_ >= 0)
    ::close(fd_);
  if (!named_.empty())
    ::unlink(named_.c_str());
}

Error writeFileAtomically(StringRef path, StringRef text) {
  auto f = AtomicFile::create(path);
  if (!f)
    return f.takeError();
  (*f)->os() << text;
  return (*f)->commit();
}

} // namespace qcc
