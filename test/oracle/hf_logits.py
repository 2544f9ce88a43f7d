#!/usr/bin/env python3
"""Logits of a Hugging Face checkpoint as transformers computes them (on the CPU,
float32), for comparing qcc's readers with the real clients of GPTQ / AWQ /
compressed-tensors checkpoints.

    hf_logits.py DIR --ids 1,5,9 -o OUT.bin [--compare QCC.bin --rtol 1e-3]

Writes float32 little-endian logits [n, vocab]. With --compare, prints the max
difference relative to the largest |logit| and exits 1 above --rtol. Needs torch,
transformers and the checkpoint's quantization package (gptqmodel or
compressed-tensors); the product never runs Python.
"""
import argparse
import sys

import numpy as np


def float32_awq(model, torch):
    """GPTQModel's AWQ torch kernel casts activations and the dequantized weight
    to fp16 (about 1e-3 relative on logits). Keep its own unpacking
    (dequantize_gemm: the layout under test) but do the arithmetic in float32."""
    from gptqmodel.nn_modules.qlinear.torch_awq import AwqTorchLinear, dequantize_gemm

    def forward(self, x):
        w = dequantize_gemm(qweight=self.qweight, qzeros=self.qzeros, scales=self.scales.float(),
                            bits=self.bits, group_size=self.group_size)
        y = x.float() @ w.float()
        if self.bias is not None:
            y = y + self.bias.float()
        return y.to(x.dtype)

    n = 0
    for m in model.modules():
        if isinstance(m, AwqTorchLinear):
            m.forward = forward.__get__(m)
            n += 1
    assert n > 0, "no AWQ layer found"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ids", required=True)
    ap.add_argument("-o", required=True)
    ap.add_argument("--compare")
    ap.add_argument("--rtol", type=float, default=1e-3)
    a = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM

    import json
    import os

    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    method = cfg.get("quantization_config", {}).get("quant_method", "")
    if method in ("gptq", "awq"):
        # GPTQModel's own loader (transformers' GPTQ path needs optimum).
        from gptqmodel import GPTQModel

        from gptqmodel import BACKEND

        model = GPTQModel.load(a.dir, device="cpu", dtype=torch.float16, backend=BACKEND.TORCH).model
        model = model.float()
        if method == "awq":
            float32_awq(model, torch)
    else:
        model = AutoModelForCausalLM.from_pretrained(a.dir, torch_dtype=torch.float32, device_map="cpu")
    model.eval()
    ids = torch.tensor([[int(x) for x in a.ids.split(",")]])
    with torch.no_grad():
        logits = model(ids).logits[0].float().numpy()
    logits.astype("<f4").tofile(a.o)
    if a.compare:
        q = np.fromfile(a.compare, "<f4").reshape(logits.shape)
        r = float(np.abs(q - logits).max() / np.abs(logits).max())
        print(f"max rel diff {r:.3g} (rtol {a.rtol})")
        if not r <= a.rtol:
            sys.exit(1)


if __name__ == "__main__":
    main()
