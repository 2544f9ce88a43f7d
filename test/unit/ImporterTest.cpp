//===- ImporterTest.cpp - checkpoint import and its errors ----------------===//
//
// Uses ../shared/models/stories260K-hf as the base and writes mutated copies
// (wrong dtype, missing tensor, bad config, mismatched tokenizer) to a
// temporary directory.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "compiler/Importer.h"
#include "runtime/Executor.h"
#include "dialects/qcc/QccDialect.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace qcc;
using namespace qcc::test;

namespace {
const std::string kModel = std::string(QCC_SHARED_DIR) + "/models/stories260K-hf";

struct Tensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

/// Copies the base model into `t`, letting `mutate` edit the tensor list and
/// `config` edit config.json.
void writeVariant(TempDir &t, const std::function<void(std::vector<Tensor> &)> &mutate,
                  const std::function<void(llvm::json::Object &)> &config = nullptr) {
  auto f = SafetensorsFile::open(kModel + "/model.safetensors");
  ASSERT_TRUE(bool(f));
  std::vector<Tensor> ts;
  for (auto &v : (*f)->tensors())
    ts.push_back({v.name, dtypeName(v.dtype).str(), v.shape,
                  std::string(reinterpret_cast<const char *>(v.data), v.nbytes)});
  mutate(ts);
  llvm::json::Object header;
  std::string data;
  for (auto &x : ts) {
    llvm::json::Array shape;
    for (int64_t d : x.shape)
      shape.push_back(d);
    header[x.name] = llvm::json::Object{
        {"dtype", x.dtype},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{int64_t(data.size()), int64_t(data.size() + x.bytes.size())}}};
    data += x.bytes;
  }
  std::string h;
  llvm::raw_string_ostream(h) << llvm::json::Value(std::move(header));
  writeFile(t.file("model.safetensors"), safetensorsBytes(h, data));
  auto cfg = llvm::MemoryBuffer::getFile(kModel + "/config.json");
  ASSERT_TRUE(bool(cfg));
  auto js = llvm::json::parse((*cfg)->getBuffer());
  ASSERT_TRUE(bool(js));
  if (config)
    config(*js->getAsObject());
  std::string c;
  llvm::raw_string_ostream(c) << *js;
  writeFile(t.file("config.json"), c);
  auto tok = llvm::MemoryBuffer::getFile(kModel + "/tokenizer.model", false, false);
  ASSERT_TRUE(bool(tok));
  writeFile(t.file("tokenizer.model"), (*tok)->getBuffer().str());
}

std::string openError(TempDir &t) {
  auto m = openHFModel(t.path.str());
  if (m)
    return "";
  return llvm::toString(m.takeError());
}

#define REQUIRE_SHARED()                                                                           \
  if (!llvm::sys::fs::exists(kModel + "/model.safetensors"))                                       \
    GTEST_SKIP() << "shared models not present";
} // namespace

TEST(Importer, ImportsAndVerifies) {
  REQUIRE_SHARED();
  auto m = openHFModel(kModel);
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  mlir::MLIRContext ctx;
  auto mod = importHFModel(ctx, *m);
  ASSERT_TRUE(bool(mod)) << llvm::toString(mod.takeError());
  int linear = 0, attn = 0, weights = 0, norms = 0;
  (*mod)->walk([&](mlir::Operation *op) {
    linear += mlir::isa<mlir::qcc::LinearOp>(op);
    attn += mlir::isa<mlir::qcc::AttentionOp>(op);
    weights += mlir::isa<mlir::qcc::WeightOp>(op);
    norms += mlir::isa<mlir::qcc::RMSNormOp>(op);
  });
  EXPECT_EQ(linear, 5 * 7);
  EXPECT_EQ(attn, 5);
  EXPECT_EQ(weights, 47);
  EXPECT_EQ(norms, 2 * 5 + 1);
}

TEST(Importer, RejectsIntegerTensorInFloatSlot) {
  REQUIRE_SHARED();
  TempDir t;
  writeVariant(t, [](std::vector<Tensor> &ts) {
    for (auto &x : ts)
      if (x.name == "model.layers.1.mlp.up_proj.weight") {
        x.dtype = "I8";
        x.bytes.resize(x.bytes.size() / 4);
      }
  });
  std::string e = openError(t);
  EXPECT_NE(e.find("'model.layers.1.mlp.up_proj.weight' has dtype I8, expected F32, F16 or BF16"),
            std::string::npos) << e;
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
}

TEST(Importer, RejectsMissingTensorAndWrongShape) {
  REQUIRE_SHARED();
  TempDir t;
  writeVariant(t, [](std::vector<Tensor> &ts) {
    ts.erase(std::remove_if(ts.begin(), ts.end(),
                            [](auto &x) { return x.name == "model.layers.4.self_attn.k_proj.weight"; }),
             ts.end());
  });
  std::string e = openError(t);
  EXPECT_NE(e.find("missing tensor 'model.layers.4.self_attn.k_proj.weight'"), std::string::npos) << e;

  TempDir t2;
  writeVariant(t2, [](auto &) {}, [](llvm::json::Object &c) { c["intermediate_size"] = 128; });
  e = openError(t2);
  EXPECT_NE(e.find("has shape [172, 64], expected [128, 64]"), std::string::npos) << e;
}

TEST(Importer, RejectsConfigProblems) {
  REQUIRE_SHARED();
  TempDir t;
  writeVariant(t, [](auto &) {}, [](llvm::json::Object &c) { c.erase("num_hidden_layers"); });
  std::string e = openError(t);
  EXPECT_NE(e.find("config.json: missing required key \"num_hidden_layers\""), std::string::npos) << e;

  TempDir t2;
  writeVariant(t2, [](auto &) {}, [](llvm::json::Object &c) {
    c["architectures"] = llvm::json::Array{"FalconForCausalLM"};
  });
  e = openError(t2);
  EXPECT_NE(e.find("unknown architecture 'FalconForCausalLM'"), std::string::npos) << e;

  TempDir t3; // vocab_size smaller than the tokenizer (and the embedding rows)
  writeVariant(
      t3,
      [](std::vector<Tensor> &ts) {
        for (auto &x : ts)
          if (x.name == "model.embed_tokens.weight") {
            x.shape[0] = 256;
            x.bytes.resize(256 * 64 * 4);
          }
      },
      [](llvm::json::Object &c) { c["vocab_size"] = 256; });
  e = openError(t3);
  EXPECT_NE(e.find("tokenizer has 512 tokens but config.json says vocab_size = 256"), std::string::npos) << e;
}

TEST(Importer, RejectsNaNWeights) {
  REQUIRE_SHARED();
  TempDir t;
  writeVariant(t, [](std::vector<Tensor> &ts) {
    for (auto &x : ts)
      if (x.name == "model.norm.weight") {
        float nan = NAN;
        std::memcpy(&x.bytes[8], &nan, 4);
      }
  });
  auto m = openHFModel(t.path.str());
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  mlir::MLIRContext ctx;
  auto mod = importHFModel(ctx, *m);
  ASSERT_TRUE(bool(mod));
  auto ws = checkpointWeights(*m->checkpoint);
  auto ex = Executor::create(**mod, *ws, 8);
  ASSERT_FALSE(bool(ex));
  std::string e = llvm::toString(ex.takeError());
  EXPECT_NE(e.find("'model.norm.weight' holds a non-finite value"), std::string::npos) << e;
}
