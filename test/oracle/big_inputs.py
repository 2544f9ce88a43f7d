#!/usr/bin/env python3
"""Inputs whose declared sizes are huge, for the resource-bound tests.

    big_inputs.py gguf-huge-tensor OUT.gguf       a tensor claiming 2^20 x 2^20 F32 elements
    big_inputs.py gguf-huge-array OUT.gguf        a metadata array claiming 2^40 strings
    big_inputs.py st-header-claim SRC DIR         SRC's checkpoint, header length claiming 100 MiB - 1
    big_inputs.py st-big-header SRC DIR MB        SRC's checkpoint with MB of __metadata__ in its header
    big_inputs.py many-merges SRC DIR N           SRC's checkpoint, tokenizer.json with N merges
    big_inputs.py one-line OUT MB                 MB of text without a newline

The SRC forms copy the model directory SRC (a tiny_model.py checkpoint) to DIR
first. Used by test/e2e/resource_bounds.test; the product never runs Python.
"""
import json
import os
import shutil
import struct
import sys


def gguf_header(n_tensors, kvs):
    out = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs))
    for key, blob in kvs:
        k = key.encode()
        out += struct.pack("<Q", len(k)) + k + blob
    return out


def gguf_str(s):
    b = s.encode()
    return struct.pack("<I", 8) + struct.pack("<Q", len(b)) + b


def main():
    what = sys.argv[1]
    if what == "gguf-huge-tensor":
        out = gguf_header(1, [("general.architecture", gguf_str("llama"))])
        name = b"token_embd.weight"
        out += struct.pack("<Q", len(name)) + name + struct.pack("<I", 2) + struct.pack("<QQ", 1 << 20, 1 << 20)
        out += struct.pack("<IQ", 0, 0)  # F32, offset 0
        out += b"\0" * ((32 - len(out) % 32) % 32) + b"\0" * 64
        open(sys.argv[2], "wb").write(out)
    elif what == "gguf-huge-array":
        blob = struct.pack("<I", 9) + struct.pack("<IQ", 8, 1 << 40) + struct.pack("<Q", 1) + b"a"
        out = gguf_header(0, [("general.architecture", gguf_str("llama")), ("tokenizer.ggml.tokens", blob)])
        open(sys.argv[2], "wb").write(out)
    else:
        src, dst = sys.argv[2], sys.argv[3]
        if what != "one-line":
            shutil.copytree(src, dst)
        st = os.path.join(dst, "model.safetensors")
        if what == "st-header-claim":
            data = bytearray(open(st, "rb").read())
            data[0:8] = struct.pack("<Q", 100 * 1024 * 1024 - 1)
            open(st, "wb").write(data)
        elif what == "st-big-header":
            data = open(st, "rb").read()
            (hlen,) = struct.unpack("<Q", data[:8])
            header = json.loads(data[8:8 + hlen])
            mb = int(sys.argv[4])
            header["__metadata__"] = {f"k{i:08d}": "v" * 100 for i in range(mb * 1024 * 1024 // 120)}
            h = json.dumps(header).encode()
            h += b" " * ((8 - len(h) % 8) % 8)
            open(st, "wb").write(struct.pack("<Q", len(h)) + h + data[8 + hlen:])
        elif what == "many-merges":
            tp = os.path.join(dst, "tokenizer.json")
            tok = json.load(open(tp))
            n = int(sys.argv[4])
            vocab = list(tok["model"]["vocab"].keys())
            merges = tok["model"]["merges"]
            # Pairs of existing tokens (merges whose result is not in the vocabulary).
            extra = [f"{vocab[i % 256]} {vocab[(i // 256) % 256]}" for i in range(n)]
            tok["model"]["merges"] = merges + extra
            json.dump(tok, open(tp, "w"))
        elif what == "one-line":
            mb = int(dst)
            words = "the quick brown fox jumps over the lazy dog and keeps on running "
            with open(src, "w") as f:
                for _ in range(mb * 1024 * 1024 // len(words)):
                    f.write(words)
        else:
            sys.exit(f"unknown: {what}")


if __name__ == "__main__":
    main()
