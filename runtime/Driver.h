//===- Driver.h - the command line of the inference binaries ----*- C++ -*-===//
//
// Every executable `qcc ... --target=cpu|cuda -o NAME` writes has the same
// flags (generation, perplexity / KLD, llama-bench's tables); its main()
// passes the target's model loader to runDriver. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_RUNTIME_DRIVER_H
#define QCC_RUNTIME_DRIVER_H

#include "runtime/LanguageModel.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>

namespace qcc {
namespace gguf {
class Reader;
}

struct DriverOptions {
  std::string self, model, prompt, text, kldBase, saveLogits, protocol = "llama.cpp", output = "md";
  bool bench = false, perplexity = false, ignoreEos = false, promptGiven = false, nGiven = false;
  /// --float-activations: quantized layers take unrounded float activations
  /// (the reference arithmetic; CPU binaries).
  bool floatActivations = false;
  int64_t n = 64, ctx = 512, chunks = -1, reps = 5, threads = 0, benchP = 512;
  /// --bench -d: tokens in each sequence's cache before a test (llama-bench's n_depth).
  int64_t benchDepth = 0;
  /// -b: sequences decoded together (generation, --bench; GPU binaries).
  int64_t batch = 1;
  float temp = 0, topP = 1;
  int topK = 0;
  uint64_t seed = 0;
  KVType kv = KVType::F16;
};

struct DriverBackend {
  /// The backend column of --bench's table, e.g. "CPU (qcc)".
  std::string name;
  /// The compiled model on the open file, with a cache of `ctx` tokens.
  std::function<llvm::Expected<std::unique_ptr<LanguageModel>>(
      const DriverOptions &, std::shared_ptr<gguf::Reader>, int64_t ctx)>
      load;
  /// The threads column of --bench when -t is not given.
  std::function<int()> threads;
  /// Called once the flags are read (e.g. to size the thread pool).
  std::function<void(const DriverOptions &)> configure;
};

/// Parses the flags, runs what they ask for; the process's exit status.
/// Bad flags and files print one line and exit with status 2.
int runDriver(int argc, char **argv, const DriverBackend &backend);

/// One line on stderr, exit status 2.
[[noreturn]] void driverError(const llvm::Twine &msg);

} // namespace qcc

#endif
