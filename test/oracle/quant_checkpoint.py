#!/usr/bin/env python3
"""GPTQ / AWQ / compressed-tensors checkpoints of a tiny float model, packed by an
independent numpy implementation of the formats (bit arrays, not qcc's loops).

    quant_checkpoint.py FLOAT_DIR QUANT_DIR DEQ_DIR --format gptq|awq|ct --bits B
        [--group G] [--asym] [--act-order] [--scale-dtype F16|BF16] [--seed S]
        [--corrupt gidx|shape|method|bits]

    quant_checkpoint.py --read QUANT_DIR DEQ_DIR

QUANT_DIR gets the quantized checkpoint (config.json with quantization_config,
tokenizer.json, model.safetensors); DEQ_DIR the same model in float32 with every
linear weight replaced by exactly the values the quantized one encodes, so
`qcc logits QUANT_DIR` must equal `qcc logits DEQ_DIR`. --corrupt writes a
checkpoint a reader must reject. --read goes the other way: it unpacks a checkpoint
someone else wrote (qcc's writers) with the same bit arrays and writes DEQ_DIR, every
quantized linear as the float32 values it encodes. Used by the lit tests; the product
never runs Python.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_model  # noqa: E402

LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def pack_dense(codes, bits):
    """codes [..., n] -> int32 words [..., ceil(n*bits/32)], element k at bits k*bits.. LSB first."""
    codes = np.asarray(codes, dtype=np.uint64)
    n = codes.shape[-1]
    bitarr = (codes[..., None] >> np.arange(bits, dtype=np.uint64)) & 1  # [..., n, bits]
    flat = bitarr.reshape(codes.shape[:-1] + (n * bits,))
    nw = (n * bits + 31) // 32
    pad = nw * 32 - n * bits
    if pad:
        flat = np.concatenate([flat, np.zeros(codes.shape[:-1] + (pad,), np.uint64)], axis=-1)
    flat = flat.reshape(codes.shape[:-1] + (nw, 32))
    words = (flat << np.arange(32, dtype=np.uint64)).sum(axis=-1).astype(np.uint32)
    return words.view(np.int32)


def pack_awq(codes):
    """codes [..., n] (4-bit, n % 8 == 0) -> int32 [..., n/8], nibble k = element AWQ_ORDER[k]."""
    c = np.asarray(codes, dtype=np.uint32)
    c = c.reshape(c.shape[:-1] + (c.shape[-1] // 8, 8))[..., AWQ_ORDER]
    return (c << (4 * np.arange(8, dtype=np.uint32))).sum(axis=-1).astype(np.uint32).view(np.int32)


def bf16(a):
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return u, (u.astype(np.uint32) << 16).view(np.float32)


def quantize(W, bits, group, sym, gidx, zmin):
    """min-max RTN of W [out, in] in groups gidx[i]; fp16 (or given) scales. Returns q, s, z, deq."""
    out, n = W.shape
    ng = int(gidx.max()) + 1
    maxq = (1 << bits) - 1
    q = np.zeros((out, n), np.int64)
    s = np.zeros((out, ng), np.float32)
    z = np.zeros((out, ng), np.int64)
    for k in range(ng):
        cols = np.nonzero(gidx == k)[0]
        w = W[:, cols]
        if sym:
            sc = np.maximum(np.abs(w).max(axis=1) / ((maxq + 1) // 2 - 1 if bits > 1 else 1), 1e-4)
            zz = np.full(out, (maxq + 1) // 2)
        else:
            lo, hi = np.minimum(w.min(axis=1), 0), np.maximum(w.max(axis=1), 0)
            sc = np.maximum((hi - lo) / maxq, 1e-4)
            zz = np.clip(np.round(-lo / sc), zmin, maxq)
        sc = sc.astype(np.float16).astype(np.float32)
        q[:, cols] = np.clip(np.round(w / sc[:, None]) + zz[:, None], 0, maxq)
        s[:, k], z[:, k] = sc, zz
    deq = (s[:, gidx] * (q - z[:, gidx])).astype(np.float32)
    return q, s, z, deq


def unpack_dense(words, n, bits):
    """int32 words [..., nw] -> codes [..., n] (the inverse of pack_dense)."""
    w = np.asarray(words).view(np.uint32).astype(np.uint64)
    bitarr = (w[..., None] >> np.arange(32, dtype=np.uint64)) & 1  # [..., nw, 32]
    flat = bitarr.reshape(w.shape[:-1] + (w.shape[-1] * 32,))[..., : n * bits]
    flat = flat.reshape(w.shape[:-1] + (n, bits))
    return (flat << np.arange(bits, dtype=np.uint64)).sum(axis=-1).astype(np.int64)


def unpack_awq(words):
    """int32 [..., n/8] -> 4-bit codes [..., n] (the inverse of pack_awq)."""
    w = np.asarray(words).view(np.uint32).astype(np.uint64)
    nib = (w[..., None] >> (4 * np.arange(8, dtype=np.uint64))) & 15  # nibble k
    out = np.zeros(nib.shape, np.int64)
    out[..., AWQ_ORDER] = nib
    return out.reshape(w.shape[:-1] + (w.shape[-1] * 8,))


def read_raw(d):
    """Every tensor of d's safetensors files as a numpy array of its own dtype."""
    kinds = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64, "BF16": np.uint16}
    T = {}
    for fn in sorted(f for f in os.listdir(d) if f.endswith(".safetensors")):
        raw = open(os.path.join(d, fn), "rb").read()
        n = int.from_bytes(raw[:8], "little")
        hdr = json.loads(raw[8:8 + n])
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            a = np.frombuffer(raw[8 + n + b:8 + n + e], kinds[v["dtype"]]).reshape(v["shape"])
            if v["dtype"] == "BF16":
                a = (a.astype(np.uint32) << 16).view(np.float32)
            T[k] = (v["dtype"], a)
    return T


