#!/usr/bin/env python3
"""Seeded mutation fuzzing of qcc's file readers: flip, truncate and splice
bytes of a valid GGUF / safetensors file and check that every run exits with
0 or 2 (never a signal or another status) and prints at most one error line.

    fuzz_inputs.py QCC MODEL_DIR FILE.gguf N
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile


def mutate(raw, rng):
    b = bytearray(raw)
    kind = rng.randrange(4)
    if kind == 0:  # flip bytes in the header region
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(min(len(b), 4096))
            b[i] = rng.randrange(256)
    elif kind == 1:  # truncate
        b = b[:rng.randrange(len(b))]
    elif kind == 2:  # flip anywhere
        for _ in range(rng.randint(1, 32)):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
    else:  # write a large integer somewhere in the header
        i = rng.randrange(min(len(b) - 8, 2048))
        b[i:i + 8] = rng.choice([2**63 - 1, 2**32, 2**40, 0xFFFFFFFF]).to_bytes(8, "little")
    return bytes(b)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace").strip()
    lines = [l for l in err.splitlines() if l.strip()]
    if p.returncode not in (0, 2) or (p.returncode == 2 and len(lines) != 1):
        return f"exit {p.returncode}, stderr {err[:300]!r}"
    return None


def main():
    qcc, model, gguf, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rng = random.Random(1234)
    graw = open(gguf, "rb").read()
    sraw = open(os.path.join(model, "model.safetensors"), "rb").read()
    bad = 0
    with tempfile.TemporaryDirectory() as td:
        text = os.path.join(td, "t.txt")
        open(text, "w").write("the kernel is not yet implemented. " * 40)
        mdir = os.path.join(td, "m")
        shutil.copytree(model, mdir)
        for i in range(n):
            g = os.path.join(td, "f.gguf")
            open(g, "wb").write(mutate(graw, rng))
            for cmd in ([qcc, "eval", g, "--text", text, "--ctx", "32", "--no-progress"],
                        [qcc, "tokenize", g, "-p", "hello world"]):
                r = run(cmd)
                if r:
                    bad += 1
                    print("GGUF case", i, cmd[1], r)
            open(os.path.join(mdir, "model.safetensors"), "wb").write(mutate(sraw, rng))
            r = run([qcc, "eval", mdir, "--text", text, "--ctx", "32", "--no-progress"])
            if r:
                bad += 1
                print("safetensors case", i, r)
    print(f"{n} mutations of each file: {bad} bad outcomes")
    print("OK" if bad == 0 else "FAIL")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
