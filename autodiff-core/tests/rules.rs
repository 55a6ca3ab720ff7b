//! Every rule of the table, checked against central finite differences of its primal: the
//! `rules::partials` functions and the `Dual` methods, in f64 and f32, first and second
//! derivatives. A rule added to `RULES` without an entry in this file's tables fails
//! `every_rule_is_covered`, so no rule goes untested.
// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::excessive_precision,
    clippy::approx_constant,
    clippy::manual_range_contains,
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::neg_multiply
)]

use autodiff_core::rules::{Form, RULES, Rule, TUPLES, Tuple, partials, tangent};
use autodiff_core::{Dual, Float};

/// The row `square`, `x * x`, as a method for `rule_calls!`.
trait Square {
    fn square(self) -> Self;
}

impl<F: Float> Square for F {
    fn square(self) -> Self {
        self * self
    }
}

/// Writes, from one list, the primal of every rule (generic: on `f64`/`f32` it is the
/// primitive, on `Dual` it is the method under test) and the call of its `partials` function.
/// Float arguments are `x[0]`, `x[1]`, `x[2]`; `int` marks a rule taking the integer `n`.
macro_rules! rule_calls {
    ($($name:ident($($i:tt),+ $(; $int:ident)?);)*) => {
        /// `NAME(x..)`, or `None` when the rule has no entry here.
        fn primal<F: Float>(name: &str, x: &[F], n: i32) -> Option<F> {
            let _ = n;
            match name {
                $(stringify!($name) => Some(rule_calls!(@call $name, x, n, [$($i),+] $(; $int)?)),)*
                _ => None,
            }
        }

        /// `rules::partials::NAME(x.., y)`, or `None` when the rule has no entry here.
        fn table_partials<F: Float>(name: &str, x: &[F], n: i32, y: F) -> Option<Vec<F>> {
            let _ = n;
            match name {
                $(stringify!($name) => {
                    Some(rule_calls!(@partials $name, x, n, y, [$($i),+] $(; $int)?).to_vec())
                })*
                _ => None,
            }
        }

        /// `rules::tangent::NAME(x.., y, t)`, or `None` when the rule has no entry here.
        fn table_tangent<F: Float>(name: &str, x: &[F], n: i32, y: F, t: &[Option<F>]) -> Option<Option<F>> {
            let _ = n;
            match name {
                $(stringify!($name) => {
                    Some(rule_calls!(@tangent $name, x, n, y, t, [$($i),+] $(; $int)?))
                })*
                _ => None,
            }
        }
    };
    (@tangent $name:ident, $x:ident, $n:ident, $y:ident, $t:ident, [$($i:tt),+]) => {
        tangent::$name($($x[$i],)+ $y, [$($t[$i]),+])
    };
    (@tangent $name:ident, $x:ident, $n:ident, $y:ident, $t:ident, [$($i:tt),+]; int) => {
        tangent::$name($($x[$i],)+ $n, $y, [$($t[$i]),+])
    };
    (@call $name:ident, $x:ident, $n:ident, [$first:tt $(, $rest:tt)*]) => {
        $x[$first].$name($($x[$rest]),*)
    };
    (@call $name:ident, $x:ident, $n:ident, [$first:tt]; int) => {
        $x[$first].$name($n)
    };
    (@partials $name:ident, $x:ident, $n:ident, $y:ident, [$($i:tt),+]) => {
        partials::$name($($x[$i],)+ $y)
    };
    (@partials $name:ident, $x:ident, $n:ident, $y:ident, [$($i:tt),+]; int) => {
        partials::$name($($x[$i],)+ $n, $y)
    };
}

