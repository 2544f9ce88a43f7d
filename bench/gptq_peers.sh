#!/usr/bin/env bash
# qcc --method=gptq against llm-compressor's and GPTQModel's GPTQ on the CPU (bench/gptq_peers.py).
#
#   bench/gptq_peers.sh [SAMPLES] [extra gptq_peers.py flags...]
#
# Makes the peers' venv when absent (PyPI only; the default torch wheel, CUDA libraries
# and all), copies qcc so a rebuild mid-run does not change the binary, then runs the
# three tools one after another at nice $NICE. Environment: VENV (/work/peers-venv),
# QCC (./build/tools/qcc/qcc), MODEL, CALIB, OUT (/tmp/gptq-peers), NICE (10), MD.
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${1:-128}
shift $(( $# > 0 ? 1 : 0 ))
VENV=${VENV:-/work/peers-venv}
QCC=${QCC:-./build/tools/qcc/qcc}
MODEL=${MODEL:-../shared/models/debtext-29m}
CALIB=${CALIB:-../shared/data/calib/calib_debtext.txt}
OUT=${OUT:-/tmp/gptq-peers}
NICE=${NICE:-10}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install torch transformers llmcompressor gptqmodel compressed-tensors
fi
mkdir -p "$OUT"
cp "$QCC" "$OUT/qcc.bin"
MODEL=$(realpath "$MODEL") CALIB=$(realpath "$CALIB")
"$VENV/bin/pip" list 2>/dev/null | grep -iE '^(torch|transformers|llmcompressor|gptqmodel|compressed-tensors|accelerate|datasets) ' >&2 || true
exec nice -n "$NICE" "$VENV/bin/python" bench/gptq_peers.py --model "$MODEL" --calib "$CALIB" \
  --samples "$SAMPLES" --qcc "$OUT/qcc.bin" --out "$OUT" ${MD:+--md "$MD"} "$@"
