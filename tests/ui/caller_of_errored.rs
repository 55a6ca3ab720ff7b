use autodiff::prelude::*;

// The callee fails; its caller must not drown in follow-on errors about a missing `g_vjp`.
#[differentiate]
fn g(x: f64) -> f64 {
    let h = move |a: f64| a * 2.0;
    h(x)
}

fn main() {
    let y = g(1.0);
    let _ = y;
}
