//===- CudaModel.cpp - a model compiled for the GPU, bound to its GGUF file -===//
#include "runtime/cuda/CudaModel.h"
#include "runtime/cuda/Layout.h"

#include "formats/ggml/BlockCodes.h"

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
/// Calls of up to this many tokens with every token's logits (decoding
/// steps of up to 64 sequences) run as CUDA graphs, one per size.
constexpr int64_t kMaxGraphTokens = 64;

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
                                                      int64_t maxContext, KVType kv, int64_t sequences) {
  const std::string &path = file->path();
  if (sequences < 1)
    return fileError(path, "internal error: a model needs at least one sequence");
  if (kv != KVType::F16 && kv != KVType::FP8)
    return fileError(path, "the CUDA target keeps its KV cache in f16 or fp8 (--kv-type), not q8_0");
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
    if (t.use == QCC_CUDA_MATRIX && qccCudaBlocksPerScale(t.layout) > 1 &&
        !ggml::sharesScales128(ggml::Type(t.type), ti->data, t.rows, t.cols))
      return fileError(path,
                       "is not the file this model was compiled for: the blocks of tensor '{0}' no longer "
                       "share their scales in groups of 128 weights",
                       t.name);
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
  m->seqLen_.assign(size_t(sequences), 0);
  // A call takes a batch of one token a sequence, or a prompt piece.
  m->maxTokens_ = std::max(sequences, std::min(kMaxTokensPerCall, maxContext));
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

  // The KV caches, zeroed (positions past a sequence's length are never
  // read): F16 elements, or FP8 codes and a float scale a head's row.
  const bool fp8 = kv == KVType::FP8;
  for (int c = 0; c < program.numCacheLayers; ++c) {
    const QccCudaCacheLayer &l = program.cacheLayers[c];
    const size_t rows = size_t(sequences) * size_t(l.kvHeads) * size_t(maxContext);
    // (The scales after the codes, at a multiple of 256 bytes.)
    const size_t codes = (rows * size_t(l.headDim) * (fp8 ? 1 : 2) + 255) / 256 * 256;
    const size_t bytes = codes + (fp8 ? rows * 4 : 0);
    void *k = dalloc(bytes), *v = dalloc(bytes);
    if (!k || !v)
      return outOfMemory("the KV cache", 2 * bytes * program.numCacheLayers);
    check(cudaMemset(k, 0, bytes), "cudaMemset");
    check(cudaMemset(v, 0, bytes), "cudaMemset");
    m->kcache_.push_back(k);
    m->vcache_.push_back(v);
    m->kscale_.push_back(fp8 ? static_cast<char *>(k) + codes : nullptr);
    m->vscale_.push_back(fp8 ? static_cast<char *>(v) + codes : nullptr);
  }
  const size_t scratch = program.scratchBytes(m->maxTokens_);
  void *sc = dalloc(scratch);
  m->dIn_ = static_cast<int32_t *>(dalloc(3 * m->maxTokens_ * 4));
  const size_t logitBytes = size_t(m->maxTokens_) * size_t(program.vocab) * 4;
  m->dLogits_ = static_cast<float *>(dalloc(logitBytes));
  if (!sc || !m->dIn_ || !m->dLogits_)
    return outOfMemory("activations", scratch + logitBytes);
  check(cudaMallocHost(reinterpret_cast<void **>(&m->hIn_), 3 * m->maxTokens_ * 4), "cudaMallocHost");
  check(cudaMallocHost(reinterpret_cast<void **>(&m->hLogits_), logitBytes), "cudaMallocHost");
  cudaStream_t stream;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  m->stream_ = stream;

  QccCudaState &s = m->state_;
  s.w = m->weights_.data();
  s.kcache = m->kcache_.data();
  s.vcache = m->vcache_.data();
  s.maxCtx = maxContext;
  s.tokens = m->dIn_;
  s.pos = m->dIn_ + m->maxTokens_;
  s.seq = m->dIn_ + 2 * m->maxTokens_;
  s.logits = m->dLogits_;
  s.scratch = sc;
  s.maxTokens = m->maxTokens_;
  s.kvType = fp8 ? QCC_CUDA_KV_FP8 : QCC_CUDA_KV_F16;
  s.kscale = m->kscale_.data();
  s.vscale = m->vscale_.data();
  // The uploads and memsets ran on the legacy stream, which a non-blocking
  // stream does not wait for.
  check(cudaDeviceSynchronize(), "loading the model");
  return m;
}

