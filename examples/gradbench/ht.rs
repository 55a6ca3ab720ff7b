//! `ht`: hand tracking. A skinned hand mesh is posed by 26 parameters `theta` (global rotation,
//! global translation, finger angles); the objective is the distance of every observed point to
//! its corresponding point on the posed mesh (a vertex in the simple variant, a point of a
//! triangle at barycentric coordinates `us` in the complicated one). The Jacobian has one row per
//! residual and one column per parameter, in the reference tool's layout: in the complicated
//! variant two leading columns hold each row's derivative with respect to its own point's two
//! `us` (the Jacobian with respect to `us` is block diagonal), then the 26 columns of `theta`.
//!
//! The objective only poses the vertices that some correspondence uses, and skins each with its
//! non-zero bone weights: that subset and those weights are found once when the input is read
//! (plain data, no derivative), so the objective and its `_jvp` do no work for the rest of the
//! mesh.

use crate::util::{field, matrix_of, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

const NTHETA: usize = 26;

/// The posing data, none of it differentiated.
pub struct Hand {
    /// Number of bones.
    nb: usize,
    /// Parent of each bone (`-1` for the root); parents come before their children.
    parents: Vec<i64>,
    /// Per bone, the 4 × 4 base relative transform, row-major.
    base_relatives: Vec<f64>,
    /// Per bone, the 4 × 4 inverse base absolute transform, row-major.
    inverse_base_absolutes: Vec<f64>,
    is_mirrored: bool,
    /// The vertices the correspondences use, in homogeneous coordinates (4 per vertex).
    positions: Vec<f64>,
    /// Their non-zero skinning weights, vertex `v` owning `w_start[v]..w_start[v + 1]`.
    w_start: Vec<usize>,
    w_bone: Vec<usize>,
    w_val: Vec<f64>,
    /// Per observed point, the indices into `positions` of its vertex (simple) or of its
    /// triangle's three vertices (complicated).
    slots: Vec<usize>,
    /// Observed points, 3 per point.
    points: Vec<f64>,
    complicated: bool,
}

/// The residuals `points - model points`, 3 per observed point.
#[differentiate(forward, wrt(theta, us))]
pub fn objective(theta: &[f64], us: &[f64], h: &Hand) -> Vec<f64> {
    let nb = h.nb;
    // The pose parameters, 3 × (nb + 3), column-major: rotation, scale, translation, then one
    // column of Euler angles per bone.
    let mut pose = vec![0.0; 3 * (nb + 3)];
    for r in 0..3 {
        pose[r] = theta[r];
        pose[3 + r] = 1.0;
        pose[6 + r] = theta[3 + r];
    }
    let mut it = 6;
    let mut ip = 5;
    for _finger in 0..5 {
        for i in 2..5 {
            pose[3 * ip] = theta[it];
            it += 1;
            if i == 2 {
                pose[3 * ip + 1] = theta[it];
                it += 1;
            }
            ip += 1;
        }
        ip += 1;
    }

    // The global rotation (angle-axis), its columns scaled.
    let n2 = pose[0] * pose[0] + pose[1] * pose[1] + pose[2] * pose[2];
    let norm = n2.sqrt();
    let mut rg = [0.0; 9];
    if norm < 0.0001 {
        rg[0] = 1.0;
        rg[4] = 1.0;
        rg[8] = 1.0;
    } else {
        let x = pose[0] / norm;
        let y = pose[1] / norm;
        let z = pose[2] / norm;
        let s = norm.sin();
        let c = norm.cos();
        rg[0] = x * x + (1.0 - x * x) * c;
        rg[1] = x * y * (1.0 - c) - z * s;
        rg[2] = x * z * (1.0 - c) + y * s;
        rg[3] = x * y * (1.0 - c) + z * s;
        rg[4] = y * y + (1.0 - y * y) * c;
        rg[5] = y * z * (1.0 - c) - x * s;
        rg[6] = x * z * (1.0 - c) - y * s;
        rg[7] = z * y * (1.0 - c) + x * s;
        rg[8] = z * z + (1.0 - z * z) * c;
    }
    for r in 0..3 {
        for c in 0..3 {
            rg[3 * r + c] *= pose[3 + c];
        }
    }
    let mirror = if h.is_mirrored { -1.0 } else { 1.0 };

    // Per bone: the absolute transform (rows 0..3 of a 4 × 4), from its parent's and its own
    // relative one (base relative × Euler rotation); then the skinning transform (absolute ×
    // inverse base absolute), with the mirroring and the global rotation folded in.
    let mut abs = vec![0.0; 12 * nb];
    let mut g = vec![0.0; 12 * nb];
    for b in 0..nb {
        let col = 3 * (b + 3);
        let (cx, sx) = (pose[col].cos(), pose[col].sin());
        let (cz, sz) = (pose[col + 1].cos(), pose[col + 1].sin());
        let (cy, sy) = (pose[col + 2].cos(), pose[col + 2].sin());
        // Rz · Ry · Rx
        let rot = [
            cz * cy,
            cz * sy * sx - sz * cx,
            sz * sx + cz * sy * cx,
            sz * cy,
            cz * cx + sz * sy * sx,
            sz * sy * cx - cz * sx,
            -sy,
            cy * sx,
            cy * cx,
        ];
        let br = 16 * b;
        let mut rel = [0.0; 16];
        for r in 0..4 {
            for c in 0..3 {
                rel[4 * r + c] = h.base_relatives[br + 4 * r] * rot[c]
                    + h.base_relatives[br + 4 * r + 1] * rot[3 + c]
                    + h.base_relatives[br + 4 * r + 2] * rot[6 + c];
            }
            rel[4 * r + 3] = h.base_relatives[br + 4 * r + 3];
        }
        let parent = h.parents[b];
        if parent < 0 {
            for k in 0..12 {
                abs[12 * b + k] = rel[k];
            }
        } else {
            let p = 12 * parent as usize;
            for r in 0..3 {
                for c in 0..4 {
                    abs[12 * b + 4 * r + c] = abs[p + 4 * r] * rel[c]
                        + abs[p + 4 * r + 1] * rel[4 + c]
                        + abs[p + 4 * r + 2] * rel[8 + c]
                        + abs[p + 4 * r + 3] * rel[12 + c];
                }
            }
        }
        let mut t = [0.0; 12];
        for r in 0..3 {
            for c in 0..4 {
                t[4 * r + c] = abs[12 * b + 4 * r] * h.inverse_base_absolutes[br + c]
                    + abs[12 * b + 4 * r + 1] * h.inverse_base_absolutes[br + 4 + c]
                    + abs[12 * b + 4 * r + 2] * h.inverse_base_absolutes[br + 8 + c]
                    + abs[12 * b + 4 * r + 3] * h.inverse_base_absolutes[br + 12 + c];
            }
        }
        for c in 0..4 {
            t[c] *= mirror;
        }
        for r in 0..3 {
            for c in 0..4 {
                g[12 * b + 4 * r + c] =
                    rg[3 * r] * t[c] + rg[3 * r + 1] * t[4 + c] + rg[3 * r + 2] * t[8 + c];
            }
        }
    }

    // The posed vertices: weighted sums of their bones' transforms, plus the translation.
    let nv = h.w_start.len() - 1;
    let mut verts = vec![0.0; 3 * nv];
    for v in 0..nv {
        let (p0, p1, p2, p3) = (
            h.positions[4 * v],
            h.positions[4 * v + 1],
            h.positions[4 * v + 2],
            h.positions[4 * v + 3],
        );
        let mut x = pose[6];
        let mut y = pose[7];
        let mut z = pose[8];
        for k in h.w_start[v]..h.w_start[v + 1] {
            let w = h.w_val[k];
            let m = 12 * h.w_bone[k];
            x += w * (g[m] * p0 + g[m + 1] * p1 + g[m + 2] * p2 + g[m + 3] * p3);
            y += w * (g[m + 4] * p0 + g[m + 5] * p1 + g[m + 6] * p2 + g[m + 7] * p3);
            z += w * (g[m + 8] * p0 + g[m + 9] * p1 + g[m + 10] * p2 + g[m + 11] * p3);
        }
        verts[3 * v] = x;
        verts[3 * v + 1] = y;
        verts[3 * v + 2] = z;
    }

    // The residuals.
    let npts = h.points.len() / 3;
    let mut err = vec![0.0; 3 * npts];
    if h.complicated {
        for i in 0..npts {
            let a = 3 * h.slots[3 * i];
            let b = 3 * h.slots[3 * i + 1];
            let c = 3 * h.slots[3 * i + 2];
            let u0 = us[2 * i];
            let u1 = us[2 * i + 1];
            let u2 = 1.0 - u0 - u1;
            for j in 0..3 {
                err[3 * i + j] = h.points[3 * i + j]
                    - (u0 * verts[a + j] + u1 * verts[b + j] + u2 * verts[c + j]);
            }
        }
    } else {
        for i in 0..npts {
            let a = 3 * h.slots[i];
            for j in 0..3 {
                err[3 * i + j] = h.points[3 * i + j] - verts[a + j];
            }
        }
    }
    err
}

/// The Jacobian, one column (`3 × npts` numbers) per parameter, one `_jvp` per column; stored by
/// columns, as the reference does, and turned into rows only for the output. The complicated
/// variant's two `us` columns take one `_jvp` each: each residual depends on its own point's `us`
/// only, so seeding every point's first (second) coordinate at once gives every row's derivative
/// with respect to its own first (second) coordinate.
pub fn jacobian(theta: &[f64], us: &[f64], h: &Hand) -> Vec<Vec<f64>> {
    let nus = if h.complicated { 2 } else { 0 };
    let ncols = nus + theta.len();
    let mut dtheta = vec![0.0; theta.len()];
    let mut dus = vec![0.0; us.len()];
    let mut columns = Vec::with_capacity(ncols);
    for col in 0..ncols {
        if col < nus {
            for i in 0..us.len() / 2 {
                dus[2 * i + col] = 1.0;
            }
        } else {
            dtheta[col - nus] = 1.0;
        }
        columns.push(objective_jvp(theta, us, h, &dtheta, &dus).1);
        dus.iter_mut().for_each(|x| *x = 0.0);
        dtheta.iter_mut().for_each(|x| *x = 0.0);
    }
    columns
}

/// The Jacobian as GradBench's rows.
fn rows_of(columns: &[Vec<f64>]) -> Value {
    let nrows = columns.first().map_or(0, Vec::len);
    Value::Array(
        (0..nrows)
            .map(|r| json!(columns.iter().map(|c| c[r]).collect::<Vec<f64>>()))
            .collect(),
    )
}

fn int_of(v: &Value) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("expected an integer, got {v}"))
}

