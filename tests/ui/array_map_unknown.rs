use autodiff::prelude::*;

#[derive(Clone, Differentiable)]
struct S {
    w: [f64; 3],
}

// `.map(..)` of a field: the macro does not see that it is an array (nor its length); a `let`
// typed `[f64; 3]` says so (tests/corpus_forms.rs).
#[differentiate]
fn f(s: &S) -> f64 {
    let y = s.w.map(|v| v.tanh());
    y[0] * y[1]
}

fn main() {}
