//! The one table of derivative rules.
//!
//! Every float method that `#[differentiate]` understands is written here once, as its partial
//! derivatives with respect to each float argument. Three things are driven from this table and
//! nothing else, so they cannot drift apart:
//!
//! - the macro's emitter (`autodiff-macros` reads [`RULES`] and substitutes the operands into the
//!   partials' source text, both for tangents `t_y = sum d_i * t_i` and for adjoints
//!   `x_i_bar += d_i * y_bar`);
//! - [`Dual`](crate::Dual)'s `Float` methods, which call the functions of [`partials`];
//! - the rule tests, which iterate over [`RULES`] and check every entry in both modes against
//!   central finite differences.
//!
//! In a rule, `x` is the receiver, `a` and `b` further float arguments, `n` an integer argument
//! and `y` the result, already computed. `F` is the float type. Partials are listed in the order
//! of the float arguments.
//!
//! Conventions at points where a function is not differentiable (documented per rule as well):
//! `abs` has derivative 0 at 0 (as PyTorch), `max`/`min` send the whole derivative to the
//! receiver on a tie, `signum`, `floor`, `ceil`, `round`, `trunc` have derivative 0 everywhere
//! (their derivative is 0 almost everywhere; at the jumps it does not exist), `powf` treats
//! `d/da x^a` as 0 where `x^a == 0`.

use num_traits::Float;

/// One row of the rule table, in the form the macro reads.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The method name, as in `x.sin()` or `F::sin(x)`.
    pub name: &'static str,
    /// The arguments with their kind: `"F"` for a float, `"i32"` for an integer (passive).
    /// The first is always the receiver `x`.
    pub args: &'static [(&'static str, &'static str)],
    /// The name the partials use for the result.
    pub result: &'static str,
    /// One partial derivative per float argument, as Rust source over the argument names,
    /// the result name and `F`.
    pub partials: &'static [&'static str],
    /// The rule's documentation, including its convention at non-differentiable points.
    pub doc: &'static str,
}

impl Rule {
    /// The names of the float (differentiable) arguments, in order.
    pub fn float_args(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.args.iter().filter(|(_, k)| *k == "F").map(|(n, _)| *n)
    }

    /// Looks a method up by name.
    pub fn find(name: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.name == name)
    }
}

/// A float constant of type `F`, used by the rules for literals such as `3.0`.
#[inline(always)]
pub fn lit<F: Float>(v: f64) -> F {
    // `F::from` can only fail for float types that cannot represent small literals.
    F::from(v).unwrap_or_else(F::nan)
}

macro_rules! count {
    () => { 0usize };
    ($head:tt $($tail:tt)*) => { 1usize + count!($($tail)*) };
}

macro_rules! rule_table {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident ( $($arg:ident : $kind:ident),* ) -> $y:ident = [ $($p:expr),* $(,)? ];
    )*) => {
        /// The partial derivatives of every rule, as generic functions: `partials::NAME(args.., y)`
        /// returns one partial per float argument. [`Dual`](crate::Dual) calls these.
        pub mod partials {
            #![allow(unused_variables, clippy::neg_multiply)]
            use num_traits::Float;
            #[allow(unused_imports)]
            use super::lit;
            $(
                $(#[doc = $doc])*
                #[inline(always)]
                pub fn $name<F: Float>($($arg: $kind,)* $y: F) -> [F; count!($($p)*)] {
                    [$($p),*]
                }
            )*
        }

        /// The table itself, as data for the macro and the tests.
        pub static RULES: &[Rule] = &[$(
            Rule {
                name: stringify!($name),
                args: &[$((stringify!($arg), stringify!($kind))),*],
                result: stringify!($y),
                partials: &[$(stringify!($p)),*],
                doc: concat!($($doc, "\n"),*),
            }
        ),*];
    };
}

