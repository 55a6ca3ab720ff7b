// The runtime of the fuzzer's scratch crates (copied in as `support.rs`): flattening of values to
// `Vec<f64>`, random values, finite differences and the comparisons. Not part of the library.
#![allow(dead_code)]

/// A value seen as a flat vector of floats (parameters, tangents, adjoints, outputs).
pub trait Flat {
    fn flat(&self, out: &mut Vec<f64>);
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>);
}
impl Flat for f64 {
    fn flat(&self, out: &mut Vec<f64>) {
        out.push(*self)
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        *self = it.next().unwrap()
    }
}
impl Flat for f32 {
    fn flat(&self, out: &mut Vec<f64>) {
        out.push(*self as f64)
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        *self = it.next().unwrap() as f32
    }
}
impl<T: Flat, const N: usize> Flat for [T; N] {
    fn flat(&self, out: &mut Vec<f64>) {
        self.iter().for_each(|x| x.flat(out))
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        self.iter_mut().for_each(|x| x.set(it))
    }
}
impl<T: Flat> Flat for Vec<T> {
    fn flat(&self, out: &mut Vec<f64>) {
        self.iter().for_each(|x| x.flat(out))
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        self.iter_mut().for_each(|x| x.set(it))
    }
}
impl<T: Flat> Flat for Box<T> {
    fn flat(&self, out: &mut Vec<f64>) {
        (**self).flat(out)
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        (**self).set(it)
    }
}
impl<A: Flat, B: Flat> Flat for (A, B) {
    fn flat(&self, out: &mut Vec<f64>) {
        self.0.flat(out);
        self.1.flat(out)
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        self.0.set(it);
        self.1.set(it)
    }
}
impl<A: Flat, B: Flat, C: Flat> Flat for (A, B, C) {
    fn flat(&self, out: &mut Vec<f64>) {
        self.0.flat(out);
        self.1.flat(out);
        self.2.flat(out)
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        self.0.set(it);
        self.1.set(it);
        self.2.set(it)
    }
}
impl<A: Flat, B: Flat, C: Flat, D: Flat> Flat for (A, B, C, D) {
    fn flat(&self, out: &mut Vec<f64>) {
        self.0.flat(out);
        self.1.flat(out);
        self.2.flat(out);
        self.3.flat(out)
    }
    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {
        self.0.set(it);
        self.1.set(it);
        self.2.set(it);
        self.3.set(it)
    }
}

pub fn flat<T: Flat + ?Sized>(x: &T) -> Vec<f64> {
    let mut v = Vec::new();
    x.flat(&mut v);
    v
}

/// The checker's state: a random stream, the tolerances and the count of skipped points.
pub struct H {
    state: u64,
    pub points: usize,
    pub skipped: usize,
    /// Checks passed over because the point has a non-finite intermediate and the derivative
    /// is not finite (what the chain rule gives there).
    pub nonfinite: usize,
    /// false for f32 instantiations: no finite differences, loose comparisons.
    pub strict: bool,
    /// 1 + the largest |output| at the current point: finite differences carry an absolute
    /// rounding error of about eps * |y| / h.
    pub yscale: f64,
}

pub trait Rand {
    fn rand(h: &mut H) -> Self;
}
impl Rand for f64 {
    fn rand(h: &mut H) -> Self {
        h.f()
    }
}
impl Rand for f32 {
    fn rand(h: &mut H) -> Self {
        h.f() as f32
    }
}
impl<T: Rand, const N: usize> Rand for [T; N] {
    fn rand(h: &mut H) -> Self {
        std::array::from_fn(|_| T::rand(h))
    }
}
impl<T: Rand> Rand for Box<T> {
    fn rand(h: &mut H) -> Self {
        Box::new(T::rand(h))
    }
}
impl<A: Rand, B: Rand> Rand for (A, B) {
    fn rand(h: &mut H) -> Self {
        let a = A::rand(h);
        (a, B::rand(h))
    }
}
impl<A: Rand, B: Rand, C: Rand> Rand for (A, B, C) {
    fn rand(h: &mut H) -> Self {
        let a = A::rand(h);
        let b = B::rand(h);
        (a, b, C::rand(h))
    }
}

fn dot(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut s = 0.0;
    let mut m = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += x * y;
        m += (x * y).abs();
    }
    (s, m)
}

fn show(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.12e}")).collect();
    format!("[{}]", parts.join(", "))
}

