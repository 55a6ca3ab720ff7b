use autodiff::prelude::*;

fn apply(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    f(x)
}

fn sq(v: f64) -> f64 {
    v * v
}

// Closures and functions given to a call that carries a derivative: refused, each with what to
// write instead (a call whose arguments carry none may take a closure: tests/fn_values.rs).
#[differentiate]
fn literal(x: f64) -> f64 {
    apply(|v| v * v, x)
}

#[differentiate]
fn bound(x: f64) -> f64 {
    let g = |v: f64| v * x;
    apply(g, x)
}

#[differentiate]
fn function_item(x: f64) -> f64 {
    apply(sq, x)
}

#[derive(Clone, Copy)]
struct Sys;

impl Sys {
    fn run(&self, f: impl Fn(f64) -> f64, x: f64) -> f64 {
        f(x)
    }
}

#[differentiate]
fn method(x: f64) -> f64 {
    let s: Sys = Sys;
    s.run(|v| v.sin(), x)
}

fn main() {}
