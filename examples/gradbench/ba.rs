//! `ba`: bundle adjustment. The objective is the reprojection error of every observation and
//! the Zach weight error of every weight; the Jacobian is sparse, one 2 × 15 block per
//! observation (11 camera parameters, 3 point coordinates, 1 weight) and one entry per weight,
//! reported in GradBench's compressed format.

use crate::util::{f64_of, field, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

const NCAM: usize = 11;

/// The reprojection error of one observation: camera `cam` (rotation 0..3, centre 3..6, focal
/// 6, principal point 7..9, radial distortion 9..11), point `x`, weight `w`, feature `feat`.
#[differentiate(reverse, wrt(cam, x, w))]
pub fn reproj_error(cam: &[f64; 11], x: &[f64; 3], w: f64, feat: &[f64; 2]) -> [f64; 2] {
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    let mut xcam = [0.0; 3];
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let theta_inverse = 1.0 / theta;
        let wv = [
            cam[0] * theta_inverse,
            cam[1] * theta_inverse,
            cam[2] * theta_inverse,
        ];
        let wc = [
            wv[1] * xo[2] - wv[2] * xo[1],
            wv[2] * xo[0] - wv[0] * xo[2],
            wv[0] * xo[1] - wv[1] * xo[0],
        ];
        let tmp = (wv[0] * xo[0] + wv[1] * xo[1] + wv[2] * xo[2]) * (1.0 - costheta);
        for i in 0..3 {
            xcam[i] = xo[i] * costheta + wc[i] * sintheta + wv[i] * tmp;
        }
    } else {
        let rc = [
            cam[1] * xo[2] - cam[2] * xo[1],
            cam[2] * xo[0] - cam[0] * xo[2],
            cam[0] * xo[1] - cam[1] * xo[0],
        ];
        for i in 0..3 {
            xcam[i] = xo[i] + rc[i];
        }
    }
    let p0 = xcam[0] / xcam[2];
    let p1 = xcam[1] / xcam[2];
    let rsq = p0 * p0 + p1 * p1;
    let ld = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    let q0 = p0 * ld * cam[6] + cam[7];
    let q1 = p1 * ld * cam[6] + cam[8];
    [w * (q0 - feat[0]), w * (q1 - feat[1])]
}

#[differentiate(reverse)]
pub fn w_error(w: f64) -> f64 {
    1.0 - w * w
}

pub struct Input {
    n: usize,
    m: usize,
    p: usize,
    cams: Vec<[f64; 11]>,
    xs: Vec<[f64; 3]>,
    ws: Vec<f64>,
    obs: Vec<(usize, usize)>,
    feats: Vec<[f64; 2]>,
}

fn parse(input: &Value) -> Result<Input, String> {
    let n = usize_of(field(input, "n")?)?;
    let m = usize_of(field(input, "m")?)?;
    let p = usize_of(field(input, "p")?)?;
    let cam: [f64; 11] = vec_of(field(input, "cam")?)?
        .try_into()
        .map_err(|_| "cam is not 11 numbers")?;
    let x: [f64; 3] = vec_of(field(input, "x")?)?
        .try_into()
        .map_err(|_| "x is not 3 numbers")?;
    let w = f64_of(field(input, "w")?)?;
    let feat: [f64; 2] = vec_of(field(input, "feat")?)?
        .try_into()
        .map_err(|_| "feat is not 2 numbers")?;
    Ok(Input {
        n,
        m,
        p,
        cams: vec![cam; n],
        xs: vec![x; m],
        ws: vec![w; p],
        obs: (0..p).map(|i| (i % n, i % m)).collect(),
        feats: vec![feat; p],
    })
}

pub struct Objective {
    reproj: Vec<[f64; 2]>,
    w_err: Vec<f64>,
}

fn objective(i: &Input) -> Objective {
    let reproj = (0..i.p)
        .map(|k| {
            let (c, x) = i.obs[k];
            reproj_error(&i.cams[c], &i.xs[x], i.ws[k], &i.feats[k])
        })
        .collect();
    let w_err = i.ws.iter().map(|&w| w_error(w)).collect();
    Objective { reproj, w_err }
}

