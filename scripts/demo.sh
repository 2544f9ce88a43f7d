#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, then import,
# evaluate and generate with ../shared/models/debtext-29m, write a Q4_K_M GGUF
# that llama.cpp loads, with its KL divergence against the float model, and
# compile the model to a native executable that runs on that file.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-../shared/models/debtext-29m}
TEXT=${2:-../shared/data/wikitext-2-raw-v1/wikitext2_test_joined.txt}
bash scripts/install-deps.sh
cmake -G Ninja -B build -DCMAKE_BUILD_TYPE=Release
ninja -C build qcc qcc-opt
mkdir -p out
./build/tools/qcc/qcc import "$MODEL" -o out/model.mlir
echo "qcc: wrote out/model.mlir ($(grep -c 'qcc.linear' out/model.mlir) linear layers)"
./build/tools/qcc/qcc eval "$MODEL" --text "$TEXT" --ctx 512 --chunks 100 --protocol llama.cpp
./build/tools/qcc/qcc generate "$MODEL" -p "The kernel" -n 40
# Quantize to a llama.cpp GGUF and measure what it costs (KL divergence vs float).
./build/tools/qcc/qcc eval "$MODEL" --text "$TEXT" --ctx 512 --chunks 20 --protocol llama.cpp \
    --save-logits out/base.lp --no-progress > /dev/null
./build/tools/qcc/qcc "$MODEL" --format=gguf:Q4_K_M -o out/model-Q4_K_M.gguf
./build/tools/qcc/qcc eval out/model-Q4_K_M.gguf --text "$TEXT" --ctx 512 --chunks 20 \
    --protocol llama.cpp --kld-base out/base.lp
# Compile to native code: out/model (an executable) runs on out/model.gguf.
./build/tools/qcc/qcc "$MODEL" --format=gguf:Q4_K_M --target=cpu -o out/model
./out/model -p "The kernel" -n 40
./out/model --bench -p 512 -n 128 -r 3
