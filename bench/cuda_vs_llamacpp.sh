#!/usr/bin/env bash
# qcc's GPU binaries (--target=cuda) against llama.cpp's CUDA build on the same
# random 7B-shape GGUF files, the same GPU, in one run. Runs on the GPU
# machine (the device tool); qcc itself does not run there.
#
#   bench/cuda_vs_llamacpp.sh LLAMA_BIN_DIR DIR [TYPE...]
#
# LLAMA_BIN_DIR holds llama-bench from a llama.cpp CUDA build you made
# yourself (this repository does not build or ship llama.cpp). DIR holds
# cu_7b_TYPE, each `qcc r7b_TYPE.gguf --target=cuda -o cu_7b_TYPE` of a file
# that bench/make_random_gguf.py wrote with the same arguments as here
# (Llama-2-7B shape, debtext-29m's vocabulary from DIR/dt_Q4_0.gguf or
# TOKENIZER), and shared libraries the binaries need that the machine lacks.
# TYPEs default to Q4_0 Q4_0_G128 Q4_K_M Q8_0 (Q4_0_G128: a Q4_0 file whose
# runs of four blocks share one scale, `--group 128`, the symmetric W4 g128
# grid, which qcc streams at 4.125 bits a weight; Q4_1 and Q4_1_G128, the
# asymmetric one at 4.25, and Q8_0_G128, the symmetric 8-bit one at 8.125,
# may be named too). For each: the file is written to TMP
# (/tmp), then llama-bench (-ngl 99, flash attention off and on, pp512 and
# tg128, -r REPS) and `cu_7b_TYPE --bench` on it, both as JSON; the table
# gives tokens/s, qcc / llama.cpp (against llama.cpp's faster setting), and
# generation's weight traffic (tg t/s x the bytes of the tensors a step
# reads: for qcc on the G128 types, 16.5 bytes a Q4_0 block, 17 a Q4_1,
# 32.5 a Q8_0)
# against a device-to-device copy measured in the same run. Then
# qcc's batched decoding (`--bench -b B`, B = BATCH, 16 by default: B
# sequences, one token each a step) as aggregate tokens/s and as a multiple
# of its own batch-1 rate (llama-bench has no such test). DEPTHS="1024 4096"
# adds generation at those context depths: qcc's `--bench -d D` against
# llama-batched-bench's S_TG with D prompt tokens (-npp D -ntg 128 -npl 1,
# flash attention off and on; this llama-bench has no depth option), so
# LLAMA_BIN_DIR must then hold llama-batched-bench too. KV8=1 adds, at
# the same depths, 8-bit caches on both sides: qcc's `--kv-type fp8` (E4M3,
# a scale a head's row) against llama.cpp's `-ctk q8_0 -ctv q8_0` (which
# needs its flash attention).
set -euo pipefail
BIN=${1:?usage: cuda_vs_llamacpp.sh LLAMA_BIN_DIR DIR [TYPE...]}
DIR=$(cd "${2:?usage: cuda_vs_llamacpp.sh LLAMA_BIN_DIR DIR [TYPE...]}" && pwd)
shift 2
TYPES=${*:-Q4_0 Q4_0_G128 Q4_K_M Q8_0}
REPS=${REPS:-3}
BATCH=${BATCH:-16}
TMP=${TMP:-/tmp}
DEPTHS=${DEPTHS:-}
KV8=${KV8:-}
TOKENIZER=${TOKENIZER:-$DIR/dt_Q4_0.gguf}
HERE=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH=$DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
bw=$(python3 -c "
import torch
n = 1 << 31
a = torch.empty(n, dtype=torch.uint8, device='cuda'); b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
torch.cuda.synchronize(); s.record()
for _ in range(10): b.copy_(a)
e.record(); torch.cuda.synchronize()
print('%.0f' % (2 * n * 10 / (s.elapsed_time(e) * 1e-3) / 1e9))")
echo "device-to-device copy: $bw GB/s (bytes read + written)"
echo
echo "| type | test | llama.cpp t/s (fa 0 / 1) | qcc t/s | qcc / llama.cpp | tg weight traffic / copy bandwidth (qcc, llama.cpp) |"
echo "|---|---|---:|---:|---:|---:|"
for t in $TYPES; do
  f=$TMP/r7b_$t.gguf
  gen=(--type "$t")
  case $t in *_G128) gen=(--type "${t%_G128}" --group 128) ;; esac
  [ -f "$f" ] || python3 "$HERE/make_random_gguf.py" "$f" "${gen[@]}" --tokenizer-from "$TOKENIZER" 2>/dev/null
  "$BIN/llama-bench" -m "$f" -p 512 -n 128 -r "$REPS" -ngl 99 -fa 0,1 -o json > "$TMP/llama_$t.json" 2>/dev/null
  "$DIR/cu_7b_$t" -m "$f" --bench -p 512 -n 128 -r "$REPS" -o json > "$TMP/qcc_$t.json"
  "$DIR/cu_7b_$t" -m "$f" --bench -p 0 -n 128 -b "$BATCH" -r "$REPS" -o json > "$TMP/qcc_b_$t.json"
  : > "$TMP/qcc_d_$t.json"; : > "$TMP/llama_d_$t.txt"
  if [ -n "$DEPTHS" ]; then
    maxd=0; for d in $DEPTHS; do [ "$d" -gt "$maxd" ] && maxd=$d; done
    for fa in "" "-fa"; do
      echo "fa=${fa:+1}" >> "$TMP/llama_d_$t.txt"
      "$BIN/llama-batched-bench" -m "$f" -c $((maxd + 256)) -b 2048 -ub 512 -npp "${DEPTHS// /,}" -ntg 128 \
        -npl 1 -ngl 99 $fa 2>/dev/null | grep "^|" >> "$TMP/llama_d_$t.txt"
    done
    for d in $DEPTHS; do
      "$DIR/cu_7b_$t" -m "$f" --bench -p 0 -n 128 -d "$d" -r "$REPS" -o json >> "$TMP/qcc_d_$t.json"
    done
  fi
  : > "$TMP/qcc_d8_$t.json"; : > "$TMP/llama_d8_$t.txt"
  if [ -n "$DEPTHS" ] && [ -n "$KV8" ]; then
    echo "fa=1" >> "$TMP/llama_d8_$t.txt"
    "$BIN/llama-batched-bench" -m "$f" -c $((maxd + 256)) -b 2048 -ub 512 -npp "${DEPTHS// /,}" -ntg 128 \
      -npl 1 -ngl 99 -fa -ctk q8_0 -ctv q8_0 2>/dev/null | grep "^|" >> "$TMP/llama_d8_$t.txt"
    for d in $DEPTHS; do
      "$DIR/cu_7b_$t" -m "$f" --kv-type fp8 --bench -p 0 -n 128 -d "$d" -r "$REPS" -o json >> "$TMP/qcc_d8_$t.json"
    done
  fi
  python3 - "$t" "$f" "$TMP/llama_$t.json" "$TMP/qcc_$t.json" "$bw" "$TMP/qcc_b_$t.json" \
    "$TMP/qcc_d_$t.json" "$TMP/llama_d_$t.txt" "$TMP/qcc_d8_$t.json" "$TMP/llama_d8_$t.txt" <<'PY'
