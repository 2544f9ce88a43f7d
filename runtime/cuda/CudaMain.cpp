//===- CudaMain.cpp - main() of the GPU inference binaries ----------------===//
//
// `qcc MODEL ... --target=cuda -o NAME` links this file with the model's
// generated CUDA code (codegen/cuda; its tables and qcc_cuda_forward) into
// NAME, next to NAME.gguf. The flags: runtime/Driver.h (the same as the CPU
// binaries'; -t only sizes the host threads' column).
//
//===----------------------------------------------------------------------===//
#include "frontends/GGUF.h"
#include "runtime/Driver.h"
#include "runtime/cuda/CudaModel.h"

#include <thread>

extern "C" {
extern const QccCudaTensor qcc_cuda_tensors[];
extern const int qcc_cuda_num_tensors;
extern const QccCudaCacheLayer qcc_cuda_cache_layers[];
extern const int qcc_cuda_num_cache_layers;
extern const int64_t qcc_cuda_vocab;
extern const char qcc_cuda_arch[];
size_t qcc_cuda_scratch_bytes(int64_t maxTokens);
int qcc_cuda_forward(const QccCudaState *s, int64_t n, int64_t logitRows, void *stream);
}

using namespace qcc;

int main(int argc, char **argv) {
  DriverBackend b;
  b.name = "CUDA (qcc)";
  b.load = [](const DriverOptions &o, std::shared_ptr<gguf::Reader> r,
              int64_t ctx) -> llvm::Expected<std::unique_ptr<LanguageModel>> {
    if (o.floatActivations)
      return llvm::createStringError(
          "--float-activations is for CPU binaries: the CUDA kernels always keep activations to about 15 bits");
    CudaProgram p{qcc_cuda_tensors, qcc_cuda_num_tensors, qcc_cuda_cache_layers, qcc_cuda_num_cache_layers,
                  qcc_cuda_vocab, qcc_cuda_arch, qcc_cuda_scratch_bytes, qcc_cuda_forward};
    auto m = CudaModel::create(p, std::move(r), ctx, o.kv, o.batch);
    if (!m)
      return m.takeError();
    return std::unique_ptr<LanguageModel>(std::move(*m));
  };
  b.threads = [] { return int(std::thread::hardware_concurrency()); };
  return runDriver(argc, argv, b);
}