CudaModel::~CudaModel() {
  for (auto &[n, g] : graphs_) {
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(g.second));
    cudaGraphDestroy(static_cast<cudaGraph_t>(g.first));
  }
  if (stream_)
    cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  for (void *p : allocations_)
    cudaFree(p);
  cudaFreeHost(hIn_);
  cudaFreeHost(hLogits_);
}

void CudaModel::forward(ArrayRef<int32_t> tokens, float *logits, bool lastOnly) {
  std::vector<int32_t> seqs(tokens.size(), 0);
  forwardBatch(seqs, tokens, logits, lastOnly);
}

void CudaModel::forwardBatch(ArrayRef<int32_t> seqs, ArrayRef<int32_t> tokens, float *logits, bool lastOnly) {
  cudaStream_t s = static_cast<cudaStream_t>(stream_);
  const int64_t N = int64_t(tokens.size()), V = prog_.vocab;
  std::vector<int64_t> len = seqLen_;
  for (int64_t i = 0; i < N; ++i) {
    const int32_t q = seqs[i];
    if (q < 0 || q >= int64_t(len.size()) || len[q] >= maxCtx_) {
      fprintf(stderr, "qcc: internal error: token %lld for sequence %d of %zu, past a context of %lld?\n",
              (long long)i, q, len.size(), (long long)maxCtx_);
      abort();
    }
    ++len[q];
  }
  for (int64_t done = 0; done < N;) {
    const int64_t n = std::min(maxTokens_, N - done);
    const bool last = done + n == N;
    const int64_t rows = lastOnly ? (last ? 1 : 0) : n;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t q = seqs[done + i];
      hIn_[i] = tokens[done + i];
      hIn_[maxTokens_ + i] = int32_t(seqLen_[q]++);
      hIn_[2 * maxTokens_ + i] = q;
    }
    // One copy up to the last sequence number (the gaps between the three
    // arrays come along): each copy's launch and transfer latency is paid
    // before the step starts. H100, 7B W4 g128 tg128: 19 against 30 us from
    // a step's start to its graph's launch (events), tok/s +0.7 % on the
    // mean of six runs each.
    check(cudaMemcpyAsync(dIn_, hIn_, size_t(2 * maxTokens_ + n) * 4, cudaMemcpyHostToDevice, s),
          "copying the tokens");
    // A decoding step (every token's logits: one token, or one for each of
    // several sequences) is the same launches every time for its n (tokens,
    // positions and sequences are read on the device): captured once,
    // replayed.
    if (rows == n && n <= kMaxGraphTokens) {
      auto it = graphs_.find(n);
      if (it == graphs_.end()) {
        cudaGraph_t g;
        check(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        const int rc = prog_.forward(&state_, n, n, s);
        check(cudaStreamEndCapture(s, &g), "cudaStreamEndCapture");
        if (rc)
          fatal(cudaError_t(rc), "capturing the decoding step");
        cudaGraphExec_t e;
        check(cudaGraphInstantiate(&e, g, 0), "cudaGraphInstantiate");
        it = graphs_.emplace(n, std::make_pair(static_cast<void *>(g), static_cast<void *>(e))).first;
      }
      check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(it->second.second), s), "cudaGraphLaunch");
    } else if (int rc = prog_.forward(&state_, n, rows, s)) {
      fatal(cudaError_t(rc), "the forward pass");
    }
    if (rows)
      check(cudaMemcpyAsync(hLogits_, dLogits_, size_t(rows) * V * 4, cudaMemcpyDeviceToHost, s),
            "copying the logits");
    check(cudaStreamSynchronize(s), "the forward pass");
    if (rows)
      std::memcpy(logits + (lastOnly ? 0 : done * V), hLogits_, size_t(rows) * V * 4);
    done += n;
  }
}

} // namespace qcc
