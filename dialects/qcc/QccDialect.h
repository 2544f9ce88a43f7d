//===- QccDialect.h - qcc dialect -------------------------------*- C++ -*-===//
#ifndef QCC_DIALECTS_QCC_QCCDIALECT_H
#define QCC_DIALECTS_QCC_QCCDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "QccDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "QccAttrs.h.inc"

#define GET_OP_CLASSES
#include "QccOps.h.inc"

#endif
