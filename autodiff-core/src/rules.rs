//! The one table of derivative rules.
//!
//! Every operation `#[differentiate]` differentiates is written here once, as its partial
//! derivatives with respect to each float argument: the operators (`+ - * / %`, unary `-`, and
//! `x * x` as the row `square`) and every float method it understands. Each row also says how
//! it is written in source ([`Form`]) and what recomputing it costs ([`Cost`]). Three things
//! are driven from this table and nothing else, so they cannot drift apart:
//!
//! - the macro's emitter (`autodiff-macros` reads [`RULES`] and substitutes the operands into the
//!   partials' source text, both for tangents `t_y = sum d_i * t_i` and for adjoints
//!   `x_i_bar += d_i * y_bar`; a partial `1` is no product, a leading `-` a subtraction, and a
//!   row with a divisor divides once);
//! - [`Dual`](crate::Dual)'s operators, which call the functions of [`tangent`], and its `Float`
//!   methods, which call those of [`partials`];
//! - the rule tests, which iterate over [`RULES`] and check every entry in both modes against
//!   central finite differences.
//!
//! In a rule, `x` is the receiver (the left operand), `a` and `b` further float arguments, `n`
//! an integer argument and `y` the result, already computed. `F` is the float type. Partials are
//! listed in the order of the float arguments.
//!
//! Conventions at points where a function is not differentiable (documented per rule as well):
//! `abs` has derivative 0 at 0 (as PyTorch), `max`/`min` send the whole derivative to the
//! receiver on a tie, `signum`, `floor`, `ceil`, `round`, `trunc` have derivative 0 everywhere
//! (their derivative is 0 almost everywhere; at the jumps it does not exist), `powf` treats
//! `d/da x^a` as 0 where `x^a == 0`, `x % a` keeps its formula at its jumps.

use num_traits::Float;

/// How a row is written in Rust source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A float method, `x.NAME(..)` or `F::NAME(x, ..)`.
    Method,
    /// A binary operator, `x OP a` (`+ - * / %`), and its compound assignment `x OP= a`.
    Binary(&'static str),
    /// A unary operator, `OP x` (`-`).
    Unary(&'static str),
    /// `x * x`: a product of a value with itself, one factor's derivative doubled.
    Square,
}

/// What recomputing a row in the reverse sweep costs, against storing its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// As cheap as an arithmetic operation: recomputed rather than stored where possible.
    Cheap,
    /// Transcendental: stored rather than recomputed.
    Costly,
}

/// One row of the rule table, in the form the macro reads.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The row's name: the method name, as in `x.sin()` or `F::sin(x)`, or the operator's
    /// trait method (`add`, `neg`, ...).
    pub name: &'static str,
    /// How the row is written in source.
    pub form: Form,
    /// Whether the reverse sweep recomputes it rather than storing it.
    pub cost: Cost,
    /// The arguments with their kind: `"F"` for a float, `"i32"` for an integer (passive).
    /// The first is always the receiver `x`.
    pub args: &'static [(&'static str, &'static str)],
    /// The name the partials use for the result.
    pub result: &'static str,
    /// One partial derivative per float argument, as Rust source over the argument names,
    /// the result name and `F`; each divided by [`Rule::divisor`] when there is one.
    pub partials: &'static [&'static str],
    /// A divisor common to all partials (`x / a`: partials `[1, -y] / a`), so that a tangent
    /// or an adjoint divides once: `(t_x - y t_a) / a`.
    pub divisor: Option<&'static str>,
    /// The rule's documentation, including its convention at non-differentiable points.
    pub doc: &'static str,
}

impl Rule {
    /// The names of the float (differentiable) arguments, in order.
    pub fn float_args(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.args.iter().filter(|(_, k)| *k == "F").map(|(n, _)| *n)
    }

