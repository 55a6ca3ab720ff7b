//! Derivatives of the arithmetic operators on any type: the traits a `#[differentiate]` on an
//! operator's `impl` block implements, and the functions the code emitted for `a * b` calls
//! when an operand is not a float.
//!
//! `#[differentiate] impl Mul for V3 { type Output = V3; fn mul(self, o: V3) -> V3 { .. } }`
//! differentiates the method `mul` and implements [`MulJvp`] and [`MulVjp`] for `V3` with it
//! (the forward mode alone with `#[differentiate(forward)]`, the reverse with `reverse`).
//! Inside a differentiated body, an operator whose operand is known to be a struct (docs/SUBSET.md)
//! becomes a call of [`mul`]'s pair, [`mul_jvp`] / [`mul_vjp`], which reach the operand types'
//! implementations: rustc picks the `impl`, as it does for `a * b` itself.
//!
//! The operands are passed by value, as the operator takes them; tangents by reference (a
//! tangent has its value's type); the pullback returns the adjoints of both operands. The floats
//! (`f32`, `f64`, [`Dual`]; every [`Real`](crate::Real) is one of them) implement the traits from
//! the rule table's rows, so a struct operator whose
//! value is a float (`Mul for V3` with `Output = f64`, a dot product) can be an operand of the
//! next one.
//!
//! Functions whose name ends in `_lhs` / `_rhs` are those of an operator whose other operand is
//! a constant (`2.0 * v`: [`mul_rhs_jvp`] takes only `v`'s tangent and returns only its adjoint).

use core::ops::{Add, Div, Mul, Neg, Rem, Sub};

use num_traits::Float;

use crate::Differentiable;
use crate::dual::Dual;
use crate::rules::partials;

/// The floats' implementations of a binary operator's traits, from the rule table's row.
macro_rules! floats {
    ($Trait:ident $method:ident: $Jvp:ident $jvp:ident, $Vjp:ident $vjp:ident; $($F:ty),*) => {$(
        impl $Jvp for $F {
            #[inline(always)]
            fn $jvp(self, rhs: $F, t_self: &$F, t_rhs: &$F) -> ($F, $F) {
                let y = <$F as $Trait>::$method(self, rhs);
                let [dx, da] = partials::$method(self, rhs, y);
                (y, dx * *t_self + da * *t_rhs)
            }
        }

        impl $Vjp for $F {
            #[inline(always)]
            fn $vjp(self, rhs: $F) -> ($F, impl FnOnce($F) -> ($F, $F)) {
                let y = <$F as $Trait>::$method(self, rhs);
                let [dx, da] = partials::$method(self, rhs, y);
                (y, move |ct: $F| (dx * ct, da * ct))
            }
        }
    )*};
}

