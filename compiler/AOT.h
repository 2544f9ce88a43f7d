//===- AOT.h - what the ahead-of-time targets share -------------*- C++ -*-===//
#ifndef QCC_COMPILER_AOT_H
#define QCC_COMPILER_AOT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace qcc {

/// Sets each weight's `qcc.gguf` placement {name, type, offset, bytes} from
/// the GGUF file `ggufPath` and the module's `qcc.rope_layout` (llama files
/// hold Q/K rows permuted for adjacent-pair RoPE). With `scaleGroups`, also
/// `scale_group = 128` on the Q4_0 / Q4_1 matrices whose runs of four blocks
/// share their scales (what a 4-bit g128 checkpoint, GPTQ / AWQ /
/// compressed-tensors, converts to: symmetric to Q4_0, asymmetric to Q4_1),
/// which the CUDA target streams with one scale a group.
llvm::Error placeWeights(mlir::ModuleOp module, const std::string &ggufPath, bool scaleGroups = false);

/// A directory removed with what is in it when this goes out of scope.
struct TempDir {
  llvm::SmallString<128> path;
  llvm::Error create(llvm::StringRef prefix);
  ~TempDir();
};

/// Runs `args` (args[0] the program), its output into `log`; on failure an
/// error naming `out` with `what` and the log's first line.
llvm::Error runTool(const std::vector<std::string> &args, llvm::StringRef log, const std::string &out,
                    llvm::StringRef what);

/// Links `objects` with `linkList` (';'-separated, as the build generated
/// it) using `cxx` into the executable `out`: beside it first, then renamed
/// over it, so a failure leaves no file.
llvm::Error linkExecutable(const std::string &cxx, const std::vector<std::string> &objects,
                           llvm::StringRef linkList, const std::string &out, llvm::StringRef tmpDir);

} // namespace qcc

#endif
