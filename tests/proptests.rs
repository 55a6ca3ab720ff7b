//! Property tests over random inputs for the loop and branch cases (issue 3): the gradient
//! (reverse mode) equals the Jacobian columns of forward mode to rounding everywhere, the
//! pullback is linear in the cotangent, and both agree with central finite differences
//! wherever the function is smooth around the point (points whose finite differences are
//! unstable, i.e. that straddle a branch boundary, are skipped).
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
    clippy::neg_multiply,
    clippy::unnecessary_cast,
    clippy::too_many_arguments,
    clippy::manual_checked_ops
)]
#![deny(warnings)]
#![allow(dead_code)]

use autodiff::prelude::*;
use proptest::prelude::*;

#[differentiate]
fn branchy(x: &[f64; 4], k: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        if x[i] > 0.0 {
            s += x[i].sqrt() * x[(i + 1) % 4];
        } else if x[i] < -0.5 {
            s -= x[i] * x[i];
        } else {
            s = s * x[i].exp() + 1.0;
        }
        match (i + k) % 3 {
            0 => s = s.sin() + s,
            1 => s *= 0.5,
            _ => {}
        }
    }
    s
}

#[differentiate]
fn data_dependent_loops(x: &[f64; 3]) -> f64 {
    let mut s = x[0] * x[0] + 0.1;
    let mut n = 0;
    while s < 5.0 && n < 40 {
        s = s * (1.2 + x[1] * x[1]) + x[2].abs();
        n += 1;
    }
    let mut t = x[2];
    for i in 0..6 {
        if t > 2.0 {
            break;
        }
        if i % 2 == 1 && x[1] > 0.0 {
            continue;
        }
        t = t + x[0].cos() * 0.5 + (i as f64) * 0.1;
    }
    let mut p = 1.0;
    loop {
        p = p * x[1].tanh() + x[0];
        n += 1;
        if n > 45 {
            return p + s.ln() + t;
        }
    }
}

#[differentiate]
fn in_place(x: &[f64], y: f64) -> f64 {
    let n = x.len();
    let mut a = vec![0.0; n];
    for i in 0..n {
        a[i] = x[i];
    }
    for _ in 0..3 {
        for i in 1..n {
            a[i] = a[i - 1] * a[i] * 0.5 + a[i] * y;
        }
        a[0] = a[n - 1].max(a[0]) * y.sin();
    }
    let mut s = 0.0;
    for i in (0..n).rev().step_by(2) {
        s += a[i];
    }
    s
}

/// Gradient vs the jvp columns (exact to rounding), linearity of the pullback, and finite
/// differences where they are stable.
fn check_all(
    name: &str,
    x: &[f64],
    f: &dyn Fn(&[f64]) -> f64,
    jvp: &dyn Fn(&[f64], &[f64]) -> f64,
    grad: &dyn Fn(&[f64]) -> Vec<f64>,
) -> Result<(), TestCaseError> {
    let n = x.len();
    let g = grad(x);
    prop_assert_eq!(g.len(), n);
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let d = jvp(x, &e);
        prop_assert!(
            (d - g[j]).abs() <= 1e-10 * (1.0 + d.abs()),
            "{}: grad[{}] = {} but jvp column = {} at {:?}",
            name,
            j,
            g[j],
            d,
            x
        );
        let fd = |h: f64| {
            let mut p = x.to_vec();
            let mut m = x.to_vec();
            p[j] += h;
            m[j] -= h;
            (f(&p) - f(&m)) / (2.0 * h)
        };
        // Finite differences are trusted only where the two steps agree well inside the
        // tolerance below: near a kink or a singular derivative (`sqrt` at a tiny positive
        // argument) their truncation error alone exceeds it.
        let (f1, f2) = (fd(1e-6), fd(1e-7));
        if (f1 - f2).abs() <= 1e-6 * (1.0 + f1.abs()) {
            prop_assert!(
                (g[j] - f1).abs() <= 1e-5 * (1.0 + f1.abs()),
                "{}: grad[{}] = {} but finite differences give {} at {:?}",
                name,
                j,
                g[j],
                f1,
                x
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn branchy_modes_agree(x in prop::array::uniform4(-2.0f64..2.0), k in 0usize..3) {
        check_all(
            "branchy",
            &x,
            &|p| branchy(&p.try_into().unwrap(), k),
            &|p, t| branchy_jvp(&p.try_into().unwrap(), k, &t.try_into().unwrap()).1,
            &|p| branchy_grad(&p.try_into().unwrap(), k).1.to_vec(),
        )?;
        let (_, pb) = branchy_vjp(&x, k);
        let (_, g) = branchy_grad(&x, k);
        let h = pb(-2.5);
        for i in 0..4 {
            prop_assert!((h[i] + 2.5 * g[i]).abs() <= 1e-12 * (1.0 + g[i].abs()));
        }
    }

    #[test]
    fn data_dependent_loops_modes_agree(x in prop::array::uniform3(-1.5f64..1.5)) {
        check_all(
            "data_dependent_loops",
            &x,
            &|p| data_dependent_loops(&p.try_into().unwrap()),
            &|p, t| data_dependent_loops_jvp(&p.try_into().unwrap(), &t.try_into().unwrap()).1,
            &|p| data_dependent_loops_grad(&p.try_into().unwrap()).1.to_vec(),
        )?;
    }

    #[test]
    fn in_place_modes_agree(x in prop::collection::vec(-1.5f64..1.5, 2..7), y in -1.0f64..1.0) {
        let mut all = x.clone();
        all.push(y);
        let n = x.len();
        check_all(
            "in_place",
            &all,
            &|p| in_place(&p[..n], p[n]),
            &|p, t| in_place_jvp(&p[..n], p[n], &t[..n], t[n]).1,
            &|p| {
                let (_, (gx, gy)) = in_place_grad(&p[..n], p[n]);
                let mut g = gx;
                g.push(gy);
                g
            },
        )?;
    }
}
