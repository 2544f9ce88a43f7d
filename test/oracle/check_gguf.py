#!/usr/bin/env python3
"""Check a qcc GGUF file with gguf-py, an independent reader:

    check_gguf.py QCC FILE.gguf [--types NAME=TYPE ...] [--arch llama]

- the file parses; required llama.cpp metadata keys are present with the right types;
- every tensor gguf-py dequantizes equals `qcc dequant` of it bit for bit;
- optional expectations on tensor types (NAME is a GGUF tensor name, fnmatch glob).
"""
import fnmatch
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader, GGUFValueType, quants

REQUIRED = {
    "general.architecture": GGUFValueType.STRING,
    "general.file_type": GGUFValueType.UINT32,
    "tokenizer.ggml.model": GGUFValueType.STRING,
    "tokenizer.ggml.tokens": GGUFValueType.ARRAY,
    "tokenizer.ggml.token_type": GGUFValueType.ARRAY,
}
ARCH_KEYS = ["context_length", "embedding_length", "block_count", "feed_forward_length",
             "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
             "rope.freq_base", "rope.dimension_count"]


def main():
    qcc, path = sys.argv[1], sys.argv[2]
    expect = {}
    arch_expect = None
    args = sys.argv[3:]
    i = 0
    while i < len(args):
        if args[i] == "--types":
            i += 1
            while i < len(args) and not args[i].startswith("--"):
                k, v = args[i].split("=")
                expect[k] = v
                i += 1
        elif args[i] == "--arch":
            arch_expect = args[i + 1]
            i += 2
        else:
            raise SystemExit("bad argument " + args[i])
    r = GGUFReader(path)
    ok = True
    fields = r.fields
    for k, t in REQUIRED.items():
        if k not in fields or fields[k].types[0] != t:
            print(f"missing or mistyped metadata {k}")
            ok = False
    arch = bytes(fields["general.architecture"].parts[-1]).decode()
    if arch_expect and arch != arch_expect:
        print(f"architecture {arch}, expected {arch_expect}")
        ok = False
    for k in ARCH_KEYS:
        if f"{arch}.{k}" not in fields:
            print(f"missing metadata {arch}.{k}")
            ok = False
    if bytes(fields["tokenizer.ggml.model"].parts[-1]).decode() == "gpt2":
        for k in ("tokenizer.ggml.merges", "tokenizer.ggml.pre"):
            if k not in fields:
                print("missing", k)
                ok = False
    counts = {}
    with tempfile.TemporaryDirectory() as td:
        for t in r.tensors:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
            for pat, ty in expect.items():
                if fnmatch.fnmatch(t.name, pat) and t.tensor_type.name != ty:
                    print(f"{t.name}: type {t.tensor_type.name}, expected {ty}")
                    ok = False
            ref = quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(-1)
            out = os.path.join(td, "t.f32")
            subprocess.run([qcc, "dequant", path, "--tensor", t.name, "-o", out], check=True)
            got = np.fromfile(out, np.float32)
            if got.shape != ref.shape or not np.array_equal(got.view(np.uint32), ref.view(np.uint32)):
                print(f"{t.name} ({t.tensor_type.name}): qcc and gguf-py dequantize differently")
                ok = False
    print(f"{len(r.tensors)} tensors, types {dict(sorted(counts.items()))}")
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