rule_calls! {
    add(0, 1); sub(0, 1); mul(0, 1); div(0, 1); rem(0, 1); neg(0); square(0);
    sin(0); cos(0); tan(0); asin(0); acos(0); atan(0); atan2(0, 1);
    sinh(0); cosh(0); tanh(0); asinh(0); acosh(0); atanh(0);
    exp(0); exp2(0); exp_m1(0); ln(0); ln_1p(0); log(0, 1); log2(0); log10(0);
    sqrt(0); cbrt(0); powi(0; int); powf(0, 1); recip(0); abs(0); hypot(0, 1);
    max(0, 1); min(0, 1); mul_add(0, 1, 2); clamp(0, 1, 2); copysign(0, 1);
    to_degrees(0); to_radians(0);
    floor(0); ceil(0); round(0); trunc(0); signum(0);
}

/// A point: the float arguments and the integer argument (ignored by rules without one).
type Point = (&'static [f64], i32);

const ANYWHERE: &[Point] = &[(&[-1.3], 0), (&[0.2], 0), (&[2.0], 0)];
const OPEN_UNIT: &[Point] = &[(&[-0.5], 0), (&[0.3], 0), (&[0.9], 0)];
const POSITIVE: &[Point] = &[(&[0.5], 0), (&[2.0], 0), (&[10.0], 0)];
/// Away from the jumps of the piecewise-constant functions and the kink of `abs`.
const OFF_JUMPS: &[Point] = &[(&[-1.3], 0), (&[0.2], 0), (&[2.3], 0)];

/// Every tuple of `rules::TUPLES` called as a method on the floats `x` (its arguments), its
/// parts in order; `None` for a tuple without an entry here.
fn tuple_call<F: Float>(name: &str, x: &[F]) -> Option<Vec<F>> {
    match name {
        "sin_cos" => {
            let (s, c) = x[0].sin_cos();
            Some(vec![s, c])
        }
        _ => None,
    }
}

/// The tuple-valued methods: each part is a method row of the table taking the tuple's
/// arguments, and `Dual`'s method gives each part that row's value and tangent, which match
/// finite differences (f64, f32, and second derivatives through nested duals).
#[test]
fn tuples_are_their_rows() {
    for t in TUPLES {
        assert!(!t.doc.trim().is_empty(), "{}: no doc", t.name);
        assert_eq!(Tuple::find(t.name).map(|x| x.name), Some(t.name));
        assert!(
            Rule::named(t.name).is_none(),
            "{}: a tuple is not a row",
            t.name
        );
        let rows: Vec<&Rule> = t.rules().collect();
        assert_eq!(
            rows.len(),
            t.parts.len(),
            "{}: every part is a method row",
            t.name
        );
        for row in &rows {
            assert_eq!(
                row.args, rows[0].args,
                "{}: the parts take the same arguments",
                t.name
            );
            assert!(
                row.args.iter().all(|(_, k)| *k == "F"),
                "{}: float arguments",
                t.name
            );
        }
        let pts = points(rows[0].name).expect("the parts' rows have points");
        assert!(
            tuple_call::<f64>(t.name, pts[0].0).is_some(),
            "tuple `{}` has no entry in tuple_call",
            t.name
        );
        for &(x, n) in pts {
            let k = arity(rows[0], x);
            for i in 0..k {
                let duals = tuple_call(t.name, &seeded(x, i)).unwrap();
                let duals32 = tuple_call(t.name, &seeded(&cast::<f32>(x), i)).unwrap();
                let plain = tuple_call(t.name, x).unwrap();
                for (p, row) in rows.iter().enumerate() {
                    let what = format!("{}.{p} d/dx{i} at {x:?}", t.name);
                    let y = primal(row.name, x, n).unwrap();
                    assert_eq!(plain[p].to_bits(), y.to_bits(), "{what}: value");
                    assert_eq!(
                        duals[p].value().to_bits(),
                        y.to_bits(),
                        "{what}: Dual value"
                    );
                    let d = table_partials(row.name, x, n, y).unwrap()[i];
                    assert_eq!(duals[p].tangent(), d, "{what}: the row's partial");
                    let fd = finite_difference(row.name, x, n, i);
                    assert_close(&what, duals[p].tangent(), fd, 1e-6);
                    assert_close(&what, f64::from(duals32[p].tangent()), fd, 1e-4);
                    // Second derivatives: the row's, through nested duals.
                    let nested: Vec<Dual<Dual<f64>>> = x
                        .iter()
                        .map(|&v| Dual::new(Dual::variable(v), Dual::new(1.0, 0.0)))
                        .collect();
                    let want = primal(row.name, &nested, n).unwrap();
                    let got = tuple_call(t.name, &nested).unwrap()[p];
                    assert_eq!(
                        got.tangent().tangent(),
                        want.tangent().tangent(),
                        "{what}: second"
                    );
                }
            }
        }
    }
}

/// Points strictly inside each rule's domain, away from its non-differentiable points.
fn points(name: &str) -> Option<&'static [Point]> {
    Some(match name {
        "add" | "sub" | "mul" => &[(&[1.3, -0.4], 0), (&[-2.0, 0.7], 0), (&[0.2, 3.0], 0)],
        "div" => &[(&[1.3, -0.4], 0), (&[-2.0, 0.7], 0), (&[0.2, 3.0], 0)],
        // Away from the multiples of `a`, where `x % a` jumps.
        "rem" => &[(&[1.3, 0.5], 0), (&[-2.2, 0.7], 0), (&[5.5, -2.0], 0)],
        "neg" | "square" => ANYWHERE,
        "sin" | "cos" | "tan" | "atan" | "sinh" | "cosh" | "tanh" | "asinh" | "exp" | "exp2"
        | "exp_m1" => ANYWHERE,
        "asin" | "acos" | "atanh" => OPEN_UNIT,
        "ln" | "log2" | "log10" | "sqrt" => POSITIVE,
        "acosh" => &[(&[1.5], 0), (&[3.0], 0)],
        "ln_1p" => &[(&[-0.5], 0), (&[0.3], 0), (&[4.0], 0)],
        "cbrt" => &[(&[-8.0], 0), (&[0.5], 0), (&[3.0], 0)],
        "recip" => &[(&[-1.3], 0), (&[0.4], 0), (&[3.0], 0)],
        "abs" | "floor" | "ceil" | "round" | "trunc" | "signum" => OFF_JUMPS,
        "powi" => &[
            (&[1.3], 3),
            (&[-0.7], 2),
            (&[2.0], -2),
            (&[1.1], 0),
            (&[0.5], 1),
        ],
        "powf" => &[(&[2.0, 1.5], 0), (&[0.5, -0.7], 0), (&[3.0, 2.0], 0)],
        "atan2" => &[(&[1.0, 2.0], 0), (&[-0.5, -1.5], 0), (&[2.0, -0.3], 0)],
        "log" => &[(&[2.0, 3.0], 0), (&[0.5, 10.0], 0), (&[5.0, 0.3], 0)],
        "hypot" => &[(&[3.0, 4.0], 0), (&[-1.0, 2.0], 0), (&[0.5, -0.2], 0)],
        "max" | "min" => &[(&[1.0, 2.0], 0), (&[3.0, -1.0], 0)],
        "mul_add" => &[(&[1.5, -2.0, 0.3], 0), (&[-0.4, 0.7, 2.0], 0)],
        "clamp" => &[
            (&[0.5, -1.0, 1.0], 0),
            (&[-2.0, -1.0, 1.0], 0),
            (&[3.0, -1.0, 1.0], 0),
        ],
        "copysign" => &[(&[1.5, -2.0], 0), (&[-0.7, 0.3], 0), (&[0.4, 0.9], 0)],
        "to_degrees" => &[(&[-1.3], 0), (&[0.2], 0), (&[2.7], 0)],
        "to_radians" => &[(&[-130.0], 0), (&[20.0], 0), (&[270.0], 0)],
        _ => return None,
    })
}

