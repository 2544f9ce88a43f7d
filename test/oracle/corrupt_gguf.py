#!/usr/bin/env python3
"""Write a broken copy of a GGUF file: corrupt_gguf.py SRC DST KIND
KIND: bad-magic | bad-version | truncated | unknown-type | offset-out-of-range | huge-string"""
import struct
import sys

from gguf import GGUFReader


def main():
    src, dst, kind = sys.argv[1:4]
    raw = bytearray(open(src, "rb").read())
    if kind == "bad-magic":
        raw[0:4] = b"GGUX"
    elif kind == "bad-version":
        raw[4:8] = struct.pack("<I", 99)
    elif kind == "truncated":
        raw = raw[:len(raw) - 4096]
    elif kind in ("unknown-type", "offset-out-of-range"):
        r = GGUFReader(src)
        t = r.tensors[0]
        # tensor info: name (u64 len + bytes), n_dims u32, dims u64[n], type u32, offset u64
        name = t.name.encode()
        pos = raw.find(struct.pack("<Q", len(name)) + name)
        p = pos + 8 + len(name)
        nd = struct.unpack_from("<I", raw, p)[0]
        p += 4 + 8 * nd
        if kind == "unknown-type":
            struct.pack_into("<I", raw, p, 77)
        else:
            struct.pack_into("<Q", raw, p + 4, 1 << 40)
    elif kind == "huge-string":
        # the first metadata key's length
        struct.pack_into("<Q", raw, 24, 1 << 62)
    else:
        raise SystemExit("unknown kind " + kind)
    open(dst, "wb").write(raw)


if __name__ == "__main__":
    main()
