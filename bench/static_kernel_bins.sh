#!/usr/bin/env bash
# Static executables of the kernel tests and benchmark, for machines that
# have other CPUs but not this build's libraries (the lent `device` machine:
# Sapphire Rapids, AVX-512 VNNI and AMX; Ubuntu, no MLIR):
#
#   bench/static_kernel_bins.sh [BUILD_DIR] [OUT_DIR]
#
# writes OUT_DIR/quantdot-test (test/unit/QuantDotTest.cpp: every kernel
# variant the CPU runs against the scalar reference, bit for bit) and
# OUT_DIR/qcc-quant-gemm (bench/quant_gemm.cpp). Defaults: ./build, ./devbin
# (ignored by git; the device tool carries it with `carry: ["devbin"]`).
set -euo pipefail
B=${1:-build}
OUT=${2:-devbin}
mkdir -p "$OUT"
LLVM=/usr/lib/llvm-22
LIBS=("$B/runtime/kernels/libQccKernels.a" "$B/formats/libQccGGML.a" "$B/formats/libQccGGMLTypes.a"
      "$B/frontends/libQccFrontends.a" "$LLVM/lib/libLLVMSupport.a" "$LLVM/lib/libLLVMDemangle.a")
FLAGS=(-O2 -std=gnu++17 -static -I. -I"$B" -I"$LLVM/include")
# Static glibc warns about getpwnam in LLVMSupport (the kernels never call
# it): the compiler's messages go to OUT/build.log, shown only on failure.
build() {
  if ! c++ "${FLAGS[@]}" "$@" 2>> "$OUT/build.log"; then
    cat "$OUT/build.log" >&2
    exit 1
  fi
}
: > "$OUT/build.log"
build bench/quant_gemm.cpp "${LIBS[@]}" -fopenmp -lpthread -o "$OUT/qcc-quant-gemm"
build test/unit/QuantDotTest.cpp "${LIBS[@]}" -lgtest -lgtest_main -fopenmp -lpthread -o "$OUT/quantdot-test"
echo "wrote $OUT/quantdot-test and $OUT/qcc-quant-gemm"
