#!/usr/bin/env bash
# qcc's compiled CPU models against llama.cpp on the same GGUF files, the same
# machine, the same threads, in one run.
#
#   bench/cpu_vs_llamacpp.sh LLAMA_BIN_DIR [SECTION...]
#
# LLAMA_BIN_DIR holds llama-bench from a llama.cpp build you made yourself
# (this repository does not build or ship llama.cpp). SECTIONs (default: both):
#   debtext  debtext-29m at Q4_0, Q4_K_M, Q8_0
#   1b       a random Llama of 1B shape (hidden 2048, 16 layers, ffn 8192,
#            32 / 8 heads, debtext's 8192-token vocabulary and tokenizer),
#            generated here, at Q4_0 and Q4_K_M
# After the speed table, a memory table: each tool's peak resident memory
# (GNU time) for one 16-token generation run on the same file.
# For each file: `qcc MODEL --format=gguf:TYPE --target=cpu -o NAME`, then
# `NAME --bench` and `llama-bench` on NAME.gguf (pp512, tg128, -r REPS, -t
# THREADS), both as JSON; the table gives tokens/s and qcc / llama.cpp. The
# 1B rows add generation's weight traffic (tg t/s x file bytes) as a fraction
# of the memory bandwidth qcc-membw measures. Environment: THREADS (2), REPS
# (5), QCC (./build/tools/qcc/qcc), MEMBW (./build/bench/qcc-membw), OUT
# (/tmp/qcc-cpu-bench), MODEL (../shared/models/debtext-29m).
set -euo pipefail
BIN=${1:?usage: cpu_vs_llamacpp.sh LLAMA_BIN_DIR [debtext] [1b]}
shift
SECTIONS=${*:-debtext 1b}
THREADS=${THREADS:-2}
REPS=${REPS:-5}
QCC=${QCC:-./build/tools/qcc/qcc}
MEMBW=${MEMBW:-./build/bench/qcc-membw}
OUT=${OUT:-/tmp/qcc-cpu-bench}
MODEL=${MODEL:-../shared/models/debtext-29m}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=""
for f in avx512f avx512_vnni amx_int8; do grep -qw "$f" /proc/cpuinfo && flags="$flags $f"; done
echo "machine: $cpu (AVX-512 / VNNI / AMX flags:${flags:- none}), $THREADS threads, $REPS repetitions"
bw=$("$MEMBW" 1024 "$THREADS" 2>/dev/null)
echo "memory read bandwidth (qcc-membw, $THREADS threads): $bw GB/s"
echo
echo "| model | type | test | llama.cpp t/s | qcc t/s | qcc / llama.cpp | tg weight traffic / bandwidth |"
echo "|---|---|---|---:|---:|---:|---:|"

run() { # name model type
  local name=$1 model=$2 type=$3 exe="$OUT/$1-$3"
  "$QCC" "$model" --format=gguf:"$type" --target=cpu -o "$exe" --quiet
  "$exe" --bench -p 512 -n 128 -r "$REPS" -t "$THREADS" -o json > "$exe.qcc.json"
  "$BIN/llama-bench" -m "$exe.gguf" -p 512 -n 128 -r "$REPS" -t "$THREADS" -o json \
      > "$exe.llama.json" 2> "$exe.llama.log"
  # Peak resident memory of one short generation run each (same file, same
  # threads): GNU time's maximum RSS.
  local rq rl
  rq=$(/usr/bin/time -f %M "$exe" --bench -p 0 -n 16 -r 1 -t "$THREADS" 2>&1 >/dev/null | tail -1)
  rl=$(/usr/bin/time -f %M "$BIN/llama-bench" -m "$exe.gguf" -p 0 -n 16 -r 1 -t "$THREADS" 2>&1 >/dev/null | tail -1)
  MEMROWS="$MEMROWS| $1 | $3 | $(stat -c %s "$exe.gguf" | awk '{printf "%.0f", $1/1048576}') | $((rl / 1024)) | $((rq / 1024)) | $(awk -v q="$rq" -v l="$rl" 'BEGIN{printf "%.2f", q/l}') |
"
  python3 - "$name" "$type" "$exe.gguf" "$exe.llama.json" "$exe.qcc.json" "$bw" <<'PY'
import json, os, sys
name, typ, gguf, lj, qj, bw = sys.argv[1:]
size = os.path.getsize(gguf)
ll = {(r["n_prompt"], r["n_gen"]): r["avg_ts"] for r in json.load(open(lj))}
qq = {(r["n_prompt"], r["n_gen"]): r["avg_ts"] for r in json.load(open(qj))}
for key, test in (((512, 0), "pp512"), ((0, 128), "tg128")):
    frac = ""
    if test == "tg128" and name != "debtext-29m":
        frac = "%.2f" % (qq[key] * size / 1e9 / float(bw))
    print("| %s | %s | %s | %.1f | %.1f | %.2f | %s |" % (name, typ, test, ll[key], qq[key], qq[key] / ll[key], frac))
PY
}

MEMROWS=""
for s in $SECTIONS; do
  case $s in
    debtext)
      for t in Q4_0 Q4_K_M Q8_0; do run debtext-29m "$MODEL" "$t"; done ;;
    1b)
      if [ ! -f "$OUT/llama-1b/model.safetensors" ]; then
        python3 "$HERE/make_random_llama.py" "$OUT/llama-1b" --hidden 2048 --layers 16 --heads 32 \
            --kv-heads 8 --head-dim 64 --ffn 8192 --vocab 8192 --tokenizer-from "$MODEL" > /dev/null
      fi
      for t in Q4_0 Q4_K_M; do run llama-1b "$OUT/llama-1b" "$t"; done ;;
    *) echo "unknown section '$s' (debtext, 1b)" >&2; exit 2 ;;
  esac
done

echo
echo "| model | type | GGUF MiB | llama-bench peak RSS MiB | qcc peak RSS MiB | qcc / llama.cpp |"
echo "|---|---|---:|---:|---:|---:|"
printf "%s" "$MEMROWS"
