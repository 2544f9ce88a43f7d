//===- safetensors_fuzz.cpp - the safetensors reader ----------------------===//
//
// Input: one .safetensors file. Opens it as a checkpoint (header, tensor
// table, offsets) and converts every float tensor it accepts to float32.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "frontends/Safetensors.h"


using namespace qcc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = fuzz::writeFile("model.safetensors", data, size);
  auto ck = Checkpoint::open(path);
  if (!fuzz::ok(ck))
    return 0;
  fuzz::readFloatTensors(**ck);
  return 0;
}