rule_table! {
    /// `sin x`: derivative `cos x`.
    fn sin(x: F) -> y = [x.cos()];
    /// `cos x`: derivative `-sin x`.
    fn cos(x: F) -> y = [-x.sin()];
    /// `tan x`: derivative `1 + tan^2 x`.
    fn tan(x: F) -> y = [F::one() + y * y];
    /// `asin x`: derivative `1 / sqrt(1 - x^2)` (infinite at +-1).
    fn asin(x: F) -> y = [(F::one() - x * x).sqrt().recip()];
    /// `acos x`: derivative `-1 / sqrt(1 - x^2)` (infinite at +-1).
    fn acos(x: F) -> y = [-(F::one() - x * x).sqrt().recip()];
    /// `atan x`: derivative `1 / (1 + x^2)`.
    fn atan(x: F) -> y = [(F::one() + x * x).recip()];
    /// `atan2(x, a)` (the angle of the point `(a, x)`): partials `a / (x^2 + a^2)` and
    /// `-x / (x^2 + a^2)`; at the origin both are taken as 0.
    fn atan2(x: F, a: F) -> y = [
        if x == F::zero() && a == F::zero() { F::zero() } else { a / (x * x + a * a) },
        if x == F::zero() && a == F::zero() { F::zero() } else { -x / (x * x + a * a) },
    ];
    /// `sinh x`: derivative `cosh x`.
    fn sinh(x: F) -> y = [x.cosh()];
    /// `cosh x`: derivative `sinh x`.
    fn cosh(x: F) -> y = [x.sinh()];
    /// `tanh x`: derivative `1 - tanh^2 x`.
    fn tanh(x: F) -> y = [F::one() - y * y];
    /// `asinh x`: derivative `1 / sqrt(x^2 + 1)`.
    fn asinh(x: F) -> y = [(x * x + F::one()).sqrt().recip()];
    /// `acosh x`: derivative `1 / sqrt(x^2 - 1)` (infinite at 1).
    fn acosh(x: F) -> y = [(x * x - F::one()).sqrt().recip()];
    /// `atanh x`: derivative `1 / (1 - x^2)`.
    fn atanh(x: F) -> y = [(F::one() - x * x).recip()];
    /// `exp x`: derivative `exp x`.
    fn exp(x: F) -> y = [y];
    /// `exp2 x`: derivative `ln 2 * 2^x`.
    fn exp2(x: F) -> y = [y * lit::<F>(core::f64::consts::LN_2)];
    /// `exp_m1 x = e^x - 1`: derivative `e^x`.
    fn exp_m1(x: F) -> y = [y + F::one()];
    /// `ln x`: derivative `1 / x`.
    fn ln(x: F) -> y = [x.recip()];
    /// `ln_1p x = ln(1 + x)`: derivative `1 / (1 + x)`.
    fn ln_1p(x: F) -> y = [(F::one() + x).recip()];
    /// `log(x, a)`, the logarithm of `x` in base `a`: partials `1 / (x ln a)` and
    /// `-ln x / (a ln^2 a)`.
    fn log(x: F, a: F) -> y = [(x * a.ln()).recip(), -x.ln() / (a * a.ln() * a.ln())];
    /// `log2 x`: derivative `1 / (x ln 2)`.
    fn log2(x: F) -> y = [(x * lit::<F>(core::f64::consts::LN_2)).recip()];
    /// `log10 x`: derivative `1 / (x ln 10)`.
    fn log10(x: F) -> y = [(x * lit::<F>(core::f64::consts::LN_10)).recip()];
    /// `sqrt x`: derivative `1 / (2 sqrt x)` (infinite at 0).
    fn sqrt(x: F) -> y = [(y + y).recip()];
    /// `cbrt x`: derivative `1 / (3 cbrt(x)^2)` (infinite at 0).
    fn cbrt(x: F) -> y = [(lit::<F>(3.0) * y * y).recip()];
    /// `powi(x, n)`: derivative `n x^(n-1)`; `n` is an integer and gets no derivative.
    fn powi(x: F, n: i32) -> y = [if n == 0 { F::zero() } else { lit::<F>(n as f64) * x.powi(n - 1) }];
    /// `powf(x, a) = x^a`: partials `a x^(a-1)` and `x^a ln x`; the second is taken as 0 where
    /// `x^a == 0` (so `0^a` has no derivative in `a`, as in JAX).
    fn powf(x: F, a: F) -> y = [
        if a == F::zero() { F::zero() } else { a * x.powf(a - F::one()) },
        if y == F::zero() { F::zero() } else { y * x.ln() },
    ];
    /// `recip x = 1 / x`: derivative `-1 / x^2`.
    fn recip(x: F) -> y = [-(y * y)];
    /// `abs x`: derivative `signum x`, and 0 at `x == 0` (as PyTorch).
    fn abs(x: F) -> y = [if x > F::zero() { F::one() } else if x < F::zero() { -F::one() } else { F::zero() }];
    /// `hypot(x, a) = sqrt(x^2 + a^2)`: partials `x / y` and `a / y`; 0 at the origin.
    fn hypot(x: F, a: F) -> y = [
        if y == F::zero() { F::zero() } else { x / y },
        if y == F::zero() { F::zero() } else { a / y },
    ];
    /// `max(x, a)`: the derivative goes to the larger argument; on a tie, to the receiver `x`.
    fn max(x: F, a: F) -> y = [
        if x >= a || a.is_nan() { F::one() } else { F::zero() },
        if x >= a || a.is_nan() { F::zero() } else { F::one() },
    ];
    /// `min(x, a)`: the derivative goes to the smaller argument; on a tie, to the receiver `x`.
    fn min(x: F, a: F) -> y = [
        if x <= a || a.is_nan() { F::one() } else { F::zero() },
        if x <= a || a.is_nan() { F::zero() } else { F::one() },
    ];
    /// `mul_add(x, a, b) = x * a + b`: partials `a`, `x` and `1`.
    fn mul_add(x: F, a: F, b: F) -> y = [a, x, F::one()];
    /// `clamp(x, lo, hi)`: the derivative goes to `x` inside `[lo, hi]` (the bounds included),
    /// to the bound that is returned outside.
    fn clamp(x: F, lo: F, hi: F) -> y = [
        if x < lo || x > hi { F::zero() } else { F::one() },
        if x < lo { F::one() } else { F::zero() },
        if x > hi { F::one() } else { F::zero() },
    ];
    /// `copysign(x, s)`, the magnitude of `x` with the sign of `s`: partials `+-1` (`1` when the
    /// signs agree) and `0`.
    fn copysign(x: F, s: F) -> y = [
        if x.is_sign_negative() == s.is_sign_negative() { F::one() } else { -F::one() },
        F::zero(),
    ];
    /// `to_degrees x`: derivative `180 / pi`.
    fn to_degrees(x: F) -> y = [lit::<F>(180.0 / core::f64::consts::PI)];
    /// `to_radians x`: derivative `pi / 180`.
    fn to_radians(x: F) -> y = [lit::<F>(core::f64::consts::PI / 180.0)];
    /// `floor x`: derivative 0 (undefined at the integers, taken as 0).
    fn floor(x: F) -> y = [F::zero()];
    /// `ceil x`: derivative 0 (undefined at the integers, taken as 0).
    fn ceil(x: F) -> y = [F::zero()];
    /// `round x`: derivative 0 (undefined at the half-integers, taken as 0).
    fn round(x: F) -> y = [F::zero()];
    /// `trunc x`: derivative 0 (undefined at the integers, taken as 0).
    fn trunc(x: F) -> y = [F::zero()];
    /// `signum x`: derivative 0 (undefined at 0, taken as 0).
    fn signum(x: F) -> y = [F::zero()];
}
