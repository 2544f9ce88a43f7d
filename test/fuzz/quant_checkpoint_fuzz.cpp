//===- quant_checkpoint_fuzz.cpp - GPTQ / AWQ / compressed-tensors readers --===//
//
// Input: one byte choosing a quantization_config (GPTQ 2/3/4/8-bit, asym,
// act-order; AWQ; compressed-tensors sym / asym), then a .safetensors file.
// Every linear the file stores quantized is checked and read with the layer
// shape its packed tensor implies, validated and dequantized.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "frontends/QuantizedCheckpoint.h"

#include "llvm/ADT/StringRef.h"

#include <vector>

using namespace qcc;

namespace {

const char *kConfigs[] = {
    R"({"quantization_config":{"quant_method":"gptq","bits":4,"group_size":32,"desc_act":false,"sym":true,"checkpoint_format":"gptq"}})",
    R"({"quantization_config":{"quant_method":"gptq","bits":3,"group_size":32,"desc_act":false,"sym":true}})",
    R"({"quantization_config":{"quant_method":"gptq","bits":2,"group_size":-1,"desc_act":false,"sym":true}})",
    R"({"quantization_config":{"quant_method":"gptq","bits":8,"group_size":32,"desc_act":true,"sym":true}})",
    R"({"quantization_config":{"quant_method":"gptq","bits":4,"group_size":32,"desc_act":false,"sym":false}})",
    R"({"quantization_config":{"quant_method":"awq","bits":4,"group_size":32,"zero_point":true,"version":"gemm"}})",
    R"({"quantization_config":{"quant_method":"compressed-tensors","format":"pack-quantized","config_groups":{"group_0":{"targets":["Linear"],"weights":{"num_bits":4,"group_size":32,"strategy":"group","symmetric":true,"type":"int"}}},"ignore":["lm_head"]}})",
    R"({"quantization_config":{"quant_method":"compressed-tensors","format":"pack-quantized","config_groups":{"group_0":{"targets":["Linear"],"weights":{"num_bits":8,"strategy":"channel","symmetric":false,"type":"int"}}},"ignore":["lm_head"]}})",
};
constexpr size_t kNumConfigs = sizeof(kConfigs) / sizeof(kConfigs[0]);

/// [out, in] of linear `prefix` as its packed weight tensor implies it.
std::pair<int64_t, int64_t> impliedShape(const Checkpoint &ck, const QuantizationConfig &qc,
                                         const std::string &prefix) {
  const int64_t perWord = 32 / qc.bits, bits = qc.bits;
  auto words = [&](int64_t w) { return bits == 3 ? w * 32 / 3 : w * perWord; };
  if (const TensorView *t = ck.find(prefix + ".qweight"); t && t->shape.size() == 2) {
    if (qc.method == QuantizationConfig::Method::AWQ)
      return {words(t->shape[1]), t->shape[0]};
    return {t->shape[1], words(t->shape[0])};
  }
  if (const TensorView *t = ck.find(prefix + ".weight_packed"); t && t->shape.size() == 2)
    return {t->shape[0], words(t->shape[1])};
  return {0, 0};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  std::string config = fuzz::writeFile("config.json", kConfigs[data[0] % kNumConfigs]);
  auto qc = readQuantizationConfig(config);
  if (!qc || !*qc) {
    // The harness's own configs must parse.
    if (!qc)
      fuzz::consume(qc.takeError());
    __builtin_trap();
  }
  std::string path = fuzz::writeFile("model.safetensors", data + 1, size - 1);
  auto ck = Checkpoint::open(path);
  if (!fuzz::ok(ck))
    return 0;
  std::vector<float> w;
  for (const std::string &name : (*ck)->names()) {
    llvm::StringRef n(name);
    std::string prefix;
    if (n.ends_with(".qweight"))
      prefix = n.drop_back(8).str();
    else if (n.ends_with(".weight_packed"))
      prefix = n.drop_back(14).str();
    else
      continue;
    const std::string weight = prefix + ".weight"; // the result points into it
    auto p = quantizedLinearOf(**ck, &**qc, weight, 2);
    if (!p)
      continue;
    auto [out, in] = impliedShape(**ck, **qc, p->str());
    if (out <= 0 || in <= 0 || out > (1 << 20) || in > (1 << 20))
      continue;
    fuzz::consume(checkQuantizedLinear(**ck, **qc, *p, out, in));
    auto g = readQuantizedLinear(**ck, **qc, *p, out, in);
    if (!fuzz::ok(g))
      continue;
    if (!g->validate().empty())
      continue;
    w.resize(size_t(out * in));
    g->dequantize(w.data());
  }
  return 0;
}
