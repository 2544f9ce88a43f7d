//===- gptq-check.cpp - run quant/GPTQ on files, for the NumPy oracle -----===//
//
//   gptq-check W.f32 H.f64 ROWS N BITS GROUP sym|asym actorder|plain OUT
//   gptq-check W.f32 H.f64 ROWS N ggml:TYPE - - actorder|plain OUT
//
// W: ROWS x N float32, H: N x N float64 (row-major). Generic grids use the
// GPTQ paper's min-max quantizer. OUT gets the codes (int32, ROWS x N), then
// the rounded weights (float32, ROWS x N); stdout one line of statistics.
//
//===----------------------------------------------------------------------===//
#include "quant/GPTQ.h"
#include "quant/Grids.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

template <typename T> std::vector<T> readAll(const char *path, size_t n) {
  std::vector<T> v(n);
  FILE *f = fopen(path, "rb");
  if (!f || fread(v.data(), sizeof(T), n, f) != n) {
    fprintf(stderr, "gptq-check: cannot read %zu values from %s\n", n, path);
    exit(2);
  }
  fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: gptq-check W H ROWS N BITS|ggml:TYPE GROUP sym|asym actorder|plain OUT\n");
    return 2;
  }
  const int64_t rows = atoll(argv[3]), n = atoll(argv[4]);
  auto W = readAll<float>(argv[1], rows * n);
  auto H = readAll<double>(argv[2], n * n);
  qcc::quant::GPTQOptions o;
  o.actOrder = std::string(argv[8]) == "actorder";
  o.blockSize = 32; // several lazy blocks even for small N
  std::vector<int32_t> codes(rows * n);
  qcc::quant::GPTQStats st;
  std::string kind = argv[5];
  if (kind.rfind("ggml:", 0) == 0) {
    auto t = qcc::ggml::typeFromName(kind.substr(5));
    if (!t) {
      fprintf(stderr, "gptq-check: unknown type %s\n", kind.c_str());
      return 2;
    }
    qcc::quant::GGMLGrid g(*t, rows, n);
    std::vector<float> imp(n);
    for (int64_t i = 0; i < n; ++i)
      imp[i] = float(H[i * n + i]);
    st = qcc::quant::gptq(W.data(), rows, n, H.data(), imp.data(), g, o);
    std::vector<uint8_t> bytes(qcc::ggml::rowBytes(*t, n) * rows);
    g.pack(bytes.data());
    // the packed blocks must dequantize to exactly what GPTQ rounded to
    std::vector<float> back(n);
    for (int64_t r = 0; r < rows; ++r) {
      qcc::ggml::dequantizeRow(*t, bytes.data() + r * qcc::ggml::rowBytes(*t, n), back.data(), n);
      for (int64_t i = 0; i < n; ++i)
        if (std::abs(back[i] - W[r * n + i]) > 1e-6f * (1 + std::abs(back[i]))) {
          fprintf(stderr, "gptq-check: packed block disagrees at %lld,%lld: %g vs %g\n",
                  (long long)r, (long long)i, back[i], W[r * n + i]);
          return 1;
        }
    }
  } else {
    qcc::rtn::Params p{unsigned(atoi(argv[5])), atoll(argv[6]), std::string(argv[7]) == "sym"};
    qcc::quant::RTNGrid g(p, rows, n, /*minmax=*/true);
    st = qcc::quant::gptq(W.data(), rows, n, H.data(), nullptr, g, o);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n; ++i)
        codes[r * n + i] = g.code(r, i);
  }
  FILE *f = fopen(argv[9], "wb");
  fwrite(codes.data(), 4, codes.size(), f);
  fwrite(W.data(), 4, W.size(), f);
  fclose(f);
  printf("damp %.9g escalations %d dead %lld loss %.9g\n", st.damp, st.escalations,
         (long long)st.deadColumns, st.proxyLoss);
  return 0;
}
