//! JSON helpers shared by the modules (input decoding only: no derivative code here).

use serde_json::Value;

pub fn field<'a>(input: &'a Value, name: &str) -> Result<&'a Value, String> {
    input
        .get(name)
        .ok_or_else(|| format!("input has no field {name:?}"))
}

pub fn f64_of(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("expected a number, got {v}"))
}

pub fn usize_of(v: &Value) -> Result<usize, String> {
    v.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("expected an integer, got {v}"))
}

pub fn vec_of(v: &Value) -> Result<Vec<f64>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected an array, got {v}"))?
        .iter()
        .map(f64_of)
        .collect()
}

/// A matrix given as an array of rows, flattened row-major; returns it with its row count.
pub fn matrix_of(v: &Value) -> Result<(Vec<f64>, usize), String> {
    let rows = v
        .as_array()
        .ok_or_else(|| format!("expected an array of rows, got {v}"))?;
    let mut flat = Vec::new();
    for r in rows {
        flat.extend(vec_of(r)?);
    }
    Ok((flat, rows.len()))
}

/// A flat row-major buffer as an array of rows of length `cols`.
pub fn rows(flat: &[f64], cols: usize) -> Value {
    if cols == 0 {
        return Value::Array(Vec::new());
    }
    Value::Array(flat.chunks(cols).map(|r| serde_json::json!(r)).collect())
}

pub fn unknown(module: &str, function: &str) -> String {
    format!("{module} has no function {function:?}")
}
