//! Dual numbers: forward-mode derivatives by operator overloading.
//!
//! A [`Dual<F>`] carries a value `v` and a tangent `t`, the derivative of `v` along one
//! direction. Every operation maps `(v, t)` to `(f(v), f'(v) t)`, so code generic over
//! `F: Float` computes a directional derivative when it runs on duals. Every `Float` method
//! takes its derivative from the one table of rules, [`crate::rules`]; the methods outside the
//! table are composed from table-backed ones or carry a one-line justification.
//!
//! Duals nest: `Dual<Dual<f64>>` carries second derivatives.

use core::cmp::Ordering;
use core::fmt;
use core::iter::{Product, Sum};
use core::num::FpCategory;
use core::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

use num_traits::{Float, FloatConst, Num, NumCast, One, ToPrimitive, Zero};

use crate::Differentiable;
use crate::rules::{partials, tangent};

/// A dual number `v + t ε` with `ε² = 0`: a value and its tangent.
///
/// `Dual<F>` implements [`num_traits::Float`] and the arithmetic operators (with itself, with
/// a plain `F` on the right, and with `f32`/`f64` on the left), so any function generic over
/// `F: Float` computes its directional derivative when called on duals.
///
/// Comparisons (`==`, `<`, ...) look at the values only, as the branches of the function being
/// differentiated do.
///
/// ```
/// use autodiff_core::{Dual, Float};
///
/// fn f<F: Float>(x: F) -> F {
///     x * x.sin()
/// }
///
/// let y = f(Dual::variable(2.0_f64));
/// assert_eq!(y.value(), 2.0 * 2.0_f64.sin());
/// assert!((y.tangent() - (2.0_f64.sin() + 2.0 * 2.0_f64.cos())).abs() < 1e-15);
/// ```
///
/// Nested duals give higher derivatives: the tangent of the tangent is the second derivative.
///
/// ```
/// use autodiff_core::{Dual, Float};
///
/// let x = Dual::new(Dual::variable(3.0_f64), Dual::constant(1.0));
/// let y = x.powi(3); // y'' = 6x
/// assert_eq!(y.tangent().tangent(), 18.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Dual<F> {
    v: F,
    t: F,
}

impl<F> Dual<F> {
    /// The dual number with value `v` and tangent `t`.
    ///
    /// ```
    /// use autodiff_core::Dual;
    /// let x = Dual::new(1.5_f64, 2.0);
    /// assert_eq!((x.value(), x.tangent()), (1.5, 2.0));
    /// ```
    #[inline(always)]
    pub const fn new(v: F, t: F) -> Self {
        Dual { v, t }
    }
}

impl<F: Copy> Dual<F> {
    /// The value.
    ///
    /// ```
    /// use autodiff_core::Dual;
    /// assert_eq!(Dual::new(1.5_f64, 2.0).value(), 1.5);
    /// ```
    #[inline(always)]
    pub fn value(&self) -> F {
        self.v
    }

    /// The tangent: the derivative of the value along the seeded direction.
    ///
    /// ```
    /// use autodiff_core::Dual;
    /// assert_eq!(Dual::new(1.5_f64, 2.0).tangent(), 2.0);
    /// ```
    #[inline(always)]
    pub fn tangent(&self) -> F {
        self.t
    }
}

impl<F: Zero + One> Dual<F> {
    /// A constant: value `v`, tangent 0.
    ///
    /// ```
    /// use autodiff_core::Dual;
    /// assert_eq!(Dual::constant(4.0_f64).tangent(), 0.0);
    /// ```
    #[inline(always)]
    pub fn constant(v: F) -> Self {
        Dual { v, t: F::zero() }
    }

    /// The variable being differentiated: value `v`, tangent 1.
    ///
    /// ```
    /// use autodiff_core::{Dual, Float};
    /// let y = Dual::variable(4.0_f64).sqrt();
    /// assert_eq!((y.value(), y.tangent()), (2.0, 0.25));
    /// ```
    #[inline(always)]
    pub fn variable(v: F) -> Self {
        Dual { v, t: F::one() }
    }
}