fn cast<F: Float>(x: &[f64]) -> Vec<F> {
    x.iter().map(|&v| F::from(v).unwrap()).collect()
}

/// `d f / d x_i` at `x` by central differences of the f64 primal.
fn finite_difference(name: &str, x: &[f64], n: i32, i: usize) -> f64 {
    let h = 1e-5 * x[i].abs().max(1.0);
    let (mut up, mut down) = (x.to_vec(), x.to_vec());
    up[i] += h;
    down[i] -= h;
    let f = |p: &[f64]| primal(name, p, n).unwrap();
    (f(&up) - f(&down)) / (up[i] - down[i])
}

fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1.0),
        "{what}: got {got}, want {want} (finite differences)"
    );
}

/// The float arguments of a rule, checked against the point's arity.
fn arity(rule: &Rule, x: &[f64]) -> usize {
    let k = rule.float_args().count();
    assert_eq!(
        k,
        x.len(),
        "{}: a test point has the wrong number of floats",
        rule.name
    );
    k
}

/// The dual arguments with tangent `e_seed`.
fn seeded<F: Float>(x: &[F], seed: usize) -> Vec<Dual<F>> {
    x.iter()
        .enumerate()
        .map(|(j, &v)| Dual::new(v, if j == seed { F::one() } else { F::zero() }))
        .collect()
}