macro_rules! binary_ops {
    ($(
        $Trait:ident $method:ident $sym:literal: $msg:literal, $label:literal, $note:literal,
        $Jvp:ident $jvp:ident, $Vjp:ident $vjp:ident,
        $lhs_jvp:ident $lhs_vjp:ident, $rhs_jvp:ident $rhs_vjp:ident;
    )*) => {$(
        #[doc = concat!("Forward mode of `", $sym, "` (`", stringify!($Trait), "::", stringify!($method), "`) on `Self ", $sym, " Rhs`: the value and its tangent along the operands' tangents.")]
        ///
        #[doc = concat!("Implemented by `#[differentiate] impl ", stringify!($Trait), "<Rhs> for T { .. }`, and for the floats.")]
        #[diagnostic::on_unimplemented(message = $msg, label = $label, note = $note, note = "the forward mode (`_jvp`) needs the attribute without the option `reverse`")]
        pub trait $Jvp<Rhs = Self>: $Trait<Rhs> + Sized {
            #[doc = concat!("`(self ", $sym, " rhs, its tangent)`.")]
            fn $jvp(self, rhs: Rhs, t_self: &Self, t_rhs: &Rhs) -> (Self::Output, Self::Output);
        }

        #[doc = concat!("Reverse mode of `", $sym, "` (`", stringify!($Trait), "::", stringify!($method), "`) on `Self ", $sym, " Rhs`: the value and the pullback, which maps the output's cotangent to the adjoints of both operands.")]
        ///
        #[doc = concat!("Implemented by `#[differentiate] impl ", stringify!($Trait), "<Rhs> for T { .. }`, and for the floats.")]
        #[diagnostic::on_unimplemented(message = $msg, label = $label, note = $note, note = "the reverse mode (`_vjp`, `_grad`) needs the attribute without the option `forward`")]
        pub trait $Vjp<Rhs = Self>: $Trait<Rhs> + Sized {
            #[doc = concat!("`(self ", $sym, " rhs, pullback)`; the pullback returns `(adjoint of self, adjoint of rhs)`.")]
            fn $vjp(self, rhs: Rhs) -> (Self::Output, impl FnOnce(Self::Output) -> (Self, Rhs));
        }

        floats! { $Trait $method: $Jvp $jvp, $Vjp $vjp; f32, f64 }

        impl<F: Float> $Jvp for Dual<F> {
            #[inline(always)]
            fn $jvp(self, rhs: Self, t_self: &Self, t_rhs: &Self) -> (Self, Self) {
                let y = <Self as $Trait>::$method(self, rhs);
                let [dx, da] = partials::$method(self, rhs, y);
                (y, dx * *t_self + da * *t_rhs)
            }
        }

        impl<F: Float> $Vjp for Dual<F> {
            #[inline(always)]
            fn $vjp(self, rhs: Self) -> (Self, impl FnOnce(Self) -> (Self, Self)) {
                let y = <Self as $Trait>::$method(self, rhs);
                let [dx, da] = partials::$method(self, rhs, y);
                (y, move |ct: Self| (dx * ct, da * ct))
            }
        }

        #[doc = concat!("`a ", $sym, " b` in forward mode (see [`", stringify!($Jvp), "`]).")]
        #[inline(always)]
        pub fn $jvp<A: $Jvp<B>, B>(a: A, b: B, ta: &A, tb: &B) -> (A::Output, A::Output) {
            a.$jvp(b, ta, tb)
        }

        #[doc = concat!("`a ", $sym, " b` in reverse mode (see [`", stringify!($Vjp), "`]).")]
        #[inline(always)]
        pub fn $vjp<A: $Vjp<B>, B>(a: A, b: B) -> (A::Output, impl FnOnce(A::Output) -> (A, B)) {
            a.$vjp(b)
        }

        #[doc = concat!("`a ", $sym, " b` with a constant `b`, in forward mode: only `a`'s tangent.")]
        #[inline(always)]
        pub fn $lhs_jvp<A: $Jvp<B>, B: Differentiable>(a: A, b: B, ta: &A) -> (A::Output, A::Output) {
            let tb = b.zero_like();
            a.$jvp(b, ta, &tb)
        }

        #[doc = concat!("`a ", $sym, " b` with a constant `b`, in reverse mode: only `a`'s adjoint.")]
        #[inline(always)]
        pub fn $lhs_vjp<A: $Vjp<B>, B>(a: A, b: B) -> (A::Output, impl FnOnce(A::Output) -> A) {
            let (y, pb) = a.$vjp(b);
            (y, move |ct| pb(ct).0)
        }

        #[doc = concat!("`a ", $sym, " b` with a constant `a`, in forward mode: only `b`'s tangent.")]
        #[inline(always)]
        pub fn $rhs_jvp<A: $Jvp<B> + Differentiable, B>(a: A, b: B, tb: &B) -> (A::Output, A::Output) {
            let ta = a.zero_like();
            a.$jvp(b, &ta, tb)
        }

        #[doc = concat!("`a ", $sym, " b` with a constant `a`, in reverse mode: only `b`'s adjoint.")]
        #[inline(always)]
        pub fn $rhs_vjp<A: $Vjp<B>, B>(a: A, b: B) -> (A::Output, impl FnOnce(A::Output) -> B) {
            let (y, pb) = a.$vjp(b);
            (y, move |ct| pb(ct).1)
        }
    )*};
}