/// `d * t`, where an exactly zero tangent is a symbolic zero: it contributes nothing even where
/// the partial `d` is infinite or NaN (a constant exponent of `powf` on a negative base, `sqrt`
/// of a constant 0), as JAX's symbolic zeros for constants. `is_zero` of a nested dual is
/// structural, so only a tangent that is zero at every level is dropped.
#[inline(always)]
fn scale_tangent<F: Float>(d: F, t: F) -> F {
    if t.is_zero() { t } else { d * t }
}

// ---------------------------------------------------------------------------------------------
// Construction, formatting, comparison
// ---------------------------------------------------------------------------------------------

impl<F: Zero + One> From<F> for Dual<F> {
    /// A constant (tangent 0).
    #[inline(always)]
    fn from(v: F) -> Self {
        Dual::constant(v)
    }
}

impl<F: Zero> Default for Dual<F> {
    /// Zero value, zero tangent.
    #[inline(always)]
    fn default() -> Self {
        Dual {
            v: F::zero(),
            t: F::zero(),
        }
    }
}

impl<F: fmt::Display> fmt::Display for Dual<F> {
    /// `v + tε`; the formatting options (precision, ...) apply to both numbers.
    ///
    /// ```
    /// use autodiff_core::Dual;
    /// assert_eq!(format!("{:.2}", Dual::new(1.0_f64, -0.5)), "1.00 + -0.50ε");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.v, f)?;
        f.write_str(" + ")?;
        fmt::Display::fmt(&self.t, f)?;
        f.write_str("ε")
    }
}

impl<F: PartialEq> PartialEq for Dual<F> {
    /// Compares the values only.
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.v == other.v
    }
}

impl<F: PartialOrd> PartialOrd for Dual<F> {
    /// Compares the values only.
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.v.partial_cmp(&other.v)
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

impl<F: Float> Neg for Dual<F> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        let y = -self.v;
        Dual {
            v: y,
            t: of_operator(tangent::neg(self.v, y, [Some(self.t)])),
        }
    }
}

/// A tangent of the rule table's `tangent` functions, one of whose arguments is always active.
#[inline(always)]
fn of_operator<F: Float>(t: Option<F>) -> F {
    t.unwrap_or_else(F::zero)
}

/// Implements a binary operator for `Dual op Dual` and `Dual op F`, with its `*Assign` forms:
/// the value is `F`'s operator, the tangent the rule table's row of the same name
/// (`tangent::add`, ...), with `None` for the tangent of a constant.
macro_rules! by_operator {
    ($Op:ident $op:ident, $OpAssign:ident $op_assign:ident) => {
        impl<F: Float> $Op for Dual<F> {
            type Output = Self;
            #[inline(always)]
            fn $op(self, b: Self) -> Self {
                let y = $Op::$op(self.v, b.v);
                Dual {
                    v: y,
                    t: of_operator(tangent::$op(self.v, b.v, y, [Some(self.t), Some(b.t)])),
                }
            }
        }
        impl<F: Float> $Op<F> for Dual<F> {
            type Output = Self;
            #[inline(always)]
            fn $op(self, s: F) -> Self {
                let y = $Op::$op(self.v, s);
                Dual {
                    v: y,
                    t: of_operator(tangent::$op(self.v, s, y, [Some(self.t), None])),
                }
            }
        }
        impl<F: Float> $OpAssign for Dual<F> {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: Self) {
                *self = $Op::$op(*self, rhs);
            }
        }
        impl<F: Float> $OpAssign<F> for Dual<F> {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: F) {
                *self = $Op::$op(*self, rhs);
            }
        }
    };
}

by_operator!(Add add, AddAssign add_assign);
by_operator!(Sub sub, SubAssign sub_assign);
by_operator!(Mul mul, MulAssign mul_assign);
by_operator!(Div div, DivAssign div_assign);
by_operator!(Rem rem, RemAssign rem_assign);

