// RUN: qcc-opt %s -qcc-assign-quant="bits=4 group=32 format=Q4_K" | FileCheck %s
// RUN: qcc-opt %s -qcc-assign-quant="bits=6 group=16 symmetric=true format=Q6_K filter=*.down" -qcc-assign-quant="bits=4 format=Q4_K" | FileCheck %s --check-prefix=MIX
// RUN: qcc-opt %s -qcc-assign-quant="bits=8 group=32 format=Q8_0 include-head=true" | FileCheck %s --check-prefix=HEAD
// RUN: not qcc-opt %s -qcc-assign-quant="bits=1" 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: qcc.weight @emb : tensor<16x64xf32>{{$}}
// CHECK: qcc.weight @norm : tensor<64xf32>{{$}}
// CHECK: qcc.weight @l.up : tensor<48x64xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = false, format = "Q4_K">}
// Row length 48 is not a multiple of 32: one group per row.
// CHECK: qcc.weight @l.down : tensor<64x48xf32> {quant = #qcc.quant<bits = 4, group = 0, symmetric = false, format = "Q4_K">}

// MIX: qcc.weight @l.up : tensor<48x64xf32> {quant = #qcc.quant<bits = 4, group = 32, symmetric = false, format = "Q4_K">}
// MIX: qcc.weight @l.down : tensor<64x48xf32> {quant = #qcc.quant<bits = 6, group = 16, symmetric = true, format = "Q6_K">}

// HEAD: qcc.weight @emb : tensor<16x64xf32> {quant = #qcc.quant<bits = 8, group = 32, symmetric = false, format = "Q8_0">}
// HEAD: qcc.weight @norm : tensor<64xf32>{{$}}

// BAD: bits must be in [2, 8], got 1

qcc.weight @emb : tensor<16x64xf32>
qcc.weight @norm : tensor<64xf32>
qcc.weight @l.up : tensor<48x64xf32>
qcc.weight @l.down : tensor<64x48xf32>
func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x16xf32> {
  %x = qcc.embed %tok, @emb : tensor<?xi32> -> tensor<?x64xf32>
  %h = qcc.rms_norm %x, @norm {epsilon = 1.0e-5 : f64} : tensor<?x64xf32>
  %u = qcc.linear %h, @l.up : tensor<?x64xf32> -> tensor<?x48xf32>
  %d = qcc.linear %u, @l.down : tensor<?x48xf32> -> tensor<?x64xf32>
  %l = qcc.lm_head %d, @emb {tied} : tensor<?x64xf32> -> tensor<?x16xf32>
  return %l : tensor<?x16xf32>
}