def read(qdir, ddir):
    cfg = json.load(open(os.path.join(qdir, "config.json")))
    qc = cfg.pop("quantization_config")
    T = read_raw(qdir)
    method = qc["quant_method"]
    if method == "compressed-tensors":
        w = qc["config_groups"]["group_0"]["weights"]
        bits, sym = w["num_bits"], w["symmetric"]
    else:
        bits = qc["bits"]
        sym = qc.get("sym", True) if method == "gptq" else not qc.get("zero_point", True)
    out = []
    suffix = {"gptq": ".qweight", "awq": ".qweight", "compressed-tensors": ".weight_packed"}[method]
    for name in sorted(T):
        dt, a = T[name]
        if not name.endswith(suffix):
            if dt in ("F32", "F16", "BF16") and not name.endswith((".scales", ".weight_scale")):
                out.append((name, a.astype(np.float32)))
            continue
        p = name[: -len(suffix)]
        if method == "gptq":
            s = T[p + ".scales"][1].astype(np.float32)  # [groups, out]
            o = s.shape[1]
            n = a.shape[0] * 32 // bits
            q = unpack_dense(a.T, n, bits)  # [out, in]
            z = unpack_dense(T[p + ".qzeros"][1], o, bits) + 1  # [groups, out]
            g = T[p + ".g_idx"][1]
            W = s.T[:, g] * (q - z.T[:, g])
        elif method == "awq":
            s = T[p + ".scales"][1].astype(np.float32)
            q = unpack_awq(a).T  # [out, in]
            z = unpack_awq(T[p + ".qzeros"][1])  # [groups, out]
            G = q.shape[1] // s.shape[0]
            g = np.arange(q.shape[1]) // G
            W = s.T[:, g] * (q - z.T[:, g])
        else:
            o, n = (int(x) for x in T[p + ".weight_shape"][1])
            s = T[p + ".weight_scale"][1].astype(np.float32)  # [out, groups]
            q = unpack_dense(a, n, bits)
            if sym:
                z = np.full(s.shape, 1 << (bits - 1))
            else:
                z = unpack_dense(np.ascontiguousarray(T[p + ".weight_zero_point"][1].T), o, bits).T
            G = -(-n // s.shape[1])
            g = T[p + ".weight_g_idx"][1] if p + ".weight_g_idx" in T else np.arange(n) // G
            W = s[:, g] * (q - z[:, g])
        out.append((p + ".weight", W.astype(np.float32)))
    os.makedirs(ddir, exist_ok=True)
    for f in os.listdir(qdir):
        if f.startswith("tokenizer"):
            shutil.copy(os.path.join(qdir, f), ddir)
    with open(os.path.join(ddir, "config.json"), "w") as f:
        json.dump(cfg, f)
    tiny_model.write_safetensors(os.path.join(ddir, "model.safetensors"), out, "F32")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--read":
        return read(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser()
    ap.add_argument("float_dir")
    ap.add_argument("quant_dir")
    ap.add_argument("deq_dir")
    ap.add_argument("--format", required=True, choices=["gptq", "awq", "ct"])
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group", type=int, default=32)
    ap.add_argument("--asym", action="store_true")
    ap.add_argument("--act-order", action="store_true")
    ap.add_argument("--scale-dtype", default="F16", choices=["F16", "BF16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corrupt", choices=["gidx", "shape", "method", "bits"])
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    cfg, T = tiny_model.load(a.float_dir)
    sym = not a.asym
    b = a.bits
    qt, dq = [], []
    corrupted = False
    for name in sorted(T):
        W = T[name].astype(np.float32)
        prefix = name[: -len(".weight")] if name.endswith(".weight") else None
        if prefix is None or prefix.split(".")[-1] not in LINEARS:
            qt.append((name, "F32", W))
            dq.append((name, W))
            continue
        out, n = W.shape
        G = a.group if a.group > 0 else n
        gidx = np.arange(n) // G
        if a.act_order:
            gidx = gidx[rng.permutation(n)]
        q, s, z, deq = quantize(W, b, G, sym, gidx, 1 if a.format == "gptq" and not sym else 0)
        if a.format == "ct" and a.scale_dtype == "BF16":
            sb, sf = bf16(s)
            deq = (sf[:, gidx] * (q - z[:, gidx])).astype(np.float32)
        dq.append((name, deq))
        ng = s.shape[1]
        if a.format == "gptq":
            qw = pack_dense(q, b).T  # [in*b/32, out]
            if a.corrupt == "shape" and not corrupted:
                qw = qw[:-1]
                corrupted = True
            gi = gidx.astype(np.int32)
            if a.corrupt == "gidx" and not corrupted:
                gi = gi.copy()
                gi[3] = ng
                corrupted = True
            qt += [(prefix + ".qweight", "I32", np.ascontiguousarray(qw)),
                   (prefix + ".qzeros", "I32", pack_dense((z.T - 1) & ((1 << b) - 1), b)),
                   (prefix + ".scales", "F16", s.T.astype(np.float16)),
                   (prefix + ".g_idx", "I32", gi)]
        elif a.format == "awq":
            qt += [(prefix + ".qweight", "I32", pack_awq(q.T)),
                   (prefix + ".qzeros", "I32", pack_awq(z.T)),
                   (prefix + ".scales", "F16", s.T.astype(np.float16))]
        else:
            sc = bf16(s)[0] if a.scale_dtype == "BF16" else s.astype(np.float16)
            qt += [(prefix + ".weight_packed", "I32", pack_dense(q, b)),
                   (prefix + ".weight_scale", a.scale_dtype, sc),
                   (prefix + ".weight_shape", "I64", np.array([out, n], np.int64))]
            if not sym:
                qt.append((prefix + ".weight_zero_point", "I32", np.ascontiguousarray(pack_dense(z.T, b).T)))
            if a.act_order:
                qt.append((prefix + ".weight_g_idx", "I32", gidx.astype(np.int32)))
    for d in (a.quant_dir, a.deq_dir):
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(a.float_dir, "tokenizer.json"), d)
    with open(os.path.join(a.deq_dir, "config.json"), "w") as f:
        json.dump(cfg, f)
    tiny_model.write_safetensors(os.path.join(a.deq_dir, "model.safetensors"), dq, "F32")
    if a.format == "gptq":
        qc = {"quant_method": "gptq", "bits": b, "group_size": a.group if a.group > 0 else -1,
              "desc_act": bool(a.act_order), "sym": sym, "checkpoint_format": "gptq"}
    elif a.format == "awq":
        qc = {"quant_method": "awq", "bits": b, "group_size": a.group, "zero_point": True, "version": "gemm"}
    else:
        qc = {"quant_method": "compressed-tensors", "format": "pack-quantized",
              "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
                  "num_bits": b, "type": "int", "symmetric": sym, "group_size": a.group if a.group > 0 else None,
                  "strategy": "group" if a.group > 0 else "channel",
                  "actorder": "group" if a.act_order else None, "dynamic": False}}},
              "ignore": ["lm_head"], "quantization_status": "compressed"}
    if a.corrupt == "method":
        qc["quant_method"] = "bitnet"
    if a.corrupt == "bits":
        qc["bits"] = 5
    qcfg = dict(cfg, quantization_config=qc)
    with open(os.path.join(a.quant_dir, "config.json"), "w") as f:
        json.dump(qcfg, f)
    storage = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64, "BF16": np.uint16}
    tiny_model.write_safetensors_raw(os.path.join(a.quant_dir, "model.safetensors"),
                                     [(n, d, x.shape, np.ascontiguousarray(x.astype(storage[d])).tobytes())
                                      for n, d, x in qt])


if __name__ == "__main__":
    main()