/// `f32 op Dual<f32>` and `f64 op Dual<f64>`: a plain float on the left, a constant.
macro_rules! scalar_left_ops {
    ($($T:ty),*) => {$(
        scalar_left_ops!(@op $T, Add add, Sub sub, Mul mul, Div div, Rem rem);
    )*};
    (@op $T:ty, $($Op:ident $op:ident),*) => {$(
        impl $Op<Dual<$T>> for $T {
            type Output = Dual<$T>;
            #[inline(always)]
            fn $op(self, d: Dual<$T>) -> Dual<$T> {
                let y = $Op::$op(self, d.v);
                Dual {
                    v: y,
                    t: of_operator(tangent::$op(self, d.v, y, [None, Some(d.t)])),
                }
            }
        }
    )*};
}
scalar_left_ops!(f32, f64);

impl<F: Float> Sum for Dual<F> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), |acc, x| acc + x)
    }
}

impl<'a, F: Float> Sum<&'a Dual<F>> for Dual<F> {
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), |acc, x| acc + *x)
    }
}

impl<F: Float> Product for Dual<F> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::one(), |acc, x| acc * x)
    }
}

impl<'a, F: Float> Product<&'a Dual<F>> for Dual<F> {
    fn product<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.fold(Self::one(), |acc, x| acc * *x)
    }
}

// ---------------------------------------------------------------------------------------------
// num-traits: Zero, One, Num, casts
// ---------------------------------------------------------------------------------------------

impl<F: Float> Zero for Dual<F> {
    #[inline(always)]
    fn zero() -> Self {
        Dual::constant(F::zero())
    }
    /// True only for the additive identity: value *and* tangent zero (unlike `== 0`, which
    /// compares values).
    #[inline(always)]
    fn is_zero(&self) -> bool {
        self.v.is_zero() && self.t.is_zero()
    }
}

impl<F: Float> One for Dual<F> {
    #[inline(always)]
    fn one() -> Self {
        Dual::constant(F::one())
    }
}

impl<F: Float> Num for Dual<F> {
    type FromStrRadixErr = F::FromStrRadixErr;
    /// Parses a constant.
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        F::from_str_radix(s, radix).map(Dual::constant)
    }
}

macro_rules! to_primitive {
    ($($name:ident -> $T:ty),*) => {$(
        #[inline]
        fn $name(&self) -> Option<$T> {
            self.v.$name()
        }
    )*};
}

impl<F: Float> ToPrimitive for Dual<F> {
    to_primitive!(
        to_isize -> isize, to_i8 -> i8, to_i16 -> i16, to_i32 -> i32, to_i64 -> i64,
        to_i128 -> i128, to_usize -> usize, to_u8 -> u8, to_u16 -> u16, to_u32 -> u32,
        to_u64 -> u64, to_u128 -> u128, to_f32 -> f32, to_f64 -> f64
    );
}

impl<F: Float> NumCast for Dual<F> {
    /// A constant (tangent 0).
    #[inline]
    fn from<T: ToPrimitive>(n: T) -> Option<Self> {
        <F as NumCast>::from(n).map(Dual::constant)
    }
}

// ---------------------------------------------------------------------------------------------
// Float: every derivative from the rule table
// ---------------------------------------------------------------------------------------------

/// One `Float` method whose derivative is the rule of the same name in [`crate::rules`]:
/// the value is `F`'s method, the tangent `sum_i partials::NAME(..)[i] * t_i`.
macro_rules! by_rule {
    ($name:ident(self)) => {
        #[inline]
        fn $name(self) -> Self {
            let y = <F as Float>::$name(self.v);
            let [d] = partials::$name(self.v, y);
            Dual {
                v: y,
                t: scale_tangent(d, self.t),
            }
        }
    };
    ($name:ident(self, $n:ident: i32)) => {
        #[inline]
        fn $name(self, $n: i32) -> Self {
            let y = <F as Float>::$name(self.v, $n);
            let [d] = partials::$name(self.v, $n, y);
            Dual {
                v: y,
                t: scale_tangent(d, self.t),
            }
        }
    };
    ($name:ident(self, $a:ident)) => {
        #[inline]
        fn $name(self, $a: Self) -> Self {
            let y = <F as Float>::$name(self.v, $a.v);
            let [dx, da] = partials::$name(self.v, $a.v, y);
            Dual {
                v: y,
                t: scale_tangent(dx, self.t) + scale_tangent(da, $a.t),
            }
        }
    };
    ($name:ident(self, $a:ident, $b:ident)) => {
        #[inline]
        fn $name(self, $a: Self, $b: Self) -> Self {
            let y = <F as Float>::$name(self.v, $a.v, $b.v);
            let [dx, da, db] = partials::$name(self.v, $a.v, $b.v, y);
            Dual {
                v: y,
                t: scale_tangent(dx, self.t) + scale_tangent(da, $a.t) + scale_tangent(db, $b.t),
            }
        }
    };
}

