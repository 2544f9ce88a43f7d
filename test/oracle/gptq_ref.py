#!/usr/bin/env python3
"""An independent float64 NumPy GPTQ (Frantar et al. 2022, Algorithm 1) as the
oracle for qcc's quant/GPTQ: same Hessian, same min-max grid, compare codes.

  gptq_ref.py compare GPTQ_CHECK   random cases vs the C++ tool (exit 1 on mismatch)
  gptq_ref.py singular GPTQ_CHECK  Hessians with zero and duplicated channels

The grid is the paper's: per group, symmetric max-abs or asymmetric min-max
(range widened to include 0) with a rounded zero point; the quantizer's own
arithmetic is float32 as in the C++ grid, everything else float64. A group's
parameters are fitted on the row's error-compensated values when the group's
first column (in processing order) is reached.
"""
import subprocess
import sys
import tempfile
import os

import numpy as np

f32 = np.float32


def fit(x, bits, sym):
    x = x.astype(f32)
    qmax = (1 << bits) - 1
    half = 1 << (bits - 1)
    if sym:
        s = f32(np.max(np.abs(x))) / f32(half - 1)
        z = f32(half)
    else:
        mn = f32(min(f32(0), np.min(x)))
        mx = f32(max(f32(0), np.max(x)))
        s = f32(mx - mn) / f32(qmax)
        z = f32(np.clip(np.round(-mn / s), 0, qmax)) if s > 0 else f32(0)
    return s, z


def rnd(v, s, z, bits):
    qmax = (1 << bits) - 1
    if not s > 0:
        return int(z), f32(s * (z - z)), 0.0
    t = f32(f32(v) / s) + z
    q = int(np.clip(np.round(t), 0, qmax))
    return q, f32(s * f32(q - z)), abs(abs(float(t) - np.floor(float(t))) - 0.5)


def gptq(W, H, bits, group, sym, actorder, damp=0.01):
    W = W.astype(np.float64).copy()
    H = H.copy()
    rows, n = W.shape
    dead = np.diag(H) <= 0
    H[dead, dead] = 1
    W[:, dead] = 0
    perm = np.argsort(-np.diag(H), kind="stable") if actorder else np.arange(n)
    inv = np.empty(n, dtype=int)
    inv[perm] = np.arange(n)
    W = W[:, perm]
    H = H[perm][:, perm]
    d = damp * np.mean(np.diag(H))
    while True:
        try:
            L = np.linalg.cholesky(H + d * np.eye(n))
            Hinv = np.linalg.inv(L).T @ np.linalg.inv(L)
            U = np.linalg.cholesky(Hinv).T  # upper, Hinv = U^T U
            break
        except np.linalg.LinAlgError:
            d *= 10
    G = group if group > 0 else n
    first = {}
    for g in range(n // G):
        first.setdefault(min(inv[g * G:(g + 1) * G]), []).append(g)
    codes = np.zeros((rows, n), dtype=np.int64)
    margin = np.ones((rows, n))
    params = {}
    for i in range(n):
        for g in first.get(i, []):
            for r in range(rows):
                params[r, g] = fit(W[r, inv[g * G:(g + 1) * G]], bits, sym)
        c = perm[i]
        for r in range(rows):
            s, z = params[r, c // G]
            q, v, m = rnd(W[r, i], s, z, bits)
            codes[r, c] = q
            margin[r, c] = m
            err = (W[r, i] - float(v)) / U[i, i]
            W[r, i] = float(v)
            W[r, i + 1:] -= err * U[i, i + 1:]
    return codes, margin


def run_tool(tool, W, H, args, tmp):
    rows, n = W.shape
    W.astype(np.float32).tofile(os.path.join(tmp, "W"))
    H.astype(np.float64).tofile(os.path.join(tmp, "H"))
    out = os.path.join(tmp, "out")
    r = subprocess.run([tool, os.path.join(tmp, "W"), os.path.join(tmp, "H"), str(rows), str(n)]
                       + args + [out], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gptq-check failed: {r.stderr}")
    raw = open(out, "rb").read()
    codes = np.frombuffer(raw[:4 * rows * n], dtype=np.int32).reshape(rows, n)
    vals = np.frombuffer(raw[4 * rows * n:], dtype=np.float32).reshape(rows, n)
    return codes, vals, r.stdout


def hessian(rng, n, tokens=512):
    X = rng.standard_normal((tokens, n)) * rng.uniform(0.1, 3.0, n)
    return X.T @ X


def compare(tool):
    rng = np.random.default_rng(7)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rows, n, bits, group, sym, act in [(24, 96, 4, 32, False, False), (24, 96, 4, 32, True, True),
                                               (16, 128, 3, 0, False, True), (16, 64, 2, 16, False, False),
                                               (20, 96, 8, 32, True, False), (12, 160, 4, 32, False, True)]:
            W = (rng.standard_normal((rows, n)) * 0.05).astype(np.float32)
            H = hessian(rng, n)
            ref, margin = gptq(W, H, bits, group, sym, act)
            got, _, _ = run_tool(tool, W, H, [str(bits), str(group), "sym" if sym else "asym",
                                              "actorder" if act else "plain"], tmp)
            diff = 0
            for r in range(rows):
                cols = np.nonzero(ref[r] != got[r])[0]
                if len(cols) == 0:
                    continue
                # the first differing code of a row must sit on an exact tie
                # (later ones follow from it through the error propagation)
                order = np.argsort(-np.diag(H), kind="stable") if act else np.arange(n)
                firstc = min(cols, key=lambda c: list(order).index(c))
                if margin[r, firstc] > 1e-5:
                    diff += 1
            total = rows * n
            print(f"rows {rows} n {n} bits {bits} group {group} sym {sym} act-order {act}: "
                  f"{int((ref == got).sum())}/{total} codes equal, {diff} rows differ off a tie")
            bad += diff
    if bad:
        sys.exit(1)


def singular(tool):
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        n, rows = 64, 16
        X = rng.standard_normal((200, n))
        X[:, 5] = 0          # dead channel
        X[:, 17] = 0
        X[:, 9] = X[:, 8]    # duplicated channels: singular Hessian
        X[:, 40] = X[:, 41] = X[:, 42]
        H = X.T @ X
        W = (rng.standard_normal((rows, n)) * 0.05).astype(np.float32)
        for args in (["4", "32", "asym", "actorder"], ["3", "0", "sym", "plain"],
                     ["ggml:Q4_0", "-", "-", "actorder"], ["ggml:Q2_K", "-", "-", "plain"]):
            if args[0] == "ggml:Q2_K":
                n2 = 256
                X2 = rng.standard_normal((300, n2))
                X2[:, :10] = 0
                X2[:, 100:120] = X2[:, 99:100]
                H2 = X2.T @ X2
                W2 = (rng.standard_normal((rows, n2)) * 0.05).astype(np.float32)
                codes, vals, out = run_tool(tool, W2, H2, args, tmp)
            else:
                codes, vals, out = run_tool(tool, W, H, args, tmp)
            assert np.all(np.isfinite(vals)), "non-finite rounded weights"
            print(" ".join(args), "->", out.strip())
            assert "dead" in out and int(out.split()[5]) > 0, "dead channels not detected"
        # a Hessian that is all zero (every channel dead)
        codes, vals, out = run_tool(tool, W, np.zeros((n, n)), ["4", "32", "asym", "plain"], tmp)
        assert np.all(vals == 0), "all-dead layer must round to zero"
        print("all-zero Hessian ->", out.strip())


if __name__ == "__main__":
    {"compare": compare, "singular": singular}[sys.argv[1]](sys.argv[2])