import json, struct, sys
typ, gguf, lj, qj, bw, bj, dj, ld, dj8, ld8 = sys.argv[1:]
bw = float(bw) * 1e9
# Bytes a decoding step reads: every tensor but the token embedding (one row).
def tensor_bytes(path, g128=False):
    sizes = {0: (1, 4), 1: (1, 2), 2: (32, 16.5 if g128 else 18), 3: (32, 17 if g128 else 20),
             8: (32, 32.5 if g128 else 34),
             12: (256, 144), 14: (256, 210)}
    with open(path, "rb") as f:
        f.read(4); _, nt, nkv = struct.unpack("<IQQ", f.read(20))
        def skip(t):
            sc = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
            if t in sc: f.read(sc[t]); return
            if t == 8: f.read(struct.unpack("<Q", f.read(8))[0]); return
            et, n = struct.unpack("<IQ", f.read(12))
            for _ in range(n): skip(et)
        for _ in range(nkv):
            f.read(struct.unpack("<Q", f.read(8))[0]); skip(struct.unpack("<I", f.read(4))[0])
        total = 0
        for _ in range(nt):
            name = f.read(struct.unpack("<Q", f.read(8))[0]).decode()
            nd = struct.unpack("<I", f.read(4))[0]
            ne = struct.unpack("<%dQ" % nd, f.read(8 * nd))
            ty, _ = struct.unpack("<IQ", f.read(12))
            n = 1
            for d in ne: n *= d
            bs, bb = sizes[ty]
            if name != "token_embd.weight":
                total += n // bs * bb
        return total
step = tensor_bytes(gguf)
qstep = tensor_bytes(gguf, True) if typ.endswith("_G128") else step
ll = json.load(open(lj)); qq = json.load(open(qj))
for test, p, g in (("pp512", 512, 0), ("tg128", 0, 128)):
    l = {r["flash_attn"]: r["avg_ts"] for r in ll if r["n_prompt"] == p and r["n_gen"] == g}
    q = [r["avg_ts"] for r in qq if r["n_prompt"] == p and r["n_gen"] == g][0]
    best = max(l.values())
    frac = "%.2f, %.2f" % (q * qstep / bw, best * step / bw) if g else ""
    print("| %s | %s | %s | %.1f | %.2f | %s |" % (
        typ, test, " / ".join("%.1f" % l[k] for k in sorted(l)), q, q / best, frac))
    if g:
        b = json.load(open(bj))[0]
        print("| %s | tg%d x%d (aggregate) | - | %.1f | %.2f x qcc's batch 1 | |" % (
            typ, g, b["n_parallel"], b["avg_ts"], b["avg_ts"] / q))
# Depths: qcc's JSON arrays one after another; llama-batched-bench's tables
# (PP, TG, B, N_KV, T_PP, S_PP, T_TG, S_TG, ...) under "fa=" lines.
def depths(dj, ld, label):
    dec = json.JSONDecoder(); text = open(dj).read().strip(); qd = {}
    while text:
        arr, end = dec.raw_decode(text); text = text[end:].strip()
        for r in arr:
            qd[r["n_depth"]] = r["avg_ts"]
    lt = {}; fa = None
    for line in open(ld):
        if line.startswith("fa="):
            fa = line.strip()[3:] or "0"; continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].isdigit():
            lt.setdefault(int(cells[0]), {})[fa] = float(cells[7])
    for d in sorted(qd):
        l = lt.get(d, {})
        best = max(l.values()) if l else float("nan")
        print("| %s | tg128 @ d%d%s | %s | %.1f | %.2f | |" % (
            typ, d, label, " / ".join("%.1f" % l[k] for k in sorted(l)), qd[d], qd[d] / best))
depths(dj, ld, "")
depths(dj8, ld8, ", 8-bit KV (qcc fp8, llama.cpp q8_0 fa 1)")
PY
done
