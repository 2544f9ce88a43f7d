//===- SafetensorsTest.cpp - safetensors validation -----------------------===//
#include "TestUtil.h"
#include "frontends/Safetensors.h"

#include "llvm/Support/Error.h"

using namespace qcc;
using namespace qcc::test;

namespace {
std::string errorOf(const std::string &path) {
  auto f = SafetensorsFile::open(path);
  if (f)
    return "";
  return llvm::toString(f.takeError());
}
const std::string kGood =
    R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},"__metadata__":{"format":"pt"}})";

std::string goodData() {
  std::string d = f32Bytes({1, -2, 3.5f, 0});
  d += std::string("\x80\x3f\x00\xc0", 4); // bf16 1.0, -2.0
  return d;
}
} // namespace

TEST(Safetensors, ReadsValidFile) {
  TempDir t;
  writeFile(t.file("m.safetensors"), safetensorsBytes(kGood, goodData()));
  auto f = SafetensorsFile::open(t.file("m.safetensors"));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  ASSERT_EQ((*f)->tensors().size(), 2u);
  EXPECT_EQ((*f)->metadata().lookup("format"), "pt");
  const TensorView &a = (*f)->tensors()[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  std::vector<float> v(4);
  ASSERT_FALSE(bool(toFloat32(a, v.data())));
  EXPECT_EQ(v, (std::vector<float>{1, -2, 3.5f, 0}));
  const TensorView &b = (*f)->tensors()[1];
  std::vector<float> w(2);
  ASSERT_FALSE(bool(toFloat32(b, w.data())));
  EXPECT_EQ(w, (std::vector<float>{1.0f, -2.0f}));
}

TEST(Safetensors, RejectsTruncatedFile) {
  TempDir t;
  std::string bytes = safetensorsBytes(kGood, goodData());
  writeFile(t.file("t.safetensors"), bytes.substr(0, bytes.size() - 3));
  std::string e = errorOf(t.file("t.safetensors"));
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  EXPECT_NE(e.find("t.safetensors"), std::string::npos) << e;
  writeFile(t.file("tiny.safetensors"), "abc");
  EXPECT_NE(errorOf(t.file("tiny.safetensors")).find("truncated"), std::string::npos);
}

TEST(Safetensors, RejectsHeaderLongerThanFile) {
  TempDir t;
  writeFile(t.file("h.safetensors"), safetensorsBytes(kGood, goodData(), 1 << 30));
  std::string e = errorOf(t.file("h.safetensors"));
  EXPECT_NE(e.find("larger than the file"), std::string::npos) << e;
}

TEST(Safetensors, RejectsBadJSONAndFields) {
  TempDir t;
  auto check = [&](const std::string &header, const std::string &data, const char *needle) {
    writeFile(t.file("x.safetensors"), safetensorsBytes(header, data));
    std::string e = errorOf(t.file("x.safetensors"));
    EXPECT_NE(e.find(needle), std::string::npos) << header << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << "error must be one line";
  };
  check("{not json", "", "bad safetensors JSON");
  check("[1,2]", "", "must be a JSON object");
  check(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", f32Bytes({1}), "unknown dtype");
  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", f32Bytes({1}), "expected 8");
  check(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", f32Bytes({1}), "non-negative");
  check(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", f32Bytes({1}), "begin <= end");
  check(R"({"a":{"dtype":"F32","shape":[1]}})", f32Bytes({1}), "expected keys");
  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
        f32Bytes({1, 2}), "overlap");
}

TEST(Safetensors, RejectsNonFloatAndNaN) {
  TempDir t;
  writeFile(t.file("i.safetensors"),
            safetensorsBytes(R"({"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]},"n":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                             std::string("\1\2\3\4", 4) + f32Bytes({NAN})));
  auto f = SafetensorsFile::open(t.file("i.safetensors"));
  ASSERT_TRUE(bool(f));
  float out[4];
  std::string e = llvm::toString(toFloat32((*f)->tensors()[0], out));
  EXPECT_NE(e.find("dtype I8, expected a float tensor"), std::string::npos) << e;
  e = llvm::toString(toFloat32((*f)->tensors()[1], out));
  EXPECT_NE(e.find("non-finite"), std::string::npos) << e;
}

TEST(Safetensors, ShardedIndex) {
  TempDir t;
  writeFile(t.file("s1.safetensors"),
            safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32Bytes({1})));
  writeFile(t.file("s2.safetensors"),
            safetensorsBytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32Bytes({2})));
  writeFile(t.file("model.safetensors.index.json"),
            R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  auto ck = Checkpoint::open(t.path.str());
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  ASSERT_NE((*ck)->find("a"), nullptr);
  ASSERT_NE((*ck)->find("b"), nullptr);
  EXPECT_EQ((*ck)->find("c"), nullptr);
  EXPECT_EQ((*ck)->names().size(), 2u);

  writeFile(t.file("model.safetensors.index.json"),
            R"({"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}})");
  auto bad = Checkpoint::open(t.path.str());
  ASSERT_FALSE(bool(bad));
  std::string e = llvm::toString(bad.takeError());
  EXPECT_NE(e.find("'c'"), std::string::npos) << e;

  writeFile(t.file("model.safetensors.index.json"), R"({"weight_map":{"a":"../s1.safetensors"}})");
  bad = Checkpoint::open(t.path.str());
  ASSERT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());
}

TEST(Safetensors, HalfConversions) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x0001), 5.9604644775390625e-08f); // smallest subnormal
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; // NaN payloads
    EXPECT_EQ(floatToHalf(halfToFloat(uint16_t(h))), h) << h;
  }
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3c00); // tie -> even
  EXPECT_EQ(floatToHalf(1.0f + 3.0f / 2048), 0x3c02);
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0xc000), -2.0f);
}
