#!/usr/bin/env bash
# Seed corpora for the fuzz targets, made from the files the tests use: small random
# checkpoints (test/oracle/tiny_model.py) and what qcc writes from them (GGUF in several
# block formats, GPTQ / AWQ / compressed-tensors exports), plus the shared models'
# configs and tokenizers. Nothing here is committed: the corpora are rebuilt.
#
#   test/fuzz/make_seeds.sh OUT [QCC] [SHARED]
#
# OUT/<target>/ gets one directory of seeds per fuzz target.
set -euo pipefail
OUT=$1
QCC=${2:-./build/tools/qcc/qcc}
SHARED=${3:-../shared}
HERE=$(cd "$(dirname "$0")" && pwd)
ORACLE="$HERE/../oracle"
PY=${PYTHON:-python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for t in safetensors checkpoint_index hf_config tokenizer_json sentencepiece gguf gguf_tokenizer \
         quant_checkpoint; do
  mkdir -p "$OUT/$t"
done

small="--hidden 32 --ffn 64 --layers 1 --heads 2 --kv-heads 1 --vocab 270"
i=0
for variant in "--dtype F32" "--dtype F16 --tied" "--dtype BF16 --family qwen2 --bias" \
               "--family mistral --config-style 4" "--rope llama3" "--rope linear --head-dim 8"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$PY" "$ORACLE/tiny_model.py" write "$W/m$i" $small $variant >/dev/null
  cp "$W/m$i/model.safetensors" "$OUT/safetensors/m$i.safetensors"
  cp "$W/m$i/config.json" "$OUT/hf_config/m$i.json"
done
cp "$W/m1/tokenizer.json" "$OUT/tokenizer_json/tiny.json"
# shellcheck disable=SC2086
"$PY" "$ORACLE/tiny_model.py" write "$W/sharded" $small --shards 2 >/dev/null
cp "$W/sharded/model.safetensors.index.json" "$OUT/checkpoint_index/index.json"

for ty in F32 F16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K; do
  "$QCC" "$W/m2" --format="gguf:$ty" -o "$OUT/gguf/m2-$ty.gguf" --quiet
done
"$QCC" "$W/m3" --format=gguf:Q4_0 -o "$OUT/gguf/m3-Q4_0.gguf" --quiet
cp "$OUT"/gguf/m2-Q4_0.gguf "$OUT"/gguf/m3-Q4_0.gguf "$OUT/gguf_tokenizer/"

# quant_checkpoint: the first byte picks the harness's quantization_config
# (quant_checkpoint_fuzz.cpp, kConfigs), the rest is the export's safetensors file.
export_seed() { # INDEX NAME qcc-flags...
  local idx=$1 name=$2
  shift 2
  "$QCC" "$W/m2" "$@" -o "$W/q-$name" --quiet
  cp "$W/q-$name/config.json" "$OUT/hf_config/q-$name.json"
  { printf "\\x$(printf %02x "$idx")"; cat "$W/q-$name/model.safetensors"; } \
    >"$OUT/quant_checkpoint/$name"
}
export_seed 0 gptq4 --format=gptq --bits 4 --group 32
export_seed 1 gptq3 --format=gptq --bits 3 --group 32
export_seed 2 gptq2 --format=gptq --bits 2 --group -1
export_seed 3 gptq8 --format=gptq --bits 8 --group 32
export_seed 4 gptq4a --format=gptq --bits 4 --group 32 --asym
export_seed 5 awq --format=awq --group 32
export_seed 6 ct4 --format=compressed-tensors --bits 4 --group 32
export_seed 7 ct8 --format=compressed-tensors --bits 8 --group -1 --asym

for d in "$SHARED"/models/*/; do
  n=$(basename "$d")
  [ -f "$d/config.json" ] && cp "$d/config.json" "$OUT/hf_config/$n.json"
  [ -f "$d/tokenizer.json" ] && cp "$d/tokenizer.json" "$OUT/tokenizer_json/$n.json"
  for m in "$d"/*.model; do
    [ -f "$m" ] && cp "$m" "$OUT/sentencepiece/$n-$(basename "$m")"
  done
done
for t in "$OUT"/*/; do
  printf '%s: %s seeds\n' "$(basename "$t")" "$(ls "$t" | wc -l)"
done
