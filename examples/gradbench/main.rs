//! A GradBench tool (<https://github.com/gradbench/gradbench>) for this library.
//!
//! It speaks GradBench's protocol on stdin/stdout: one JSON message a line in, one answer a line
//! out. Every objective is written once, as plain Rust, in its module, and its derivatives come
//! from `#[differentiate]`: no module contains hand-written derivative code.
//!
//! Run an eval against it (from a GradBench checkout, outside this project):
//! `gradbench run --eval "$ python3 python/gradbench/gradbench/evals/lse/run.py"
//!  --tool "$ cargo run --release --example gradbench"`.
// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::excessive_precision,
    clippy::approx_constant,
    clippy::manual_range_contains,
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::neg_multiply,
    clippy::unnecessary_cast,
    clippy::too_many_arguments,
    clippy::manual_checked_ops
)]

use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::time::Instant;

mod ba;
mod det;
mod gmm;
mod hello;
mod ht;
mod kmeans;
mod llsq;
mod lse;
mod lstm;
mod ode;
mod particle;
mod saddle;
mod solver;
mod util;

/// What a module answers to an `evaluate`: the output and the nanoseconds of each run.
type Answer = Result<(Value, Vec<u128>), String>;

/// The modules this tool implements, with their `evaluate` entry points; `define` answers
/// `success: false` for any other.
fn module(name: &str) -> Option<fn(&str, &Value) -> Answer> {
    Some(match name {
        "hello" => hello::evaluate,
        "lse" => lse::evaluate,
        "llsq" => llsq::evaluate,
        "det" => det::evaluate,
        "ode" => ode::evaluate,
        "kmeans" => kmeans::evaluate,
        "gmm" => gmm::evaluate,
        "lstm" => lstm::evaluate,
        "ba" => ba::evaluate,
        "ht" => ht::evaluate,
        "particle" => particle::evaluate,
        "saddle" => saddle::evaluate,
        _ => return None,
    })
}

/// Runs `f` at least `min_runs` times and until `min_seconds` have passed (as GradBench's
/// `Runs` asks), timing each run; returns the last result and the timings.
pub fn runs<T>(input: &Value, mut f: impl FnMut() -> T) -> (T, Vec<u128>) {
    let min_runs = input
        .get("min_runs")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .max(1);
    let min_seconds = input
        .get("min_seconds")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut timings = Vec::new();
    let mut total = 0.0;
    let mut last = None;
    while (timings.len() as u64) < min_runs || total < min_seconds {
        drop(last.take());
        let t = Instant::now();
        let out = std::hint::black_box(f());
        let ns = t.elapsed().as_nanos();
        total += ns as f64 * 1e-9;
        timings.push(ns);
        last = Some(out);
    }
    (last.unwrap(), timings)
}

fn respond(message: &Value) -> Value {
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let kind = message.get("kind").and_then(Value::as_str).unwrap_or("");
    let module_name = message.get("module").and_then(Value::as_str).unwrap_or("");
    match kind {
        "start" => json!({ "id": id, "tool": "autodiff-rs" }),
        "define" => match module(module_name) {
            Some(_) => json!({ "id": id, "success": true }),
            None => {
                json!({ "id": id, "success": false, "error": format!("module {module_name} is not implemented") })
            }
        },
        "evaluate" => {
            let function = message
                .get("function")
                .and_then(Value::as_str)
                .unwrap_or("");
            let input = message.get("input").unwrap_or(&Value::Null);
            let result = match module(module_name) {
                Some(eval) => std::panic::catch_unwind(|| eval(function, input))
                    .unwrap_or_else(|_| Err("the evaluation panicked".to_string())),
                None => Err(format!("module {module_name} is not implemented")),
            };
            match result {
                Ok((output, timings)) => {
                    let timings: Vec<Value> = timings
                        .into_iter()
                        .map(|ns| json!({ "name": "evaluate", "nanoseconds": ns as u64 }))
                        .collect();
                    json!({ "id": id, "success": true, "output": output, "timings": timings })
                }
                Err(error) => json!({ "id": id, "success": false, "error": error }),
            }
        }
        _ => json!({ "id": id }),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let response = match serde_json::from_str::<Value>(&line) {
            Ok(message) => respond(&message),
            Err(e) => json!({ "id": Value::Null, "error": format!("invalid JSON: {e}") }),
        };
        let mut out = stdout.lock();
        let _ = writeln!(out, "{response}");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    /// Checks a gradient `g` of `f` at `x` against central finite differences.
    pub fn check_fd(f: impl Fn(&[f64]) -> f64, x: &[f64], g: &[f64], tol: f64) {
        assert_eq!(x.len(), g.len());
        let h = 1e-6;
        for i in 0..x.len() {
            let mut xp = x.to_vec();
            xp[i] += h;
            let mut xm = x.to_vec();
            xm[i] -= h;
            let fd = (f(&xp) - f(&xm)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() <= tol * fd.abs().max(1.0),
                "component {i}: finite differences {fd}, derivative {}",
                g[i]
            );
        }
    }
}