binary_ops! {
    Add add "+": "`{Self} + {Rhs}` has no derivative", "`+` on a `{Self}` is differentiated with the derivative its `impl Add` has", "put `#[differentiate]` on the block `impl Add<{Rhs}> for {Self} {{ .. }}`: it implements the derivative",
        AddJvp add_jvp, AddVjp add_vjp, add_lhs_jvp add_lhs_vjp, add_rhs_jvp add_rhs_vjp;
    Sub sub "-": "`{Self} - {Rhs}` has no derivative", "`-` on a `{Self}` is differentiated with the derivative its `impl Sub` has", "put `#[differentiate]` on the block `impl Sub<{Rhs}> for {Self} {{ .. }}`: it implements the derivative",
        SubJvp sub_jvp, SubVjp sub_vjp, sub_lhs_jvp sub_lhs_vjp, sub_rhs_jvp sub_rhs_vjp;
    Mul mul "*": "`{Self} * {Rhs}` has no derivative", "`*` on a `{Self}` is differentiated with the derivative its `impl Mul` has", "put `#[differentiate]` on the block `impl Mul<{Rhs}> for {Self} {{ .. }}`: it implements the derivative",
        MulJvp mul_jvp, MulVjp mul_vjp, mul_lhs_jvp mul_lhs_vjp, mul_rhs_jvp mul_rhs_vjp;
    Div div "/": "`{Self} / {Rhs}` has no derivative", "`/` on a `{Self}` is differentiated with the derivative its `impl Div` has", "put `#[differentiate]` on the block `impl Div<{Rhs}> for {Self} {{ .. }}`: it implements the derivative",
        DivJvp div_jvp, DivVjp div_vjp, div_lhs_jvp div_lhs_vjp, div_rhs_jvp div_rhs_vjp;
    Rem rem "%": "`{Self} % {Rhs}` has no derivative", "`%` on a `{Self}` is differentiated with the derivative its `impl Rem` has", "put `#[differentiate]` on the block `impl Rem<{Rhs}> for {Self} {{ .. }}`: it implements the derivative",
        RemJvp rem_jvp, RemVjp rem_vjp, rem_lhs_jvp rem_lhs_vjp, rem_rhs_jvp rem_rhs_vjp;
}

/// Forward mode of unary `-` (`Neg::neg`): the value and its tangent.
///
/// Implemented by `#[differentiate] impl Neg for T { .. }`, and for the floats.
#[diagnostic::on_unimplemented(
    message = "`-{Self}` has no derivative",
    label = "`-` on a `{Self}` is differentiated with the derivative its `impl Neg` has",
    note = "put `#[differentiate]` on the block `impl Neg for {Self} {{ .. }}`: it implements the derivative",
    note = "the forward mode (`_jvp`) needs the attribute without the option `reverse`"
)]
pub trait NegJvp: Neg + Sized {
    /// `(-self, its tangent)`.
    fn neg_jvp(self, t_self: &Self) -> (Self::Output, Self::Output);
}

/// Reverse mode of unary `-` (`Neg::neg`): the value and the pullback.
///
/// Implemented by `#[differentiate] impl Neg for T { .. }`, and for the floats.
#[diagnostic::on_unimplemented(
    message = "`-{Self}` has no derivative",
    label = "`-` on a `{Self}` is differentiated with the derivative its `impl Neg` has",
    note = "put `#[differentiate]` on the block `impl Neg for {Self} {{ .. }}`: it implements the derivative",
    note = "the reverse mode (`_vjp`, `_grad`) needs the attribute without the option `forward`"
)]
pub trait NegVjp: Neg + Sized {
    /// `(-self, pullback)`; the pullback returns the adjoint of `self`.
    fn neg_vjp(self) -> (Self::Output, impl FnOnce(Self::Output) -> Self);
}

