#!/usr/bin/env python3
"""Writes a one-layer qcc module with pseudo-random inline weights (hidden 32,
2 query heads / 1 KV head of 16, ffn 64, vocab 40, tied head), for qcc-opt
tests of the calibration passes."""
import random
import sys

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
H, F, V, HD = 32, 64, 40, 16


def dense(rows, cols=None, scale=0.2, base=None):
    if cols is None:
        vals = [base if base is not None else 1.0 + random.uniform(-0.3, 0.3) for _ in range(rows)]
        return "dense<[" + ", ".join(f"{v:.6f}" for v in vals) + f"]> : tensor<{rows}xf32>"
    body = ", ".join("[" + ", ".join(f"{random.gauss(0, scale):.6f}" for _ in range(cols)) + "]"
                     for _ in range(rows))
    return f"dense<[{body}]> : tensor<{rows}x{cols}xf32>"


def w(name, rows, cols=None):
    shape = f"{rows}x{cols}" if cols else f"{rows}"
    return f"  qcc.weight @{name} : tensor<{shape}xf32> {{value = {dense(rows, cols)}}}"


L = "model.layers.0."
print('module attributes {qcc.architecture = "LlamaForCausalLM"} {')
print(w("model.embed_tokens.weight", V, H))
print(w(L + "input_layernorm.weight", H))
print(w(L + "self_attn.q_proj.weight", H, H))
print(w(L + "self_attn.k_proj.weight", HD, H))
print(w(L + "self_attn.v_proj.weight", HD, H))
print(w(L + "self_attn.o_proj.weight", H, H))
print(w(L + "post_attention_layernorm.weight", H))
print(w(L + "mlp.gate_proj.weight", F, H))
print(w(L + "mlp.up_proj.weight", F, H))
print(w(L + "mlp.down_proj.weight", H, F))
print(w("model.norm.weight", H))
print(f"""  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x{V}xf32> {{
    %x = qcc.embed %tok, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x{H}xf32>
    %h = qcc.rms_norm %x, @{L}input_layernorm.weight {{epsilon = 1.0e-5 : f64}} : tensor<?x{H}xf32>
    %q = qcc.linear %h, @{L}self_attn.q_proj.weight : tensor<?x{H}xf32> -> tensor<?x{H}xf32>
    %k = qcc.linear %h, @{L}self_attn.k_proj.weight : tensor<?x{H}xf32> -> tensor<?x{HD}xf32>
    %v = qcc.linear %h, @{L}self_attn.v_proj.weight : tensor<?x{H}xf32> -> tensor<?x{HD}xf32>
    %qr = qcc.rope %q, %pos {{num_heads = 2 : i64, head_dim = {HD} : i64, theta = 10000.0 : f64}} : tensor<?x{H}xf32>, tensor<?xi32>
    %kr = qcc.rope %k, %pos {{num_heads = 1 : i64, head_dim = {HD} : i64, theta = 10000.0 : f64}} : tensor<?x{HD}xf32>, tensor<?xi32>
    %a = qcc.attention %qr, %kr, %v, %pos {{layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = {HD} : i64, scale = 0.25 : f64}} : tensor<?x{H}xf32>, tensor<?x{HD}xf32>, tensor<?x{HD}xf32>, tensor<?xi32> -> tensor<?x{H}xf32>
    %o = qcc.linear %a, @{L}self_attn.o_proj.weight : tensor<?x{H}xf32> -> tensor<?x{H}xf32>
    %x1 = qcc.add %x, %o : tensor<?x{H}xf32>
    %h2 = qcc.rms_norm %x1, @{L}post_attention_layernorm.weight {{epsilon = 1.0e-5 : f64}} : tensor<?x{H}xf32>
    %g = qcc.linear %h2, @{L}mlp.gate_proj.weight : tensor<?x{H}xf32> -> tensor<?x{F}xf32>
    %u = qcc.linear %h2, @{L}mlp.up_proj.weight : tensor<?x{H}xf32> -> tensor<?x{F}xf32>
    %s = qcc.swiglu %g, %u : tensor<?x{F}xf32>
    %d = qcc.linear %s, @{L}mlp.down_proj.weight : tensor<?x{F}xf32> -> tensor<?x{H}xf32>
    %x2 = qcc.add %x1, %d : tensor<?x{H}xf32>
    %f = qcc.rms_norm %x2, @model.norm.weight {{epsilon = 1.0e-5 : f64}} : tensor<?x{H}xf32>
    %l = qcc.lm_head %f, @model.embed_tokens.weight {{tied}} : tensor<?x{H}xf32> -> tensor<?x{V}xf32>
    return %l : tensor<?x{V}xf32>
  }}
}}""")
