use autodiff::prelude::*;

// A call to itself that passes a value carrying a derivative into a parameter that `wrt(..)`
// leaves out: the recursive pullback has no adjoint for it, so the macro asks to name it.
#[differentiate(reverse, wrt(x))]
fn f(x: f64, y: f64, k: u32) -> f64 {
    if k == 0 {
        return x * y;
    }
    f(y, x.sin(), k - 1)
}

fn main() {}