#[test]
fn every_rule_is_covered() {
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.name)
        .filter(|&name| {
            points(name).is_none()
                || primal::<f64>(name, &[1.0, 1.0, 1.0], 1).is_none()
                || table_partials::<f64>(name, &[1.0, 1.0, 1.0], 1, 1.0).is_none()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "rules without an entry in tests/rules.rs: {missing:?}"
    );
}

#[test]
fn every_rule_is_documented_and_well_formed() {
    for rule in RULES {
        assert!(!rule.doc.trim().is_empty(), "{}: no doc", rule.name);
        assert_eq!(
            rule.args[0],
            ("x", "F"),
            "{}: the receiver is `x: F`",
            rule.name
        );
        assert_eq!(
            rule.float_args().count(),
            rule.partials.len(),
            "{}",
            rule.name
        );
        assert_eq!(Rule::named(rule.name).map(|r| r.name), Some(rule.name));
        // Only methods are found by method name: an operator's trait method on a user's type
        // is the user's.
        assert_eq!(
            Rule::find(rule.name).is_some(),
            rule.form == Form::Method,
            "{}",
            rule.name
        );
        match rule.form {
            Form::Binary(op) => assert_eq!(Rule::binary(op).map(|r| r.name), Some(rule.name)),
            Form::Unary(op) => assert_eq!(Rule::unary(op).map(|r| r.name), Some(rule.name)),
            Form::Square => assert_eq!(Rule::square().name, rule.name),
            Form::Method => {}
        }
    }
}

#[test]
fn partials_match_finite_differences_f64() {
    for rule in RULES {
        for &(x, n) in points(rule.name).unwrap_or(&[]) {
            let k = arity(rule, x);
            let y = primal(rule.name, x, n).unwrap();
            let d = table_partials(rule.name, x, n, y).unwrap();
            assert_eq!(d.len(), k, "{}: one partial per float argument", rule.name);
            for (i, &d) in d.iter().enumerate() {
                let what = format!("{} d/d{} at {x:?}, n = {n}", rule.name, rule.args[i].0);
                assert_close(&what, d, finite_difference(rule.name, x, n, i), 1e-6);
            }
        }
    }
}

#[test]
fn partials_match_finite_differences_f32() {
    for rule in RULES {
        for &(x, n) in points(rule.name).unwrap_or(&[]) {
            let k = arity(rule, x);
            let x32: Vec<f32> = cast(x);
            let y = primal(rule.name, &x32, n).unwrap();
            let d = table_partials(rule.name, &x32, n, y).unwrap();
            assert_eq!(d.len(), k, "{}: one partial per float argument", rule.name);
            for (i, &d) in d.iter().enumerate() {
                let what = format!("f32 {} d/d{} at {x:?}", rule.name, rule.args[i].0);
                let fd = finite_difference(rule.name, x, n, i);
                assert_close(&what, f64::from(d), fd, 1e-4);
            }
        }
    }
}

