//! Values that leave loops and blocks (issue 13): `loop { .. break v; .. }` used as a value
//! (labels, several breaks, early `return` inside, nested, as an operand, in `if`/`match` arms,
//! inside other loops), labelled blocks with values (`'b: { if c { break 'b a * b; } x.sin() }`)
//! and as statements, and `x.sin_cos()` as a tuple. Every function in both modes against
//! finite differences, the dot-product test and the Jacobian built both ways
//! (`common::check_fn`), `_grad` against finite differences (`common::check_grad`); f32 and
//! generic `F` instantiations against f64; Hessian-vector products through `Dual`.
#![deny(warnings)]
#![allow(dead_code)]
// Generic bodies write `s = s + x` (`Float` has no `AddAssign`), concrete twins keep the same form.
#![allow(
    clippy::needless_range_loop,
    clippy::excessive_precision,
    clippy::assign_op_pattern
)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad, check_hvp, duals, split};

/// Checks `f(a: f64, b: f64) -> f64` through its `_jvp`, `_vjp` and `_grad`.
macro_rules! check2 {
    ($name:literal, $x:expr, $y:expr, $f:ident, $jvp:expr, $vjp:expr, $grad:expr) => {{
        let x = [$x, $y];
        check_fn(
            $name,
            &x,
            &|p| vec![$f(p[0], p[1])],
            &|p, t| {
                let (y, d) = $jvp(p[0], p[1], t[0], t[1]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p[0], p[1]);
                let (a, b) = pb(c[0]);
                (vec![y], vec![a, b])
            },
        );
        check_grad($name, &x, &|p| $f(p[0], p[1]), &|p| {
            let (y, (a, b)) = $grad(p[0], p[1]);
            (y, vec![a, b])
        });
    }};
}

/// Checks `f(xs: &[f64], a: f64) -> f64`.
macro_rules! check_slice {
    ($name:literal, $xs:expr, $a:expr, $f:ident, $jvp:expr, $vjp:expr, $grad:expr) => {{
        let mut x: Vec<f64> = $xs.to_vec();
        x.push($a);
        let n = x.len() - 1;
        check_fn(
            $name,
            &x,
            &|p| vec![$f(&p[..n], p[n])],
            &|p, t| {
                let (y, d) = $jvp(&p[..n], p[n], &t[..n], t[n]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(&p[..n], p[n]);
                let (mut g, ga): (Vec<f64>, f64) = pb(c[0]);
                g.push(ga);
                (vec![y], g)
            },
        );
        check_grad($name, &x, &|p| $f(&p[..n], p[n]), &|p| {
            let (y, (mut g, ga)): (f64, (Vec<f64>, f64)) = $grad(&p[..n], p[n]);
            g.push(ga);
            (y, g)
        });
    }};
}

// ---------------------------------------------------------------------------------------------
// `loop` used as a value

/// The form: state carried by the loop, the value computed where it breaks.
#[differentiate]
fn doubling(x: f64, y: f64) -> f64 {
    let mut s = x;
    let r = loop {
        s = s * y + 0.5;
        if s > 4.0 {
            break s * x;
        }
    };
    r + s.sin()
}

/// Several breaks, one of them with a passive value, and a loop-local binding in a value.
#[differentiate]
fn several_breaks(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut k = 0;
    let r = loop {
        k += 1;
        let t = s * y;
        if t > 3.0 {
            break t.ln() * x;
        }
        if k > 30 {
            break 0.25;
        }
        if t < -3.0 {
            break -t;
        }
        s = t + x;
    };
    r * s
}

/// A labelled loop left from an inner `for` with a value, the loop's own tail break plain;
/// the loop is the function's value.
#[differentiate]
fn outer_label(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut k = 0;
    'outer: loop {
        k += 1;
        let mut t = s;
        for i in 0..3 {
            t = t * y + i as f64;
            if t > 5.0 {
                break 'outer t.sin() * s;
            }
        }
        s = s + t * 0.1;
        if k > 20 {
            break s;
        }
    }
}

