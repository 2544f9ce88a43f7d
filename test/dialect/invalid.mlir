// RUN: qcc-opt %s -split-input-file -verify-diagnostics

qcc.weight @w : tensor<8x5xf32>
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{weight @w has shape [8, 5], expected [8, 4]}}
  %0 = qcc.linear %x, @w : tensor<?x4xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @f(%x: tensor<?x4xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{references unknown weight @nope}}
  %0 = qcc.linear %x, @nope : tensor<?x4xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

qcc.weight @n : tensor<5xf32>
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{weight @n has shape [5], expected [4]}}
  %0 = qcc.rms_norm %x, @n {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @f(%q: tensor<?x12xf32>, %k: tensor<?x8xf32>, %p: tensor<?xi32>) -> tensor<?x12xf32> {
  // expected-error @+1 {{num_heads (3) must be a multiple of num_kv_heads (2)}}
  %0 = qcc.attention %q, %k, %k, %p {layer = 0 : i64, num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x12xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32> -> tensor<?x12xf32>
  return %0 : tensor<?x12xf32>
}

// -----

func.func @f(%q: tensor<?x8xf32>, %k: tensor<?x8xf32>, %p: tensor<?xi32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{k and v must have num_kv_heads * head_dim = 4 features}}
  %0 = qcc.attention %q, %k, %k, %p {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @f(%x: tensor<?x8xf32>, %p: tensor<?xi32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{input has 8 features, expected num_heads * head_dim = 12}}
  %0 = qcc.rope %x, %p {num_heads = 3 : i64, head_dim = 4 : i64, theta = 10000.0 : f64} : tensor<?x8xf32>, tensor<?xi32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @f(%x: tensor<?x8xf32>, %p: tensor<?xi32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{needs num_heads > 0 and an even head_dim > 0}}
  %0 = qcc.rope %x, %p {num_heads = 8 : i64, head_dim = 1 : i64, theta = 10000.0 : f64} : tensor<?x8xf32>, tensor<?xi32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @f(%x: tensor<?x8xf32>, %p: tensor<?xi32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{scaling.factors must hold head_dim / 2 = 2 floats}}
  %0 = qcc.rope %x, %p {num_heads = 2 : i64, head_dim = 4 : i64, theta = 10000.0 : f64, scaling = {rope_type = "freq_factors", factors = array<f32: 1.0, 2.0, 4.0>}} : tensor<?x8xf32>, tensor<?xi32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @f(%x: tensor<?x8xf32>, %p: tensor<?xi32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{scaling.factors must be positive and finite}}
  %0 = qcc.rope %x, %p {num_heads = 2 : i64, head_dim = 4 : i64, theta = 10000.0 : f64, scaling = {rope_type = "freq_factors", factors = array<f32: 1.0, 0.0>}} : tensor<?x8xf32>, tensor<?xi32>
  return %0 : tensor<?x8xf32>
}

// -----

// expected-error @+1 {{quant bits must be in [2, 8] (or 16/32 for float storage), got 9}}
qcc.weight @w : tensor<8x4xf32> {quant = #qcc.quant<bits = 9, group = 32, symmetric = true, format = "">}

// -----

qcc.weight @e : tensor<16x8xf32>
func.func @f(%x: tensor<?x8xf32>) -> tensor<?x10xf32> {
  // expected-error @+1 {{weight @e has shape [16, 8], expected [10, 8]}}
  %0 = qcc.lm_head %x, @e {tied} : tensor<?x8xf32> -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}