/// The sparse Jacobian in CSR form, as GradBench's reference tool builds it.
pub struct Sparse {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

fn jacobian(i: &Input) -> Sparse {
    let nnz = (NCAM + 4) * 2 * i.p + i.p;
    let mut rows = Vec::with_capacity(2 * i.p + i.p + 1);
    let mut cols = Vec::with_capacity(nnz);
    let mut vals = Vec::with_capacity(nnz);
    rows.push(0);
    for k in 0..i.p {
        let (c, x) = i.obs[k];
        for r in 0..2 {
            // one reverse sweep per output row (the pullback is FnOnce, so one `_vjp` per row)
            let (_, pb) = reproj_error_vjp(&i.cams[c], &i.xs[x], i.ws[k], &i.feats[k]);
            let mut ct = [0.0; 2];
            ct[r] = 1.0;
            let (gc, gx, gw) = pb(ct);
            rows.push(rows[rows.len() - 1] + NCAM + 4);
            for j in 0..NCAM {
                cols.push(NCAM * c + j);
                vals.push(gc[j]);
            }
            for j in 0..3 {
                cols.push(NCAM * i.n + 3 * x + j);
                vals.push(gx[j]);
            }
            cols.push(NCAM * i.n + 3 * i.m + k);
            vals.push(gw);
        }
    }
    for k in 0..i.p {
        rows.push(rows[rows.len() - 1] + 1);
        cols.push(NCAM * i.n + 3 * i.m + k);
        vals.push(w_error_grad(i.ws[k]).1);
    }
    Sparse { rows, cols, vals }
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let i = parse(input)?;
    match function {
        "objective" => {
            let (o, t) = crate::runs(input, || objective(&i));
            let out = json!({
                "reproj_error": { "elements": o.reproj[0], "repeated": o.reproj.len() },
                "w_err": { "element": o.w_err[0], "repeated": o.w_err.len() },
            });
            Ok((out, t))
        }
        "jacobian" => {
            let (j, t) = crate::runs(input, || jacobian(&i));
            let e = 2 * (NCAM + 4);
            let pick = |v: &[usize]| {
                let mut r = v[..e].to_vec();
                r.push(v[v.len() - 1]);
                r
            };
            let mut vals = j.vals[..e].to_vec();
            vals.push(j.vals[j.vals.len() - 1]);
            Ok((
                json!({ "rows": pick(&j.rows), "cols": pick(&j.cols), "vals": vals }),
                t,
            ))
        }
        _ => Err(crate::util::unknown("ba", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobian_blocks_match_finite_differences() {
        let cam = [
            0.1, -0.2, 0.3, 0.5, -0.4, -5.0, 1.2, 0.1, -0.1, 0.01, -0.002,
        ];
        let x = [0.3, 0.7, 2.0];
        let w = 0.8;
        let feat = [0.2, -0.1];
        for r in 0..2 {
            let (_, pb) = reproj_error_vjp(&cam, &x, w, &feat);
            let mut ct = [0.0; 2];
            ct[r] = 1.0;
            let (gc, gx, gw) = pb(ct);
            crate::tests::check_fd(
                |c| reproj_error(c.try_into().unwrap(), &x, w, &feat)[r],
                &cam,
                &gc,
                1e-6,
            );
            crate::tests::check_fd(
                |v| reproj_error(&cam, v.try_into().unwrap(), w, &feat)[r],
                &x,
                &gx,
                1e-6,
            );
            crate::tests::check_fd(
                |v| reproj_error(&cam, &x, v[0], &feat)[r],
                &[w],
                &[gw],
                1e-6,
            );
        }
        // the branch at a zero rotation
        let cam0 = [0.0, 0.0, 0.0, 0.5, -0.4, -5.0, 1.2, 0.1, -0.1, 0.01, -0.002];
        let (_, pb) = reproj_error_vjp(&cam0, &x, w, &feat);
        let (gc, _, _) = pb([1.0, 0.0]);
        crate::tests::check_fd(
            |c| reproj_error(c.try_into().unwrap(), &x, w, &feat)[0],
            &cam0,
            &gc,
            1e-5,
        );
        assert_eq!(w_error_grad(0.8).1, -1.6);
    }
}
