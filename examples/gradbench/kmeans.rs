//! `kmeans`: the k-means cost, and the Newton direction `J H⁻¹` where `H` is the (diagonal)
//! Hessian. `H` comes from forward over reverse: the generated `cost_grad` is generic over
//! `F: Float`, so running it on dual numbers whose tangents are all one gives, in the tangents of
//! the gradient, `H · 1`, which is the diagonal of `H` since `H` is diagonal.

use crate::util::{field, matrix_of, rows};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// `points` is `n × d` and `centroids` is `k × d`, both row-major.
#[differentiate(reverse, wrt(centroids))]
pub fn cost<F: Float>(points: &[F], centroids: &[F], d: usize) -> F {
    let n = points.len() / d;
    let k = centroids.len() / d;
    let mut total = F::zero();
    for i in 0..n {
        let mut closest = F::zero();
        for j in 0..k {
            let mut dist = F::zero();
            for l in 0..d {
                let t = points[i * d + l] - centroids[j * d + l];
                dist = dist + t * t;
            }
            if j == 0 {
                closest = dist;
            } else {
                closest = closest.min(dist);
            }
        }
        total = total + closest;
    }
    total
}

/// The Newton direction `J H⁻¹`, from one forward-over-reverse sweep.
pub fn dir(points: &[f64], centroids: &[f64], d: usize) -> Vec<f64> {
    let p: Vec<Dual<f64>> = points.iter().map(|&v| Dual::new(v, 0.0)).collect();
    let c: Vec<Dual<f64>> = centroids.iter().map(|&v| Dual::new(v, 1.0)).collect();
    let (_, g) = cost_grad(&p, &c, d);
    g.iter().map(|g| g.value() / g.tangent()).collect()
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let (points, n) = matrix_of(field(input, "points")?)?;
    let (centroids, k) = matrix_of(field(input, "centroids")?)?;
    let d = if n == 0 { 0 } else { points.len() / n };
    let _ = k;
    match function {
        "cost" => {
            let (y, t) = crate::runs(input, || cost(&points, &centroids, d));
            Ok((json!(y), t))
        }
        "dir" => {
            let (g, t) = crate::runs(input, || dir(&points, &centroids, d));
            Ok((rows(&g, d), t))
        }
        _ => Err(crate::util::unknown("kmeans", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_and_hessian_match_finite_differences() {
        let points = vec![0.1, 0.2, 0.9, 0.8, 0.15, 0.3, 0.7, 0.95, 0.5, 0.4];
        let centroids = vec![0.2, 0.2, 0.8, 0.9];
        let (_, g) = cost_grad(&points, &centroids, 2);
        crate::tests::check_fd(|c| cost(&points, c, 2), &centroids, &g, 1e-6);
        // the diagonal of the Hessian, by finite differences of the gradient
        let dr = dir(&points, &centroids, 2);
        for i in 0..centroids.len() {
            let h = 1e-5;
            let mut cp = centroids.clone();
            cp[i] += h;
            let mut cm = centroids.clone();
            cm[i] -= h;
            let hd =
                (cost_grad(&points, &cp, 2).1[i] - cost_grad(&points, &cm, 2).1[i]) / (2.0 * h);
            assert!(
                (dr[i] - g[i] / hd).abs() < 1e-6,
                "{i}: {} {}",
                dr[i],
                g[i] / hd
            );
        }
    }
}
