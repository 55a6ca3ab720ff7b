use autodiff::prelude::*;

pub struct Config {
    pub scale: f64,
}

#[differentiate]
fn g(x: f64, s: f64) -> f64 {
    x * s
}

// Whether `cfg.scale` is a float (a zero tangent) or an integer (none) cannot be seen.
#[differentiate(wrt(x))]
fn f(x: f64, cfg: &Config) -> f64 {
    g(x, cfg.scale)
}

fn main() {}
