//! The portable microkernel: plain Rust over an `MR x NR` array of accumulators, for every
//! [`Scalar`] (the compiler vectorises it for `f32`/`f64` with the baseline instruction set).

use core::marker::PhantomData;

use super::kernel::{GemmKernel, RawMat, RawMatMut};
use crate::Scalar;

/// The portable `MR x NR` microkernel over any [`Scalar`] (`f32`, `f64`, `Dual<F>`, ...).
#[derive(Debug, Clone, Copy)]
pub struct Portable<E, const MR: usize, const NR: usize>(PhantomData<E>);

/// The portable kernel used for `f32` when no faster one is available (or when forced).
pub type PortableF32 = Portable<f32, 4, 8>;
/// The portable kernel used for `f64` when no faster one is available (or when forced).
pub type PortableF64 = Portable<f64, 4, 4>;
/// The kernel of every other [`Scalar`] (dual numbers, ...).
pub type PortableGeneric<E> = Portable<E, 4, 4>;

impl<E: Scalar, const MR: usize, const NR: usize> GemmKernel for Portable<E, MR, NR> {
    type Elem = E;
    const MR: usize = MR;
    const NR: usize = NR;
    const KC: usize = 256;
    const MC: usize = 16 * MR;
    const NC: usize = 128 * NR;
    const NAME: &'static str = "portable";

    fn is_available() -> bool {
        true
    }

    #[inline(always)]
    unsafe fn kernel(k: usize, alpha: E, a: RawMat<E>, b: RawMat<E>, beta: E, c: RawMatMut<E>) {
        // SAFETY: forwarded contract.
        unsafe { Self::kernel_rows(MR, k, alpha, a, b, beta, c) }
    }

    #[inline(always)]
    unsafe fn kernel_rows(
        rows: usize,
        k: usize,
        alpha: E,
        a: RawMat<E>,
        b: RawMat<E>,
        beta: E,
        c: RawMatMut<E>,
    ) {
        let rows = rows.min(MR);
        let mut acc = [[E::zero(); NR]; MR];
        for p in 0..k {
            // SAFETY: p < k, j < NR: the caller guarantees these reads are in bounds.
            let b_row: [E; NR] = unsafe { core::array::from_fn(|j| *b.ptr.add(p * b.rs + j)) };
            for (i, acc_row) in acc.iter_mut().enumerate().take(rows) {
                // SAFETY: i < rows, p < k: as above.
                let a_ip = unsafe { *a.ptr.add(i * a.rs + p * a.cs) };
                for (acc_ij, &b_pj) in acc_row.iter_mut().zip(&b_row) {
                    *acc_ij = *acc_ij + a_ip * b_pj;
                }
            }
        }
        for (i, acc_row) in acc.iter().enumerate().take(rows) {
            for (j, &acc_ij) in acc_row.iter().enumerate() {
                // SAFETY: i < rows, j < NR: the caller guarantees the C tile is writable.
                unsafe {
                    let c_ij = c.ptr.add(i * c.rs + j * c.cs);
                    *c_ij = if beta == E::zero() {
                        alpha * acc_ij
                    } else {
                        alpha * acc_ij + beta * *c_ij
                    };
                }
            }
        }
    }
}
