#!/usr/bin/env bash
# Wall time of the whole calibrated pipeline (loading, calibration, GPTQ, packing,
# writing) against its arithmetic floor on the same machine, measured in the same run:
# qcc-calib-floor times the products sequential GPTQ cannot skip (every linear layer
# over every calibration token, and X^T X of every distinct linear input) with qcc's
# own kernels at the model's shapes.
#
#   bench/calib_time.sh [MODEL] [TYPE]      (defaults: ../shared/models/debtext-29m Q4_K_M)
#
# Environment: QCC, FLOOR (binaries, default ./build/...), CALIB (calibration text),
# SAMPLES (128), CTX (512), RUNS (2: the pipeline's best of RUNS), OUT (/tmp/calib-time).
# Prints one markdown table row; run it alone on the machine.
set -euo pipefail
MODEL=${1:-../shared/models/debtext-29m}
TYPE=${2:-Q4_K_M}
QCC=${QCC:-./build/tools/qcc/qcc}
FLOOR=${FLOOR:-./build/bench/qcc-calib-floor}
CALIB=${CALIB:-../shared/data/calib/calib_debtext.txt}
SAMPLES=${SAMPLES:-128}
CTX=${CTX:-512}
RUNS=${RUNS:-2}
OUT=${OUT:-/tmp/calib-time}
mkdir -p "$OUT"
# The floor's linear layers in the preset's main block format (Q4_K_M -> Q4_K),
# integer products as the calibration pass runs its rounded layers.
LINEAR_TYPE=${LINEAR_TYPE:-${TYPE%_[SML]}}

best=""
for r in $(seq "$RUNS"); do
  t0=$(date +%s.%N)
  "$QCC" "$MODEL" --calib "$CALIB" --calib-samples "$SAMPLES" --calib-ctx "$CTX" \
    --format="gguf:$TYPE" --no-progress -o "$OUT/out.gguf" >"$OUT/qcc-$r.log" 2>&1
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "pipeline run $r: $t s" >&2
  if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
done

# Shapes from config.json (text_config when nested).
read -r hidden ffn heads kv hd layers < <(python3 - "$MODEL/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c = c.get("text_config", c)
h, nh = c["hidden_size"], c["num_attention_heads"]
print(h, c["intermediate_size"], nh, c.get("num_key_value_heads", nh),
      c.get("head_dim") or h // nh, c["num_hidden_layers"])
PY
)
"$FLOOR" --hidden "$hidden" --ffn "$ffn" --heads "$heads" --kv-heads "$kv" --head-dim "$hd" \
  --layers "$layers" --tokens $((SAMPLES * CTX)) --type "$LINEAR_TYPE" --pipeline-seconds "$best" | tee "$OUT/floor.txt" >&2
floor=$(sed -n 's/^floor for [0-9]* layers: \([0-9.]*\) s.*/\1/p' "$OUT/floor.txt")
awk -v m="$(basename "$MODEL")" -v ty="$TYPE" -v s="$SAMPLES" -v c="$CTX" -v b="$best" -v f="$floor" \
  'BEGIN { printf "| %s | %s | %s x %s | %.1f | %.1f | %.2f |\n", m, ty, s, c, b, f, b / f }'