/// A `Float` constant: `F`'s constant with tangent 0.
macro_rules! constants {
    ($($name:ident),*) => {$(
        #[inline(always)]
        fn $name() -> Self {
            Dual::constant(<F as Float>::$name())
        }
    )*};
}

/// A `Float` predicate or query, answered by the value.
macro_rules! of_value {
    ($($name:ident -> $T:ty),*) => {$(
        #[inline(always)]
        fn $name(self) -> $T {
            <F as Float>::$name(self.v)
        }
    )*};
}

impl<F: Float> Float for Dual<F> {
    constants!(
        nan,
        infinity,
        neg_infinity,
        neg_zero,
        min_value,
        min_positive_value,
        epsilon,
        max_value
    );

    of_value!(is_nan -> bool, is_infinite -> bool, is_finite -> bool, is_normal -> bool,
        is_subnormal -> bool, classify -> FpCategory, is_sign_positive -> bool,
        is_sign_negative -> bool, integer_decode -> (u64, i16, i8));

    by_rule!(floor(self));
    by_rule!(ceil(self));
    by_rule!(round(self));
    by_rule!(trunc(self));
    by_rule!(signum(self));
    by_rule!(abs(self));
    by_rule!(mul_add(self, a, b));
    by_rule!(recip(self));
    by_rule!(powi(self, n: i32));
    by_rule!(powf(self, a));
    by_rule!(sqrt(self));
    by_rule!(cbrt(self));
    by_rule!(exp(self));
    by_rule!(exp2(self));
    by_rule!(exp_m1(self));
    by_rule!(ln(self));
    by_rule!(ln_1p(self));
    by_rule!(log(self, base));
    by_rule!(log2(self));
    by_rule!(log10(self));
    by_rule!(max(self, other));
    by_rule!(min(self, other));
    by_rule!(hypot(self, other));
    by_rule!(sin(self));
    by_rule!(cos(self));
    by_rule!(tan(self));
    by_rule!(asin(self));
    by_rule!(acos(self));
    by_rule!(atan(self));
    by_rule!(atan2(self, other));
    by_rule!(sinh(self));
    by_rule!(cosh(self));
    by_rule!(tanh(self));
    by_rule!(asinh(self));
    by_rule!(acosh(self));
    by_rule!(atanh(self));

    /// `fract x = x - trunc x`, and `trunc` has derivative 0 (rule `trunc`): derivative 1.
    #[inline]
    fn fract(self) -> Self {
        Dual {
            v: self.v.fract(),
            t: self.t,
        }
    }

    /// The tuple `sin_cos` of the table (`rules::TUPLES`): the value computed once, each
    /// part's tangent from its row (`sin`, `cos`).
    #[inline]
    fn sin_cos(self) -> (Self, Self) {
        let (s, c) = <F as Float>::sin_cos(self.v);
        let [ds] = partials::sin(self.v, s);
        let [dc] = partials::cos(self.v, c);
        (
            Dual {
                v: s,
                t: scale_tangent(ds, self.t),
            },
            Dual {
                v: c,
                t: scale_tangent(dc, self.t),
            },
        )
    }

    by_rule!(to_degrees(self));
    by_rule!(to_radians(self));
    by_rule!(clamp(self, lo, hi));