/// `tangent::NAME` is `sum_i t_i partials_i` over the arguments that have a tangent (the one
/// division of a row with a divisor rounds differently: compared to 1e-14).
#[test]
fn tangent_functions_combine_the_partials() {
    for rule in RULES {
        for &(x, n) in points(rule.name).unwrap_or(&[]) {
            let k = arity(rule, x);
            let y = primal(rule.name, x, n).unwrap();
            let d = table_partials(rule.name, x, n, y).unwrap();
            // Every subset of the arguments active.
            for mask in 0..(1u32 << k) {
                let t: Vec<Option<f64>> = (0..k)
                    .map(|i| (mask >> i & 1 == 1).then_some(0.7 - 0.4 * i as f64))
                    .collect();
                let got = table_tangent(rule.name, x, n, y, &t).unwrap();
                let want: Option<f64> = t
                    .iter()
                    .zip(&d)
                    .filter_map(|(t, d)| t.map(|t| t * d))
                    .reduce(|a, b| a + b);
                match (got, want) {
                    (None, None) => {}
                    (Some(g), Some(w)) => assert!(
                        (g - w).abs() <= 1e-14 * w.abs().max(1.0),
                        "{} at {x:?}, tangents {t:?}: {g} against {w}",
                        rule.name
                    ),
                    _ => panic!(
                        "{} at {x:?}, tangents {t:?}: {got:?} against {want:?}",
                        rule.name
                    ),
                }
            }
        }
    }
}

#[test]
fn dual_methods_match_finite_differences_f64() {
    for rule in RULES {
        for &(x, n) in points(rule.name).unwrap_or(&[]) {
            let k = arity(rule, x);
            let y = primal(rule.name, x, n).unwrap();
            let fds: Vec<f64> = (0..k)
                .map(|i| finite_difference(rule.name, x, n, i))
                .collect();
            for (i, fd) in fds.iter().enumerate() {
                let out = primal(rule.name, &seeded(x, i), n).unwrap();
                assert_eq!(
                    out.value().to_bits(),
                    y.to_bits(),
                    "{} value at {x:?}",
                    rule.name
                );
                let what = format!("Dual {} d/d{} at {x:?}, n = {n}", rule.name, rule.args[i].0);
                assert_close(&what, out.tangent(), *fd, 1e-6);
            }
            // All arguments moving at once: the tangent is the directional derivative.
            let dir = [1.0, -2.0, 0.5];
            let duals: Vec<Dual<f64>> = x.iter().zip(dir).map(|(&v, t)| Dual::new(v, t)).collect();
            let want: f64 = fds.iter().zip(dir).map(|(fd, t)| fd * t).sum();
            let got = primal(rule.name, &duals, n).unwrap().tangent();
            assert_close(
                &format!("Dual {} along {dir:?}", rule.name),
                got,
                want,
                1e-6,
            );
        }
    }
}

#[test]
fn dual_methods_match_finite_differences_f32() {
    for rule in RULES {
        for &(x, n) in points(rule.name).unwrap_or(&[]) {
            let k = arity(rule, x);
            let x32: Vec<f32> = cast(x);
            for i in 0..k {
                let out = primal(rule.name, &seeded(&x32, i), n).unwrap();
                let y = primal(rule.name, &x32, n).unwrap();
                assert_eq!(
                    out.value().to_bits(),
                    y.to_bits(),
                    "{} f32 value",
                    rule.name
                );
                let what = format!("Dual<f32> {} d/d{} at {x:?}", rule.name, rule.args[i].0);
                let fd = finite_difference(rule.name, x, n, i);
                assert_close(&what, f64::from(out.tangent()), fd, 1e-4);
            }
        }
    }
}