macro_rules! neg_floats {
    ($($F:ty),*) => {$(
        impl NegJvp for $F {
            #[inline(always)]
            fn neg_jvp(self, t_self: &$F) -> ($F, $F) {
                let y = -self;
                let [dx] = partials::neg(self, y);
                (y, dx * *t_self)
            }
        }

        impl NegVjp for $F {
            #[inline(always)]
            fn neg_vjp(self) -> ($F, impl FnOnce($F) -> $F) {
                let y = -self;
                let [dx] = partials::neg(self, y);
                (y, move |ct: $F| dx * ct)
            }
        }
    )*};
}

neg_floats!(f32, f64);

impl<F: Float> NegJvp for Dual<F> {
    #[inline(always)]
    fn neg_jvp(self, t_self: &Self) -> (Self, Self) {
        let y = -self;
        let [dx] = partials::neg(self, y);
        (y, dx * *t_self)
    }
}

impl<F: Float> NegVjp for Dual<F> {
    #[inline(always)]
    fn neg_vjp(self) -> (Self, impl FnOnce(Self) -> Self) {
        let y = -self;
        let [dx] = partials::neg(self, y);
        (y, move |ct: Self| dx * ct)
    }
}

/// `-a` in forward mode (see [`NegJvp`]).
#[inline(always)]
pub fn neg_jvp<A: NegJvp>(a: A, ta: &A) -> (A::Output, A::Output) {
    a.neg_jvp(ta)
}

/// `-a` in reverse mode (see [`NegVjp`]).
#[inline(always)]
pub fn neg_vjp<A: NegVjp>(a: A) -> (A::Output, impl FnOnce(A::Output) -> A) {
    a.neg_vjp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floats' implementations are the rule table's rows: checked against central
    /// differences, and forward against reverse (`<J t, c> == <t, J^T c>`).
    #[test]
    #[allow(clippy::type_complexity)] // tables of function pointers, one per operator
    fn float_operators_match_finite_differences() {
        let (x, a, tx, ta, ct) = (0.7f64, -1.3f64, 0.4f64, -0.9f64, 1.7f64);
        let h = 1e-6;
        macro_rules! check {
            ($sym:literal, $f:expr, $jvp:ident, $vjp:ident) => {{
                let f = $f;
                let (y, t) = $jvp(x, a, &tx, &ta);
                assert_eq!(y, f(x, a), "{}: value", $sym);
                let fd = (f(x + h * tx, a + h * ta) - f(x - h * tx, a - h * ta)) / (2.0 * h);
                assert!((t - fd).abs() < 1e-7, "{}: tangent {t} vs {fd}", $sym);
                let (y2, pb) = $vjp(x, a);
                assert_eq!(y2, y, "{}: value of the vjp", $sym);
                let (bx, ba) = pb(ct);
                assert!(
                    (t * ct - (tx * bx + ta * ba)).abs() < 1e-12,
                    "{}: dot-product test",
                    $sym
                );
            }};
        }
        check!("+", |x: f64, a: f64| x + a, add_jvp, add_vjp);
        check!("-", |x: f64, a: f64| x - a, sub_jvp, sub_vjp);
        check!("*", |x: f64, a: f64| x * a, mul_jvp, mul_vjp);
        check!("/", |x: f64, a: f64| x / a, div_jvp, div_vjp);
        check!("%", |x: f64, a: f64| x % a, rem_jvp, rem_vjp);
        let (y, t) = neg_jvp(x, &tx);
        assert_eq!((y, t), (-x, -tx));
        let (_, pb) = neg_vjp(x);
        assert_eq!(pb(ct), -ct);
        // A constant operand: only the other's tangent and adjoint.
        let (y, t) = mul_lhs_jvp(x, a, &tx);
        assert_eq!((y, t), (x * a, a * tx));
        let (_, pb) = mul_rhs_vjp(x, a);
        assert_eq!(pb(ct), x * ct);
    }
}
