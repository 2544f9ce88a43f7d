#!/usr/bin/env bash
# Peak memory of qcc's calibrated quantization (GPTQ), excluding the memory-mapped
# checkpoint: samples /proc/PID/status every 0.2 s while qcc runs and reports the
# peak RssAnon (anonymous resident memory: what qcc allocates itself), the peak
# RssFile (file-backed resident pages: the mmapped checkpoint, the binary), VmHWM
# at the last sample (peak total RSS, file pages included), wall time and CPU time.
#
#   bench/calib_memory.sh [all|big|small]
#
#   big:   a random 1B-parameter LlamaForCausalLM (hidden 2048, 16 layers, 32 heads /
#          8 KV heads, head_dim 64, ffn 8192, vocab 8192; bench/make_random_llama.py)
#          at --calib-samples $SAMPLES (default "16 32"), gguf:Q4_K_M
#   small: $SMALL (default debtext-29m) at --calib-samples $SMALL_SAMPLES (128), gguf:Q4_K_M
#
# Environment: QCC (binary, default ./build/tools/qcc/qcc), CALIB (calibration text),
# LAYERS (16; fewer makes a slice of the same shape: qcc calibrates layer by layer, so
# one layer shows the per-layer peak of the whole model at a fraction of the time),
# BIG (where the random checkpoint goes; made when absent, default /tmp/random-llama-1b,
# /tmp/random-llama-1b-${LAYERS}layer when LAYERS is not 16),
# SAMPLES, SMALL, SMALL_SAMPLES, CTX (512), NICE (10), OUT (/tmp/calib-memory: logs).
# Prints one markdown table row per run; qcc runs with QCC_CALIB_TIMING=1 and its
# phase line is kept in $OUT/*.log.
set -euo pipefail
WHAT=${1:-all}
QCC=${QCC:-./build/tools/qcc/qcc}
CALIB=${CALIB:-../shared/data/calib/calib_debtext.txt}
LAYERS=${LAYERS:-16}
if [ "$LAYERS" = 16 ]; then BIG=${BIG:-/tmp/random-llama-1b}; else BIG=${BIG:-/tmp/random-llama-1b-${LAYERS}layer}; fi
SAMPLES=${SAMPLES:-16 32}
SMALL=${SMALL:-../shared/models/debtext-29m}
SMALL_SAMPLES=${SMALL_SAMPLES:-128}
CTX=${CTX:-512}
NICE=${NICE:-10}
OUT=${OUT:-/tmp/calib-memory}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"

# measure LABEL MODEL SAMPLES: run qcc, sample its /proc status, print a table row.
measure() {
  local label=$1 model=$2 s=$3
  local log="$OUT/$label-s$s.log" trace="$OUT/$label-s$s.trace"
  local t0 t1 pid
  : >"$trace"
  t0=$(date +%s.%N)
  QCC_CALIB_TIMING=1 nice -n "$NICE" "$QCC" "$model" --calib "$CALIB" --calib-samples "$s" \
    --calib-ctx "$CTX" --method=gptq --format=gguf:Q4_K_M --no-progress \
    -o "$OUT/$label-s$s.gguf" >"$log" 2>&1 &
  pid=$!
  # One line per sample: seconds since start, RssAnon kB, RssFile kB, VmHWM kB, utime+stime ticks.
  while [ -r "/proc/$pid/status" ]; do
    local anon="" file="" hwm="" k v rest cpu=""
    while read -r k v rest; do
      case $k in
        RssAnon:) anon=$v ;;
        RssFile:) file=$v ;;
        VmHWM:) hwm=$v ;;
      esac
    done <"/proc/$pid/status" 2>/dev/null || true
    if read -r -a st <"/proc/$pid/stat" 2>/dev/null; then
      # fields after the ")"-terminated comm: utime is field 14, stime 15 (1-based)
      cpu=$(( st[13] + st[14] ))
    fi
    [ -n "$anon" ] && echo "$(date +%s.%N) $anon $file $hwm $cpu" >>"$trace"
    sleep 0.2
  done
  local rc=0
  wait "$pid" || rc=$?
  t1=$(date +%s.%N)
  local tck
  tck=$(getconf CLK_TCK)
  awk -v t0="$t0" -v t1="$t1" -v rc="$rc" -v label="$label" -v s="$s" -v ctx="$CTX" -v tck="$tck" '
    { if ($2 > a) { a = $2; at = $1 - t0 } if ($3 > f) f = $3; h = $4; c = $5; n++ }
    END {
      printf "| %s | %d | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %d |\n",
        label, s, ctx, a / 1024, f / 1024, h / 1024, at, t1 - t0, c / tck, rc
    }' "$trace"
  grep -h "qcc-calibrate:" "$log" | sed "s/^/    $label S=$s: /" >&2 || true
  [ "$rc" = 0 ] || { echo "qcc failed, see $log" >&2; tail -5 "$log" >&2; }
}

echo "| model | samples | ctx | peak RssAnon MiB | peak RssFile MiB | VmHWM MiB | peak at s | wall s | CPU s | rc |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
if [ "$WHAT" = all ] || [ "$WHAT" = big ]; then
  if [ ! -f "$BIG/model.safetensors" ]; then
    nice -n "$NICE" python3 "$HERE/make_random_llama.py" "$BIG" --layers "$LAYERS" --tokenizer-from "$SMALL" >&2
  fi
  for s in $SAMPLES; do
    measure "$(basename "$BIG")" "$BIG" "$s"
  done
fi
if [ "$WHAT" = all ] || [ "$WHAT" = small ]; then
  measure "$(basename "$SMALL")" "$SMALL" "$SMALL_SAMPLES"
fi
