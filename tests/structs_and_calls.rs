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

#[derive(Differentiable, Clone, Debug)]
struct P {
    w: [[f64; 3]; 2],
    b: [f64; 2],
}

fn cube_root(x: f64) -> f64 {
    x.cbrt()
}
fn cube_root_jvp(x: f64, t: f64) -> (f64, f64) {
    let y = x.cbrt();
    (y, t / (3.0 * y * y))
}
fn cube_root_vjp(x: f64) -> (f64, impl FnOnce(f64) -> f64) {
    let y = x.cbrt();
    (y, move |ct| ct / (3.0 * y * y))
}

#[differentiate]
fn layer(p: &P, x: &[f64; 3]) -> [f64; 2] {
    let mut y = [0.0; 2];
    for o in 0..2 {
        let mut s = p.b[o];
        for i in 0..3 {
            s += p.w[o][i] * x[i];
        }
        y[o] = s.tanh();
    }
    y
}

#[differentiate]
fn net(p: &P, x: &[f64; 3]) -> f64 {
    let h = layer(p, x);
    let c = cube_root(h[0] + 2.0);
    let mut k = 0;
    let mut acc = 0.0;
    while k < 2 {
        acc = match k {
            0 => acc + h[k] * c,
            _ => acc - h[k] * h[k],
        };
        k += 1;
    }
    let (u, v) = two(acc, c);
    u * v
}

#[differentiate]
fn two(a: f64, b: f64) -> (f64, f64) {
    (a * b, a - b)
}

#[test]
fn struct_and_calls() {
    let p = P {
        w: [[0.1, -0.2, 0.3], [0.5, 0.4, -0.1]],
        b: [0.05, -0.02],
    };
    let x = [0.3, -0.7, 1.1];
    let (y, (gp, gx)) = net_grad(&p, &x);
    // finite differences on every leaf of p and x
    let h = 1e-6;
    for o in 0..2 {
        for i in 0..3 {
            let mut pp = p.clone();
            pp.w[o][i] += h;
            let mut pm = p.clone();
            pm.w[o][i] -= h;
            let fd = (net(&pp, &x) - net(&pm, &x)) / (2.0 * h);
            assert!(
                (fd - gp.w[o][i]).abs() < 1e-7,
                "w{o}{i} {fd} {}",
                gp.w[o][i]
            );
        }
    }
    for i in 0..3 {
        let mut xp = x;
        xp[i] += h;
        let mut xm = x;
        xm[i] -= h;
        let fd = (net(&p, &xp) - net(&p, &xm)) / (2.0 * h);
        assert!((fd - gx[i]).abs() < 1e-7, "x{i} {fd} {}", gx[i]);
    }
    assert_eq!(y, net(&p, &x));
    // jvp agrees with the gradient (dot-product test)
    let tp = P {
        w: [[1.0, 0.5, -0.3], [0.2, 0.1, 0.7]],
        b: [0.3, -0.4],
    };
    let tx = [0.1, 0.2, -0.3];
    let (_, d) = net_jvp(&p, &x, &tp, &tx);
    let dot = gp.dot(&tp) + gx.dot(&tx);
    assert!((d - dot).abs() < 1e-12 * d.abs().max(1.0), "{d} {dot}");
    // vjp of an array-valued function
    let (yv, pb) = layer_vjp(&p, &x);
    let (ap, ax) = pb([1.0, 2.0]);
    let (yj, tj) = layer_jvp(&p, &x, &tp, &tx);
    assert_eq!(yv, yj);
    let lhs = tj[0] * 1.0 + tj[1] * 2.0;
    let rhs = ap.dot(&tp) + ax.dot(&tx);
    assert!((lhs - rhs).abs() < 1e-12, "{lhs} {rhs}");
}
