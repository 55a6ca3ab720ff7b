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
    "fn f(&mut self, x: f64) -> f64 { x }",
    "fn f(&mut self, x: &mut [f64; 2]) { self.w = x[0]; *x = [1.0, self.w]; }",
    "fn f(x: &mut f64) -> f64 { *x = *x * 2.0; return *x; }",
    "fn f(x: &mut f64, y: &mut [f64; 2]) { if *x > 0.0 { return; } y[0] = *x; }",
    "fn f(x: &mut f64) { let y = x; }",
    "fn f(x: &mut f64) -> f64 { let x = 1.0; x }",
    "fn f(x: &mut Vec<f64>, y: &mut [f64], n: &mut usize, t: &mut T) -> f64 { 0.0 }",
    "fn f(x: &mut &mut f64, (a, b): &mut (f64, f64)) -> f64 { **x }",
    "fn f(x: &mut f64) -> f64 { let c = |a: f64| { *x += a; *x }; assert!(*x > 0.0); g(&*x) + c(1.0) }",
    "fn f(x: &mut S) -> S { x.w[0] = 1.0; Self { ..*x } }",
    "impl S { #[differentiate] fn f(&self, x: f64) -> f64 { self.k * x } fn g() {} }",
    "impl<F: Float, const N: usize> L<F, N> where F: Copy { #[differentiate(wrt(self))] fn f(&self, x: F) -> F { x } #[differentiate] fn g(self) {} }",
    "impl T for S { #[differentiate] fn f(&self, x: f64) -> f64 { x } }",
    "impl S { #[differentiate(bogus)] fn f(&self, x: f64) -> f64 { x } #[differentiate] #[differentiate] fn h(x: f64) -> f64 { x } }",
    "impl S { #[differentiate] const C: f64 = 1.0; #[differentiate] type T = f64; }",
    "fn f(self: Box<Self>, x: f64) -> f64 { x }",
    "fn f(self: &Self, x: f64) -> f64 { self.w * x }",
    "fn f(&'a self, x: f64) -> f64 { self.g(x) + self.w[0] }",
    "fn f(mut self, x: f64) -> Self { self.w = x; Self { ..self } }",
    "fn f(&self) -> f64 { self.norm() + Self::h(self.w) + self::g(self.w) }",
    "fn f(&self, x: f64) -> f64 { let s = self; s.g(x) + (&self).g(x) + self.clone().g(x) }",
    "fn f(&self, x: f64) -> f64 { let c = |a: f64| self.g(a); c(x) + format!(\"{}\", self.w).len() as f64 }",
    "fn f(&self, x: f64) -> f64 { x.g::<f64>(self) + self.g::<3>(x) }",
    "fn f(&self, x: f64) -> f64 { match self { Self::A => x, _ => self.k(x) } }",
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
    "fn f(x: f64, k: u32) -> f64 { if k == 0 { x } else { f(x, k - 1) * f(x * x, k - 1) } }",
    "fn f(x: f64, y: f64) -> f64 { f(y, x) + f(x) + self::f(x, y) + Self::f(x, y) + f::<F>(x, y) }",
    "fn f(&self, x: f64) -> f64 { self.f(x) + Self::f(self, x) + self.f(x, x) + f(x) }",
    "fn f(x: &[f64], k: usize) -> f64 { f(&x[..k], k / 2) + f(x, x, k) + g(x, k) }",
    "fn f(x: f64) -> f64 { let f = x; f * 2.0 }",
];

