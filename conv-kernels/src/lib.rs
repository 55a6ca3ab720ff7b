//! Const-generic im2col + GEMM kernels and the differentiable layers built on them.
