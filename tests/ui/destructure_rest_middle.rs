use autodiff::prelude::*;

// `..` between elements of a destructuring `let`: the positions after it are not taken apart.
#[differentiate]
fn f(p: [f64; 4]) -> f64 {
    let [a, .., d] = p;
    a * d
}

fn main() {}