/// An early `return` inside a loop used as a value.
#[differentiate]
fn newton_sqrt(a: f64, guess: f64) -> f64 {
    let mut z = guess;
    let mut k = 0;
    let root = loop {
        k += 1;
        let next = 0.5 * (z + a / z);
        if (next - z).abs() < 1e-12 {
            break next;
        }
        if k > 50 {
            return next * 2.0;
        }
        z = next;
    };
    root * guess
}

/// Loops used as operands (read in Rust's order: `s` before the loop that changes it), as
/// an argument and in both arms of an `if`.
#[differentiate]
fn as_operands(x: f64, y: f64) -> f64 {
    let mut s = x;
    let r = s * loop {
        s = s * y + 1.0;
        if s > 3.0 {
            break s;
        }
    };
    let m = f64::max(
        s * 0.5,
        loop {
            s = s * 1.1;
            if s > 6.0 {
                break s * x;
            }
        },
    );
    let w = if x > 0.0 {
        loop {
            s = s * 0.9;
            if s < 2.0 {
                break s + y;
            }
        }
    } else {
        loop {
            s = s - 0.5;
            if s < 1.0 {
                break s * y;
            }
        }
    };
    r + m + w
}

/// A loop used as a value in every iteration of a `for` loop (the reverse sweep replays it
/// from its tapes), and nested in another loop used as a value.
#[differentiate]
fn inside_loops(xs: &[f64], a: f64) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        let mut v = xs[i];
        let grown = loop {
            v = v * a + 0.3;
            if v.abs() > 2.0 {
                break v * xs[i];
            }
        };
        total += grown;
    }
    let mut u = a.abs();
    let nested = 'o: loop {
        let inner = loop {
            u = u * 1.3 + 0.1;
            if u > 1.0 {
                break u.sqrt();
            }
        };
        if inner > 1.5 {
            break 'o inner * total;
        }
        u = inner + 0.2;
    };
    total + nested
}

#[differentiate]
fn generic_loop<F: Float>(x: F, y: F) -> F {
    let two = F::from(2.0).unwrap();
    let mut s = x;
    let r = loop {
        s = s * y + F::from(0.5).unwrap();
        if s > two + two {
            break s * x;
        }
    };
    r + s.sin()
}

#[differentiate]
fn loop_f32(x: f32, y: f32) -> f32 {
    let mut s = x;
    let r = loop {
        s = s * y + 0.5;
        if s > 4.0 {
            break s * x;
        }
    };
    r + s.sin()
}

#[test]
fn loops_used_as_values() {
    for &(x, y) in &[(0.7, 1.3), (1.1, 1.6), (-0.4, 1.9)] {
        check2!(
            "doubling",
            x,
            y,
            doubling,
            doubling_jvp,
            doubling_vjp,
            doubling_grad
        );
        check2!(
            "as_operands",
            x,
            y,
            as_operands,
            as_operands_jvp,
            as_operands_vjp,
            as_operands_grad
        );
    }
    // Each break taken: the first, the passive one (after 30 rounds), the third.
    for &(x, y) in &[(0.9, 1.4), (0.0001, 1e-3), (0.5, -2.5)] {
        check2!(
            "several_breaks",
            x,
            y,
            several_breaks,
            several_breaks_jvp,
            several_breaks_vjp,
            several_breaks_grad
        );
    }
    for &(x, y) in &[(0.7, 1.3), (0.3, 0.5), (1.2, 0.9)] {
        check2!(
            "outer_label",
            x,
            y,
            outer_label,
            outer_label_jvp,
            outer_label_vjp,
            outer_label_grad
        );
    }
    check2!(
        "newton_sqrt",
        2.0,
        1.0,
        newton_sqrt,
        newton_sqrt_jvp,
        newton_sqrt_vjp,
        newton_sqrt_grad
    );
    let xs = [0.3, -0.2, 1.5, 0.8];
    for a in [1.3, -1.7] {
        check_slice!(
            "inside_loops",
            xs,
            a,
            inside_loops,
            inside_loops_jvp,
            inside_loops_vjp,
            inside_loops_grad
        );
    }
}

