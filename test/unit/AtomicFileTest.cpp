//===- AtomicFileTest.cpp - outputs written in full or not at all ---------===//
#include "TestUtil.h"
#include "frontends/AtomicFile.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace qcc;
using qcc::test::TempDir;

namespace {

std::string slurp(const std::string &path) {
  auto b = llvm::MemoryBuffer::getFile(path);
  return b ? (*b)->getBuffer().str() : std::string("<missing>");
}

std::vector<std::string> entries(const TempDir &d) {
  std::vector<std::string> names;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(d.path, ec), end; it != end && !ec; it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, CommitReplacesTheOldFile) {
  TempDir d;
  const std::string p = d.file("out.bin");
  ASSERT_FALSE(writeFileAtomically(p, "old"));
  auto f = AtomicFile::create(p);
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  (*f)->os() << "new contents";
  EXPECT_EQ(slurp(p), "old"); // nothing visible before the commit
  ASSERT_FALSE((*f)->commit());
  EXPECT_EQ(slurp(p), "new contents");
  f->reset();
  EXPECT_EQ(entries(d), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, DiscardedWithoutCommitLeavesNothing) {
  TempDir d;
  const std::string p = d.file("out.bin");
  ASSERT_FALSE(writeFileAtomically(p, "old"));
  {
    auto f = AtomicFile::create(p);
    ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
    (*f)->os() << "half written";
  }
  EXPECT_EQ(slurp(p), "old");
  EXPECT_EQ(entries(d), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingTheFile) {
  TempDir d;
  const std::string p = d.file("no/such/dir/out.bin");
  auto f = AtomicFile::create(p);
  ASSERT_FALSE(bool(f));
  std::string msg = llvm::toString(f.takeError());
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_TRUE(entries(d).empty());
}

} // namespace
