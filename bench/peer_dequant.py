#!/usr/bin/env python3
"""A GPTQ / AWQ / compressed-tensors checkpoint dequantized by its own library, saved as a
float32 Hugging Face checkpoint (the reference qcc's readers are compared with).

    /work/peers-venv/bin/python bench/peer_dequant.py QUANT_DIR FLOAT_DIR

gptq / awq: GPTQModel.load(..., backend=BACKEND.TORCH), each quantized layer's own
dequantize_weight() (GPTQ) or dequantize_gemm (AWQ); compressed-tensors: transformers with
CompressedTensorsConfig(run_compressed=False), which decompresses every layer on load.
"""
import json
import os
import shutil
import sys

import torch


def main():
    src, dst = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(src, "config.json")))
    method = cfg["quantization_config"]["quant_method"]
    state = {}
    if method in ("gptq", "awq"):
        from gptqmodel import BACKEND, GPTQModel
        from gptqmodel.nn_modules.qlinear import BaseQuantLinear

        model = GPTQModel.load(src, device="cpu", dtype=torch.float16, backend=BACKEND.TORCH).model
        quant = {}
        for name, m in model.named_modules():
            if isinstance(m, BaseQuantLinear):
                if method == "awq":
                    from gptqmodel.quantization.awq.utils.packing_utils import dequantize_gemm

                    w = dequantize_gemm(m.qweight, m.qzeros, m.scales, m.bits, m.group_size)
                else:
                    w = m.dequantize_weight()
                quant[name] = w.T.float().contiguous()
                if m.bias is not None:
                    state[name + ".bias"] = m.bias.float()
        for k, v in model.state_dict().items():
            mod = k.rsplit(".", 1)[0]
            if mod not in quant and v.is_floating_point():
                state[k] = v.float()
        for name, w in quant.items():
            state[name + ".weight"] = w
    else:
        from transformers import AutoModelForCausalLM, CompressedTensorsConfig

        model = AutoModelForCausalLM.from_pretrained(
            src, dtype=torch.float32, quantization_config=CompressedTensorsConfig(run_compressed=False))
        state = {k: v.float() for k, v in model.state_dict().items() if v.is_floating_point()}
    if cfg.get("tie_word_embeddings"):
        state.pop("lm_head.weight", None)
    os.makedirs(dst, exist_ok=True)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(dst, "model.safetensors"))
    del cfg["quantization_config"]
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=1)
    for f in os.listdir(src):
        if f.startswith("tokenizer") or f in ("special_tokens_map.json", "generation_config.json"):
            shutil.copy(os.path.join(src, f), dst)
    print(f"{dst}: {len(state)} tensors")


if __name__ == "__main__":
    main()