/// `Dual<Dual<f64>>` with inner seed `e_i` and outer seed `e_j` gives `d2 f / dx_i dx_j`,
/// checked against central differences (in `x_j`) of the `Dual<f64>` derivative in `x_i`.
#[test]
fn nested_duals_give_second_derivatives_of_every_rule() {
    for rule in RULES {
        for &(x, n) in points(rule.name).unwrap_or(&[]) {
            let k = arity(rule, x);
            for i in 0..k {
                let first = |p: &[f64]| primal(rule.name, &seeded(p, i), n).unwrap().tangent();
                for j in 0..k {
                    let nested: Vec<Dual<Dual<f64>>> = x
                        .iter()
                        .enumerate()
                        .map(|(m, &v)| {
                            let one = |hit: bool| if hit { 1.0 } else { 0.0 };
                            Dual::new(Dual::new(v, one(m == i)), Dual::new(one(m == j), 0.0))
                        })
                        .collect();
                    let out = primal(rule.name, &nested, n).unwrap();
                    let h = 1e-5 * x[j].abs().max(1.0);
                    let (mut up, mut down) = (x.to_vec(), x.to_vec());
                    up[j] += h;
                    down[j] -= h;
                    let fd = (first(&up) - first(&down)) / (up[j] - down[j]);
                    let what = format!("{} d2/dx{i}dx{j} at {x:?}, n = {n}", rule.name);
                    assert_close(&what, out.tangent().tangent(), fd, 1e-5);
                    // The inner and outer first derivatives are the ones of plain duals.
                    assert_eq!(out.value().tangent(), first(x), "{what}: inner");
                    let first_j = primal(rule.name, &seeded(x, j), n).unwrap().tangent();
                    assert_eq!(out.tangent().value(), first_j, "{what}: outer");
                }
            }
        }
    }
}

/// Second derivatives in closed form.
#[test]
fn nested_duals_closed_form() {
    fn second(f: impl Fn(Dual<Dual<f64>>) -> Dual<Dual<f64>>, x: f64) -> f64 {
        f(Dual::new(Dual::variable(x), Dual::constant(1.0)))
            .tangent()
            .tangent()
    }
    let x = 0.7_f64;
    assert_close("sin''", second(|x| x.sin(), x), -x.sin(), 1e-14);
    assert_close("exp''", second(|x| x.exp(), x), x.exp(), 1e-14);
    assert_close("x^3''", second(|x| x.powi(3), x), 6.0 * x, 1e-14);
    assert_close("ln''", second(|x| x.ln(), x), -1.0 / (x * x), 1e-14);
    let atan2 = -2.0 * x / (1.0 + x * x).powi(2);
    assert_close("atan''", second(|x| x.atan(), x), atan2, 1e-14);
    assert_close(
        "sqrt''",
        second(|x| x.sqrt(), x),
        -0.25 * x.powf(-1.5),
        1e-14,
    );
    // (x sin x)'' = 2 cos x - x sin x
    let want = 2.0 * x.cos() - x * x.sin();
    assert_close("(x sin x)''", second(|x| x * x.sin(), x), want, 1e-14);
    // (1 / x)'' = 2 / x^3, through the division operator
    let recip = second(|x| Dual::constant(Dual::constant(1.0)) / x, x);
    assert_close("(1/x)''", recip, 2.0 / (x * x * x), 1e-13);
}

