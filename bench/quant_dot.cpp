//===- quant_dot.cpp - matrix-vector products on packed ggml blocks --------===//
//
// qcc-quant-dot [ROWS] [COLS] [REPS]: one linear layer's decode step
// (y = W x for one token) on one thread, three ways in the same run:
//  - float:  W dequantized to float32 once, y by oneDNN sgemm (N = 1), what
//            the reference executor does for every token today;
//  - ref:    kernels::dotRef on the packed rows (the scalar reference);
//  - simd:   kernels::gemv (AVX2 where the CPU has it), including the
//            quantization of x (ggml::quantizeActivations).
// Prints, per format, milliseconds per product (best of REPS), the weight
// bytes streamed per second, and the float / simd and ref / simd ratios.
// Defaults: 4096 x 4096 (a 7B model's attention projection), 20 repetitions.
//
//===----------------------------------------------------------------------===//
#include "bench/BestMs.h"
#include "formats/ggml/GGMLTypes.h"
#include "runtime/kernels/QuantDot.h"

#include <dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace qcc;

int main(int argc, char **argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 4096, cols = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 20;
  if (rows <= 0 || cols <= 0 || cols % 256 || reps <= 0) {
    std::fprintf(stderr, "usage: qcc-quant-dot [ROWS] [COLS (a multiple of 256)] [REPS]\n");
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> W(rows * cols), x(cols), y(rows), yq(rows);
  for (float &v : W)
    v = g(rng);
  for (float &v : x)
    v = g(rng) * 50.0f;
  std::printf("qcc-quant-dot: %lld x %lld, 1 thread, best of %d; AVX2 %s\n", (long long)rows,
              (long long)cols, reps, kernels::cpuHasAVX2() ? "yes" : "no");
  std::printf("| type | float ms | ref ms | simd ms | simd GB/s of weights | float / simd | ref / simd | max rel. diff simd vs float |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (ggml::Type t : {ggml::Type::Q4_0, ggml::Type::Q4_1, ggml::Type::Q5_0, ggml::Type::Q8_0,
                       ggml::Type::Q2_K, ggml::Type::Q3_K, ggml::Type::Q4_K, ggml::Type::Q5_K,
                       ggml::Type::Q6_K, ggml::Type::IQ4_NL}) {
    const size_t rb = ggml::rowBytes(t, cols);
    std::vector<uint8_t> packed(rb * rows), act(ggml::activationRowBytes(t, cols));
    ggml::quantizeRows(t, W.data(), packed.data(), rows, cols);
    std::vector<float> Wd(rows * cols);
    for (int64_t r = 0; r < rows; ++r)
      ggml::dequantizeRow(t, packed.data() + r * rb, Wd.data() + r * cols, cols);
    const double fms = bestMs(reps, [&] {
      dnnl_sgemm('N', 'N', rows, 1, cols, 1.0f, Wd.data(), cols, x.data(), 1, 0.0f, y.data(), 1);
    });
    const double rms = bestMs(std::max(1, reps / 5), [&] {
      ggml::quantizeActivations(t, x.data(), act.data(), cols);
      for (int64_t r = 0; r < rows; ++r)
        yq[r] = kernels::dotRef(t, packed.data() + r * rb, act.data(), cols);
    });
    const double sms = bestMs(reps, [&] {
      ggml::quantizeActivations(t, x.data(), act.data(), cols);
      kernels::gemv(t, packed.data(), rows, cols, act.data(), yq.data());
    });
    double ymax = 0, dmax = 0;
    for (int64_t r = 0; r < rows; ++r) {
      ymax = std::max(ymax, double(std::fabs(y[r])));
      dmax = std::max(dmax, double(std::fabs(y[r] - yq[r])));
    }
    std::printf("| %s | %.3f | %.3f | %.3f | %.1f | %.2f | %.2f | %.1e |\n", ggml::traits(t).name, fms, rms,
                sms, double(packed.size()) / (sms * 1e6), fms / sms, rms / sms, dmax / ymax);
  }
  return 0;
}