const ARGS: &[&str] = &[
    "",
    "forward",
    "reverse",
    "wrt(x)",
    "wrt(self)",
    "wrt(self, x)",
    "wrt(self, self)",
    "wrt()",
    "wrt(y)",
    "forward, forward",
    "wrt(x), wrt(x)",
    "sideways",
    "wrt = x",
    "reverse, wrt(x, x)",
    "(",
    "forward reverse",
    "recursive(g)",
    "recursive()",
    "recursive(g), recursive(h)",
    "reverse, recursive(f, g), wrt(x)",
    "recursive(self)",
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

/// A seeded generator of odd but parseable items and options (raw identifiers, labelled
/// blocks, items and macros inside bodies, where clauses, lifetimes, `impl Trait`, pattern
/// parameters, attributes on statements, nested closures, ...). Any panic of the macro is a
/// failure and prints the item. `NO_PANIC_SEED` and `NO_PANIC_CASES` set the seed (default
/// fixed) and the number of items (default 3000).
mod fuzz {
    use proc_macro2::TokenStream;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
            v[self.below(v.len())]
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    const NAMES: &[&str] = &[
        "x", "y", "r#x", "r#type", "r#match", "ct", "x__bar", "x__dot", "__t0", "__tape0", "__y",
        "x__1", "pullback", "self", "_x", "F", "r#loop",
    ];
    const PARAMS: &[&str] = &[
        "NAME: f64",
        "NAME: f32",
        "mut NAME: f64",
        "NAME: F",
        "NAME: &'a [f64; 3]",
        "NAME: &[f64]",
        "NAME: &Vec<f64>",
        "NAME: [[f64; 2]; 2]",
        "NAME: impl Into<f64>",
        "_: f64",
        "NAME: &mut f64",
        "(a, b): (f64, f64)",
        "[a, b]: [f64; 2]",
        "S { a, .. }: S",
        "NAME: &dyn Fn(f64) -> f64",
        "NAME: Option<f64>",
        "NAME: (f64, f64)",
        "NAME: T",
        "NAME: usize",
        "NAME: &'a S",
        "NAME: Box<[f64; 3]>",
        "#[allow(unused)] NAME: f64",
        "NAME: &&f64",
        "NAME: *const f64",
        "NAME: [f64; N]",
        "NAME: E",
        "NAME: &E",
        "ref NAME: f64",
        "NAME @ _: f64",
        "NAME: Self",
    ];
    const GENERICS: &[&str] = &[
        "",
        "",
        "",
        "<'a>",
        "<T: Copy>",
        "<F: Float>",
        "<const N: usize>",
        "<F>",
        "<'a, F: Float + 'a>",
        "<F: Float, const N: usize>",
        "<T, U>",
        "<F: Float = f64>",
    ];
    const WHERE: &[&str] = &[
        "",
        "",
        "",
        "where F: Float",
        "where T: Copy, F: Float",
        "where for<'b> &'b F: Copy",
        "where Self: Sized",
    ];
    const RETS: &[&str] = &[
        "-> f64",
        "-> f64",
        "-> F",
        "",
        "-> impl Fn() -> f64",
        "-> (f64, f64)",
        "-> [f64; 2]",
        "-> Self",
        "-> !",
        "-> Option<f64>",
        "-> S",
        "-> &'a f64",
        "-> ((f64, f64), [f64; 1])",
        "-> ()",
        "-> f32",
    ];
    const QUALS: &[&str] = &[
        "",
        "",
        "",
        "pub ",
        "pub(crate) ",
        "const ",
        "async ",
        "unsafe ",
        "extern \"C\" ",
        "pub(super) ",
    ];
    const ATTRS: &[&str] = &[
        "",
        "",
        "#[inline] ",
        "#[allow(unused)] ",
        "#[doc = \"x\"] ",
        "#[must_use] ",
        "#[cfg(test)] ",
    ];
    const EXPRS: &[&str] = &[
        "NAME",
        "1.0",
        "2",
        "NAME.sin()",
        "NAME.to_bits()",
        "f64::from_bits(NAME.to_bits())",
        "NAME as f32 as f64",
        "-NAME",
        "!NAME",
        "(NAME, NAME).0",
        "[NAME; 2][0]",
        "S { a: NAME }.a",
        "NAME.frob()",
        "g(NAME)",
        "m::g::<f64>(NAME)",
        "<f64 as Float>::sin(NAME)",
        "stop_gradient(NAME)",
        "NAME.max(NAME).min(NAME)",
        "NAME?",
        "&NAME",
        "*&NAME",
        "NAME..NAME",
        "|| NAME",
        "vec![NAME; 3][0]",
        "format!(\"{}\", NAME)",
        "unsafe { NAME }",
        "'l: loop { break 'l NAME }",
        "if true { NAME } else { NAME }",
        "match 0 { _ => NAME }",
        "NAME.powi(2)",
        "NAME.powi(n)",
        "NAME.atan2()",
        "f64::sin()",
        "F::from(1.0).unwrap()",
        "F::zero()",
        "NAME * NAME + NAME",
        "NAME % NAME",
        "NAME.0",
        "NAME[0]",
        "NAME[NAME]",
        "(|a: f64| (|b: f64| a * b)(a))(NAME)",
        "'b: { if NAME > 0.0 { break 'b NAME; } NAME }",
        "NAME.iter().map(|v| v * 2.0).sum::<f64>()",
        "x.len() as f64",
        "Self::g(NAME)",
        "self.w",
        "NAME.mul_add(NAME, NAME)",
        "core::f64::consts::PI",
        "{ NAME }",
        "(NAME)",
        "NAME.abs().sqrt().ln()",
        "async { NAME }.await",
        "NAME as usize as f64",
        "try_it!(NAME)",
        "f64::NAN",
        "1e308 * 1e308",
        "[NAME, NAME]",
        "(NAME, NAME)",
        "NAME.clone()",
        "Box::new(NAME)",
        "*NAME",
        "NAME = NAME",
        "NAME += NAME",
        "return NAME",
        "break",
        "continue",
        "E::A as i32 as f64",
        "NAME.is_nan() as i32 as f64",
        "const { 1.0 }",
        "NAME.sin() as f64",
    ];
    const STMTS: &[&str] = &[
        "let NAME = EXPR;",
        "let mut NAME = EXPR;",
        "let NAME: f64 = EXPR;",
        "#[allow(unused)] let NAME = EXPR;",
        "NAME = EXPR;",
        "NAME += EXPR;",
        "NAME -= NAME;",
        "NAME[0] += NAME[1];",
        "*NAME += EXPR;",
        "fn inner(NAME: f64) -> f64 { EXPR }",
        "struct T;",
        "macro_rules! mm { () => { EXPR } }",
        "mm!();",
        "println!(\"{}\", EXPR);",
        "let c = |a: f64| { let d = |b: f64| b * a; d(EXPR) };",
        "const K: f64 = 1.0;",
        "static ST: f64 = 2.0;",
        "use std::f64::consts::PI;",
        "impl T {}",
        "for (i, v) in NAME.iter().enumerate() { BLOCK }",
        "while let Some(v) = it.next() { BLOCK }",
        "if let Some(v) = Some(EXPR) { BLOCK } else { BLOCK }",
        "let Some(v) = Some(EXPR) else { return EXPR; };",
        "loop { BLOCK break; }",
        "'o: for i in 0..3 { 'i: loop { BLOCK break 'o; } }",
        "match EXPR { v if v > 0.0 => { BLOCK } _ => {} }",
        "unsafe { BLOCK }",
        "EXPR;",
        "return;",
        "return EXPR;",
        "{ BLOCK }",
        "'blk: { BLOCK break 'blk; }",
        "#[rustfmt::skip] let NAME = EXPR;",
        "let (NAME, _) = (EXPR, EXPR);",
        "let [a, b] = [EXPR, EXPR];",
        "let S { a, .. } = s;",
        "if EXPR > 0.0 { BLOCK }",
        "while EXPR > 0.0 { BLOCK }",
        "for i in (0..3).rev().step_by(2) { BLOCK }",
        "let NAME = 'l: { break 'l EXPR; };",
        ";",
        "#[cfg(any())] EXPR;",
        "let _ = EXPR;",
        "let NAME = EXPR; let NAME = NAME;",
        "extern crate core;",
        "enum E2 { A }",
        "type Tt = f64;",
        "trait Tr { fn m(&self) -> f64 { EXPR } }",
        "let NAME = unsafe { core::mem::transmute::<u64, f64>(EXPR.to_bits()) };",
    ];
    const OPTIONS: &[&str] = &[
        "",
        "forward",
        "reverse",
        "wrt(NAME)",
        "wrt(r#x)",
        "wrt(self)",
        "forward, wrt(x, y)",
        "reverse, forward",
        "wrt(x,)",
        "wrt(x.y)",
        "wrt(1)",
        "\"x\"",
        "wrt(x), reverse",
        "wrt()",
        "reverse,",
        ", reverse",
        "wrt(x, r#x)",
        "forward = true",
        "wrt(x: f64)",
        "#[x]",
        "wrt((x))",
        "wrt[x]",
        "wrt{x}",
        "wrt(x) forward",
        "WRT(x)",
    ];

    fn fill(r: &mut Rng, t: &str, depth: usize) -> String {
        let mut out = String::new();
        let mut rest = t;
        while !rest.is_empty() {
            let (next, rep): (Option<usize>, &str) = ["NAME", "EXPR", "BLOCK"]
                .iter()
                .filter_map(|k| rest.find(k).map(|i| (i, *k)))
                .min()
                .map(|(i, k)| (Some(i), k))
                .unwrap_or((None, ""));
            let Some(i) = next else {
                out.push_str(rest);
                break;
            };
            out.push_str(&rest[..i]);
            rest = &rest[i + rep.len()..];
            match rep {
                "NAME" => {
                    let n = r.pick(NAMES);
                    // NO_PANIC_WITHOUT_RAW=1 leaves raw identifiers out (to look past that class).
                    let raw_off = std::env::var("NO_PANIC_WITHOUT_RAW").is_ok_and(|v| v == "1");
                    out.push_str(if raw_off && n.starts_with("r#") {
                        "x"
                    } else {
                        n
                    })
                }
                "EXPR" => {
                    if depth == 0 {
                        out.push_str(r.pick(NAMES));
                    } else {
                        let e = r.pick(EXPRS);
                        out.push_str(&fill(r, e, depth - 1));
                    }
                }
                _ => out.push_str(&block(r, depth.saturating_sub(1))),
            }
        }
        out
    }

    fn block(r: &mut Rng, depth: usize) -> String {
        let n = if depth == 0 { 0 } else { r.below(4) };
        let mut s = String::new();
        for _ in 0..n {
            let t = r.pick(STMTS);
            s.push_str(&fill(r, t, depth));
            s.push(' ');
        }
        s
    }

    /// One odd item and its attribute arguments.
    pub fn case(seed: u64) -> (String, String) {
        let mut r = Rng(seed);
        let np = r.below(4);
        let params: Vec<String> = (0..np)
            .map(|_| {
                let p = r.pick(PARAMS);
                fill(&mut r, p, 0)
            })
            .collect();
        let mut params = params.join(", ");
        if r.chance(10) {
            params = format!("&self, {params}");
        }
        let tail = if r.chance(50) {
            let e = r.pick(EXPRS);
            fill(&mut r, e, 2)
        } else {
            String::new()
        };
        let body = block(&mut r, 3);
        let item = format!(
            "{}{}fn {}{}({params}) {} {} {{ {body} {tail} }}",
            r.pick(ATTRS),
            r.pick(QUALS),
            if r.chance(10) && std::env::var("NO_PANIC_WITHOUT_RAW").is_err() {
                "r#fn"
            } else {
                "f"
            },
            r.pick(GENERICS),
            r.pick(RETS),
            r.pick(WHERE),
        );
        let o = r.pick(OPTIONS);
        let args = fill(&mut r, o, 0);
        (item, args)
    }

    #[test]
    fn the_macro_never_panics_on_generated_items() {
        let seed: u64 = std::env::var("NO_PANIC_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(11);
        let cases: u64 = std::env::var("NO_PANIC_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3000);
        println!("no-panic fuzz: seed {seed}, {cases} items");
        let mut failures = vec![];
        let mut parsed = 0;
        for k in 0..cases {
            let (item, args) = case(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ k);
            let (Ok(item_tokens), Ok(args_tokens)) =
                (item.parse::<TokenStream>(), args.parse::<TokenStream>())
            else {
                continue;
            };
            parsed += 1;
            let result =
                std::panic::catch_unwind(|| crate::expand::differentiate(args_tokens, item_tokens));
            if let Err(e) = result {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!(
                    "case {seed}:{k}: #[differentiate({args})] on `{item}` panicked: {msg}"
                ));
            }
        }
        assert!(parsed > cases / 2, "only {parsed} of {cases} items lexed");
        assert!(
            failures.is_empty(),
            "{} of {parsed} items panicked:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
