//! Placeholder replaced by the full dual-number implementation.
/// A dual number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Dual<F> {
    v: F,
    t: F,
}
