//===- CudaModel.cpp - a model compiled for the GPU, bound to its GGUF file -===//
#include "runtime/cuda/CudaModel.h"
#include "runtime/cuda/Layout.h"

#include "frontends/Error.h"
#include "frontends/GGUF.h"

#include "llvm/Support/FormatVariadic.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

using namespace llvm;

namespace qcc {

namespace {

/// Tokens one call of the generated forward pass takes (longer inputs run
/// in pieces of this many; the cache makes that the same computation).
constexpr int64_t kMaxTokensPerCall = 512;

[[noreturn]] void fatal(cudaError_t e, const char *what) {
  fprintf(stderr, "qcc: CUDA error in %s: %s\n", what, cudaGetErrorString(e));
  exit(1);
}
void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess)
    fatal(e, what);
}

/// Runs f(begin, end) over [0, n) on the host's cores.
template <typename F> void parallelRows(int64_t n, F f) {
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), n / 64));
  if (threads == 1)
    return f(int64_t(0), n);
  std::vector<std::thread> ts;
  for (int64_t i = 0; i < threads; ++i)
    ts.emplace_back([=] { f(n * i / threads, n * (i + 1) / threads); });
  for (auto &t : ts)
    t.join();
}

} // namespace

Expected<std::unique_ptr<CudaModel>> CudaModel::create(const CudaProgram &program,
                                                      std::shared_ptr<gguf::Reader> file,
                                                      int64_t maxContext, KVType kv) {
  const std::string &path = file->path();
  if (kv != KVType::F16)
    return fileError(path, "the CUDA target keeps its KV cache in F16 (--kv-type f16)");
  if (maxContext < 1)
    return fileError(path, "the context must hold at least one token");
  // The tensors must be the ones the code was compiled for.
  for (int i = 0; i < program.numTensors; ++i) {
    const QccCudaTensor &t = program.tensors[i];
    const gguf::TensorInfo *ti = file->tensor(t.name);
    if (!ti)
      return fileError(path, "is not the file this model was compiled for: no tensor '{0}'", t.name);
    if (uint32_t(ti->type) != t.type || ti->offset != t.offset || ti->nbytes != t.bytes)
      return fileError(path,
                       "is not the file this model was compiled for: tensor '{0}' has another type, "
                       "offset or size",
                       t.name);
    if (t.use == QCC_CUDA_MATRIX && !cuda::layoutAccepts(t.layout, ggml::Type(t.type), t.cols))
      return fileError(path, "internal error: tensor '{0}' cannot take its device layout", t.name);
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
    return fileError(path, "cannot run: no CUDA device is visible (the model was compiled for {0})",
                     program.arch);
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  {
    // sm_XY[a]: 'a' code runs on exactly that chip; plain code (with its
    // PTX) on that one and newer.
    StringRef arch(program.arch);
    int want = 0;
    const bool exact = arch.ends_with("a");
    arch.consume_front("sm_");
    arch.consume_back("a");
    arch.getAsInteger(10, want);
    const int have = prop.major * 10 + prop.minor;
    if (exact ? have != want : have < want)
      return fileError(path, "cannot run: the model was compiled for {0}, this GPU ({1}) is sm_{2}",
                       program.arch, prop.name, have);
  }

  std::unique_ptr<CudaModel> m(new CudaModel());
  m->prog_ = program;
  m->file_ = std::move(file);
  m->maxCtx_ = maxContext;
  m->maxTokens_ = std::min(kMaxTokensPerCall, maxContext);
  // Device memory the model owns; null when the GPU has no room.
  auto dalloc = [&](size_t bytes) {
    void *p = nullptr;
    if (cudaMalloc(&p, std::max<size_t>(bytes, 256)) != cudaSuccess)
      return static_cast<void *>(nullptr);
    m->allocations_.push_back(p);
    return p;
  };
  auto outOfMemory = [&](const char *what, size_t bytes) {
    return fileError(path, "cannot run: no room on the GPU for {0} ({1:f1} MiB)", what, bytes / 1048576.0);
  };

  // Weights: converted on the host into their planes, then copied.
  m->weights_.resize(program.numTensors);
  std::vector<uint8_t> host;
  for (int i = 0; i < program.numTensors; ++i) {
    const QccCudaTensor &t = program.tensors[i];
    const gguf::TensorInfo *ti = m->file_->tensor(t.name);
    const int layout = t.use == QCC_CUDA_MATRIX ? t.layout : -1;
    const std::array<size_t, 4> bytes = cuda::planeBytes(layout, t.rows, t.cols);
    size_t total = 0;
    for (size_t b : bytes)
      total += (b + 255) / 256 * 256;
    host.resize(total);
    uint8_t *planes[4];
    size_t off = 0;
    for (int p = 0; p < 4; ++p) {
      planes[p] = host.data() + off;
      off += (bytes[p] + 255) / 256 * 256;
    }
    const ggml::Type type = ggml::Type(t.type);
    parallelRows(t.rows, [&](int64_t r0, int64_t r1) {
      cuda::convertRows(type, layout, ti->data, t.cols, r0, r1, planes);
    });
    uint8_t *dev = static_cast<uint8_t *>(dalloc(total));
    if (!dev)
      return outOfMemory(t.name, total);
    check(cudaMemcpy(dev, host.data(), total, cudaMemcpyHostToDevice), "uploading the weights");
    m->weightBytes_ += total;
    for (int p = 0; p < 4; ++p)
      m->weights_[i].p[p] = bytes[p] ? dev + (planes[p] - host.data()) : nullptr;
  }
  host.clear();
  host.shrink_to_fit();

  // The KV cache, zeroed (positions past the length are never read).
  for (int c = 0; c < program.numCacheLayers; ++c) {
    const QccCudaCacheLayer &l = program.cacheLayers[c];
    const size_t bytes = size_t(l.kvHeads) * size_t(maxContext) * size_t(l.headDim) * 2;
    void *k = dalloc(bytes), *v = dalloc(bytes);
    if (!k || !v)
      return outOfMemory("the KV cache", 2 * bytes * program.numCacheLayers);
    check(cudaMemset(k, 0, bytes), "cudaMemset");
    check(cudaMemset(v, 0, bytes), "cudaMemset");
    m->kcache_.push_back(k);
    m->vcache_.push_back(v);
  }
  const size_t scratch = program.scratchBytes(m->maxTokens_);
  void *sc = dalloc(scratch);
  m->dTokens_ = static_cast<int32_t *>(dalloc(m->maxTokens_ * 4));
  m->dPos_ = static_cast<int32_t *>(dalloc(4));
  const size_t logitBytes = size_t(m->maxTokens_) * size_t(program.vocab) * 4;
  m->dLogits_ = static_cast<float *>(dalloc(logitBytes));
  if (!sc || !m->dTokens_ || !m->dPos_ || !m->dLogits_)
    return outOfMemory("activations", scratch + logitBytes);
  check(cudaMallocHost(reinterpret_cast<void **>(&m->hTokens_), m->maxTokens_ * 4), "cudaMallocHost");
  check(cudaMallocHost(reinterpret_cast<void **>(&m->hPos_), 4), "cudaMallocHost");
  check(cudaMallocHost(reinterpret_cast<void **>(&m->hLogits_), logitBytes), "cudaMallocHost");
  cudaStream_t stream;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  m->stream_ = stream;

  QccCudaState &s = m->state_;
  s.w = m->weights_.data();
  s.kcache = m->kcache_.data();
  s.vcache = m->vcache_.data();
  s.maxCtx = maxContext;
  s.tokens = m->dTokens_;
  s.pos0 = m->dPos_;
  s.logits = m->dLogits_;
  s.scratch = sc;
  s.maxTokens = m->maxTokens_;
  // The uploads and memsets ran on the legacy stream, which a non-blocking
  // stream does not wait for.
  check(cudaDeviceSynchronize(), "loading the model");
  return m;
}

CudaModel::~CudaModel() {
  if (graphExec_)
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graphExec_));
  if (graph_)
    cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  if (stream_)
    cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  for (void *p : allocations_)
    cudaFree(p);
  cudaFreeHost(hTokens_);
  cudaFreeHost(hPos_);
  cudaFreeHost(hLogits_);
}

