//! The objectives of `benches/gradients.rs`: each written once as a user would write it, under
//! `#[differentiate]`, and beside it a hand-written gradient (reverse mode, one forward pass that
//! keeps only what the backward pass reads, no heap allocation beyond the gradient itself), a
//! hand-written tangent (forward mode), and the same objective generic over num-dual's
//! `DualNum<f64>` (num-dual 0.11's `Dual64` does not implement `num_traits::Float`, so the
//! `#[differentiate]` version cannot be instantiated with it).

pub mod gmm;
pub mod mlp;
pub mod ode;
pub mod rosenbrock;

/// A small deterministic generator (xorshift64*), so that the bench needs no `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
}