fn ints_of(v: &Value) -> Result<Vec<i64>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected an array, got {v}"))?
        .iter()
        .map(int_of)
        .collect()
}

/// Per bone, a 4 × 4 matrix given as rows, flattened row-major.
fn matrices_of(v: &Value, nb: usize) -> Result<Vec<f64>, String> {
    let ms = v
        .as_array()
        .ok_or_else(|| format!("expected an array of matrices, got {v}"))?;
    let mut flat = Vec::with_capacity(16 * nb);
    for m in ms {
        let (f, r) = matrix_of(m)?;
        if r != 4 || f.len() != 16 {
            return Err("expected 4 × 4 matrices".into());
        }
        flat.extend(f);
    }
    if flat.len() != 16 * nb {
        return Err(format!("expected {nb} matrices"));
    }
    Ok(flat)
}

/// Reads an `HTInput`; returns `theta`, the flat `us` and the posing data.
pub fn parse(input: &Value) -> Result<(Vec<f64>, Vec<f64>, Hand), String> {
    let theta = vec_of(field(input, "theta")?)?;
    if theta.len() != NTHETA {
        return Err(format!("theta has {} numbers, not {NTHETA}", theta.len()));
    }
    let (us, _) = matrix_of(field(input, "us")?)?;
    let data = field(input, "data")?;
    let model = field(data, "model")?;
    let nb = usize_of(field(model, "bone_count")?)?;
    if nb < 22 {
        // `theta`'s finger angles pose bones 2..22
        return Err(format!("the hand model has {nb} bones, fewer than 22"));
    }
    let parents = ints_of(field(model, "parents")?)?;
    if parents.len() != nb
        || parents
            .iter()
            .enumerate()
            .any(|(b, &p)| p >= b as i64 || p < -1)
    {
        return Err("every bone's parent must come before it".into());
    }
    let base_relatives = matrices_of(field(model, "base_relatives")?, nb)?;
    let inverse_base_absolutes = matrices_of(field(model, "inverse_base_absolutes")?, nb)?;
    let (all_positions, nverts) = matrix_of(field(model, "base_positions")?)?;
    let (weights, wrows) = matrix_of(field(model, "weights")?)?;
    if all_positions.len() != 4 * nverts || wrows != nverts || weights.len() != nb * nverts {
        return Err("base_positions must be n × 4 and weights n × bone_count".into());
    }
    let triangles = field(model, "triangles")?
        .as_array()
        .ok_or("triangles is not an array")?
        .iter()
        .map(ints_of)
        .collect::<Result<Vec<_>, _>>()?;
    let is_mirrored = field(model, "is_mirrored")?
        .as_bool()
        .ok_or("is_mirrored is not a bool")?;
    let correspondences = ints_of(field(data, "correspondences")?)?;
    let (points, _) = matrix_of(field(data, "points")?)?;
    let npts = correspondences.len();
    if points.len() != 3 * npts {
        return Err("points must be one 3-vector per correspondence".into());
    }
    let complicated = !us.is_empty();
    if complicated && us.len() != 2 * npts {
        return Err("us must be one pair per correspondence".into());
    }

    // The vertices the residuals read, each once, in order of first use.
    let mut slot_of = vec![usize::MAX; nverts];
    let mut used = Vec::new();
    let mut slots = Vec::with_capacity(if complicated { 3 * npts } else { npts });
    let mut use_vertex = |v: i64, slots: &mut Vec<usize>| -> Result<(), String> {
        let v = usize::try_from(v)
            .ok()
            .filter(|&v| v < nverts)
            .ok_or("vertex index out of range")?;
        if slot_of[v] == usize::MAX {
            slot_of[v] = used.len();
            used.push(v);
        }
        slots.push(slot_of[v]);
        Ok(())
    };
    for &c in &correspondences {
        if complicated {
            let t = usize::try_from(c)
                .ok()
                .and_then(|c| triangles.get(c))
                .filter(|t| t.len() == 3)
                .ok_or("triangle index out of range")?;
            for &v in t {
                use_vertex(v, &mut slots)?;
            }
        } else {
            use_vertex(c, &mut slots)?;
        }
    }
    let mut positions = Vec::with_capacity(4 * used.len());
    let mut w_start = vec![0];
    let mut w_bone = Vec::new();
    let mut w_val = Vec::new();
    for &v in &used {
        positions.extend_from_slice(&all_positions[4 * v..4 * v + 4]);
        for b in 0..nb {
            let w = weights[nb * v + b];
            if w != 0.0 {
                w_bone.push(b);
                w_val.push(w);
            }
        }
        w_start.push(w_bone.len());
    }
    let hand = Hand {
        nb,
        parents,
        base_relatives,
        inverse_base_absolutes,
        is_mirrored,
        positions,
        w_start,
        w_bone,
        w_val,
        slots,
        points,
        complicated,
    };
    Ok((theta, us, hand))
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let (theta, us, h) = parse(input)?;
    match function {
        "objective" => {
            let (e, t) = crate::runs(input, || objective(&theta, &us, &h));
            Ok((json!(e), t))
        }
        "jacobian" => {
            let (columns, t) = crate::runs(input, || jacobian(&theta, &us, &h));
            Ok((rows_of(&columns), t))
        }
        _ => Err(crate::util::unknown("ht", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small hand: 22 bones in a chain, eight vertices on two bones each, three triangles,
    /// four observed points; mirrored in the complicated variant.
    fn small(complicated: bool) -> Value {
        let rel = |tx: f64, ty: f64, a: f64| {
            let (c, s) = (a.cos(), a.sin());
            json!([
                [c, -s, 0.0, tx],
                [s, c, 0.0, ty],
                [0.0, 0.0, 1.0, 0.1],
                [0.0, 0.0, 0.0, 1.0]
            ])
        };
        let mut base_relatives = vec![rel(0.0, 0.0, 0.3), rel(1.0, 0.2, -0.4)];
        let mut inverse = vec![rel(-0.1, 0.0, -0.3), rel(-1.0, 0.1, 0.2)];
        for b in 2..22 {
            base_relatives.push(rel(0.5, 0.1 * b as f64, 0.05 * b as f64));
            inverse.push(rel(-0.5, -0.02 * b as f64, -0.1));
        }
        let parents: Vec<i64> = (0..22).map(|b| b as i64 - 1).collect();
        let nv = 8;
        let positions: Vec<Value> = (0..nv)
            .map(|v| {
                let f = v as f64;
                json!([0.1 * f, 0.3 - 0.05 * f, 0.02 * f * f, 1.0])
            })
            .collect();
        // each vertex on two bones, spread over the chain so every finger parameter matters
        let weights: Vec<Value> = (0..nv)
            .map(|v| {
                let mut w = vec![0.0; 22];
                w[(3 * v) % 22] = 0.7;
                w[(3 * v + 5) % 22] = 0.3;
                json!(w)
            })
            .collect();
        let theta: Vec<f64> = (0..NTHETA).map(|k| 0.1 + 0.03 * k as f64).collect();
        let (correspondences, us) = if complicated {
            (
                json!([0, 2, 1, 2]),
                json!([[0.2, 0.3], [0.5, 0.1], [0.3, 0.3], [0.1, 0.8]]),
            )
        } else {
            (json!([0, 3, 7, 5]), json!([]))
        };
        json!({
            "theta": theta,
            "us": us,
            "data": {
                "model": {
                    "bone_count": 22,
                    "bone_names": vec!["b"; 22],
                    "parents": parents,
                    "base_relatives": base_relatives,
                    "inverse_base_absolutes": inverse,
                    "base_positions": positions,
                    "weights": weights,
                    "triangles": [[0, 1, 2], [3, 4, 5], [5, 6, 7]],
                    "is_mirrored": complicated,
                },
                "correspondences": correspondences,
                "points": [[0.1, 0.2, 0.3], [0.0, -0.1, 0.5], [0.4, 0.4, 0.1], [-0.2, 0.3, 0.0]],
            },
        })
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        for complicated in [false, true] {
            let (theta, us, h) = parse(&small(complicated)).unwrap();
            let columns = jacobian(&theta, &us, &h);
            let ncols = columns.len();
            let nus = ncols - NTHETA;
            assert_eq!(nus, if complicated { 2 } else { 0 });
            let nrows = h.points.len();
            assert_eq!(objective(&theta, &us, &h).len(), nrows);
            for r in 0..nrows {
                let row: Vec<f64> = columns.iter().map(|c| c[r]).collect();
                crate::tests::check_fd(|t| objective(t, &us, &h)[r], &theta, &row[nus..], 1e-6);
                if complicated {
                    // the row's own point's two barycentric coordinates
                    let i = r / 3;
                    crate::tests::check_fd(
                        |u| {
                            let mut us = us.clone();
                            us[2 * i] = u[0];
                            us[2 * i + 1] = u[1];
                            objective(&theta, &us, &h)[r]
                        },
                        &us[2 * i..2 * i + 2],
                        &row[..2],
                        1e-6,
                    );
                }
            }
        }
    }
}