/// Arithmetic operators, in every form, against closed-form derivatives.
#[test]
fn operators() {
    let (a, b) = (1.7_f64, -0.6_f64);
    let da = Dual::new(a, 1.0);
    let db = Dual::new(b, 0.25);
    let check = |what: &str, d: Dual<f64>, v: f64, t: f64| {
        assert_eq!(d.value(), v, "{what} value");
        assert_close(what, d.tangent(), t, 1e-14);
    };
    check("a+b", da + db, a + b, 1.25);
    check("a-b", da - db, a - b, 0.75);
    check("a*b", da * db, a * b, b + a * 0.25);
    check("a/b", da / db, a / b, (1.0 * b - a * 0.25) / (b * b));
    check("a%b", da % db, a % b, 1.0 - (a / b).trunc() * 0.25);
    check("-a", -da, -a, -1.0);
    check("a+s", da + 2.0, a + 2.0, 1.0);
    check("a-s", da - 2.0, a - 2.0, 1.0);
    check("a*s", da * 2.0, a * 2.0, 2.0);
    check("a/s", da / 2.0, a / 2.0, 0.5);
    check("a%s", da % 0.5, a % 0.5, 1.0);
    check("s+a", 2.0 + da, 2.0 + a, 1.0);
    check("s-a", 2.0 - da, 2.0 - a, -1.0);
    check("s*a", 2.0 * da, 2.0 * a, 2.0);
    check("s/a", 2.0 / da, 2.0 / a, -2.0 / (a * a));
    check("s%b", 2.0 % db, 2.0 % b, -(2.0 / b).trunc() * 0.25);
    let mut m = da;
    m += db;
    m -= 0.5;
    m *= db;
    m /= 2.0;
    // m = (a + b - 0.5) b / 2
    let t = ((1.25) * b + (a + b - 0.5) * 0.25) / 2.0;
    check("assign ops", m, (a + b - 0.5) * b / 2.0, t);
    let mut r = da;
    r %= db;
    check("%=", r, a % b, 1.0 - (a / b).trunc() * 0.25);
    r = da;
    r %= 0.5;
    check("%= s", r, a % 0.5, 1.0);

    // f32 on the left as well.
    let x = Dual::variable(3.0_f32);
    let y = 1.0 - 2.0 * x + 6.0 / x + 1.0 + 7.0 % x;
    assert_eq!(y.value(), 1.0 - 6.0 + 2.0 + 1.0 + 1.0);
    assert_eq!(y.tangent(), -2.0 - 6.0 / 9.0 - 2.0);

    // Sum and Product.
    let xs = [
        Dual::new(1.0, 1.0),
        Dual::new(2.0, 0.0),
        Dual::new(3.0, 2.0),
    ];
    let s: Dual<f64> = xs.iter().sum();
    assert_eq!((s.value(), s.tangent()), (6.0, 3.0));
    let p: Dual<f64> = xs.into_iter().product();
    assert_eq!((p.value(), p.tangent()), (6.0, 6.0 + 2.0 * 2.0));
}

/// The conventions documented in the rules, at the points where functions are not
/// differentiable.
#[test]
fn conventions_at_non_differentiable_points() {
    let abs0 = Dual::variable(0.0_f64).abs();
    assert_eq!((abs0.value(), abs0.tangent()), (0.0, 0.0));
    assert_eq!(Dual::variable(-0.0_f64).abs().tangent(), 0.0);

    // max / min tie: the whole derivative goes to the receiver.
    let (x, a) = (Dual::new(1.0_f64, 2.0), Dual::new(1.0, 5.0));
    assert_eq!(x.max(a).tangent(), 2.0);
    assert_eq!(x.min(a).tangent(), 2.0);
    assert_eq!(a.max(x).tangent(), 5.0);
    // A NaN argument: the receiver.
    assert_eq!(x.max(Dual::new(f64::NAN, 5.0)).tangent(), 2.0);

    // atan2 and hypot at the origin: 0.
    let o = Dual::new(0.0_f64, 1.0);
    assert_eq!(o.atan2(o).tangent(), 0.0);
    assert_eq!(o.hypot(o).tangent(), 0.0);

    // powf: no derivative in the exponent where x^a == 0.
    let z = Dual::constant(0.0_f64).powf(Dual::variable(2.0));
    assert_eq!((z.value(), z.tangent()), (0.0, 0.0));

    // Piecewise constant functions: 0, also at their jumps.
    for x in [-1.0, 0.0, 0.5, 2.0] {
        let d = Dual::variable(x);
        for y in [d.floor(), d.ceil(), d.round(), d.trunc(), d.signum()] {
            assert_eq!(y.tangent(), 0.0);
        }
    }
}

