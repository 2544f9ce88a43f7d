//===- Microkernels.h - the runtime's kernels linked in as bitcode -*- C++ -*-===//
#ifndef QCC_CODEGEN_CPU_MICROKERNELS_H
#define QCC_CODEGEN_CPU_MICROKERNELS_H

#include "llvm/Support/Error.h"

namespace llvm {
class Module;
} // namespace llvm

namespace qcc::codegen {

/// Links into `m` the definitions of the runtime functions it calls
/// (NativeABI.h: the linear layer's and attention's steps, embedding rows,
/// the parallel loop) from the microkernel bitcode built with qcc
/// (runtime/native/CMakeLists.txt), with everything they reach in it, and
/// makes all of them internal to `m`: O3 then inlines them into the
/// generated kernels, where the shapes and ggml type are constants, and the
/// object carries its own copies. Only `qcc_forward`, its C interface and
/// the model constants stay exported. What the bitcode leaves undefined
/// (the thread pool, the CPU-feature probes, libc / libstdc++) resolves
/// against the runtime the model is linked or loaded with.
llvm::Error linkMicrokernels(llvm::Module &m);

} // namespace qcc::codegen

#endif