    /// Looks a float method up by name (operators are not methods here: `x.add(a)` on a
    /// user's type is the user's).
    pub fn find(name: &str) -> Option<&'static Rule> {
        RULES
            .iter()
            .find(|r| r.name == name && r.form == Form::Method)
    }

    /// Any row by name.
    pub fn named(name: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.name == name)
    }

    /// The row of a binary operator (`"+"`, ...).
    pub fn binary(op: &str) -> Option<&'static Rule> {
        RULES
            .iter()
            .find(|r| matches!(r.form, Form::Binary(o) if o == op))
    }

    /// The row of a unary operator (`"-"`).
    pub fn unary(op: &str) -> Option<&'static Rule> {
        RULES
            .iter()
            .find(|r| matches!(r.form, Form::Unary(o) if o == op))
    }

    /// The row of `x * x`.
    pub fn square() -> &'static Rule {
        RULES
            .iter()
            .find(|r| r.form == Form::Square)
            .unwrap_or(&RULES[0])
    }
}

/// A float method whose value is a tuple of rows of [`RULES`], each applied to the method's
/// arguments: `x.sin_cos()` is `(x.sin(), x.cos())`, so its derivatives are those rows'
/// (`cos x` for the first part, `-sin x` for the second). A row has one result, so a tuple is
/// not a row itself but a name for its parts, and the same three consumers read it from here:
///
/// - the macro lowers `x.sin_cos()` / `F::sin_cos(x)` into its parts' rows (`x.sin_cos().0`
///   into the first part's alone, `let (s, c) = x.sin_cos();` into one row each);
/// - [`Dual`](crate::Dual)'s method computes the tuple once and each part's tangent from that
///   part's row of [`partials`];
/// - the rule tests check that every part is a method row taking the tuple's arguments, and
///   every part of `Dual`'s method and of the macro's in both modes against finite differences.
#[derive(Debug, Clone, Copy)]
pub struct Tuple {
    /// The method's name.
    pub name: &'static str,
    /// The rows giving its parts, in order.
    pub parts: &'static [&'static str],
    /// The method's documentation.
    pub doc: &'static str,
}

impl Tuple {
    /// Looks a tuple-valued float method up by name.
    pub fn find(name: &str) -> Option<&'static Tuple> {
        TUPLES.iter().find(|t| t.name == name)
    }

    /// The rows of the parts, in order (each a [`Form::Method`] row of [`RULES`]).
    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        self.parts.iter().filter_map(|p| Rule::find(p))
    }
}

/// The tuple-valued float methods (see [`Tuple`]).
pub static TUPLES: &[Tuple] = &[Tuple {
    name: "sin_cos",
    parts: &["sin", "cos"],
    doc: "`sin_cos x = (sin x, cos x)`: the rows `sin` and `cos`, derivatives `cos x` and `-sin x`.",
}];

/// Float methods whose result is not a float: reading a float through them is passive.
pub static PREDICATES: &[&str] = &[
    "len",
    "is_empty",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_subnormal",
    "is_sign_positive",
    "is_sign_negative",
    "partial_cmp",
    "total_cmp",
    "classify",
];

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

macro_rules! form {
    (method) => {
        Form::Method
    };
    (binary $sym:literal) => {
        Form::Binary($sym)
    };
    (unary $sym:literal) => {
        Form::Unary($sym)
    };
    (square) => {
        Form::Square
    };
}

macro_rules! cost {
    (cheap) => {
        Cost::Cheap
    };
    (costly) => {
        Cost::Costly
    };
}

/// The partials, each divided by the divisor when there is one.
macro_rules! divided {
    ([$($p:expr),*]) => { [$($p),*] };
    ([$($p:expr),*] $d:expr) => {{
        let q = $d;
        [$(($p) / q),*]
    }};
}

