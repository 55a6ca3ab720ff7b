use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct S {
    k: f64,
}

impl S {
    #[differentiate]
    fn f(&self, x: f64) -> f64 {
        let s = self.clone();
        s.k * x
    }
}

fn main() {}
