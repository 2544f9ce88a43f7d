#!/usr/bin/env python3
"""Write a random-weight LlamaForCausalLM checkpoint (bf16 safetensors + config.json).

    bench/make_random_llama.py OUT_DIR [--hidden 2048 --layers 16 --heads 32
        --kv-heads 8 --head-dim 64 --ffn 8192 --vocab 8192 --seed 0
        --tokenizer-from DIR]

Only numpy and json: the safetensors file is written by hand (8-byte little-endian
header length, JSON header, raw little-endian tensor bytes), one tensor at a time,
so memory stays at about one tensor in float32. Linear and embedding weights are
N(0, 0.02) (std / sqrt(2 * layers) for o_proj and down_proj, as GPT-2 style inits
do), RMSNorm weights are 1. Rounded to bf16 with round-to-nearest-even.
tokenizer.json / tokenizer_config.json are copied from --tokenizer-from when given
(its vocabulary must not be larger than --vocab).
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np


def to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16), round to nearest even (no NaNs here)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    u = u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))
    return (u >> np.uint32(16)).astype(np.uint16)


def tensor_specs(a):
    """(name, shape, kind) in checkpoint order; kind: 'norm', 'proj', 'out'."""
    h, f, v = a.hidden, a.ffn, a.vocab
    q, kv = a.heads * a.head_dim, a.kv_heads * a.head_dim
    specs = [("model.embed_tokens.weight", (v, h), "proj")]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        specs += [
            (p + "input_layernorm.weight", (h,), "norm"),
            (p + "self_attn.q_proj.weight", (q, h), "proj"),
            (p + "self_attn.k_proj.weight", (kv, h), "proj"),
            (p + "self_attn.v_proj.weight", (kv, h), "proj"),
            (p + "self_attn.o_proj.weight", (h, q), "out"),
            (p + "post_attention_layernorm.weight", (h,), "norm"),
            (p + "mlp.gate_proj.weight", (f, h), "proj"),
            (p + "mlp.up_proj.weight", (f, h), "proj"),
            (p + "mlp.down_proj.weight", (h, f), "out"),
        ]
    specs.append(("model.norm.weight", (h,), "norm"))
    if not a.tie:
        specs.append(("lm_head.weight", (v, h), "proj"))
    return specs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--ffn", type=int, default=8192)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--tie", action="store_true", help="tie lm_head to the embedding (default: separate lm_head)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer-from", default=None)
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    specs = tensor_specs(a)
    header, off = {}, 0
    for name, shape, _ in specs:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)  # pad so the data starts 8-byte aligned

    rng = np.random.default_rng(a.seed)
    std_out = 0.02 / (2 * a.layers) ** 0.5
    params = 0
    path = os.path.join(a.out, "model.safetensors")
    with open(path + ".tmp", "wb") as fh:
        fh.write(struct.pack("<Q", len(hb)))
        fh.write(hb)
        for name, shape, kind in specs:
            params += int(np.prod(shape))
            if kind == "norm":
                x = np.ones(shape, dtype=np.float32)
            else:
                x = rng.standard_normal(shape, dtype=np.float32)
                x *= np.float32(0.02 if kind == "proj" else std_out)
            fh.write(to_bf16(x).astype("<u2").tobytes())
            del x
    os.replace(path + ".tmp", path)

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "head_dim": a.head_dim,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": 0.02,
        "intermediate_size": a.ffn,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "tie_word_embeddings": a.tie,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": a.vocab,
    }
    with open(os.path.join(a.out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
    if a.tokenizer_from:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            src = os.path.join(a.tokenizer_from, f)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(a.out, f))
    print(f"{a.out}: {params:,} parameters, {off / 2**30:.2f} GiB bf16", file=sys.stderr)


if __name__ == "__main__":
    main()
