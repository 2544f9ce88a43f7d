#!/usr/bin/env bash
# Builds qcc's readers with libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer
# (clang-22, -DQCC_FUZZ=ON, in $FUZZ_BUILD) and runs every fuzz target of test/fuzz for a
# bounded time, one after another, each on its seed corpus (test/fuzz/make_seeds.sh, from
# the tests' files) and its dictionary. A target fails on any crash, sanitizer report,
# leak, input slower than 1 s or use of more than 2 GiB.
#
#   scripts/fuzz.sh [--time S] [--runs N] [--out DIR] [TARGET ...]
#
#   --time S   seconds per target (default 60)
#   --runs N   executions per target instead of a time (the long run: --runs 10000000)
#   --out DIR  corpora, crash inputs and logs (default /tmp/qcc-fuzz); corpora persist
#              there between runs, so repeated runs go on where the last one stopped
#   TARGET     safetensors checkpoint_index hf_config tokenizer_json sentencepiece gguf
#              gguf_tokenizer quant_checkpoint (default: all)
#
# Environment: QCC (a normal qcc build, for the seeds; default ./build/tools/qcc/qcc),
# SHARED (../shared), FUZZ_BUILD (build-fuzz). Prints one line per target and ends with
# "fuzz: N targets, M failed"; exit status 1 if any failed, 2 on a usage error.
# Every crash input found belongs in test/fuzz/regressions/TARGET/ (replayed by CI).
set -uo pipefail
cd "$(dirname "$0")/.."
TIME=60 RUNS="" OUT=/tmp/qcc-fuzz
TARGETS=()
while [ $# -gt 0 ]; do
  case $1 in
    --time) TIME=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
ALL=(safetensors checkpoint_index hf_config tokenizer_json sentencepiece gguf gguf_tokenizer quant_checkpoint)
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
QCC=${QCC:-./build/tools/qcc/qcc}
SHARED=${SHARED:-../shared}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}

if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -B "$FUZZ_BUILD" -DQCC_FUZZ=ON >"$OUT.cmake.log" 2>&1 ||
    { echo "fuzz.sh: configuring $FUZZ_BUILD failed (see $OUT.cmake.log)"; exit 1; }
fi
ninja -C "$FUZZ_BUILD" >"$OUT.build.log" 2>&1 || { echo "fuzz.sh: building $FUZZ_BUILD failed (see $OUT.build.log)"; exit 1; }
mkdir -p "$OUT"
if [ ! -d "$OUT/seeds" ]; then
  test/fuzz/make_seeds.sh "$OUT/seeds.tmp" "$QCC" "$SHARED" >/dev/null || { echo "fuzz.sh: making seeds failed"; exit 1; }
  mv "$OUT/seeds.tmp" "$OUT/seeds"
fi

dict_of() {
  case $1 in
    quant_checkpoint) echo test/fuzz/safetensors.dict ;;
    gguf_tokenizer) echo test/fuzz/gguf.dict ;;
    *) [ -f "test/fuzz/$1.dict" ] && echo "test/fuzz/$1.dict" ;;
  esac
}

failed=0
SCRATCH=$(mktemp -d /dev/shm/qcc-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
for t in "${TARGETS[@]}"; do
  bin="$FUZZ_BUILD/test/fuzz/${t}_fuzz"
  [ -x "$bin" ] || { echo "$t: no such fuzz target"; failed=$((failed + 1)); continue; }
  mkdir -p "$OUT/corpus/$t" "$OUT/crashes"
  # Inputs up to 128 KiB (every seed made from the small checkpoints fits):
  # larger seeds (a real tokenizer.json) are cut to that when mutated, which
  # keeps the executions a second up.
  args=(-timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=131072 -print_final_stats=1
        "-artifact_prefix=$OUT/crashes/$t-")
  d=$(dict_of "$t")
  [ -n "$d" ] && args+=("-dict=$d")
  if [ -n "$RUNS" ]; then args+=("-runs=$RUNS"); else args+=("-max_total_time=$TIME"); fi
  t0=$(date +%s)
  dirs=("$OUT/corpus/$t" "$OUT/seeds/$t")
  [ -d "test/fuzz/regressions/$t" ] && dirs+=("test/fuzz/regressions/$t") # earlier findings, replayed
  TMPDIR=$SCRATCH "$bin" "${args[@]}" "${dirs[@]}" >"$OUT/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$OUT/$t.log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "$t: ok, ${execs:-?} executions in $(( $(date +%s) - t0 )) s, $cov"
  else
    failed=$((failed + 1))
    echo "$t: FAILED (exit $rc): $(grep -m1 -E 'ERROR|runtime error|timeout|out-of-memory|leak' "$OUT/$t.log"); see $OUT/$t.log"
  fi
done
echo "fuzz: ${#TARGETS[@]} targets, $failed failed"
[ $failed -eq 0 ]
