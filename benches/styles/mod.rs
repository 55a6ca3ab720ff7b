//! The objectives of `benches/iterators.rs`, each written twice under `#[differentiate]`: in
//! iterator style (`windows`, `iter().zip().map().sum()`, `fold`, `chunks_exact`) and in the
//! index style a hand rewrite of it gives (`let mut s = 0.0; for i in .. { s += ..; }`), with
//! the same arithmetic, so that the two differ only in how the macro lowers them.

pub mod gmm;
pub mod mlp;
pub mod rosenbrock;