/// The same loop in f32 and generic `F` (at f32, f64 and as a Hessian-vector product on
/// `Dual`) agrees with the f64 function.
#[test]
fn loop_values_in_other_float_types() {
    let (x, y) = (0.7, 1.3);
    let (v, (gx, gy)) = doubling_grad(x, y);
    let (vg, (gxg, gyg)) = generic_loop_grad::<f64>(x, y);
    assert_eq!((v, gx, gy), (vg, gxg, gyg));
    let (_, d) = generic_loop_jvp::<f64>(x, y, 0.3, -0.2);
    assert!((d - (0.3 * gx - 0.2 * gy)).abs() < 1e-12);
    let (v32, (gx32, gy32)) = loop_f32_grad(x as f32, y as f32);
    let (vg32, (gxg32, gyg32)) = generic_loop_grad::<f32>(x as f32, y as f32);
    assert_eq!((v32, gx32, gy32), (vg32, gxg32, gyg32));
    assert!(common::close(gx32 as f64, gx, 1e-4, 1e-4), "{gx32} {gx}");
    assert!(common::close(gy32 as f64, gy, 1e-4, 1e-4), "{gy32} {gy}");
    check_hvp(
        "generic_loop",
        &[x, y],
        &|p| {
            let (_, (a, b)) = generic_loop_grad::<f64>(p[0], p[1]);
            vec![a, b]
        },
        &|p, v| {
            let d = duals(p, v);
            let (_, (a, b)) = generic_loop_grad(d[0], d[1]);
            split(&[a, b])
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Labelled blocks

/// The form.
#[differentiate]
fn pick(x: f64, a: f64) -> f64 {
    let b = a * 0.5 + x;
    let v = 'blk: {
        if x > 0.5 {
            break 'blk a * b;
        }
        x.sin()
    };
    v * x
}

/// A labelled block left from a loop inside it, from a nested block, and as a statement
/// guarding a write; `continue 'l` through a block used as a value.
#[differentiate]
fn blocks(xs: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    'l: for i in 0..xs.len() {
        let w = 'w: {
            if xs[i] < 0.0 {
                continue 'l;
            }
            if xs[i] > 1.0 {
                break 'w xs[i] * a;
            }
            xs[i].exp()
        };
        s += w;
    }
    let found = 'search: {
        for i in 0..xs.len() {
            let inner = 'inner: {
                if xs[i] * a > 0.9 {
                    break 'search xs[i] * s;
                }
                if xs[i] < 0.0 {
                    break 'inner xs[i] * xs[i];
                }
                xs[i]
            };
            s = s + inner * 0.1;
        }
        a * s
    };
    'guard: {
        if found > 3.0 {
            break 'guard;
        }
        s = s * found;
    }
    s + found
}

#[differentiate]
fn generic_pick<F: Float>(x: F, a: F) -> F {
    let b = a * F::from(0.5).unwrap() + x;
    let v = 'blk: {
        if x > F::from(0.5).unwrap() {
            break 'blk a * b;
        }
        x.sin()
    };
    v * x
}

#[test]
fn labelled_blocks() {
    for &(x, a) in &[(0.3, 1.5), (0.7, -2.0)] {
        check2!("pick", x, a, pick, pick_jvp, pick_vjp, pick_grad);
        let (v, g) = pick_grad(x, a);
        assert_eq!((v, g), generic_pick_grad::<f64>(x, a));
        let (v32, (g0, g1)) = generic_pick_grad::<f32>(x as f32, a as f32);
        assert!(common::close(v32 as f64, v, 1e-5, 1e-5));
        assert!(common::close(g0 as f64, g.0, 1e-4, 1e-5));
        assert!(common::close(g1 as f64, g.1, 1e-4, 1e-5));
    }
    for (xs, a) in [
        ([0.3, -0.2, 1.5, 0.8, 2.0], 0.7),
        ([0.3, -0.2, 0.1, 0.8, 0.2], 0.4),
        ([0.1, 0.2, -0.5, 0.4, 0.3], 0.5),
    ] {
        check_slice!("blocks", xs, a, blocks, blocks_jvp, blocks_vjp, blocks_grad);
    }
}

