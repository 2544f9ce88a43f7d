//===- calib_floor.cpp - the arithmetic floor of calibrated quantization ----===//
//
// Sequential GPTQ over T calibration tokens must, for every decoder layer,
// run each linear layer over all tokens (with its rounded weights) and form
// the Gram matrix X^T X of each distinct linear input. Those products are
// most of the arithmetic and cannot be skipped without changing the method.
// This benchmark runs exactly the kernels the calibration pass uses for them
// (kernels::QuantLinear on weights of --type, as the pass runs its rounded
// ggml layers, or kernels::linearChunked in float without it; quant::gram)
// at one decoder layer's shapes over all T tokens, on random data, and
// prints the time a model of `layers` such layers needs for them alone: a
// floor for the whole pipeline on this machine. With --pipeline-seconds it
// also prints pipeline / floor.
//
//   qcc-calib-floor --hidden 512 --ffn 1536 --heads 8 --kv-heads 4 \
//       --head-dim 64 --layers 8 --tokens 65536 [--type Q4_K] [--pipeline-seconds 75]
//
//===----------------------------------------------------------------------===//
#include "quant/Gram.h"
#include "runtime/Kernels.h"
#include "runtime/kernels/QuantLinear.h"
#include "formats/ggml/GGMLTypes.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

[[noreturn]] void usage(const char *why) {
  fprintf(stderr, "qcc-calib-floor: %s\nusage: qcc-calib-floor --hidden N --ffn N --heads N "
                  "--kv-heads N --head-dim N --layers N --tokens N [--type GGML_TYPE] [--pipeline-seconds S]\n",
          why);
  exit(2);
}

} // namespace

int main(int argc, char **argv) {
  int64_t hidden = 0, ffn = 0, heads = 0, kvHeads = 0, headDim = 0, layers = 0, tokens = 0;
  double pipeline = 0;
  std::optional<qcc::ggml::Type> type;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      usage(("missing value after " + a).c_str());
    if (a == "--type") {
      type = qcc::ggml::typeFromName(argv[++i]);
      if (!type || !qcc::kernels::QuantLinear::supported(*type))
        usage(("--type: expected a quantized ggml type this CPU has integer kernels for, got " +
               std::string(argv[i])).c_str());
      continue;
    }
    char *end = nullptr;
    double v = strtod(argv[++i], &end);
    if (!end || *end || !(v > 0))
      usage(("expected a positive number after " + a).c_str());
    if (a == "--hidden") hidden = int64_t(v);
    else if (a == "--ffn") ffn = int64_t(v);
    else if (a == "--heads") heads = int64_t(v);
    else if (a == "--kv-heads") kvHeads = int64_t(v);
    else if (a == "--head-dim") headDim = int64_t(v);
    else if (a == "--layers") layers = int64_t(v);
    else if (a == "--tokens") tokens = int64_t(v);
    else if (a == "--pipeline-seconds") pipeline = v;
    else usage(("unknown option " + a).c_str());
  }
  if (!hidden || !ffn || !heads || !kvHeads || !headDim || !layers || !tokens)
    usage("every shape option is required");

  const int64_t q = heads * headDim, kv = kvHeads * headDim;
  // in -> out of each linear layer of one decoder layer.
  const std::pair<int64_t, int64_t> linears[] = {{hidden, q},  {hidden, kv}, {hidden, kv},
                                                {q, hidden},  {hidden, ffn}, {hidden, ffn},
                                                {ffn, hidden}};
  // The distinct inputs whose Gram matrix GPTQ needs: q/k/v's, o's, gate/up's, down's.
  const int64_t grams[] = {hidden, q, hidden, ffn};

  int64_t widest = std::max({hidden, q, ffn});
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> X(tokens * widest), Y(tokens * widest), W(widest * widest),
      H(widest * widest);
  for (float &x : X)
    x = nd(rng);
  for (float &w : W)
    w = 0.02f * nd(rng);
  // Warm-up: fault in every buffer and let oneDNN generate its kernels.
  std::memset(Y.data(), 0, Y.size() * sizeof(float));
  qcc::kernels::linearChunked(X.data(), W.data(), nullptr, Y.data(), 1024, hidden, ffn);

  double linSec = 0, gramSec = 0, linFlop = 0, gramFlop = 0;
  for (auto [in, out] : linears) {
    std::unique_ptr<qcc::kernels::QuantLinear> lin;
    if (type) {
      std::vector<uint8_t> packed(qcc::ggml::rowBytes(*type, in) * out);
      qcc::ggml::quantizeRows(*type, W.data(), packed.data(), out, in);
      lin = std::make_unique<qcc::kernels::QuantLinear>(*type, packed.data(), out, in);
    }
    auto t0 = std::chrono::steady_clock::now();
    if (lin)
      lin->apply(X.data(), tokens, nullptr, Y.data());
    else
      qcc::kernels::linearChunked(X.data(), W.data(), nullptr, Y.data(), tokens, in, out);
    linSec += seconds(t0);
    linFlop += 2.0 * double(tokens) * double(in) * double(out);
  }
  for (int64_t n : grams) {
    auto t0 = std::chrono::steady_clock::now();
    qcc::quant::gram(X.data(), tokens, n, H.data());
    gramSec += seconds(t0);
    gramFlop += double(tokens) * double(n) * double(n); // the symmetric half, as ssyrk computes it
  }
  const double floor = double(layers) * (linSec + gramSec);
  printf("one layer over %lld tokens: linear (%s) %.2f s (%.0f GFLOP/s), X^T X %.2f s (%.0f GFLOP/s)\n",
         (long long)tokens, type ? qcc::ggml::traits(*type).name : "float", linSec, linFlop / linSec / 1e9, gramSec, gramFlop / gramSec / 1e9);
  printf("floor for %lld layers: %.1f s (linear %.1f s + X^T X %.1f s; %.2f TFLOP)\n",
         (long long)layers, floor, layers * linSec, layers * gramSec,
         layers * (linFlop + gramFlop) / 1e12);
  if (pipeline > 0)
    printf("pipeline %.1f s = %.2f x the floor; the rest (attention, GPTQ, packing, I/O) %.1f s\n",
           pipeline, pipeline / floor, pipeline - floor);
  return 0;
}
