//===- GGUFConvert.h - GPTQ / AWQ / compressed-tensors into GGUF -*- C++ -*-===//
//
// A model whose linear layers are stored as integer groups (GPTQ, AWQ,
// compressed-tensors) goes into GGUF without re-rounding where a ggml block
// format holds its groups as they are (formats/intpack/ToGGML.h): the groups
// become those blocks directly, before qcc-pack-blocks, which then rounds
// only what is left (and what the chosen type cannot hold).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_COMPILER_GGUFCONVERT_H
#define QCC_COMPILER_GGUFCONVERT_H

#include "compiler/Session.h"

#include <string>
#include <vector>

namespace qcc {

/// What `--format=gguf` alone writes for a quantized model: each quantized
/// linear in the first of Q4_0, Q4_1, Q8_0 that holds its codes (Q8_0,
/// re-rounded, when none does) and every other matrix in its stored float
/// type, as exact-name overrides; the preset is the most common of those.
struct LosslessPlan {
  std::vector<std::string> tensorTypes; ///< NAME=TYPE
  std::string preset;
};
llvm::Expected<LosslessPlan> planLosslessGGUF(Session &s);

struct ConversionResult {
  int kept = 0;                        ///< layers written from their codes
  int scalesRounded = 0;               ///< of those, with scales rounded to fp16
  std::vector<std::string> rerounded;  ///< "name (TYPE: why)" for the others
  double worstError = 0;               ///< largest change of a weight (Q4_1's m, rounded scales)
  std::string worstName;
};
/// Runs qcc-ggml-mixture (`preset`, `tensorTypes`) on the session's module and
/// packs into `store` every quantized linear whose chosen block format holds
/// its groups.
llvm::Expected<ConversionResult> packLosslessGGUF(Session &s, WeightStore &store,
                                                  llvm::ArrayRef<std::string> tensorTypes,
                                                  const std::string &preset);

} // namespace qcc

#endif
