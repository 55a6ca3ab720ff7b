use autodiff::prelude::*;

struct S {
    k: f64,
}

impl S {
    #[differentiate]
    fn f(&self, x: f64) -> f64 {
        self.k * x
    }
}

fn main() {}
