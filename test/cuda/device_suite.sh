#!/bin/bash
# The GPU target's checks on a machine with a GPU (CI has none: it builds
# the CUDA code and checks what nvcc made, test/e2e/cuda_target.test).
#
#   test/cuda/device_suite.sh DIR OUT
#
# DIR holds, for each file type T it checks (Q4_0, Q4_0_G128, Q4_1,
# Q4_1_G128, Q4_K_M, Q8_0, Q8_0_G128 of one model; T_G128: a file whose
# blocks share their scales in runs of four, as a g128 checkpoint converts,
# 4-bit sym to Q4_0, asym to Q4_1, 8-bit sym to Q8_0, which cu_T streams in
# the g128 layouts):
#   dt_T.gguf   the weights;  cu_T  the --target=cuda binary;  cpu_T  the
#   --target=cpu binary of the same file (--cpu=x86-64-v3: the oracle);
#   expect_T.txt  the CPU binary's greedy text for "The kernel" (-n 40);
#   (the KLD oracle is the CPU binary with --float-activations: the float
#   computation, which the GPU's 15-bit activations follow);
#   wiki.txt  the evaluation text;
# qcc-cuda-kernel-check (build/test: every product kernel on random
# weights of each layout against a host oracle, at 7B-like sizes);
# and, optionally, cu_7b_T binaries of a random 7B shape whose weights this
# script writes with bench/make_random_gguf.py (same arguments as where they
# were compiled). Shared libraries the binaries need and the GPU machine
# lacks (ICU) may sit in DIR. Prints one PASS/FAIL line per check, then
# "N passed, M failed"; results and logs go to OUT. KEEP_7B=1 leaves the
# random 7B files in /tmp (r7b_T.gguf) for a peer's run on the same files.
set -u
D=$(cd "$1" && pwd); OUT=$(mkdir -p "$2" && cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")/../.." && pwd)
cd "$D"
export LD_LIBRARY_PATH=$D${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
pass=0; fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
CHUNKS=${CHUNKS:-100}
# kernelCheck LOG WHAT [VAR=VALUE...]: qcc-cuda-kernel-check in that
# environment, its output in OUT/LOG.
kernelCheck() {
  local log=$OUT/$1 what=$2; shift 2
  if env "$@" ./qcc-cuda-kernel-check >"$log" 2>&1; then
    ok "$what: $(tail -1 "$log")"
  else
    bad "$what"; grep -v "^PASS" "$log" | head -20
  fi
}
if [ -x ./qcc-cuda-kernel-check ]; then
  kernelCheck kernel_check.txt "product kernels against the host oracle"
  # The prompts again on linearHalf (what non-Hopper builds run).
  kernelCheck kernel_check_half.txt "product kernels, prompts on linearHalf" QCC_CUDA_WGMMA=0
fi
# kldCheck T CTX TAG NAME WHAT [LIMIT [FLAGS...]]: the CPU binary's float
# computation of CHUNKS contexts of CTX tokens (its logits in
# /tmp/baseTAG_T.bin, written once) against cu_T's run with FLAGS (log
# OUT/kldNAME_T.txt); passes where the mean KLD is at most LIMIT (0.0005).
kldCheck() {
  local limit=${6:-0.0005} log="$OUT/kld$4_$1.txt"
  [ -f /tmp/base$3_$1.bin ] || ./cpu_$1 -m dt_$1.gguf --perplexity wiki.txt --ctx $2 --chunks $CHUNKS \
    --float-activations --save-logits /tmp/base$3_$1.bin >"$OUT/ppl_cpu$3_$1.txt" 2>&1
  ./cu_$1 -m dt_$1.gguf --perplexity wiki.txt --ctx $2 --chunks $CHUNKS --kld-base /tmp/base$3_$1.bin "${@:7}" \
    >"$log" 2>&1
  local kld
  kld=$(sed -n 's/^Mean KLD = \([0-9.e+-]*\).*/\1/p' "$log")
  if [ -n "$kld" ] && python3 -c "import sys; sys.exit(0 if float('$kld') <= $limit else 1)"; then
    ok "$1: $5 $kld <= $limit ($CHUNKS x $2)"
  else
    bad "$1: $5 '$kld' (limit $limit)"; tail -5 "$log"
  fi
}
for t in Q4_0 Q4_0_G128 Q4_1 Q4_1_G128 Q4_K_M Q8_0 Q8_0_G128; do
  [ -f "dt_$t.gguf" ] || continue
  ./cu_$t -m dt_$t.gguf -p "The kernel" -n 40 >"$OUT/gen_$t.txt" 2>"$OUT/gen_$t.err"
  if cmp -s "$OUT/gen_$t.txt" "expect_$t.txt"; then
    ok "$t: greedy text equals the CPU binary's"
  else
    bad "$t: greedy text differs from the CPU binary's"; diff "$OUT/gen_$t.txt" "expect_$t.txt" | head -5
    tail -3 "$OUT/gen_$t.err"
  fi
  # The oracle: the CPU binary on float activations (the float computation
  # the GPU's two-plane activations follow); then, for the record, the CPU
  # binary as llama.cpp computes (int8-rounded activations).
  rm -f /tmp/base_$t.bin /tmp/base32_$t.bin # (written by kldCheck, for this binary)
  kldCheck $t 512 "" "" "mean KLD against the CPU binary's float computation"
  grep -h "tok/s\|PPL\|Same top" "$OUT/ppl_cpu_$t.txt" "$OUT/kld_$t.txt"
  # The FP8 KV cache: E4M3 keys and values (3 mantissa bits) move the
  # logits further than the f16 cache's (measured 0.0019 at Q4_0 and
  # Q4_K_M, docs/BENCHMARKS.md); a wrong scale or element moves them by
  # orders of magnitude more.
  kldCheck $t 512 "" _fp8 "--kv-type fp8: mean KLD against the same base" 0.004 --kv-type fp8
  grep -h "PPL\|Same top" "$OUT/kld_fp8_$t.txt"
  # Contexts of 32 tokens: every product of the GPU's forward passes is the
  # batched one (linearHalfBatch), on real text.
  kldCheck $t 32 32 32 "mean KLD at 32-token contexts (the batched products)"
  ./cpu_$t -m dt_$t.gguf --perplexity wiki.txt --chunks $CHUNKS --kld-base /tmp/base_$t.bin \
    >"$OUT/kld_cpu_int8_$t.txt" 2>&1
  echo "for comparison, the CPU binary with ggml's int8 activations against the same base:"
  grep -h "Mean KLD\|Same top" "$OUT/kld_cpu_int8_$t.txt"
  ./cu_$t -m dt_$t.gguf --bench -p 512 -n 128 -r 3 >"$OUT/bench_$t.md" 2>&1 && cat "$OUT/bench_$t.md"
done
if command -v compute-sanitizer >/dev/null && [ -f dt_Q4_0.gguf ]; then
  if compute-sanitizer --tool memcheck --error-exitcode 3 ./cu_Q4_0 -m dt_Q4_0.gguf -p "The kernel" -n 8 \
       >"$OUT/memcheck.txt" 2>&1; then
    ok "memcheck: no error on a short generation"
  else
    bad "memcheck"; tail -20 "$OUT/memcheck.txt"
  fi
  # FP8 caches, with a prompt long enough for the prompt attention.
  if compute-sanitizer --tool memcheck --error-exitcode 3 ./cu_Q4_0 -m dt_Q4_0.gguf --kv-type fp8 \
       -p "$(head -c 600 wiki.txt)" -n 8 >"$OUT/memcheck_fp8.txt" 2>&1; then
    ok "memcheck --kv-type fp8: no error on a 600-byte prompt and a short generation"
  else
    bad "memcheck --kv-type fp8"; tail -20 "$OUT/memcheck_fp8.txt"
  fi
fi
# Batched decoding (-b): sequences sampled together equal the same
# sequences sampled alone (up to 8 tokens a step, each token's arithmetic is
# the single-token one), and 16 greedy sequences (the batched half products)
# each give the greedy text.
split() { # FILE N: sequence i's text of a -b N output into FILE.i
  python3 -c '
import sys
b, n = open(sys.argv[1], "rb").read(), int(sys.argv[2])
for i in range(n):
  s = b.index(b"[%d] " % i) + len(b"[%d] " % i)
  e = b.index(b"\n[%d] " % (i + 1)) + 1 if i + 1 < n else len(b)
  open("%s.%d" % (sys.argv[1], i), "wb").write(b[s:e])' "$1" "$2"
}
# batchAlone NAME BINARY GGUF TOKENS [FLAGS...]
batchAlone() {
  ./$2 -m "$3" -p "The kernel" -n $4 -b 4 --temp 0.8 --seed 11 "${@:5}" >"$OUT/$1_batch4.txt" 2>"$OUT/$1_batch4.err"
  split "$OUT/$1_batch4.txt" 4; same=0
  for i in 0 1 2 3; do
    ./$2 -m "$3" -p "The kernel" -n $4 --temp 0.8 --seed $((11 + i)) "${@:5}" >"$OUT/$1_alone$i.txt" 2>/dev/null
    cmp -s "$OUT/$1_alone$i.txt" "$OUT/$1_batch4.txt.$i" && same=$((same + 1))
  done
  if [ $same = 4 ] && ! cmp -s "$OUT/$1_batch4.txt.0" "$OUT/$1_batch4.txt.1"; then
    ok "$1 batched decoding: 4 sampled sequences equal each one sampled alone"
  else
    bad "$1 batched decoding: $same of 4 sampled sequences equal their runs alone"; head -c 600 "$OUT/$1_batch4.txt"
  fi
}
[ -f dt_Q4_0.gguf ] && batchAlone debtext cu_Q4_0 dt_Q4_0.gguf 40
[ -f dt_Q4_0.gguf ] && batchAlone debtext_fp8 cu_Q4_0 dt_Q4_0.gguf 40 --kv-type fp8
# greedyBatch T B N EXPECT: B greedy sequences of N tokens decoded together
# by cu_T each give EXPECT's text.
greedyBatch() {
  ./cu_$1 -m dt_$1.gguf -p "The kernel" -n $3 -b $2 >"$OUT/batch$2_$1.txt" 2>"$OUT/batch$2_$1.err"
  split "$OUT/batch$2_$1.txt" $2; same=0
  for i in $(seq 0 $(($2 - 1))); do cmp -s "$OUT/batch$2_$1.txt.$i" "$4" && same=$((same + 1)); done
  if [ $same = $2 ]; then
    ok "$1 batched decoding: $2 greedy sequences each give the greedy text"
  else
    bad "$1 batched decoding: $same of $2 greedy sequences give the greedy text"; tail -3 "$OUT/batch$2_$1.err"
  fi
}
# 16 sequences: the batched half products (linearHalfBatch), each block format's.
for t in Q4_0 Q4_0_G128 Q4_1 Q4_1_G128 Q8_0_G128; do
  [ -f "dt_$t.gguf" ] && greedyBatch $t 16 40 expect_$t.txt
done
if [ -f dt_Q4_0.gguf ]; then
  # Past 64 tokens a step the attention is the prompt kernel, whose tiles
  # here mix sequences (its per-token path).
  ./cu_Q4_0 -m dt_Q4_0.gguf -p "The kernel" -n 8 >"$OUT/alone8.txt" 2>/dev/null
  greedyBatch Q4_0 72 8 "$OUT/alone8.txt"
fi
for t in Q4_0 Q4_0_G128 Q4_1 Q4_1_G128 Q4_K_M Q8_0 Q8_0_G128; do
  [ -x "cu_7b_$t" ] || continue
  gen=(--type $t)
  case $t in *_G128) gen=(--type ${t%_G128} --group 128) ;; esac
  python3 "$HERE/bench/make_random_gguf.py" /tmp/r7b_$t.gguf "${gen[@]}" --tokenizer-from "${TOKENIZER:-dt_Q4_0.gguf}"
  if ./cu_7b_$t -m /tmp/r7b_$t.gguf --bench -p 512 -n 128 -r 3 >"$OUT/bench_7b_$t.md" 2>&1; then
    ok "7B $t runs"; cat "$OUT/bench_7b_$t.md"
    ./cu_7b_$t -m /tmp/r7b_$t.gguf --bench -p 0 -n 128 -b 16 -r 3 2>&1 | grep "tg128 x16"
    # Rows of K split across warps (qccCudaKParts) alone and in a batch.
    case $t in Q4_[01]* | Q8_0_G128) [ -f dt_Q4_0.gguf ] && batchAlone "7B_$t" cu_7b_$t /tmp/r7b_$t.gguf 12 ;; esac
  else
    bad "7B $t"; tail -5 "$OUT/bench_7b_$t.md"
  fi
  [ "${KEEP_7B:-0}" = 1 ] || rm -f /tmp/r7b_$t.gguf
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
