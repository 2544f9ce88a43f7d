#!/usr/bin/env python3
"""ggml block formats: qcc's dequantization equals gguf-py's (the reference
numpy port of ggml) bit for bit, on qcc's own blocks and on random block bytes;
and qcc's quantization error is within the format's expected bound.

    check_blocks.py GGML_BLOCKS_TOOL DIR
"""
import os
import subprocess
import sys

import numpy as np
from gguf import quants, GGMLQuantizationType as T

# relative RMS error bounds for heavy-tailed Gaussian-like weights
BOUNDS = {"Q8_0": 0.008, "Q6_K": 0.03, "Q5_K": 0.05, "Q5_1": 0.05, "Q5_0": 0.06, "Q4_K": 0.10,
          "Q4_1": 0.10, "Q4_0": 0.12, "IQ4_NL": 0.12, "Q3_K": 0.22, "Q2_K": 0.40,
          "F16": 1e-3, "BF16": 5e-3, "F32": 0.0}


def main():
    tool, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    ok = True
    for name, bound in BOUNDS.items():
        qt = getattr(T, name)
        n = 256 * 3 if name not in ("F32",) else 256
        rows = 16
        subprocess.run([tool, name, str(rows), str(n), "11", d], check=True)
        x = np.fromfile(os.path.join(d, "x.f32"), np.float32).reshape(rows, n)
        for blocks, mine in (("q.bin", "dq.f32"), ("rnd.bin", "rnd_dq.f32")):
            raw = np.fromfile(os.path.join(d, blocks), np.uint8).reshape(rows, -1)
            ref = quants.dequantize(raw, qt).astype(np.float32).reshape(rows, n)
            got = np.fromfile(os.path.join(d, mine), np.float32).reshape(rows, n)
            if not np.array_equal(ref.view(np.uint32), got.view(np.uint32)):
                bad = np.argwhere(ref.view(np.uint32) != got.view(np.uint32))
                r, c = bad[0]
                print(f"{name} {blocks}: dequantization differs at [{r},{c}]: qcc {got[r, c]!r} gguf-py {ref[r, c]!r}")
                ok = False
        got = np.fromfile(os.path.join(d, "dq.f32"), np.float32).reshape(rows, n)
        body = slice(4, rows)  # the structured rows are checked separately
        err = np.sqrt(((got[body] - x[body]) ** 2).mean() / (x[body] ** 2).mean())
        zero_ok = np.all(got[0] == 0)
        const_err = np.abs(got[1] - x[1]).max()
        status = "ok" if err <= bound and zero_ok and const_err <= 0.5 * bound + 1e-3 else "FAIL"
        if status == "FAIL":
            ok = False
        print(f"{name}: rel rms error {err:.4f} (bound {bound}), zero row exact {zero_ok}, "
              f"constant row max err {const_err:.2e}: {status}")
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