/// `sum_i t_i p_i`, divided by the divisor when there is one.
macro_rules! combined {
    ($t:ident, [$($p:expr),*]) => {{
        let mut acc: Option<F> = None;
        for (t, p) in $t.into_iter().zip([$($p),*]) {
            if let Some(t) = t {
                acc = Some(match acc {
                    None => t * p,
                    Some(a) => a + t * p,
                });
            }
        }
        acc
    }};
    ($t:ident, [$($p:expr),*] $d:expr) => {
        combined!($t, [$($p),*]).map(|s| s / $d)
    };
}

macro_rules! rule_table {
    ($(
        $(#[doc = $doc:literal])*
        $form:ident $($sym:literal)? $cost:ident
        fn $name:ident ( $($arg:ident : $kind:ident),* ) -> $y:ident
            = [ $($p:expr),* $(,)? ] $(/ $div:expr)? ;
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
                    divided!([$($p),*] $($div)?)
                }
            )*
        }

        /// The tangent of every rule from the tangents of its float arguments (`None`: a
        /// constant), as the macro's emitter writes it: `tangent::NAME(args.., y, [t_x, ..])` is
        /// `sum_i t_i partials_i`, dividing once when the row has a divisor; `None` when every
        /// argument is constant. [`Dual`](crate::Dual)'s operators call these.
        pub mod tangent {
            #![allow(unused_variables, clippy::neg_multiply)]
            use num_traits::Float;
            #[allow(unused_imports)]
            use super::lit;
            $(
                $(#[doc = $doc])*
                #[inline(always)]
                pub fn $name<F: Float>(
                    $($arg: $kind,)* $y: F,
                    tangents: [Option<F>; count!($($p)*)],
                ) -> Option<F> {
                    combined!(tangents, [$($p),*] $($div)?)
                }
            )*
        }

        /// The table itself, as data for the macro and the tests.
        pub static RULES: &[Rule] = &[$(
            Rule {
                name: stringify!($name),
                form: form!($form $($sym)?),
                cost: cost!($cost),
                args: &[$((stringify!($arg), stringify!($kind))),*],
                result: stringify!($y),
                partials: &[$(stringify!($p)),*],
                divisor: divisor!($($div)?),
                doc: concat!($($doc, "\n"),*),
            }
        ),*];
    };
}

macro_rules! divisor {
    () => {
        None
    };
    ($d:expr) => {
        Some(stringify!($d))
    };
}

