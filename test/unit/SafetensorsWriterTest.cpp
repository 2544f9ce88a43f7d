//===- SafetensorsWriterTest.cpp - written files read back ----------------===//
#include "exporters/SafetensorsWriter.h"
#include "frontends/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace qcc;

namespace {
TensorOut f32(const std::string &name, std::vector<int64_t> shape, float base) {
  TensorOut t{name, "F32", shape, {}};
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  for (int64_t i = 0; i < n; ++i) {
    float v = base + float(i);
    const uint8_t *p = reinterpret_cast<const uint8_t *>(&v);
    t.bytes.insert(t.bytes.end(), p, p + 4);
  }
  return t;
}

std::string tempDir() {
  llvm::SmallString<128> d;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("qcc-st", d));
  return d.str().str();
}
} // namespace

TEST(SafetensorsWriter, OneFileReadsBack) {
  std::string dir = tempDir();
  std::vector<TensorOut> ts = {f32("a.weight", {2, 3}, 0), f32("b", {5}, 100)};
  ts.push_back({"c", "I32", {1}, {7, 0, 0, 0}});
  auto files = writeSafetensorsModel(dir, ts);
  ASSERT_TRUE(bool(files)) << llvm::toString(files.takeError());
  ASSERT_EQ(files->size(), 1u);
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  const TensorView *b = (*ck)->find("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{5}));
  float v;
  std::memcpy(&v, b->data + 8, 4);
  EXPECT_EQ(v, 102.0f);
  EXPECT_EQ((*ck)->find("c")->dtype, DType::I32);
  EXPECT_FALSE(llvm::sys::fs::exists(dir + "/model.safetensors.tmp"));
  llvm::sys::fs::remove_directories(dir);
}

TEST(SafetensorsWriter, ShardsWithAnIndex) {
  std::string dir = tempDir();
  std::vector<TensorOut> ts;
  for (int i = 0; i < 5; ++i)
    ts.push_back(f32("t" + std::to_string(i), {10}, float(10 * i)));
  auto files = writeSafetensorsModel(dir, ts, /*maxShardBytes=*/100); // 2 tensors a shard
  ASSERT_TRUE(bool(files)) << llvm::toString(files.takeError());
  EXPECT_EQ(files->size(), 4u); // 3 shards + the index
  EXPECT_EQ((*files)[0], "model-00001-of-00003.safetensors");
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  for (int i = 0; i < 5; ++i) {
    const TensorView *t = (*ck)->find("t" + std::to_string(i));
    ASSERT_TRUE(t);
    float v;
    std::memcpy(&v, t->data + 4, 4);
    EXPECT_EQ(v, float(10 * i + 1));
  }
  llvm::sys::fs::remove_directories(dir);
}