    /// `max(x - a, 0)` with the branch taken on the values, as `F::abs_sub`: partials
    /// `(1, -1)` where `x > a`, else `(0, 0)`.
    #[inline]
    #[allow(deprecated)]
    fn abs_sub(self, other: Self) -> Self {
        if self.v <= other.v {
            Self::zero()
        } else {
            self - other
        }
    }

    by_rule!(copysign(self, sign));
}

macro_rules! float_consts {
    ($($name:ident),*) => {$(
        #[inline(always)]
        fn $name() -> Self {
            Dual::constant(F::$name())
        }
    )*};
}

impl<F: Float + FloatConst> FloatConst for Dual<F> {
    float_consts!(
        E,
        FRAC_1_PI,
        FRAC_1_SQRT_2,
        FRAC_2_PI,
        FRAC_2_SQRT_PI,
        FRAC_PI_2,
        FRAC_PI_3,
        FRAC_PI_4,
        FRAC_PI_6,
        FRAC_PI_8,
        LN_10,
        LN_2,
        LOG10_E,
        LOG2_E,
        PI,
        SQRT_2
    );

    #[inline(always)]
    fn TAU() -> Self {
        Dual::constant(F::TAU())
    }
    #[inline(always)]
    fn LOG10_2() -> Self {
        Dual::constant(F::LOG10_2())
    }
    #[inline(always)]
    fn LOG2_10() -> Self {
        Dual::constant(F::LOG2_10())
    }
}

// ---------------------------------------------------------------------------------------------
// Differentiable: a dual is a scalar leaf, so `Dual<F>: Real`
// ---------------------------------------------------------------------------------------------

/// A dual number is its own scalar, so reverse mode runs on duals (forward-over-reverse,
/// Hessian-vector products).
///
/// ```
/// use autodiff_core::{Differentiable, Dual};
/// let mut a = Dual::new(1.0_f64, 1.0);
/// a.axpy(Dual::constant(2.0), &Dual::new(3.0, 0.5));
/// assert_eq!((a.value(), a.tangent()), (7.0, 2.0));
/// ```
impl<F: Float> Differentiable for Dual<F> {
    type Scalar = Dual<F>;
    #[inline(always)]
    fn zero_like(&self) -> Self {
        Self::zero()
    }
    #[inline(always)]
    fn accumulate(&mut self, other: &Self) {
        *self += *other;
    }
    #[inline(always)]
    fn axpy(&mut self, a: Self, x: &Self) {
        *self += a * *x;
    }
    #[inline(always)]
    fn dot(&self, other: &Self) -> Self {
        *self * *other
    }
    #[inline(always)]
    fn scale(&mut self, a: Self) {
        *self *= a;
    }
    #[inline(always)]
    fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut Self, Self)) {
        f(self, *other)
    }
    #[inline(always)]
    fn num_leaves(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_with_plain_floats() {
        let x = Dual::variable(2.0_f64);
        let y = 3.0 * x + x * 4.0 - 1.0 / x + (x - 1.0) / 2.0;
        // y = 7x - 1/x + (x - 1)/2, y' = 7 + 1/x^2 + 1/2
        assert_eq!(y.value(), 14.0 - 0.5 + 0.5);
        assert_eq!(y.tangent(), 7.0 + 0.25 + 0.5);
    }

    #[test]
    fn symbolic_zero_tangent() {
        // A constant exponent on a negative base: ln x is NaN, but the exponent's tangent is 0.
        let y = Dual::variable(-2.0_f64).powf(Dual::constant(2.0));
        assert_eq!((y.value(), y.tangent()), (4.0, -4.0));
        // sqrt of a constant 0 has tangent 0, not 0 * inf.
        assert_eq!(Dual::constant(0.0_f64).sqrt().tangent(), 0.0);
    }

    #[test]
    fn nested_zero_is_structural() {
        let t = Dual::new(0.0_f64, 1.0);
        assert!(!t.is_zero());
        assert!(t == Dual::constant(0.0));
    }
}