// ---------------------------------------------------------------------------------------------
// `sin_cos` as a tuple

#[differentiate]
fn rotate(x: f64, r: f64) -> f64 {
    let (s, c) = x.sin_cos();
    let (s2, c2) = f64::sin_cos(r * x);
    r * c * s + x.sin_cos().0 * s2 - (2.0 * x).sin_cos().1 * c2
}

#[differentiate]
fn rotate_generic<F: Float>(x: F, r: F) -> F {
    let (s, c) = x.sin_cos();
    let (s2, c2) = F::sin_cos(r * x);
    let two = F::from(2.0).unwrap();
    r * c * s + x.sin_cos().0 * s2 - (two * x).sin_cos().1 * c2
}

#[differentiate]
fn rotate_f32(x: f32, r: f32) -> f32 {
    let (s, c) = x.sin_cos();
    let (s2, c2) = f32::sin_cos(r * x);
    r * c * s + x.sin_cos().0 * s2 - (2.0 * x).sin_cos().1 * c2
}

#[test]
fn sin_cos_tuples() {
    for &(x, r) in &[(0.3, 1.5), (-1.2, 0.4), (2.5, -0.8)] {
        check2!("rotate", x, r, rotate, rotate_jvp, rotate_vjp, rotate_grad);
        let (v, g) = rotate_grad(x, r);
        assert_eq!((v, g), rotate_generic_grad::<f64>(x, r));
        let (v32, g32) = rotate_f32_grad(x as f32, r as f32);
        assert_eq!((v32, g32), rotate_generic_grad::<f32>(x as f32, r as f32));
        assert!(common::close(g32.0 as f64, g.0, 1e-4, 1e-5));
        assert!(common::close(g32.1 as f64, g.1, 1e-4, 1e-5));
    }
    check_hvp(
        "rotate_generic",
        &[0.3, 1.5],
        &|p| {
            let (_, (a, b)) = rotate_generic_grad::<f64>(p[0], p[1]);
            vec![a, b]
        },
        &|p, v| {
            let d = duals(p, v);
            let (_, (a, b)) = rotate_generic_grad(d[0], d[1]);
            split(&[a, b])
        },
    );
}

// ---------------------------------------------------------------------------------------------
// `max`, `min` as function values of `fold`; `clamp`, `copysign`, `to_degrees`, `to_radians`

#[differentiate]
fn folds(xs: &[f64], a: f64) -> f64 {
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lo = xs.iter().map(|v| v * a).fold(f64::INFINITY, f64::min);
    let c = xs.iter().fold(0.0, |acc, &v| acc + v.clamp(-0.5, a * a));
    hi * lo + c + a.copysign(lo) + hi.to_degrees() * lo.to_radians()
}

#[differentiate]
fn folds_generic<F: Float>(xs: &[F], a: F) -> F {
    let hi = xs.iter().copied().fold(F::neg_infinity(), F::max);
    let lo = xs.iter().map(|v| *v * a).fold(F::infinity(), F::min);
    let half = F::from(0.5).unwrap();
    let c = xs
        .iter()
        .fold(F::zero(), |acc, &v| acc + v.clamp(-half, a * a));
    hi * lo + c + a.copysign(lo) + hi.to_degrees() * lo.to_radians()
}

#[differentiate]
fn folds_f32(xs: &[f32], a: f32) -> f32 {
    let hi = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lo = xs.iter().map(|v| v * a).fold(f32::INFINITY, f32::min);
    let c = xs.iter().fold(0.0, |acc, &v| acc + v.clamp(-0.5, a * a));
    hi * lo + c + a.copysign(lo) + hi.to_degrees() * lo.to_radians()
}

