//===- quant_gemm.cpp - prompt-processing products on packed ggml blocks ---===//
//
// qcc-quant-gemm [ROWS] [COLS] [TOKENS] [REPS]: one linear layer over a
// prompt (Y = X Wᵀ for TOKENS tokens) on one thread, the way the compiled
// model's runtime runs it (64-row ranges, activations quantized once), two
// ways in the same run:
//  - rows:     kernels::gemm on the GGUF row layout (the baseline);
//  - repacked: kernels::gemmRepacked on rows regrouped by eight, once per
//              instruction set this CPU runs (AVX2, AVX-512 VNNI).
// Prints, per format, milliseconds per product (best of REPS), integer
// multiply-accumulates per second, the rows / repacked ratio, and whether
// every repacked result has the bits of kernels::dotRowChainRef (exit 1 if
// one does not).
// Defaults: 2048 x 2048, 512 tokens (a 1B model's attention projection
// over llama-bench's pp512), 5 repetitions.
//
//===----------------------------------------------------------------------===//
#include "bench/BestMs.h"
#include "formats/ggml/GGMLTypes.h"
#include "runtime/kernels/QuantDot.h"
#include "runtime/kernels/Repack.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

using namespace qcc;

int main(int argc, char **argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 2048, cols = argc > 2 ? std::atoll(argv[2]) : 2048;
  const int64_t tokens = argc > 3 ? std::atoll(argv[3]) : 512;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 5;
  if (rows <= 0 || rows % 64 || cols <= 0 || cols % 256 || tokens <= 0 || reps <= 0) {
    std::fprintf(stderr, "usage: qcc-quant-gemm [ROWS (a multiple of 64)] [COLS (a multiple of 256)] "
                         "[TOKENS] [REPS]\n");
    return 2;
  }
  if (!kernels::cpuHasAVX2()) {
    std::fprintf(stderr, "qcc-quant-gemm: the repacked kernels need AVX2\n");
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> W(rows * cols), X(tokens * cols);
  for (float &v : W)
    v = g(rng);
  for (float &v : X)
    v = g(rng) * 50.0f;
  std::printf("qcc-quant-gemm: %lld x %lld, %lld tokens, 1 thread, best of %d\n", (long long)rows,
              (long long)cols, (long long)tokens, reps);
  std::printf("| type | repacked kernels | rows ms | repacked ms | repacked GMAC/s | rows / repacked | bits of "
              "dotRowChainRef |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  bool allExact = true;
  constexpr int64_t kRows = 64;
  for (ggml::Type t : {ggml::Type::Q4_0, ggml::Type::Q8_0, ggml::Type::Q4_K, ggml::Type::Q6_K}) {
    const size_t rb = ggml::rowBytes(t, cols), ab = ggml::activationRowBytes(t, cols);
    std::vector<uint8_t> packed(rb * rows), act(ab * tokens);
    ggml::quantizeRows(t, W.data(), packed.data(), rows, cols);
    for (int64_t i = 0; i < tokens; ++i)
      ggml::quantizeActivations(t, X.data() + i * cols, act.data() + i * ab, cols);
    std::vector<uint8_t> rp(kernels::repackedBytes(t, rows, cols));
    kernels::repack(t, packed.data(), rows, cols, rp.data());
    std::vector<float> y0(tokens * rows), y1(tokens * rows);
    const double rms = bestMs(reps, [&] {
      for (int64_t r0 = 0; r0 < rows; r0 += kRows)
        kernels::gemm(t, packed.data() + r0 * rb, kRows, cols, act.data(), tokens, y0.data() + r0, rows);
    });
    kernels::ActivationSide side;
    for (kernels::RepackIsa isa : kernels::repackIsas()) {
      const double pms = bestMs(reps, [&] {
        side.reserve(t, tokens, cols);
        side.fill(t, act.data(), 0, tokens, cols);
        for (int64_t r0 = 0; r0 < rows; r0 += kRows)
          kernels::gemmRepacked(isa, t, rp.data() + kernels::repackedBytes(t, r0, cols), kRows, cols, act.data(),
                                side, tokens, y1.data() + r0, rows);
      });
      bool exact = true;
      for (int64_t i = 0; i < tokens && exact; i += std::max<int64_t>(1, tokens / 7))
        for (int64_t r = 0; r < rows && exact; ++r) {
          const float ref = kernels::dotRowChainRef(t, packed.data() + r * rb, act.data() + i * ab, cols);
          exact = std::memcmp(&ref, &y1[i * rows + r], 4) == 0;
        }
      std::printf("| %s | %s | %.2f | %.2f | %.1f | %.2f | %s |\n", ggml::traits(t).name, kernels::isaName(isa),
                  rms, pms, double(rows) * cols * tokens / (pms * 1e6), rms / pms, exact ? "yes" : "NO");
      allExact = allExact && exact;
    }
  }
  // A kernel that loses a bit is a failure, not a slow result.
  if (!allExact) {
    std::fprintf(stderr, "qcc-quant-gemm: a repacked kernel differs from dotRowChainRef\n");
    return 1;
  }
  return 0;
}
