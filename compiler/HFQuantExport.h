//===- HFQuantExport.h - GPTQ / AWQ / compressed-tensors model dirs -*- C++ -*-===//
//
// Writes a packed qcc module (after qcc-assign-quant with format "int" and
// qcc-pack-blocks, calibrated or not) as a Hugging Face model directory the
// GPU ecosystem loads: config.json with the `quantization_config` of the
// chosen format, the tensors in model.safetensors (sharded with an index past
// 5 GB), the tokenizer and generation files copied from the source model, and
// for GPTQ a quantize_config.json. Linear layers the packing pass did not
// quantize (a row length that is not a multiple of the group size) stay in
// float and are named in the format's skip list. The directory is built
// under a temporary name beside DIR and renamed into place when complete.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_COMPILER_HFQUANTEXPORT_H
#define QCC_COMPILER_HFQUANTEXPORT_H

#include "compiler/Importer.h"
#include "formats/intpack/IntPack.h"
#include "quant/RTN.h"
#include "runtime/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace qcc {

struct HFQuantExportOptions {
  QuantizationConfig::Method format = QuantizationConfig::Method::GPTQ;
  int bits = 4;
  int64_t group = 128;
  bool symmetric = true;
  bool actOrder = false;   ///< recorded in the config (qcc's groups stay contiguous)
  std::string method;      ///< rtn / gptq / awq / awq+gptq, recorded in the config
  double damp = 0.01;
};

struct HFQuantExportStats {
  uint64_t bytes = 0;                  ///< tensor data written
  int64_t quantizedLayers = 0;
  std::vector<std::string> floatLayers; ///< linear layers left in float
  std::vector<std::string> files;       ///< files written into the directory
};

/// The GroupQuant of one weight packed in qcc's generic RTN layout (quant/RTN.h)
/// as [out x in]; `p.group` must divide `in` (or be 0).
intpack::GroupQuant groupQuantFromRTN(const rtn::Params &p, const uint8_t *bytes, int64_t out,
                                      int64_t in);

/// `store` supplies the float data of what stays unquantized (loadFloat).
llvm::Expected<HFQuantExportStats> exportQuantizedHF(mlir::ModuleOp module, const HFModel &hf,
                                                     WeightStore &store,
                                                     const HFQuantExportOptions &opts,
                                                     const std::string &dir);

} // namespace qcc

#endif
