//! `hello`: `square(x) = x * x`, and `double` = its derivative.

use autodiff::prelude::*;
use serde_json::{Value, json};

#[differentiate(reverse)]
pub fn square(x: f64) -> f64 {
    x * x
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let x = crate::util::f64_of(input)?;
    match function {
        "square" => Ok((json!(square(x)), vec![])),
        "double" => Ok((json!(square_grad(x).1), vec![])),
        _ => Err(crate::util::unknown("hello", function)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn double_is_the_derivative() {
        assert_eq!(super::square_grad(3.0), (9.0, 6.0));
    }
}
