// qcc-calibrate on a generated one-layer module with inline weights
// (test/oracle/tiny_mlir.py): what each method decided is recorded in the IR.
// RUN: %python %oracle/tiny_mlir.py > %t.mlir
// RUN: qcc-opt %t.mlir -qcc-ggml-mixture=preset=Q4_0 "-qcc-calibrate=method=awq+gptq ctx=32 ids=%{ids}" -qcc-pack-blocks | FileCheck %s --check-prefix=AWQ
// RUN: qcc-opt %t.mlir -qcc-ggml-mixture=preset=Q4_K_M "-qcc-calibrate=method=gptq act-order=true ctx=32 ids=%{ids}" | FileCheck %s --check-prefix=GPTQ
// RUN: qcc-opt %t.mlir -qcc-ggml-mixture=preset=Q4_K_M "-qcc-calibrate=measure=true ctx=32 ids=%{ids}" -qcc-budget-mixture=bpw=5.5 | FileCheck %s --check-prefix=BPW
// RUN: not qcc-opt %t.mlir -qcc-ggml-mixture=preset=Q4_0 "-qcc-calibrate=method=gptq" 2>&1 | FileCheck %s --check-prefix=NOIDS
// RUN: not qcc-opt %t.mlir -qcc-ggml-mixture=preset=Q4_0 "-qcc-calibrate=method=smart ids=1,2" 2>&1 | FileCheck %s --check-prefix=BADMETHOD

// AWQ scales are recorded as weights; every layer names the scale folded into it.
// AWQ-DAG: qcc.weight @model.layers.0.input_layernorm.weight.awq_scale : tensor<32xf32> {qcc.record, value = dense<
// AWQ-DAG: qcc.weight @model.layers.0.self_attn.v_proj.weight.awq_scale : tensor<32xf32> {qcc.record
// AWQ-DAG: qcc.weight @model.layers.0.post_attention_layernorm.weight.awq_scale : tensor<32xf32> {qcc.record
// AWQ-DAG: qcc.weight @model.layers.0.mlp.up_proj.weight.awq_scale : tensor<64xf32> {qcc.record
// AWQ: qcc.weight @model.layers.0.self_attn.q_proj.weight : tensor<32x32xf32> {packed = dense<{{.*}}> : tensor<576xi8>, qcc.awq_scale = @model.layers.0.input_layernorm.weight.awq_scale, qcc.calib_error = {{.*}}, qcc.method = "awq+gptq", quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "Q4_0">
// AWQ: qcc.weight @model.layers.0.self_attn.o_proj.weight {{.*}}qcc.awq_scale = @model.layers.0.self_attn.v_proj.weight.awq_scale
// AWQ: qcc.weight @model.layers.0.mlp.down_proj.weight {{.*}}qcc.awq_scale = @model.layers.0.mlp.up_proj.weight.awq_scale
// The tied head (also the embedding) takes no scales.
// AWQ-NOT: qcc.weight @model.embed_tokens.weight {{.*}}qcc.awq_scale

// GPTQ onto the row-length fallbacks of Q4_K_M for 32-wide rows (Q4_K -> Q5_0,
// the tied head's Q6_K -> Q8_0), the dampening recorded.
// GPTQ: qcc.calibration = {ctx = 32 : i64, method = "gptq", windows = 8 : i64}
// GPTQ: qcc.weight @model.embed_tokens.weight {{.*}}qcc.calib_error = {{.*}}, qcc.gptq_damp = {{.*}}, qcc.method = "gptq", quant = #qcc.quant<bits = 8, group = 32, symmetric = true, format = "Q8_0">
// GPTQ: qcc.weight @model.layers.0.self_attn.q_proj.weight {{.*}}qcc.method = "gptq", quant = #qcc.quant<bits = 5, group = 32, symmetric = true, format = "Q5_0">

// BPW: qcc.bpw = {{[0-5]\.[0-9]+}}
// BPW: qcc.weight @model.layers.0.self_attn.q_proj.weight {{.*}}qcc.sensitivity_error = {{.*}}, quant = #qcc.quant<bits = {{[2-8]}}

// NOIDS: qcc-calibrate: no calibration windows
// BADMETHOD: qcc-calibrate: unknown method 'smart', expected rtn, gptq, awq or awq+gptq
