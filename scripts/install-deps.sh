#!/usr/bin/env bash
# Installs everything qcc needs on Debian 12 (idempotent: packages already present are skipped).
#   scripts/install-deps.sh          product build dependencies (Debian packages)
#   scripts/install-deps.sh --test   plus the Python test oracles (PyPI: numpy, tokenizers, sentencepiece, gguf)
set -euo pipefail
# clang-22 with its sanitizer / libFuzzer runtimes and OpenMP (libomp-22-dev, which
# conflicts with Debian's default libomp-dev; g++ builds use libgomp) builds the fuzz
# targets (scripts/fuzz.sh).
PKGS=(cmake g++ libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 libclang-rt-22-dev
      libomp-22-dev libdnnl-dev
      ocl-icd-opencl-dev libflatbuffers-dev flatbuffers-compiler ninja-build libgtest-dev
      libsentencepiece-dev libicu-dev libopenblas-openmp-dev python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "${1:-}" = "--test" ]; then
  PY=${PYTHON:-python3}
  if ! $PY -c 'import numpy, tokenizers, sentencepiece, gguf' 2>/dev/null; then
    echo "install-deps: installing Python test oracles"
    $PY -m pip install -q numpy tokenizers sentencepiece gguf || \
      $PY -m pip install -q --break-system-packages numpy tokenizers sentencepiece gguf
  fi
fi