impl H {
    pub fn new(seed: u64, points: usize, strict: bool) -> H {
        H { state: seed ^ 0x9e37_79b9_7f4a_7c15, points, skipped: 0, nonfinite: 0, strict, yscale: 1.0 }
    }
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A float in [-1.5, 1.5].
    pub fn f(&mut self) -> f64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        3.0 * u - 1.5
    }
    pub fn vec<T: Rand>(&mut self, n: usize) -> Vec<T> {
        (0..n).map(|_| T::rand(self)).collect()
    }
    pub fn usable(&self, v: &[f64]) -> bool {
        v.iter().all(|x| x.is_finite() && x.abs() < 1e8)
    }

    /// Central finite differences of `eval` at `p` along `t`, trusted only when two step sizes
    /// agree (a kink or a branch boundary nearby makes them disagree).
    pub fn fd(&mut self, eval: &dyn Fn(&[f64]) -> Vec<f64>, p: &[f64], t: &[f64]) -> Option<Vec<f64>> {
        if !self.strict {
            return None;
        }
        let at = |h: f64| -> Vec<f64> {
            let plus: Vec<f64> = p.iter().zip(t).map(|(x, d)| x + h * d).collect();
            let minus: Vec<f64> = p.iter().zip(t).map(|(x, d)| x - h * d).collect();
            let (a, b) = (eval(&plus), eval(&minus));
            a.iter().zip(&b).map(|(a, b)| (a - b) / (2.0 * h)).collect()
        };
        let d1 = at(1e-6);
        let d2 = at(1e-4);
        let d3 = at(1e-5);
        // A point exactly on a kink (`max` of two equal values: `max(w - w, 0)`) gives central
        // differences that agree at every step, the mean of the two one-sided slopes: compare
        // the one-sided differences too (smooth: they differ by about h |f''|, 1e-6 here; a
        // kink's jump may be scaled down by the rest of the function, so the bound is tight).
        let one_sided = |h: f64| -> (Vec<f64>, Vec<f64>) {
            let plus: Vec<f64> = p.iter().zip(t).map(|(x, d)| x + h * d).collect();
            let minus: Vec<f64> = p.iter().zip(t).map(|(x, d)| x - h * d).collect();
            let (a, b, c) = (eval(&plus), eval(p), eval(&minus));
            (
                a.iter().zip(&b).map(|(a, b)| (a - b) / h).collect(),
                b.iter().zip(&c).map(|(b, c)| (b - c) / h).collect(),
            )
        };
        let (fwd, bwd) = one_sided(1e-6);
        let smooth = fwd
            .iter()
            .zip(&bwd)
            .all(|(a, b)| (a - b).abs() <= 2e-5 * (1.0 + a.abs().max(b.abs())));
        let ok = !sg_diverged()
            && smooth
            && self.usable(&d1)
            && self.usable(&d2)
            && d1
                .iter()
                .zip(&d2)
                .zip(&d3)
                .all(|((a, b), c)| (a - b).abs() <= 1e-5 * (1.0 + a.abs()) && (a - c).abs() <= 1e-5 * (1.0 + a.abs()));
        if ok {
            Some(d1)
        } else {
            self.skipped += 1;
            None
        }
    }

    /// Values computed by the generated functions against the original's.
    pub fn same(&self, what: &str, want: &[f64], got: &[f64]) -> Result<(), String> {
        let tol = if self.strict { 1e-12 } else { 1e-5 };
        if want.len() != got.len() {
            return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
        }
        for (a, b) in want.iter().zip(got) {
            if a.is_nan() && b.is_nan() {
                continue;
            }
            if !((a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)) && a != b {
                return Err(format!("{what}: got {} expected {}", show(got), show(want)));
            }
        }
        Ok(())
    }

    /// Two vectors equal up to `tol` relative to their size (elementwise).
    pub fn close(&self, what: &str, want: &[f64], got: &[f64], tol: f64) -> Result<(), String> {
        let tol = if self.strict { tol } else { tol.max(1e-4) };
        if want.len() != got.len() {
            return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
        }
        let scale: f64 = want.iter().chain(got).map(|x| x.abs()).sum::<f64>() + 1e-9 + if tol > 1e-8 { 1e-3 * self.yscale } else { 0.0 };
        for (a, b) in want.iter().zip(got) {
            if !((a - b).abs() <= tol * scale) {
                return Err(format!("{what}: got {} expected {}", show(got), show(want)));
            }
        }
        Ok(())
    }

    /// `<a, t> == <c, d>` to `tol` relative to the sum of the absolute products.
    pub fn dots(&self, what: &str, a: &[f64], t: &[f64], c: &[f64], d: &[f64], tol: f64) -> Result<(), String> {
        let tol = if self.strict { tol } else { tol.max(1e-3) };
        if a.len() != t.len() || c.len() != d.len() {
            return Err(format!("{what}: lengths {} vs {} and {} vs {}", a.len(), t.len(), c.len(), d.len()));
        }
        let (l, lm) = dot(a, t);
        let (r, rm) = dot(c, d);
        let cs: f64 = c.iter().map(|x| x.abs()).sum();
        // f32 (loose): two paths to one input round differently, by about f32's epsilon times
        // the sizes of the directions, even where the exact result is 0 (`a - a`).
        let ts: f64 = t.iter().map(|x| x.abs()).sum();
        let floor = if tol > 1e-8 {
            1e-8 * self.yscale * (1.0 + cs) + 1e-6 * (1.0 + ts * cs)
        } else {
            1e-12
        };
        if !((l - r).abs() <= tol * (lm + rm) + floor) {
            return Err(format!(
                "{what}: <adjoint, t> = {l:.12e} but <ct, J t> = {r:.12e} (adjoint {}, J t {})",
                show(a),
                show(d)
            ));
        }
        Ok(())
    }
}

