use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct S {
    k: f64,
}

impl S {
    #[differentiate]
    fn f(self: Box<Self>, x: f64) -> f64 {
        self.k * x
    }
}

fn main() {}