#[test]
fn folds_with_float_functions() {
    for (xs, a) in [([0.3, -0.2, 1.5, 0.8], 0.7), ([-0.3, -1.2, 0.1, 0.6], -1.3)] {
        check_slice!("folds", xs, a, folds, folds_jvp, folds_vjp, folds_grad);
        let (v, (g, ga)) = folds_grad(&xs, a);
        assert_eq!((v, (g.clone(), ga)), folds_generic_grad::<f64>(&xs, a));
        let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let (v32, (g32, ga32)) = folds_f32_grad(&xs32, a as f32);
        assert_eq!(
            (v32, (g32.clone(), ga32)),
            folds_generic_grad::<f32>(&xs32, a as f32)
        );
        assert!(common::close(v32 as f64, v, 1e-5, 1e-5));
        for (a, b) in g32.iter().zip(&g) {
            assert!(common::close(*a as f64, *b, 1e-4, 1e-4), "{a} {b}");
        }
        assert!(common::close(ga32 as f64, ga, 1e-4, 1e-4));
        let (_, d) = folds_generic_jvp::<f32>(&xs32, a as f32, &[1.0, 0.0, 0.0, 0.0], 0.0);
        assert!(common::close(d as f64, g[0], 1e-4, 1e-4));
    }
}

/// A reduction loop `_grad` runs in one pass (`s += w` only), whose body holds a labelled block
/// with a value and a `continue` through it.
#[differentiate]
fn fused_blocks(xs: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    'l: for i in 0..xs.len() {
        let w = 'w: {
            if xs[i] < 0.0 {
                continue 'l;
            }
            if xs[i] > 1.0 {
                break 'w xs[i] * a;
            }
            (xs[i] * a).exp()
        };
        s += w;
    }
    s
}

/// The same with a loop used as a value in the body (`|a| > 1`: `v` grows past 1.5).
#[differentiate]
fn fused_loops(xs: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let mut v = xs[i];
        let w = loop {
            v = v * a + 0.25;
            if v.abs() > 1.5 {
                break v * xs[i];
            }
        };
        s += w;
    }
    2.0 * s
}

#[test]
fn values_inside_one_pass_loops() {
    for (xs, a) in [
        ([0.3, -0.2, 1.5, 0.8, 2.0], 1.7),
        ([1.3, 0.2, -0.1, 0.8, 1.2], -1.6),
    ] {
        check_slice!(
            "fused_blocks",
            xs,
            a,
            fused_blocks,
            fused_blocks_jvp,
            fused_blocks_vjp,
            fused_blocks_grad
        );
        check_slice!(
            "fused_loops",
            xs,
            a,
            fused_loops,
            fused_loops_jvp,
            fused_loops_vjp,
            fused_loops_grad
        );
    }
}

/// Loops used as values and labelled blocks whose values carry no derivative, but that leave
/// to the loops around, return, or write active values: lowered all the same (kept as
/// written, those exits and writes would be lost).
#[differentiate]
fn passive_values(xs: &[f64], a: f64) -> f64 {
    let mut s = a;
    'l: for i in 0..xs.len() {
        let k = 'w: {
            if xs[i] < -0.5 {
                continue 'l;
            }
            if xs[i] > 1.0 {
                break 'w 2.0;
            }
            s = s * xs[i] + a;
            0.5
        };
        s = s + k * xs[i];
        let mut n = 0;
        let m = loop {
            n += 1;
            if s > 50.0 {
                return s * a;
            }
            if n > 2 {
                break 0.25;
            }
            s = s * 1.5;
        };
        s = s * m + xs[i];
    }
    s
}

#[test]
fn passive_values_with_exits() {
    for (xs, a) in [
        ([0.3, -0.7, 1.5, 0.8], 0.7),
        ([1.3, 0.2, -0.1, 0.8], -1.6),
        ([0.9, 0.8, 0.7, 0.6], 20.0),
    ] {
        check_slice!(
            "passive_values",
            xs,
            a,
            passive_values,
            passive_values_jvp,
            passive_values_vjp,
            passive_values_grad
        );
    }
}
