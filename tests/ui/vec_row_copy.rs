use autodiff::prelude::*;

// A row of `&[Vec<f64>]` is named by the loop (`m[i]`), never copied; one the body reassigns
// (`for mut row`) would have to be a copy, which a `Vec` cannot be.
#[differentiate]
fn f(m: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    for mut row in m.iter() {
        if row.len() > 3 {
            row = &m[0];
        }
        s += row[0];
    }
    s
}

fn main() {}
