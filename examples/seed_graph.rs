//! The course's computational graph `f(x1, x2) = x1 * x2 + sin(x1)`, differentiated in forward
//! and reverse mode by `#[differentiate]`, with every intermediate value, tangent and adjoint
//! printed the way the lecture slides draw them, and the code the macro generated.
//!
//! Run with `cargo run --example seed_graph`.

use autodiff::prelude::*;

/// The whole graph, as a user writes it.
#[differentiate]
fn f(x1: f64, x2: f64) -> f64 {
    x1 * x2 + x1.sin()
}

// The graph's nodes, one differentiable function each, so that the example can show every
// node's tangent and adjoint (in `f` itself the macro keeps them in local variables). Only
// their derivatives are called here.

/// v3 = v1 * v2
#[allow(dead_code)]
#[differentiate]
fn mul(v1: f64, v2: f64) -> f64 {
    v1 * v2
}

/// v4 = sin(v1)
#[allow(dead_code)]
#[differentiate]
fn sin(v1: f64) -> f64 {
    v1.sin()
}

/// v5 = v3 + v4
#[allow(dead_code)]
#[differentiate]
fn add(v3: f64, v4: f64) -> f64 {
    v3 + v4
}

fn main() {
    let (x1, x2) = (2.0_f64, 3.0_f64);
    println!(
        "f(x1, x2) = x1 * x2 + sin(x1) = {:.5} at x1 = {x1}, x2 = {x2}\n",
        f(x1, x2)
    );
    println!("          v1 = x1 --+--> [*] v3 --+");
    println!("                    |             +--> [+] v5 = f");
    println!("          v2 = x2 --+    [sin] v4 --+");
    println!("                   (v1 --> [sin])\n");

    // Forward mode: seed the tangent of x1 (the derivative with respect to x1).
    let (t1, t2) = (1.0, 0.0);
    let (v3, t3) = mul_jvp(x1, x2, t1, t2);
    let (v4, t4) = sin_jvp(x1, t1);
    let (v5, t5) = add_jvp(v3, v4, t3, t4);
    println!("Forward mode (tangents, seeded with dx1 = 1, dx2 = 0):");
    println!("  v1 = x1              = {x1:>9.5}    v1' = {t1:>9.5}");
    println!("  v2 = x2              = {x2:>9.5}    v2' = {t2:>9.5}");
    println!("  v3 = v1 * v2         = {v3:>9.5}    v3' = v1' v2 + v1 v2' = {t3:>9.5}");
    println!("  v4 = sin(v1)         = {v4:>9.5}    v4' = cos(v1) v1'     = {t4:>9.5}");
    println!("  v5 = v3 + v4         = {v5:>9.5}    v5' = v3' + v4'       = {t5:>9.5}");
    let (y, dy) = f_jvp(x1, x2, 1.0, 0.0);
    println!(
        "  f_jvp(x1, x2, 1, 0)  = ({y:.5}, {dy:.5})   [df/dx1 = x2 + cos(x1) = {:.5}]\n",
        x2 + x1.cos()
    );

    // Reverse mode: run the forward sweep keeping each node's pullback, then seed v5_bar = 1
    // and call the pullbacks in reverse order.
    let (v3, pb3) = mul_vjp(x1, x2);
    let (v4, pb4) = sin_vjp(x1);
    let (v5, pb5) = add_vjp(v3, v4);
    let v5_bar = 1.0;
    let (v3_bar, v4_bar) = pb5(v5_bar);
    let v1_bar_from_sin = pb4(v4_bar);
    let (v1_bar_from_mul, v2_bar) = pb3(v3_bar);
    let v1_bar = v1_bar_from_mul + v1_bar_from_sin;
    println!("Reverse mode (adjoints, seeded with v5_bar = 1), forward sweep v5 = {v5:.5}:");
    println!("  v5_bar                           = {v5_bar:>9.5}");
    println!("  v4_bar = v5_bar                  = {v4_bar:>9.5}");
    println!("  v3_bar = v5_bar                  = {v3_bar:>9.5}");
    println!("  v2_bar = v3_bar * v1             = {v2_bar:>9.5}");
    println!("  v1_bar = v3_bar * v2 + v4_bar * cos(v1) = {v1_bar:>9.5}");
    let (y, (g1, g2)) = f_grad(x1, x2);
    println!("  f_grad(x1, x2) = ({y:.5}, ({g1:.5}, {g2:.5}))");
    let (_, pullback) = f_vjp(x1, x2);
    let (h1, h2) = pullback(0.5);
    println!("  f_vjp(x1, x2).1(0.5) = ({h1:.5}, {h2:.5})   (half the gradient)\n");
    assert!((g1 - v1_bar).abs() < 1e-12 && (g2 - v2_bar).abs() < 1e-12);
    assert!((dy - g1).abs() < 1e-12);

    println!("The code #[differentiate] generated for f (rustfmt'ed; see");
    println!("autodiff-macros/tests/expand/seed_graph.expanded.rs):\n");
    println!(
        "{}",
        include_str!("../autodiff-macros/tests/expand/seed_graph.expanded.rs")
    );
}
