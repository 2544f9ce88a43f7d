#!/usr/bin/env python3
"""Write a random-weight llama GGUF at real shapes, directly in ggml blocks.

    bench/make_random_gguf.py OUT.gguf --type Q4_0|Q4_1|Q4_K_M|Q8_0 --tokenizer-from FILE.gguf
        [--hidden 4096 --layers 32 --heads 32 --kv-heads 32 --ffn 11008 --seed 0] [--group 128]

For speed work on shapes no checkpoint here has (Llama-2-7B by default), on
machines with nothing but numpy (the GPU machine): the blocks are random
codes with scales that give weights of about N(0, 0.02) magnitude, written
tensor by tensor, so memory stays at one tensor. The vocabulary and every
tokenizer.* key are copied from --tokenizer-from (a GGUF), so llama.cpp and
qcc load the file with that tokenizer. The same arguments write the same
bytes on any machine (a binary compiled against the file here runs on a copy
written there). Tensor types follow llama-quantize's choices for the file
type: Q4_0 / Q4_1 / Q8_0 everywhere but output.weight (Q6_K); Q4_K_M is Q4_K with
Q6_K for output.weight and for attn_v / ffn_down in llama.cpp's "more bits"
layers (the first and last eighth, and every third between). --group 128
(Q4_0, Q4_1, Q8_0) gives each run of four blocks one scale (and min): a grid
of groups of 128, as a GPTQ / AWQ g128 checkpoint converts to Q4_0
(symmetric 4-bit), Q4_1 (asymmetric 4-bit) or Q8_0 (symmetric 8-bit).
"""
import argparse
import struct
import sys

import numpy as np

