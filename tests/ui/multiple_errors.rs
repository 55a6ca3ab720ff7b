use autodiff::prelude::*;

#[differentiate]
fn f(x: f64) -> f64 {
    let g = |a: f64| a * 2.0;
    let y = x.gamma();
    let z = unsafe { std::ptr::read(&y) };
    g(z)
}

fn main() {}
