use autodiff::prelude::*;

// A parameter spelled as a name the macro writes (`__d`, the default of a reduction): renamed
// apart it would no longer be the parameter, so it is an error.
#[differentiate]
fn f(__d: &[f64; 3]) -> f64 {
    __d.iter().copied().reduce(f64::max).unwrap_or(0.0)
}

fn main() {}