void CudaModel::forward(ArrayRef<int32_t> tokens, float *logits, bool lastOnly) {
  cudaStream_t s = static_cast<cudaStream_t>(stream_);
  const int64_t N = int64_t(tokens.size()), V = prog_.vocab;
  if (cacheLen_ + N > maxCtx_) {
    fprintf(stderr, "qcc: internal error: %lld tokens past a context of %lld\n", (long long)(cacheLen_ + N),
            (long long)maxCtx_);
    abort();
  }
  for (int64_t done = 0; done < N;) {
    const int64_t n = std::min(maxTokens_, N - done);
    const bool last = done + n == N;
    const int64_t rows = lastOnly ? (last ? 1 : 0) : n;
    std::memcpy(hTokens_, tokens.data() + done, size_t(n) * 4);
    *hPos_ = int32_t(cacheLen_);
    check(cudaMemcpyAsync(dTokens_, hTokens_, size_t(n) * 4, cudaMemcpyHostToDevice, s), "copying tokens");
    check(cudaMemcpyAsync(dPos_, hPos_, 4, cudaMemcpyHostToDevice, s), "copying the position");
    if (n == 1 && rows == 1) {
      // A one-token step: the same launches every time (the position is
      // read on the device), replayed as one graph.
      if (!graphExec_) {
        cudaGraph_t g;
        check(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        const int rc = prog_.forward(&state_, 1, 1, s);
        check(cudaStreamEndCapture(s, &g), "cudaStreamEndCapture");
        if (rc)
          fatal(cudaError_t(rc), "capturing the decoding step");
        cudaGraphExec_t e;
        check(cudaGraphInstantiate(&e, g, 0), "cudaGraphInstantiate");
        graph_ = g;
        graphExec_ = e;
      }
      check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graphExec_), s), "cudaGraphLaunch");
    } else if (int rc = prog_.forward(&state_, n, rows, s)) {
      fatal(cudaError_t(rc), "the forward pass");
    }
    if (rows)
      check(cudaMemcpyAsync(hLogits_, dLogits_, size_t(rows) * V * 4, cudaMemcpyDeviceToHost, s),
            "copying the logits");
    check(cudaStreamSynchronize(s), "the forward pass");
    if (rows)
      std::memcpy(logits + (lastOnly ? 0 : done * V), hLogits_, size_t(rows) * V * 4);
    cacheLen_ += n;
    done += n;
  }
}

} // namespace qcc
