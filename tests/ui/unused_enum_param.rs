use autodiff::prelude::*;

#[derive(Clone, Copy)]
pub enum Mode {
    Fast,
    Exact,
}

// The body never looks at `mode`, so nothing says it is not a parameter struct: both modes
// ask for it to be `Differentiable`, at the parameter.
#[differentiate(forward)]
fn f(mode: Mode, x: f64) -> f64 {
    x * x
}

fn main() {}
