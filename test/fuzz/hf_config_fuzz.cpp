//===- hf_config_fuzz.cpp - config.json and its quantization_config --------===//
#include "FuzzInput.h"
#include "frontends/HFConfig.h"
#include "frontends/QuantizedCheckpoint.h"

using namespace qcc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = fuzz::writeFile("config.json", data, size);
  auto c = parseHFConfig(path);
  if (!c)
    fuzz::consume(c.takeError());
  auto q = readQuantizationConfig(path);
  if (!q)
    fuzz::consume(q.takeError());
  return 0;
}
