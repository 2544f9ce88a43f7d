#!/usr/bin/env bash
# qcc's GGUF files against llama-quantize's, judged by llama.cpp itself.
#
#   bench/llamacpp_judge.sh LLAMA_BIN_DIR [MODEL] [TYPES...]
#
# LLAMA_BIN_DIR holds llama-quantize and llama-perplexity from a llama.cpp build
# you made yourself (this repository does not build or ship llama.cpp).
# For each TYPE: qcc writes MODEL as gguf:TYPE; llama-quantize writes the same
# TYPE from qcc's F32 GGUF (no importance matrix); llama-perplexity scores both
# against the F32 model's logits (100 chunks x 512 tokens of wikitext-2):
# PPL, mean KLD, top-1 agreement. Prints one table row per file and a ratio.
set -euo pipefail
BIN=${1:?usage: llamacpp_judge.sh LLAMA_BIN_DIR [MODEL] [TYPES...]}
MODEL=${2:-../shared/models/debtext-29m}
shift $(( $# >= 2 ? 2 : 1 ))
TYPES=${*:-Q8_0 Q6_K Q5_K_M Q4_K_M Q4_K_S Q4_0 Q3_K_M Q2_K}
TEXT=${TEXT:-../shared/data/wikitext-2-raw-v1/wikitext2_test_joined.txt}
CHUNKS=${CHUNKS:-100}
QCC=${QCC:-./build/tools/qcc/qcc}
OUT=${OUT:-/tmp/qcc-judge}
mkdir -p "$OUT"

"$QCC" "$MODEL" --format=gguf:F32 -o "$OUT/f32.gguf" --quiet
"$BIN/llama-perplexity" -m "$OUT/f32.gguf" -f "$TEXT" -c 512 --chunks "$CHUNKS" \
    --kl-divergence-base "$OUT/base.kld" > "$OUT/base.log" 2>&1

score() { # file -> "ppl kld top1"
  "$BIN/llama-perplexity" -m "$1" --kl-divergence-base "$OUT/base.kld" --kl-divergence \
      -c 512 --chunks "$CHUNKS" > "$1.log" 2>&1
  python3 - "$1.log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
ppl = re.search(r"Mean PPL\(Q\)\s*:\s*([0-9.]+)", t)
kld = re.search(r"Mean\s+KLD:\s*([0-9.]+)", t)
top = re.search(r"Same top p:\s*([0-9.]+)", t)
print(ppl.group(1) if ppl else "nan", kld.group(1) if kld else "nan", top.group(1) if top else "nan")
PY
}

printf "%-8s | %-10s | %9s | %6s | %10s | %10s | %7s | %s\n" type tool "size MiB" bpw PPL "mean KLD" top1% "KLD ratio qcc/llama"
for t in $TYPES; do
  "$QCC" "$MODEL" --format=gguf:$t -o "$OUT/qcc-$t.gguf" --quiet
  "$BIN/llama-quantize" "$OUT/f32.gguf" "$OUT/llama-$t.gguf" "$t" > "$OUT/llama-$t.quant.log" 2>&1
  read -r qp qk qt < <(score "$OUT/qcc-$t.gguf")
  read -r lp lk lt < <(score "$OUT/llama-$t.gguf")
  nw=$(python3 -c "print(29368832)")
  for tool in qcc llama; do
    f="$OUT/$tool-$t.gguf"; sz=$(stat -c %s "$f")
    if [ $tool = qcc ]; then p=$qp k=$qk tp=$qt; else p=$lp k=$lk tp=$lt; fi
    ratio=$(python3 -c "print(f'{float(\"$qk\")/float(\"$lk\"):.3f}' if float('$lk')>0 else '-')")
    printf "%-8s | %-10s | %9.2f | %6.3f | %10s | %10s | %7s | %s\n" "$t" "$tool" \
      "$(python3 -c "print($sz/1048576)")" "$(python3 -c "print($sz*8/$nw)")" "$p" "$k" "$tp" \
      "$([ $tool = qcc ] && echo "$ratio (size ratio $(python3 -c "print(f'{$sz/$(stat -c %s "$OUT/llama-$t.gguf"):.4f}')"))")"
  done
done