GGML = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 8, "Q4_K": 12, "Q6_K": 14}
BLOCK = {"F32": (1, 4), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q8_0": (32, 34), "Q4_K": (256, 144), "Q6_K": (256, 210)}
FILE_TYPE = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q4_K_M": 15}


# --- reading the tokenizer keys of a GGUF (v2/v3) ---------------------------
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_value(f, t):
    """(raw bytes of the value, parsed value) for GGUF value type t."""
    if t in SCALAR:
        n = struct.calcsize(SCALAR[t])
        b = f.read(n)
        return b, struct.unpack(SCALAR[t], b)[0]
    if t == 8:
        lb = f.read(8)
        s = f.read(struct.unpack("<Q", lb)[0])
        return lb + s, s.decode("utf-8", "replace")
    if t == 9:
        hb = f.read(12)
        et, n = struct.unpack("<IQ", hb)
        parts = [hb]
        for _ in range(n):
            parts.append(read_value(f, et)[0])
        return b"".join(parts), n
    raise SystemExit(f"{f.name}: unknown GGUF value type {t}")


def tokenizer_keys(path):
    """[(key, type, raw value bytes)] of the tokenizer.* keys, and the vocabulary size."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise SystemExit(f"{path}: not a GGUF file")
        version, _, n_kv = struct.unpack("<IQQ", f.read(20))
        if version not in (2, 3):
            raise SystemExit(f"{path}: GGUF version {version}, expected 2 or 3")
        keys, vocab = [], None
        for _ in range(n_kv):
            klen = struct.unpack("<Q", f.read(8))[0]
            key = f.read(klen).decode()
            t = struct.unpack("<I", f.read(4))[0]
            raw, val = read_value(f, t)
            if key.startswith("tokenizer."):
                keys.append((key, t, raw))
                if key == "tokenizer.ggml.tokens":
                    vocab = val
        if vocab is None:
            raise SystemExit(f"{path}: no tokenizer.ggml.tokens")
        return keys, vocab


# --- random blocks -----------------------------------------------------------
def half(x):
    return np.asarray(x, dtype=np.float16).view(np.uint16)


def blocks(rng, typ, rows, cols, std, group=32):
    """Random bytes of a [rows x cols] tensor of type typ (uint8 array)."""
    if typ == "F32":
        return np.ones(rows * cols, dtype=np.float32).view(np.uint8)  # norm weights
    bs, bb = BLOCK[typ]
    nb = rows * cols // bs
    out = np.empty((nb, bb), dtype=np.uint8)
    u = lambda n: rng.uniform(0.75, 1.25, n)
    # Runs of group / 32 blocks of a row share one scale (and min).
    grouped = lambda x: np.repeat(x[:: group // 32], group // 32) if group > 32 else x
    if typ == "Q4_0":
        d = grouped(std / 4.6 * u(nb))
        out[:, 0:2] = half(d).view(np.uint8).reshape(nb, 2)
        out[:, 2:] = rng.integers(0, 256, (nb, 16), dtype=np.uint8)
    elif typ == "Q4_1":  # d q + m, m about -7.5 d
        d = std / 4.6 * u(nb)
        m = -d * rng.uniform(6.5, 8.5, nb)
        d, m = grouped(d), grouped(m)
        out[:, 0:2] = half(d).view(np.uint8).reshape(nb, 2)
        out[:, 2:4] = half(m).view(np.uint8).reshape(nb, 2)
        out[:, 4:] = rng.integers(0, 256, (nb, 16), dtype=np.uint8)
    elif typ == "Q8_0":
        out[:, 0:2] = half(grouped(std / 73.0 * u(nb))).view(np.uint8).reshape(nb, 2)
        out[:, 2:] = rng.integers(-127, 128, (nb, 32), dtype=np.int8).view(np.uint8)
    elif typ == "Q4_K":
        # d * sc * q - dmin * m with sc, m 6-bit codes around 32
        out[:, 0:2] = half(std / (4.6 * 32) * u(nb)).view(np.uint8).reshape(nb, 2)
        out[:, 2:4] = half(std / 19.7 * u(nb)).view(np.uint8).reshape(nb, 2)
        out[:, 4:16] = rng.integers(0, 256, (nb, 12), dtype=np.uint8)
        out[:, 16:] = rng.integers(0, 256, (nb, 128), dtype=np.uint8)
    elif typ == "Q6_K":
        out[:, 0:192] = rng.integers(0, 256, (nb, 192), dtype=np.uint8)
        out[:, 192:208] = rng.integers(8, 24, (nb, 16), dtype=np.uint8)  # int8 scales 8..23
        out[:, 208:210] = half(std / (18.5 * 16) * u(nb)).view(np.uint8).reshape(nb, 2)
    return out.reshape(-1)


def tensor_types(a):
    """[(name, ne (ggml order), type)] in llama.cpp's order."""
    h, f, v, L = a.hidden, a.ffn, a.vocab, a.layers
    hd = h // a.heads
    kv = a.kv_heads * hd
    q4k = a.type == "Q4_K_M"
    base = "Q4_K" if q4k else a.type

    def more_bits(i):
        return i < L // 8 or i >= 7 * L // 8 or (i - L // 8) % 3 == 2

    out = [("token_embd.weight", (h, v), base)]
    for i in range(L):
        p = f"blk.{i}."
        big = "Q6_K" if q4k and more_bits(i) else base
        out += [
            (p + "attn_norm.weight", (h,), "F32"),
            (p + "attn_q.weight", (h, h), base),
            (p + "attn_k.weight", (h, kv), base),
            (p + "attn_v.weight", (h, kv), big),
            (p + "attn_output.weight", (h, h), base),
            (p + "ffn_norm.weight", (h,), "F32"),
            (p + "ffn_gate.weight", (h, f), base),
            (p + "ffn_up.weight", (h, f), base),
            (p + "ffn_down.weight", (f, h), big),
        ]
    out += [("output_norm.weight", (h,), "F32"), ("output.weight", (h, v), "Q6_K")]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--type", required=True, choices=sorted(FILE_TYPE))
    ap.add_argument("--tokenizer-from", required=True)
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=32)
    ap.add_argument("--ffn", type=int, default=11008)
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--group", type=int, default=32, choices=(32, 128))
    a = ap.parse_args()
    if a.group != 32 and a.type not in ("Q4_0", "Q4_1", "Q8_0"):
        raise SystemExit("--group 128 is for --type Q4_0, Q4_1 or Q8_0")
    tok, a.vocab = tokenizer_keys(a.tokenizer_from)
    need = 256 if a.type == "Q4_K_M" else a.group
    for n, v in (("--hidden", a.hidden), ("--ffn", a.ffn)):
        if v % need:
            raise SystemExit(f"{n} {v}: {a.type} needs a multiple of {need}")
    if a.hidden % a.heads or a.heads % a.kv_heads:
        raise SystemExit("--heads must divide --hidden, --kv-heads must divide --heads")
    hd = a.hidden // a.heads

    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = [
        ("general.architecture", 8, s("llama")),
        ("general.name", 8, s(f"random-llama-{a.layers}x{a.hidden}")),
        ("general.alignment", 4, struct.pack("<I", 32)),
        ("general.file_type", 4, struct.pack("<I", FILE_TYPE[a.type])),
        ("general.quantization_version", 4, struct.pack("<I", 2)),
        ("llama.block_count", 4, struct.pack("<I", a.layers)),
        ("llama.context_length", 4, struct.pack("<I", a.context)),
        ("llama.embedding_length", 4, struct.pack("<I", a.hidden)),
        ("llama.feed_forward_length", 4, struct.pack("<I", a.ffn)),
        ("llama.attention.head_count", 4, struct.pack("<I", a.heads)),
        ("llama.attention.head_count_kv", 4, struct.pack("<I", a.kv_heads)),
        ("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
        ("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
        ("llama.rope.dimension_count", 4, struct.pack("<I", hd)),
        ("llama.vocab_size", 4, struct.pack("<I", a.vocab)),
    ] + tok
    tensors = tensor_types(a)
    offsets, off = [], 0
    for name, ne, typ in tensors:
        n = int(np.prod(ne))
        bs, bb = BLOCK[typ]
        offsets.append(off)
        off += (n // bs * bb + 31) // 32 * 32
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
        for key, t, raw in kv:
            f.write(s(key) + struct.pack("<I", t) + raw)
        for (name, ne, typ), o in zip(tensors, offsets):
            f.write(s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne))
            f.write(struct.pack("<IQ", GGML[typ], o))
        f.write(b"\0" * (-f.tell() % 32))
        rng = np.random.default_rng(a.seed)
        for (name, ne, typ), o in zip(tensors, offsets):
            rows = int(np.prod(ne[1:])) if len(ne) > 1 else 1
            std = 0.02 / (2 * a.layers) ** 0.5 if name.endswith(("attn_output.weight", "ffn_down.weight")) else 0.02
            data = blocks(rng, typ, rows, ne[0], std, a.group if typ in ("Q4_0", "Q4_1", "Q8_0") else 32)
            f.write(data.tobytes())
            f.write(b"\0" * (-f.tell() % 32))
    import os

    os.replace(tmp, a.out)
    print(f"{a.out}: {len(tensors)} tensors, {off / 2**30:.2f} GiB of {a.type}", file=sys.stderr)


if __name__ == "__main__":
    main()
