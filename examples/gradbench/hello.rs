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
        "square" => {
            let (y, t) = crate::runs(input, || square(x));
            Ok((json!(y), t))
        }
        "double" => {
            let (y, t) = crate::runs(input, || square_grad(x).1);
            Ok((json!(y), t))
        }
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