/// The `Float` methods outside the rule table, against finite differences.
#[test]
fn float_methods_outside_the_table() {
    type Method = fn(Dual<f64>, Dual<f64>) -> Dual<f64>;
    type Points = &'static [(f64, f64)];
    let methods: &[(&str, Method, Points)] = &[
        ("to_degrees", |x, _| x.to_degrees(), &[(0.3, 0.0)]),
        ("to_radians", |x, _| x.to_radians(), &[(30.0, 0.0)]),
        ("fract", |x, _| x.fract(), &[(1.3, 0.0), (-2.6, 0.0)]),
        #[allow(deprecated)]
        ("abs_sub", |x, a| x.abs_sub(a), &[(3.0, 1.0), (1.0, 3.0)]),
        (
            "copysign",
            |x, a| x.copysign(a),
            &[(1.5, -2.0), (-1.5, -2.0), (1.5, 2.0)],
        ),
        (
            "clamp",
            |x, a| x.clamp(a, a + 1.0),
            &[(0.5, 0.0), (-1.0, 0.0), (2.0, 0.0)],
        ),
    ];
    for &(name, f, pts) in methods {
        for &(x, a) in pts {
            let value = |x: f64, a: f64| f(Dual::constant(x), Dual::constant(a)).value();
            for (i, seed) in [(1.0, 0.0), (0.0, 1.0)].into_iter().enumerate() {
                let h = 1e-6;
                let fd = if i == 0 {
                    (value(x + h, a) - value(x - h, a)) / (2.0 * h)
                } else {
                    (value(x, a + h) - value(x, a - h)) / (2.0 * h)
                };
                let got = f(Dual::new(x, seed.0), Dual::new(a, seed.1)).tangent();
                assert_close(&format!("{name} d{i} at ({x}, {a})"), got, fd, 1e-6);
            }
        }
    }
}

/// Generic code over `F: Float` runs on duals, plain and nested.
#[test]
fn generic_code_runs_on_duals() {
    fn f<F: Float>(x: F) -> F {
        let two = F::from(2.0).unwrap();
        (x * x + two).sqrt() * x.sin().exp() - x.powf(two).ln()
    }
    let x = 1.3_f64;
    let h = 1e-5;
    let fd = (f(x + h) - f(x - h)) / (2.0 * h);
    assert_close("f'", f(Dual::variable(x)).tangent(), fd, 1e-8);
    let d1 = |x: f64| f(Dual::variable(x)).tangent();
    let fd2 = (d1(x + h) - d1(x - h)) / (2.0 * h);
    let nested = f(Dual::new(Dual::variable(x), Dual::constant(1.0)));
    assert_close("f''", nested.tangent().tangent(), fd2, 1e-6);
}

#[test]
fn constants_casts_and_formatting() {
    use autodiff_core::num_traits::{FloatConst, Num, NumCast, ToPrimitive, Zero};
    let pi = <Dual<f64> as FloatConst>::PI();
    assert_eq!((pi.value(), pi.tangent()), (core::f64::consts::PI, 0.0));
    assert_eq!(
        <Dual<f64> as FloatConst>::TAU().value(),
        core::f64::consts::TAU
    );
    let c: Dual<f32> = NumCast::from(3_i32).unwrap();
    assert_eq!((c.value(), c.tangent()), (3.0, 0.0));
    assert_eq!(Dual::new(2.7_f64, 1.0).to_i32(), Some(2));
    let p = Dual::<f64>::from_str_radix("2.5", 10).unwrap();
    assert_eq!((p.value(), p.tangent()), (2.5, 0.0));
    assert_eq!(Dual::<f64>::epsilon().value(), f64::EPSILON);
    assert!(Dual::<f64>::zero().is_zero());
    assert!(!Dual::new(0.0_f64, 1.0).is_zero());
    assert!(Dual::new(1.0_f64, 5.0) == Dual::new(1.0, 0.0));
    assert!(Dual::new(1.0_f64, 5.0) < Dual::new(2.0, 0.0));
    assert_eq!(format!("{}", Dual::new(1.5_f64, 2.0)), "1.5 + 2ε");
    fn real<T: autodiff_core::Real>() {}
    real::<Dual<f64>>();
    real::<Dual<f32>>();
    real::<Dual<Dual<f64>>>();
    let d: Dual<f64> = Default::default();
    assert_eq!((d.value(), d.tangent()), (0.0, 0.0));
}
