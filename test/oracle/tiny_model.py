#!/usr/bin/env python3
"""Random-initialized Hugging Face decoder checkpoints and an independent numpy
forward pass (Hugging Face semantics: rotate-half RoPE, RMSNorm, GQA, SwiGLU).

    tiny_model.py write DIR [--family llama|mistral|qwen2] [--tied] [--shards N]
                            [--dtype F32|F16|BF16] [--config-style 4|5] [--rope llama3|linear]
                            [--bias] [--head-dim D] [--seed S]
    tiny_model.py check DIR QCC     compare `qcc logits` (batched and incremental) with numpy

Used by the lit tests as an oracle; the product never runs Python.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_tokenizer(d, vocab_size):
    """A byte-level BPE tokenizer.json: 256 byte symbols + a few merges."""
    m = bytes_to_unicode()
    vocab = {m[b]: i for i, b in enumerate(range(256))}
    merges = []
    for a, b in [("t", "h"), ("h", "e"), ("th", "e"), ("Ġ", "t"), ("Ġt", "he"), ("i", "n"), ("e", "r")]:
        if len(vocab) >= vocab_size - 1:
            break
        vocab[a + b] = len(vocab)
        merges.append(f"{a} {b}")
    eot = len(vocab)
    tok = {
        "version": "1.0",
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": merges},
    }
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    return eot


def to_dtype_bytes(a, dtype):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.tobytes(), a
    if dtype == "F16":
        h = a.astype(np.float16)
        return h.tobytes(), h.astype(np.float32)
    # BF16: round to nearest even
    u = a.view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    back = (u.astype(np.uint32) << 16).view(np.float32)
    return u.tobytes(), back


def write_safetensors(path, tensors, dtype):
    """Minimal safetensors writer (independent of qcc): float tensors stored as `dtype`."""
    write_safetensors_raw(path, [(name, dtype, list(arr.shape), to_dtype_bytes(arr, dtype)[0])
                                 for name, arr in tensors])


def write_safetensors_raw(path, tensors):
    """tensors: (name, safetensors dtype, shape, raw little-endian bytes)."""
    header, blobs, off = {}, [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def make(args):
    rng = np.random.default_rng(args.seed)
    H, L, nh, nkv = args.hidden, args.layers, args.heads, args.kv_heads
    hd = args.head_dim or H // nh
    F, V = args.ffn, args.vocab
    fam = args.family
    qkv_bias = fam == "qwen2" or (fam == "llama" and args.bias)
    o_bias = fam == "llama" and args.bias
    cfg = {
        "architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                           "qwen2": "Qwen2ForCausalLM"}[fam]],
        "model_type": fam, "hidden_size": H, "intermediate_size": F, "num_hidden_layers": L,
        "num_attention_heads": nh, "num_key_value_heads": nkv, "vocab_size": V,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "hidden_act": "silu",
        "tie_word_embeddings": bool(args.tied), "bos_token_id": None, "eos_token_id": None,
    }
    if args.head_dim:
        cfg["head_dim"] = hd
    if fam == "llama":
        cfg["attention_bias"] = bool(args.bias)
        cfg["mlp_bias"] = False
    if fam == "mistral":
        cfg["sliding_window"] = args.sliding_window
    rope = {"rope_theta": 500000.0 if args.rope else 10000.0}
    if args.rope == "linear":
        rope.update({"rope_type": "linear", "factor": 2.0})
    elif args.rope == "llama3":
        rope.update({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 32})
    if args.config_style == 5:
        cfg["rope_parameters"] = dict(rope, rope_type=rope.get("rope_type", "default"))
    else:
        cfg["rope_theta"] = rope["rope_theta"]
        if args.rope:
            cfg["rope_scaling"] = {k: v for k, v in rope.items() if k != "rope_theta"}

    def w(*shape, scale=None):
        scale = scale or 1.0 / np.sqrt(shape[-1])
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    t = [("model.embed_tokens.weight", w(V, H, scale=1.0))]
    for i in range(L):
        p = f"model.layers.{i}."
        t += [(p + "input_layernorm.weight", (1 + 0.1 * rng.standard_normal(H)).astype(np.float32)),
              (p + "self_attn.q_proj.weight", w(nh * hd, H)),
              (p + "self_attn.k_proj.weight", w(nkv * hd, H)),
              (p + "self_attn.v_proj.weight", w(nkv * hd, H)),
              (p + "self_attn.o_proj.weight", w(H, nh * hd))]
        if qkv_bias:
            t += [(p + "self_attn.q_proj.bias", w(nh * hd, scale=0.1)),
                  (p + "self_attn.k_proj.bias", w(nkv * hd, scale=0.1)),
                  (p + "self_attn.v_proj.bias", w(nkv * hd, scale=0.1))]
        if o_bias:
            t += [(p + "self_attn.o_proj.bias", w(H, scale=0.1))]
        t += [(p + "post_attention_layernorm.weight", (1 + 0.1 * rng.standard_normal(H)).astype(np.float32)),
              (p + "mlp.gate_proj.weight", w(F, H)),
              (p + "mlp.up_proj.weight", w(F, H)),
              (p + "mlp.down_proj.weight", w(H, F))]
    t += [("model.norm.weight", (1 + 0.1 * rng.standard_normal(H)).astype(np.float32))]
    if not args.tied:
        t += [("lm_head.weight", w(V, H))]

    os.makedirs(args.dir, exist_ok=True)
    eot = write_tokenizer(args.dir, V)
    cfg["bos_token_id"] = cfg["eos_token_id"] = eot
    with open(os.path.join(args.dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if args.shards <= 1:
        write_safetensors(os.path.join(args.dir, "model.safetensors"), t, args.dtype)
    else:
        per = (len(t) + args.shards - 1) // args.shards
        wm = {}
        for s in range(args.shards):
            part = t[s * per:(s + 1) * per]
            fn = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
            write_safetensors(os.path.join(args.dir, fn), part, args.dtype)
            wm.update({n: fn for n, _ in part})
        with open(os.path.join(args.dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": wm}, f)


def load(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    files = [f for f in os.listdir(d) if f.endswith(".safetensors")]
    T = {}
    for fn in files:
        raw = open(os.path.join(d, fn), "rb").read()
        n = int.from_bytes(raw[:8], "little")
        hdr = json.loads(raw[8:8 + n])
        base = 8 + n
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            buf = raw[base + b:base + e]
            if v["dtype"] == "F32":
                a = np.frombuffer(buf, np.float32)
            elif v["dtype"] == "F16":
                a = np.frombuffer(buf, np.float16).astype(np.float32)
            else:
                a = (np.frombuffer(buf, np.uint16).astype(np.uint32) << 16).view(np.float32)
            T[k] = a.reshape(v["shape"]).astype(np.float64)
    return cfg, T


def forward(cfg, T, ids):
    """float64 reference forward pass, logits [n, V]."""
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    rp = cfg.get("rope_parameters") or {}
    rs = cfg.get("rope_scaling") or rp
    theta = rp.get("rope_theta", cfg.get("rope_theta", 10000.0))
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        wave = 2 * np.pi / inv
        scaled = np.where(wave > old / lo, inv / f, inv)
        smooth = (old / wave - lo) / (hi - lo)
        sm = (1 - smooth) * scaled / f + smooth * scaled
        medium = ~(wave < old / hi) & ~(wave > old / lo)
        inv = np.where(medium, sm, scaled)
    n = len(ids)
    pos = np.arange(n)
    ang = np.outer(pos, inv)
    cos, sin = np.cos(ang), np.sin(ang)
    window = cfg.get("sliding_window") or 0

    def rms(x, w):
        return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

    def rope(x, heads):
        x = x.reshape(n, heads, hd)
        a, b = x[..., :hd // 2], x[..., hd // 2:]
        c, s = cos[:, None, :], sin[:, None, :]
        return np.concatenate([a * c - b * s, b * c + a * s], -1)

    def lin(x, name):
        y = x @ T[name + ".weight"].T
        if name + ".bias" in T:
            y = y + T[name + ".bias"]
        return y

    x = T["model.embed_tokens.weight"][ids]
    mask = np.tril(np.ones((n, n), bool))
    if window:
        mask &= ~np.tril(np.ones((n, n), bool), -window)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, T[p + "input_layernorm.weight"])
        q = rope(lin(h, p + "self_attn.q_proj"), nh)
        k = rope(lin(h, p + "self_attn.k_proj"), nkv)
        v = lin(h, p + "self_attn.v_proj").reshape(n, nkv, hd)
        out = np.zeros((n, nh, hd))
        for hh in range(nh):
            g = hh // (nh // nkv)
            s = q[:, hh] @ k[:, g].T / np.sqrt(hd)
            s = np.where(mask, s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            out[:, hh] = s @ v[:, g]
        x = x + lin(out.reshape(n, nh * hd), p + "self_attn.o_proj")
        h = rms(x, T[p + "post_attention_layernorm.weight"])
        g = lin(h, p + "mlp.gate_proj")
        u = lin(h, p + "mlp.up_proj")
        x = x + lin(g / (1 + np.exp(-g)) * u, p + "mlp.down_proj")
    x = rms(x, T["model.norm.weight"])
    head = T["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else T["lm_head.weight"]
    return x @ head.T


def check(args):
    cfg, T = load(args.dir)
    V = cfg["vocab_size"]
    rng = np.random.default_rng(7)
    ids = rng.integers(0, V, size=args.n).tolist()
    ref = forward(cfg, T, ids)
    worst = 0.0
    with tempfile.TemporaryDirectory() as td:
        for mode in ([], ["--incremental"]):
            out = os.path.join(td, "l.f32")
            subprocess.run([args.qcc, "logits", args.dir, "--ids", ",".join(map(str, ids)), "-o", out] + mode,
                           check=True)
            got = np.fromfile(out, np.float32).reshape(len(ids), V)
            err = np.abs(got - ref).max() / np.abs(ref).max()
            worst = max(worst, err)
            agree = (got.argmax(-1) == ref.argmax(-1)).mean()
            print(f"{'incremental' if mode else 'batched'}: max rel err {err:.2e}, argmax agreement {agree:.3f}")
            if err > 1e-4 or agree < 1.0:
                print("FAIL: qcc logits differ from the numpy reference")
                return 1
    print("OK")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("dir")
    w.add_argument("--family", default="llama", choices=["llama", "mistral", "qwen2"])
    w.add_argument("--tied", action="store_true")
    w.add_argument("--bias", action="store_true")
    w.add_argument("--shards", type=int, default=1)
    w.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    w.add_argument("--config-style", type=int, default=5, choices=[4, 5])
    w.add_argument("--rope", default=None, choices=[None, "linear", "llama3"])
    w.add_argument("--hidden", type=int, default=64)
    w.add_argument("--layers", type=int, default=2)
    w.add_argument("--heads", type=int, default=4)
    w.add_argument("--kv-heads", type=int, default=2)
    w.add_argument("--head-dim", type=int, default=0)
    w.add_argument("--ffn", type=int, default=96)
    w.add_argument("--vocab", type=int, default=300)
    w.add_argument("--sliding-window", type=int, default=5)
    w.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("qcc")
    c.add_argument("--n", type=int, default=24)
    args = ap.parse_args()
    if args.cmd == "write":
        make(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
