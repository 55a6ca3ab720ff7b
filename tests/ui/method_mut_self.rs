use autodiff::prelude::*;

struct S {
    k: f64,
}

impl S {
    #[differentiate]
    fn f(&mut self, x: f64) -> f64 {
        self.k * x
    }
}

fn main() {}
