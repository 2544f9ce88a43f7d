// RUN: qcc-opt %s -qcc-ggml-mixture="preset=Q4_0" -qcc-pack-blocks | FileCheck %s
// RUN: qcc-opt %s -qcc-ggml-mixture="preset=Q8_0" -qcc-pack-blocks | FileCheck %s --check-prefix=Q8
// RUN: echo 'qcc.weight @w : tensor<1x32xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "Q9_X">, value = dense<1.0> : tensor<1x32xf32>}' | not qcc-opt -qcc-pack-blocks 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: echo 'qcc.weight @w : tensor<1x48xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "Q4_0">, value = dense<1.0> : tensor<1x48xf32>}' | not qcc-opt -qcc-pack-blocks 2>&1 | FileCheck %s --check-prefix=ROW
// RUN: echo 'qcc.weight @w : tensor<1x32xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "Q4_0">}' | not qcc-opt -qcc-pack-blocks 2>&1 | FileCheck %s --check-prefix=NODATA

// RUN: echo 'qcc.weight @w : tensor<1x32xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "int">, value = dense<[[-4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]]> : tensor<1x32xf32>}' | qcc-opt -qcc-pack-blocks | FileCheck %s --check-prefix=INT

// Hand-checked Q4_0 block: x_j = 0.5 * ((j mod 16) - 8) is exactly d * q with
// d = 0.5 (fp16 0x3800, bytes 00 38) and q = (j mod 16) - 8, stored +8 as
// nibbles: byte j = j | (j << 4) -> 00 11 22 ... FF (printed as signed i8).
// CHECK: qcc.weight @model.layers.0.mlp.up_proj.weight : tensor<1x32xf32> {packed = dense<[0, 56, 0, 17, 34, 51, 68, 85, 102, 119, -120, -103, -86, -69, -52, -35, -18, -1]> : tensor<18xi8>, quant = #qcc.quant<bits = 4, group = 32, symmetric = true, format = "Q4_0">
// Norms stay float32 (packed as raw little-endian floats).
// CHECK: qcc.weight @model.norm.weight : tensor<4xf32> {packed = dense<[0, 0, -128, 63, 0, 0, -128, 63, 0, 0, -128, 63, 0, 0, -128, 63]> : tensor<16xi8>, quant = #qcc.quant<bits = 32, group = 0, symmetric = true, format = "F32">

// Q8: qcc.weight @model.layers.0.mlp.up_proj.weight : tensor<1x32xf32> {packed = dense<[{{.*}}]> : tensor<34xi8>, quant = #qcc.quant<bits = 8, group = 32, symmetric = true, format = "Q8_0">

// The GPU checkpoints' grid ("int": fp16 scale, integer zero), qcc's generic
// layout: float scale 0.5 (00 00 00 3F), zero 8 (00 00 00 41), one code a byte.
// INT: packed = dense<[0, 0, 0, 63, 0, 0, 0, 65, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]> : tensor<40xi8>

// BAD: unknown block format 'Q9_X'
// ROW: row length 48 is not a multiple of the Q4_0 block size 32
// NODATA: no data to pack: neither an inline value nor a weight store

qcc.weight @model.layers.0.mlp.up_proj.weight : tensor<1x32xf32> {value = dense<[[-4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]]> : tensor<1x32xf32>}
qcc.weight @model.norm.weight : tensor<4xf32> {value = dense<1.0> : tensor<4xf32>}
