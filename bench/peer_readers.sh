#!/usr/bin/env bash
# qcc's readers against the peers' own dequantization, judged by llama.cpp's KLD.
#
#   bench/peer_readers.sh LLAMA_BIN_DIR BASE_KLD CHECKPOINT_DIR...
#
# For each GPTQ / AWQ / compressed-tensors CHECKPOINT_DIR (e.g. the ones
# bench/gptq_peers.sh leaves in OUT/llmcompressor and OUT/gptqmodel):
#   own      bench/peer_dequant.py: the checkpoint's own library dequantizes it
#            (GPTQModel / transformers + compressed-tensors), saved as float32,
#            then qcc --format=gguf:F32
#   qcc      qcc CHECKPOINT_DIR --format=gguf:F32 (qcc's reader)
#   gguf     qcc CHECKPOINT_DIR --format=gguf (groups moved into ggml blocks
#            without re-rounding; llama.cpp then rounds activations to 8 bits)
# each scored by llama-perplexity --kl-divergence against BASE_KLD (the F32
# model's logits, 100 x 512 tokens of TEXT). Environment: VENV, QCC, TEXT, OUT.
set -euo pipefail
BIN=${1:?usage: peer_readers.sh LLAMA_BIN_DIR BASE_KLD DIR...}
BASE=${2:?}
shift 2
VENV=${VENV:-/work/peers-venv}
QCC=${QCC:-./build/tools/qcc/qcc}
TEXT=${TEXT:-../shared/data/wikitext-2-raw-v1/wikitext2_test_joined.txt}
OUT=${OUT:-/tmp/peer-readers}
mkdir -p "$OUT"
kld() {
  "$BIN/llama-perplexity" -m "$1" --kl-divergence-base "$BASE" --kl-divergence -c 512 --chunks 100 \
      -t "$(nproc)" > "$1.log" 2>&1
  grep -oE "Mean +KLD: +[0-9.]+" "$1.log" | grep -oE "[0-9.]+$"
}
printf "| checkpoint | own dequantization KLD | qcc reader KLD | qcc / own | qcc --format=gguf KLD | gguf / qcc reader |\n|---|---|---|---|---|---|\n"
for d in "$@"; do
  n=$(basename "$d")
  "$VENV/bin/python" bench/peer_dequant.py "$d" "$OUT/own-$n" > /dev/null 2>&1
  "$QCC" "$OUT/own-$n" --format=gguf:F32 -o "$OUT/own-$n.gguf" --quiet
  "$QCC" "$d" --format=gguf:F32 -o "$OUT/qcc-$n.gguf" --quiet
  "$QCC" "$d" --format=gguf -o "$OUT/conv-$n.gguf" --quiet
  a=$(kld "$OUT/own-$n.gguf"); b=$(kld "$OUT/qcc-$n.gguf"); c=$(kld "$OUT/conv-$n.gguf")
  printf "| %s | %s | %s | %s | %s | %s |\n" "$n" "$a" "$b" "$(python3 -c "print(f'{$b/$a:.4f}')")" "$c" \
      "$(python3 -c "print(f'{$c/$b:.4f}')")"
done
