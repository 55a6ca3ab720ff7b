use autodiff::prelude::*;

#[differentiate]
struct S {
    k: f64,
}

fn main() {}
