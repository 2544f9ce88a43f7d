#!/usr/bin/env bash
# qcc's GGUF files against llama-quantize's, judged by llama.cpp itself.
#
#   bench/llamacpp_judge.sh LLAMA_BIN_DIR [MODEL] [TYPES...]
#
# LLAMA_BIN_DIR holds llama-quantize, llama-imatrix and llama-perplexity from a
# llama.cpp build you made yourself (this repository does not build or ship
# llama.cpp). For each TYPE, these files, all scored by llama-perplexity
# against the F32 model's logits (100 chunks x 512 tokens of wikitext-2): PPL,
# mean KLD, top-1 agreement, size; the last column is mean KLD / the peer's
# (llama-quantize --imatrix when CALIB is set, plain llama-quantize otherwise):
#   llama        llama-quantize from qcc's F32 GGUF, no importance matrix
#   llama-imat   llama-quantize --imatrix (llama-imatrix on CALIB, -c 512 --chunks 100)
#   qcc-rtn      qcc without calibration
#   qcc-METHOD   qcc --calib CALIB --method=METHOD for each of METHODS
# and, with BPW_OF set to a TYPE, one more file: qcc --calib CALIB --bpw B where
# B is the bits per weight of llama-quantize --imatrix's file of that TYPE.
# Environment: CALIB (calibration text; unset: no calibrated rows), METHODS
# (default "gptq awq awq+gptq"), TEXT, CHUNKS (100), QCC, OUT, THREADS (2).
set -euo pipefail
BIN=${1:?usage: llamacpp_judge.sh LLAMA_BIN_DIR [MODEL] [TYPES...]}
MODEL=${2:-../shared/models/debtext-29m}
shift $(( $# >= 2 ? 2 : 1 ))
TYPES=${*:-Q8_0 Q6_K Q5_K_M Q4_K_M Q4_K_S Q4_0 Q3_K_M Q2_K}
TEXT=${TEXT:-../shared/data/wikitext-2-raw-v1/wikitext2_test_joined.txt}
CHUNKS=${CHUNKS:-100}
QCC=${QCC:-./build/tools/qcc/qcc}
OUT=${OUT:-/tmp/qcc-judge}
THREADS=${THREADS:-2}
METHODS=${METHODS:-gptq awq awq+gptq}
CALIB=${CALIB:-}
BPW_OF=${BPW_OF:-}
mkdir -p "$OUT"

"$QCC" "$MODEL" --format=gguf:F32 -o "$OUT/f32.gguf" --quiet
"$BIN/llama-perplexity" -m "$OUT/f32.gguf" -f "$TEXT" -c 512 --chunks "$CHUNKS" -t "$THREADS" \
    --kl-divergence-base "$OUT/base.kld" > "$OUT/base.log" 2>&1
if [ -n "$CALIB" ]; then
  "$BIN/llama-imatrix" -m "$OUT/f32.gguf" -f "$CALIB" -c 512 --chunks 100 -t "$THREADS" \
      -o "$OUT/imatrix.dat" > "$OUT/imatrix.log" 2>&1
fi

score() { # file -> "ppl kld top1"
  "$BIN/llama-perplexity" -m "$1" --kl-divergence-base "$OUT/base.kld" --kl-divergence \
      -c 512 --chunks "$CHUNKS" -t "$THREADS" > "$1.log" 2>&1
  python3 - "$1.log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
ppl = re.search(r"Mean PPL\(Q\)\s*:\s*([0-9.]+)", t)
kld = re.search(r"Mean\s+KLD:\s*([0-9.]+)", t)
top = re.search(r"Same top p:\s*([0-9.]+)", t)
print(ppl.group(1) if ppl else "nan", kld.group(1) if kld else "nan", top.group(1) if top else "nan")
PY
}
tensor_bpw() { python3 -c "import gguf; r=gguf.GGUFReader('$1'); print(8*sum(int(t.n_bytes) for t in r.tensors)/sum(int(t.n_elements) for t in r.tensors))"; }

printf "| type | tool | size MiB | tensor bpw | PPL | mean KLD | top-1 %% | qcc s | KLD / peer |\n|---|---|---|---|---|---|---|---|---|\n"
row() { # type tool file seconds peer_kld
  local sz p k tp ratio
  sz=$(stat -c %s "$3")
  read -r p k tp < <(score "$3")
  ratio=$(python3 -c "print(f'{float(\"$k\")/float(\"$5\"):.3f}' if '$5' not in ('', 'nan') and float('$5') > 0 else '')")
  printf "| %s | %s | %.2f | %.3f | %s | %s | %s | %s | %s |\n" "$1" "$2" \
    "$(python3 -c "print($sz/1048576)")" "$(tensor_bpw "$3")" "$p" "$k" "$tp" "$4" "$ratio"
  LAST_KLD=$k
}
timed() { local s0 s1; s0=$(date +%s.%N); "$@"; s1=$(date +%s.%N); SECS=$(python3 -c "print(f'{$s1-$s0:.1f}')"); }

for t in $TYPES; do
  "$BIN/llama-quantize" "$OUT/f32.gguf" "$OUT/llama-$t.gguf" "$t" > "$OUT/llama-$t.quant.log" 2>&1
  peer=""
  if [ -n "$CALIB" ]; then
    "$BIN/llama-quantize" --imatrix "$OUT/imatrix.dat" "$OUT/f32.gguf" "$OUT/llama-imat-$t.gguf" "$t" \
        > "$OUT/llama-imat-$t.quant.log" 2>&1
    read -r _ peer _ < <(score "$OUT/llama-imat-$t.gguf")
  else
    read -r _ peer _ < <(score "$OUT/llama-$t.gguf")
  fi
  row "$t" llama-quantize "$OUT/llama-$t.gguf" "" "$peer"
  [ -n "$CALIB" ] && row "$t" "llama-quantize --imatrix" "$OUT/llama-imat-$t.gguf" "" "$peer"
  timed "$QCC" "$MODEL" --format=gguf:$t -o "$OUT/qcc-rtn-$t.gguf" --quiet
  row "$t" "qcc (no calibration)" "$OUT/qcc-rtn-$t.gguf" "$SECS" "$peer"
  if [ -n "$CALIB" ]; then
    for m in $METHODS; do
      timed "$QCC" "$MODEL" --calib "$CALIB" --method="$m" --format=gguf:$t -o "$OUT/qcc-$m-$t.gguf" --quiet
      row "$t" "qcc --method=$m" "$OUT/qcc-$m-$t.gguf" "$SECS" "$peer"
    done
    if [ "$t" = "$BPW_OF" ]; then
      b=$(tensor_bpw "$OUT/llama-imat-$t.gguf")
      timed "$QCC" "$MODEL" --calib "$CALIB" --bpw "$b" --format=gguf -o "$OUT/qcc-bpw-$t.gguf" --quiet
      row "$t" "qcc --bpw $(printf %.3f "$b")" "$OUT/qcc-bpw-$t.gguf" "$SECS" "$peer"
    fi
  fi
done
