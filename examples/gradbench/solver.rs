//! The gradient-descent `argmin` of the `particle` and `saddle` evals (as in GradBench's
//! reference implementations): plain, non-differentiated driver code, generic over the float.

use autodiff::prelude::*;

fn c<F: Float>(v: f64) -> F {
    F::from(v).unwrap()
}

/// Minimises `f` from `x`, given its gradient `g`.
pub fn argmin<F: Float>(f: impl Fn(&[F]) -> F, g: impl Fn(&[F]) -> Vec<F>, x: &[F]) -> Vec<F> {
    let mut x = x.to_vec();
    let mut fx = f(&x);
    let mut gx = g(&x);
    let mut eta: F = c(1e-5);
    let mut i = 0;
    loop {
        let mag = gx.iter().fold(F::zero(), |s, &v| s + v * v).sqrt();
        if mag <= c(1e-5) {
            break;
        }
        if i == 10 {
            eta = eta * c(2.0);
            i = 0;
            continue;
        }
        let xp: Vec<F> = x.iter().zip(&gx).map(|(&a, &b)| a - eta * b).collect();
        let dist = x
            .iter()
            .zip(&xp)
            .fold(F::zero(), |s, (&a, &b)| s + (a - b) * (a - b))
            .sqrt();
        if dist <= c(1e-5) {
            break;
        }
        let fxp = f(&xp);
        if fxp < fx {
            x = xp;
            fx = fxp;
            gx = g(&x);
            i += 1;
        } else {
            eta = eta / c(2.0);
            i = 0;
        }
    }
    x
}
