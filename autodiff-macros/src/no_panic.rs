//! The macro never panics: odd, unsupported and malformed inputs all come back as tokens (the
//! user's item, generated code or `compile_error!`), never as a panic of the proc macro.

use proc_macro2::TokenStream;

const ITEMS: &[&str] = &[
    "fn f(x: f64) -> f64 { x }",
    "fn f(x: f64) -> f64 { }",
    "fn f(x: f64) -> f64 { return; }",
    "fn f() -> f64 { 1.0 }",
    "fn f(x: f64) { x; }",
    "fn f(&self, x: f64) -> f64 { x }",
    "fn f((a, b): (f64, f64)) -> f64 { a * b }",
    "fn f<'a, T: Copy, const N: usize>(x: &'a [f64; N], t: T) -> f64 { x[0] }",
    "fn f(x: f64) -> f64 { let y; y = x; y }",
    "fn f(x: f64) -> f64 { let Some(y) = Some(x) else { return 0.0 }; y }",
    "fn f(x: f64) -> f64 { 'a: loop { break 'a x; } }",
    "fn f(x: f64) -> f64 { let y = loop { break x * 2.0; }; y }",
    "fn f(x: f64) -> f64 { let c = |a: f64| a * x; c(x) }",
    "fn f(x: f64) -> f64 { unsafe { x } }",
    "fn f(x: f64) -> f64 { async { x }; x }",
    "fn f(x: &mut f64) -> f64 { *x }",
    "fn f(x: f64) -> f64 { x.frobnicate(1, 2, 3) }",
    "fn f(x: f64) -> f64 { f64::sin() }",
    "fn f(x: f64) -> f64 { x.powi() }",
    "fn f(x: f64) -> f64 { x.atan2() + x.mul_add(x) }",
    "fn f(x: f64) -> f64 { (x, x).0 }",
    "fn f(x: [f64; 2]) -> f64 { let [a, b] = x; a * b }",
    "fn f(x: f64) -> f64 { match x { y if y > 0.0 => y, _ => -x } }",
    "fn f(x: f64) -> f64 { if let Some(y) = Some(x) { y } else { x } }",
    "fn f(x: f64) -> f64 { while let Some(_) = None::<f64> {} x }",
    "fn f(x: f64) -> f64 { for (i, v) in [x].iter().enumerate() { let _ = (i, v); } x }",
    "fn f(x: f64) -> f64 { break; x }",
    "fn f(x: f64) -> f64 { continue; }",
    "fn f(x: f64) -> f64 { { { { x * x } } } }",
    "fn f(x: f64) -> f64 { let s = S { a: x }; s.a }",
    "fn f(x: f64) -> f64 { println!(\"{}\", x); vec![x, x][0] }",
    "fn f(x: f64) -> f64 { x as f32 as f64 }",
    "fn f(x: f64) -> f64 { &x as *const f64; x }",
    "fn f(x: f64) -> f64 { x % 2.0 + !true as i32 as f64 }",
    "fn f(x: f64) -> f64 { x?; x }",
    "fn f(x: f64) -> impl Fn() -> f64 { move || x }",
    "fn f(x: impl Into<f64>) -> f64 { x.into() }",
    "fn f(x: f64, ...) -> f64 { x }",
    "struct S { a: f64 }",
    "enum E { A }",
    "",
    "fn",
    "fn f(",
    "const fn f(x: f64) -> f64 { x }",
];

const ARGS: &[&str] = &[
    "",
    "forward",
    "reverse",
    "wrt(x)",
    "wrt()",
    "wrt(y)",
    "forward, forward",
    "wrt(x), wrt(x)",
    "sideways",
    "wrt = x",
    "reverse, wrt(x, x)",
    "(",
    "forward reverse",
];

#[test]
fn the_macro_never_panics() {
    for item in ITEMS {
        for args in ARGS {
            let item_tokens: TokenStream = item.parse().unwrap_or_default();
            let args_tokens: TokenStream = args.parse().unwrap_or_default();
            let result =
                std::panic::catch_unwind(|| crate::expand::differentiate(args_tokens, item_tokens));
            assert!(
                result.is_ok(),
                "#[differentiate({args})] on `{item}` panicked"
            );
        }
    }
}
