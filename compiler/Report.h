//===- Report.h - what the quantization passes decided, per tensor -*- C++ -*-===//
#ifndef QCC_COMPILER_REPORT_H
#define QCC_COMPILER_REPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace qcc {

/// Writes PATH (JSON) and PATH with its extension replaced by .svg: for every
/// weight its format, method and relative output error on the calibration
/// inputs (qcc.calib_error: |dW X|^2 / |W X|^2), AWQ scaling and GPTQ
/// dampening as the passes recorded them in the IR; the SVG plots the error of
/// each kind of linear layer per layer. Both written via NAME.tmp + rename.
llvm::Error writeReport(mlir::ModuleOp module, const std::string &path);

} // namespace qcc

#endif
