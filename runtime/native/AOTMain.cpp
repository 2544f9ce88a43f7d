//===- AOTMain.cpp - main() of the CPU inference binaries -----------------===//
//
// `qcc MODEL --format=gguf:TYPE --target=cpu -o NAME` links this file with
// the compiled model (NAME's object: _mlir_ciface_qcc_forward and its
// constants) into NAME, next to NAME.gguf. The flags: runtime/Driver.h.
//
//===----------------------------------------------------------------------===//
#include "frontends/GGUF.h"
#include "runtime/Driver.h"
#include "runtime/native/NativeModel.h"

#include "llvm/Support/FormatVariadic.h"

#include <omp.h>

extern "C" {
void _mlir_ciface_qcc_forward(QccRt *rt, QccMemRef1D *weights, QccMemRef1D *tokens, int64_t pos0,
                              QccMemRef2D *logits);
extern const char qcc_model_signature[];
extern const int64_t qcc_model_vocab;
}

using namespace qcc;

int main(int argc, char **argv) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
      !__builtin_cpu_supports("f16c"))
    driverError(llvm::formatv(
        "{0}: this CPU has no AVX2/FMA/F16C; the model was compiled for x86-64-v3 or later", argv[0]));
  DriverBackend b;
  b.name = "CPU (qcc)";
  b.load = [](const DriverOptions &o, std::shared_ptr<gguf::Reader> r,
              int64_t ctx) -> llvm::Expected<std::unique_ptr<LanguageModel>> {
    auto m = NativeModel::create(_mlir_ciface_qcc_forward, qcc_model_signature, qcc_model_vocab,
                                 std::move(r), ctx, o.kv, o.floatActivations);
    if (!m)
      return m.takeError();
    return std::unique_ptr<LanguageModel>(std::move(*m));
  };
  b.threads = [] { return omp_get_max_threads(); };
  b.configure = [](const DriverOptions &o) {
    if (o.threads)
      omp_set_num_threads(int(o.threads));
  };
  return runDriver(argc, argv, b);
}
