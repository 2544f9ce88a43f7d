//===- CompileCUDA.cpp - GPU inference binaries (--target=cuda) -----------===//
//
// The model's CUDA C++ (codegen/cuda) is compiled by nvcc for one GPU
// architecture, with g++ as its host compiler, and linked with the GPU
// runtime (runtime/cuda) into NAME. 'a' architectures (sm_90a: wgmma and
// the other Hopper-only instructions) get that chip's code alone; the
// others also carry their PTX, which newer GPUs compile when they load it.
//
//===----------------------------------------------------------------------===//
#include "compiler/CompileCUDA.h"
#include "compiler/AOT.h"

#include "codegen/cuda/EmitCUDA.h"
#include "frontends/AtomicFile.h"
#include "frontends/Error.h"
#include "runtime/cuda/CudaLink.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace qcc {

Error compileCUDA(mlir::ModuleOp module, const std::string &ggufPath, const std::string &out,
                  const std::string &gpu, const std::string &keepSource) {
  if (Error e = codegen::checkGPU(gpu))
    return e;
  if (!QCC_HAVE_CUDA)
    return fileError(out, "cannot build a --target=cuda binary: qcc was built without the CUDA toolkit "
                          "(no nvcc found; install it and reconfigure)");
  if (Error e = placeWeights(module, ggufPath, /*scaleGroups=*/true))
    return e;
  auto src = codegen::emitCUDA(module, gpu);
  if (!src)
    return src.takeError();

  TempDir tmp;
  if (Error e = tmp.create("qcc-cuda"))
    return e;
  SmallString<128> cu(tmp.path), obj(tmp.path), log(tmp.path);
  sys::path::append(cu, "model.cu");
  sys::path::append(obj, "model.o");
  sys::path::append(log, "nvcc.log");
  {
    std::error_code ec;
    raw_fd_ostream os(cu, ec);
    if (ec)
      return fileError(out, "cannot write the generated source: {0}", ec.message());
    os << *src;
  }
  if (!keepSource.empty())
    if (Error e = writeFileAtomically(keepSource, *src))
      return e;
  StringRef num = StringRef(gpu).drop_front(3); // "90a"
  std::string gencode = num.ends_with("a")
                            ? formatv("-gencode=arch=compute_{0},code=sm_{0}", num).str()
                            : formatv("-gencode=arch=compute_{0},code=[sm_{0},compute_{0}]", num).str();
  std::vector<std::string> args = {QCC_CUDA_NVCC, "-std=c++17", "-O3", "-ccbin", QCC_CUDA_HOST_CXX, gencode,
                                   "-I",          QCC_CUDA_INCLUDE, "-c", cu.str().str(), "-o",
                                   obj.str().str()};
  if (Error e = runTool(args, log, out, "nvcc (compiling the model's CUDA code)"))
    return e;
  return linkExecutable(QCC_CUDA_HOST_CXX, {obj.str().str()}, QCC_CUDA_LINK, out, tmp.path);
}

} // namespace qcc