rule_table! {
    // The operators.
    /// `x + a`: partials `1` and `1`.
    binary "+" cheap fn add(x: F, a: F) -> y = [F::one(), F::one()];
    /// `x - a`: partials `1` and `-1`.
    binary "-" cheap fn sub(x: F, a: F) -> y = [F::one(), -F::one()];
    /// `x * a`: partials `a` and `x`.
    binary "*" cheap fn mul(x: F, a: F) -> y = [a, x];
    /// `x / a`: partials `1 / a` and `-y / a` (that is, `-x / a^2`), written over their common
    /// divisor `a` so that a tangent or an adjoint divides once.
    binary "/" cheap fn div(x: F, a: F) -> y = [F::one(), -y] / a;
    /// `x % a = x - trunc(x / a) a`: partials `1` and `-trunc(x / a)` (`trunc` is piecewise
    /// constant; at its jumps, where `x` is a multiple of `a`, the derivative is taken from the
    /// right formula all the same).
    binary "%" cheap fn rem(x: F, a: F) -> y = [F::one(), -(x / a).trunc()];
    /// `-x`: derivative `-1`.
    unary "-" cheap fn neg(x: F) -> y = [-F::one()];
    /// `x * x`, a product of a value with itself: derivative `2 x` (the same bits as
    /// `x' x + x x'`, in one product).
    square cheap fn square(x: F) -> y = [x + x];
    // The float methods.
    /// `sin x`: derivative `cos x`.
    method costly fn sin(x: F) -> y = [x.cos()];
    /// `cos x`: derivative `-sin x`.
    method costly fn cos(x: F) -> y = [-x.sin()];
    /// `tan x`: derivative `1 + tan^2 x`.
    method costly fn tan(x: F) -> y = [F::one() + y * y];
    /// `asin x`: derivative `1 / sqrt(1 - x^2)` (infinite at +-1).
    method costly fn asin(x: F) -> y = [(F::one() - x * x).sqrt().recip()];
    /// `acos x`: derivative `-1 / sqrt(1 - x^2)` (infinite at +-1).
    method costly fn acos(x: F) -> y = [-(F::one() - x * x).sqrt().recip()];
    /// `atan x`: derivative `1 / (1 + x^2)`.
    method costly fn atan(x: F) -> y = [(F::one() + x * x).recip()];
    /// `atan2(x, a)` (the angle of the point `(a, x)`): partials `a / (x^2 + a^2)` and
    /// `-x / (x^2 + a^2)`; at the origin both are taken as 0.
    method costly fn atan2(x: F, a: F) -> y = [
        if x == F::zero() && a == F::zero() { F::zero() } else { a / (x * x + a * a) },
        if x == F::zero() && a == F::zero() { F::zero() } else { -x / (x * x + a * a) },
    ];
    /// `sinh x`: derivative `cosh x`.
    method costly fn sinh(x: F) -> y = [x.cosh()];
    /// `cosh x`: derivative `sinh x`.
    method costly fn cosh(x: F) -> y = [x.sinh()];
    /// `tanh x`: derivative `1 - tanh^2 x`.
    method costly fn tanh(x: F) -> y = [F::one() - y * y];
    /// `asinh x`: derivative `1 / sqrt(x^2 + 1)`.
    method costly fn asinh(x: F) -> y = [(x * x + F::one()).sqrt().recip()];
    /// `acosh x`: derivative `1 / sqrt(x^2 - 1)` (infinite at 1).
    method costly fn acosh(x: F) -> y = [(x * x - F::one()).sqrt().recip()];
    /// `atanh x`: derivative `1 / (1 - x^2)`.
    method costly fn atanh(x: F) -> y = [(F::one() - x * x).recip()];
    /// `exp x`: derivative `exp x`.
    method costly fn exp(x: F) -> y = [y];
    /// `exp2 x`: derivative `ln 2 * 2^x`.
    method costly fn exp2(x: F) -> y = [y * lit::<F>(core::f64::consts::LN_2)];
    /// `exp_m1 x = e^x - 1`: derivative `e^x`.
    method costly fn exp_m1(x: F) -> y = [y + F::one()];
    /// `ln x`: derivative `1 / x`.
    method costly fn ln(x: F) -> y = [x.recip()];
    /// `ln_1p x = ln(1 + x)`: derivative `1 / (1 + x)`.
    method costly fn ln_1p(x: F) -> y = [(F::one() + x).recip()];
    /// `log(x, a)`, the logarithm of `x` in base `a`: partials `1 / (x ln a)` and
    /// `-ln x / (a ln^2 a)`.
    method costly fn log(x: F, a: F) -> y = [(x * a.ln()).recip(), -x.ln() / (a * a.ln() * a.ln())];
    /// `log2 x`: derivative `1 / (x ln 2)`.
    method costly fn log2(x: F) -> y = [(x * lit::<F>(core::f64::consts::LN_2)).recip()];
    /// `log10 x`: derivative `1 / (x ln 10)`.
    method costly fn log10(x: F) -> y = [(x * lit::<F>(core::f64::consts::LN_10)).recip()];
    /// `sqrt x`: derivative `1 / (2 sqrt x)` (infinite at 0).
    method costly fn sqrt(x: F) -> y = [(y + y).recip()];
    /// `cbrt x`: derivative `1 / (3 cbrt(x)^2)` (infinite at 0).
    method costly fn cbrt(x: F) -> y = [(lit::<F>(3.0) * y * y).recip()];
    /// `powi(x, n)`: derivative `n x^(n-1)`; `n` is an integer and gets no derivative.
    method costly fn powi(x: F, n: i32) -> y = [if n == 0 { F::zero() } else { lit::<F>(n as f64) * x.powi(n - 1) }];
    /// `powf(x, a) = x^a`: partials `a x^(a-1)` and `x^a ln x`; the second is taken as 0 where
    /// `x^a == 0` (so `0^a` has no derivative in `a`, as in JAX).
    method costly fn powf(x: F, a: F) -> y = [
        if a == F::zero() { F::zero() } else { a * x.powf(a - F::one()) },
        if y == F::zero() { F::zero() } else { y * x.ln() },
    ];
    /// `recip x = 1 / x`: derivative `-1 / x^2`.
    method cheap fn recip(x: F) -> y = [-(y * y)];
    /// `abs x`: derivative `signum x`, and 0 at `x == 0` (as PyTorch).
    method cheap fn abs(x: F) -> y = [if x > F::zero() { F::one() } else if x < F::zero() { -F::one() } else { F::zero() }];
    /// `hypot(x, a) = sqrt(x^2 + a^2)`: partials `x / y` and `a / y`; 0 at the origin.
    method costly fn hypot(x: F, a: F) -> y = [
        if y == F::zero() { F::zero() } else { x / y },
        if y == F::zero() { F::zero() } else { a / y },
    ];
    /// `max(x, a)`: the derivative goes to the larger argument; on a tie, to the receiver `x`.
    method cheap fn max(x: F, a: F) -> y = [
        if x >= a || a.is_nan() { F::one() } else { F::zero() },
        if x >= a || a.is_nan() { F::zero() } else { F::one() },
    ];
    /// `min(x, a)`: the derivative goes to the smaller argument; on a tie, to the receiver `x`.
    method cheap fn min(x: F, a: F) -> y = [
        if x <= a || a.is_nan() { F::one() } else { F::zero() },
        if x <= a || a.is_nan() { F::zero() } else { F::one() },
    ];
    /// `mul_add(x, a, b) = x * a + b`: partials `a`, `x` and `1`.
    method cheap fn mul_add(x: F, a: F, b: F) -> y = [a, x, F::one()];
    /// `clamp(x, lo, hi)`: the derivative goes to `x` inside `[lo, hi]` (the bounds included),
    /// to the bound that is returned outside.
    method cheap fn clamp(x: F, lo: F, hi: F) -> y = [
        if x < lo || x > hi { F::zero() } else { F::one() },
        if x < lo { F::one() } else { F::zero() },
        if x > hi { F::one() } else { F::zero() },
    ];
    /// `copysign(x, s)`, the magnitude of `x` with the sign of `s`: partials `+-1` (`1` when the
    /// signs agree) and `0`.
    method cheap fn copysign(x: F, s: F) -> y = [
        if x.is_sign_negative() == s.is_sign_negative() { F::one() } else { -F::one() },
        F::zero(),
    ];
    /// `to_degrees x`: derivative `180 / pi`.
    method cheap fn to_degrees(x: F) -> y = [lit::<F>(180.0 / core::f64::consts::PI)];
    /// `to_radians x`: derivative `pi / 180`.
    method cheap fn to_radians(x: F) -> y = [lit::<F>(core::f64::consts::PI / 180.0)];
    /// `floor x`: derivative 0 (undefined at the integers, taken as 0).
    method cheap fn floor(x: F) -> y = [F::zero()];
    /// `ceil x`: derivative 0 (undefined at the integers, taken as 0).
    method cheap fn ceil(x: F) -> y = [F::zero()];
    /// `round x`: derivative 0 (undefined at the half-integers, taken as 0).
    method cheap fn round(x: F) -> y = [F::zero()];
    /// `trunc x`: derivative 0 (undefined at the integers, taken as 0).
    method cheap fn trunc(x: F) -> y = [F::zero()];
    /// `signum x`: derivative 0 (undefined at 0, taken as 0).
    method cheap fn signum(x: F) -> y = [F::zero()];
}
