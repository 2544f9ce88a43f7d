#!/usr/bin/env python3
"""Write a broken copy of a model directory for the error-handling tests.

    corrupt.py SRC DST KIND
KIND: truncated | header-too-long | i8-tensor | missing-key | bad-json | unknown-arch |
      vocab-mismatch | nan-weight | missing-tensor
"""
import json
import os
import shutil
import sys


def read_st(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_st(path, header, data):
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + data)


def main():
    src, dst, kind = sys.argv[1:4]
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    st = os.path.join(dst, "model.safetensors")
    cfgp = os.path.join(dst, "config.json")
    cfg = json.load(open(cfgp))
    raw = open(st, "rb").read()
    if kind == "truncated":
        open(st, "wb").write(raw[:len(raw) - 1000])
    elif kind == "header-too-long":
        open(st, "wb").write((len(raw) * 2).to_bytes(8, "little") + raw[8:])
    elif kind in ("i8-tensor", "nan-weight", "missing-tensor"):
        header, data = read_st(st)
        name = "model.layers.0.mlp.up_proj.weight"
        if kind == "i8-tensor":
            # rebuild the data section with that tensor as I8 (a quarter of the bytes)
            out, off = bytearray(), 0
            for k, v in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                               key=lambda kv: kv[1]["data_offsets"][0]):
                b, e = v["data_offsets"]
                blob = data[b:e]
                if k == name:
                    v["dtype"] = "I8"
                    blob = blob[:len(blob) // 4]
                v["data_offsets"] = [off, off + len(blob)]
                out += blob
                off += len(blob)
            data = bytes(out)
        elif kind == "nan-weight":
            b = header["model.norm.weight"]["data_offsets"][0]
            nan = b"\x00\x00\xc0\x7f" if header["model.norm.weight"]["dtype"] == "F32" else b"\xc0\x7f"
            data = data[:b] + nan + data[b + len(nan):]
        else:
            del header[name]
        write_st(st, header, data)
    elif kind == "missing-key":
        del cfg["hidden_size"]
    elif kind == "bad-json":
        open(cfgp, "w").write(json.dumps(cfg)[:-10])
        return 0
    elif kind == "unknown-arch":
        cfg["architectures"] = ["MambaForCausalLM"]
        cfg["model_type"] = "mamba"
    elif kind == "vocab-mismatch":
        cfg["vocab_size"] = 100
        header, data = read_st(st)
        for k in ("model.embed_tokens.weight", "lm_head.weight"):
            if k in header:
                header[k]["shape"][0] = 100
                b, e = header[k]["data_offsets"]
                header[k]["data_offsets"] = [b, b + (e - b) * 100 // cfg_vocab(src)]
        write_st(st, header, data)
    else:
        print("unknown kind", kind)
        return 1
    json.dump(cfg, open(cfgp, "w"))
    return 0


def cfg_vocab(src):
    return json.load(open(os.path.join(src, "config.json")))["vocab_size"]


if __name__ == "__main__":
    sys.exit(main())
