"""Rewrites a GGUF file with its one-dimensional float tensors (norm scales,
biases) stored as F16 or BF16, everything else as it was: the files some
converters write, which llama.cpp reads.

    gguf_retype.py SRC DST f16|bf16
"""
import sys

import gguf
import numpy as np


def main():
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for f in r.fields.values():
        if f.name.startswith("GGUF.") or f.name == "general.architecture":
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_array(f.name, f.contents())
        else:
            w.add_key_value(f.name, f.contents(), vtype)
    for t in r.tensors:
        data = np.array(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F32 and data.ndim == 1 and t.name != "rope_freqs.weight":
            if kind == "f16":
                w.add_tensor(t.name, data.astype(np.float16), raw_dtype=gguf.GGMLQuantizationType.F16)
            else:
                bits = (data.astype(np.float32).view(np.uint32) + 0x7FFF + ((data.view(np.uint32) >> 16) & 1)) >> 16
                w.add_tensor(t.name, bits.astype(np.uint16).view(np.uint8).reshape(-1),
                             raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            # Block formats come as bytes [rows x row bytes], floats as arrays.
            w.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
