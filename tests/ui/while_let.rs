use autodiff::prelude::*;

#[differentiate]
fn f(x: f64, v: &Vec<usize>) -> f64 {
    let mut s = x;
    let mut i = 0;
    while let Some(k) = v.get(i) {
        s = s * (*k as f64);
        i += 1;
    }
    s
}

fn main() {}