thread_local! {
    static PROBE_HIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The probe copies' identity on every computed float: notes a non-finite one.
pub fn probe<T: autodiff::Float>(x: T) -> T {
    if !x.is_finite() {
        PROBE_HIT.with(|c| c.set(true));
    }
    x
}
pub fn probe_reset() {
    PROBE_HIT.with(|c| c.set(false));
}
pub fn probe_hit() -> bool {
    PROBE_HIT.with(|c| c.get())
}

thread_local! {
    static STAGE: std::cell::Cell<&'static str> = const { std::cell::Cell::new("") };
}

/// Which function is running: a panic in "original" is the generator's fault, not the macro's.
pub fn stage(s: &'static str) {
    STAGE.with(|c| c.set(s));
}

thread_local! {
    // 0: identity, 1: record the values, 2: replay them (finite differences).
    static SG_MODE: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
    static SG_TAPE: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    static SG_POS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static SG_DIVERGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The programs' `stop_gradient` (it shadows the library's, which is the identity too): the
/// finite differences of the original function must see its argument frozen at the base point,
/// so the base evaluation records the values and the perturbed evaluations replay them.
pub fn stop_gradient<T: autodiff::Float>(x: T) -> T {
    match SG_MODE.with(|m| m.get()) {
        1 => {
            SG_TAPE.with(|t| t.borrow_mut().push(x.to_f64().unwrap()));
            x
        }
        2 => {
            let i = SG_POS.with(|p| {
                let i = p.get();
                p.set(i + 1);
                i
            });
            match SG_TAPE.with(|t| t.borrow().get(i).copied()) {
                Some(v) => T::from(v).unwrap(),
                None => {
                    SG_DIVERGED.with(|d| d.set(true));
                    x
                }
            }
        }
        _ => x,
    }
}

pub fn sg_record() {
    SG_TAPE.with(|t| t.borrow_mut().clear());
    SG_DIVERGED.with(|d| d.set(false));
    SG_MODE.with(|m| m.set(1));
}
pub fn sg_replay() {
    SG_POS.with(|p| p.set(0));
    SG_MODE.with(|m| m.set(2));
}
pub fn sg_off() {
    SG_MODE.with(|m| m.set(0));
}
fn sg_diverged() -> bool {
    SG_DIVERGED.with(|d| d.get())
}

pub fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Runs the checks of the programs listed, one line per program on stdout:
/// `R <k> ok <skipped>` or `R <k> wrong <message>`.
pub fn run(checks: &[(usize, fn(&mut H) -> Result<(), String>)], points: usize, seed: u64) {
    use std::io::Write;
    let args: Vec<String> = std::env::args().collect();
    let from: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    std::panic::set_hook(Box::new(|_| {}));
    for (k, check) in checks {
        if *k < from {
            continue;
        }
        let mut h = H::new(seed ^ (*k as u64).wrapping_mul(0x2545_f491_4f6c_dd1d), points, true);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&mut h)));
        let line = match r {
            Ok(Ok(())) => format!("R {k} ok {} {}", h.skipped, h.nonfinite),
            Ok(Err(m)) => format!("R {k} wrong {}", m.replace('\n', " ")),
            Err(e) => {
                let st = STAGE.with(|c| c.get());
                let kind = if st == "original" { "invalid" } else { "wrong" };
                format!("R {k} {kind} runtime panic in {st}: {}", panic_message(&e).replace('\n', " "))
            }
        };
        println!("{line}");
        std::io::stdout().flush().ok();
    }
}
