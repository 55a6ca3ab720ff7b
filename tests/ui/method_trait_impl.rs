use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct S {
    k: f64,
}

trait Model {
    fn loss(&self, x: f64) -> f64;
}

#[differentiate]
impl Model for S {
    #[differentiate]
    fn loss(&self, x: f64) -> f64 {
        self.k * x
    }
}

fn main() {}
