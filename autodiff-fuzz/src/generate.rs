//! The seeded generator of random programs in the documented subset (docs/SUBSET.md).
//!
//! Every construct it can emit has a name (`for-rev`, `compound-self`, `rule:ln`, ...): the
//! program records the names it used (for failure rates per construct) and `--without` removes
//! names from generation (`--without break-nested,rule` drops nested breaks and every rule).

use std::collections::BTreeSet;

use crate::ast::*;

/// SplitMix64.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// The seed of program `k` of a run with seed `s`.
pub fn program_seed(seed: u64, k: usize) -> u64 {
    let mut r = Rng(seed ^ (k as u64).wrapping_mul(0xd1b5_4a32_d192_ed03));
    r.next();
    r.next()
}

/// Every construct name, for `--without` and the per-construct table.
pub const CONSTRUCTS: &[&str] = &[
    "generic",
    "param-arr",
    "param-nested-arr",
    "param-ref-arr",
    "param-slice",
    "param-refvec",
    "param-struct",
    "param-ref-struct",
    "param-box-field",
    "param-usize",
    "param-i32",
    "param-mut",
    "param-mut-ref",
    "mut-call",
    "mut-pass-on",
    "mut-method",
    "mem-swap",
    "out-tuple",
    "out-array",
    "out-arr-var",
    "out-struct",
    "out-struct-literal",
    "out-struct-mutated",
    "param-mut-struct",
    "param-enum",
    "param-ref-enum",
    "compound-div",
    "rem",
    "unsupported",
    "for-elem",
    "for-enumerate",
    "for-adapters",
    "for-filter",
    "closure",
    "pattern-let",
    "windows",
    "destructuring",
    "method",
    "operators",
    "reduce",
    "iter-chain",
    "iter-forms",
    "corpus-forms",
    "let-mut",
    "let-shadow",
    "let-typed",
    "tuple-let",
    "passive-tuple",
    "local-arr",
    "local-arr-list",
    "local-vec",
    "passive-arr",
    "passive-float",
    "assign",
    "compound",
    "compound-self",
    "if-stmt",
    "if-else",
    "if-expr",
    "match",
    "match-expr",
    "for",
    "for-rev",
    "for-step",
    "for-inclusive",
    "for-len",
    "for-param-bound",
    "while",
    "loop",
    "label",
    "break",
    "continue",
    "break-nested",
    "return-early",
    "return-in-loop",
    "loop-value",
    "labelled-block",
    "sin-cos",
    "call",
    "recursion",
    "call-tuple",
    "call-array-out",
    "call-arr-param",
    "call-refarr-param",
    "call-arg-lit",
    "call-arg-cast",
    "call-arg-passive-local",
    "call-arg-passive-elem",
    "call-arg-stopgrad",
    "call-arg-passive-expr",
    "call-arg-arrlit",
    "stop-gradient",
    "cast",
    "div",
    "neg",
    "powi-param",
    "ufcs",
    "opt-forward",
    "opt-reverse",
    "opt-wrt",
    "names-generated",
    "raw-ident",
    "rule",
    "and-or",
];

pub const RULES: &[&str] = &[
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "exp",
    "exp2",
    "exp_m1",
    "ln",
    "ln_1p",
    "log",
    "log2",
    "log10",
    "sqrt",
    "cbrt",
    "powi",
    "powf",
    "recip",
    "abs",
    "hypot",
    "max",
    "min",
    "mul_add",
    "floor",
    "ceil",
    "round",
    "trunc",
    "signum",
    "clamp",
    "copysign",
    "to_degrees",
    "to_radians",
];

pub struct Cfg {
    pub without: BTreeSet<String>,
}

impl Cfg {
    pub fn allowed(&self, c: &str) -> bool {
        if self.without.contains(c) {
            return false;
        }
        match c.split_once(':') {
            Some((pre, _)) => !self.without.contains(pre),
            None => true,
        }
    }
}

#[derive(Clone, Debug)]
enum VK {
    F,
    /// Passive float (bound to a literal).
    PF,
    Arr(Vec<usize>),
    /// A slice, `&Vec` or local `vec!` of this length.
    Vec(usize),
    /// Passive float array.
    PArr(usize),
    /// Passive integer in [lo, hi].
    Int(i64, i64),
    /// A passive `Mode`.
    Enum,
}

#[derive(Clone, Debug)]
struct Var {
    name: String,
    kind: VK,
    mutable: bool,
}

struct LoopCtx {
    label: Option<String>,
    /// A labelled block (left only by a `break` naming it; `continue` cannot name it).
    block: bool,
    /// Used as a value: a `break` to it carries a value.
    value: bool,
}

struct HelperSig {
    name: String,
    params: Vec<PK>,
    out: OutK,
}

pub struct Gen<'a> {
    pub rng: Rng,
    cfg: &'a Cfg,
    pub used: BTreeSet<String>,
    generic: bool,
    scopes: Vec<Vec<Var>>,
    names: BTreeSet<String>,
    loops: Vec<LoopCtx>,
    helpers: Vec<HelperSig>,
    structs: Vec<StructDef>,
    /// Struct-typed variables in scope: (name, struct, mutable).
    struct_vars: Vec<(String, usize, bool)>,
    /// `struct_vars.len()` where each open scope began (struct locals go out of scope too).
    struct_marks: Vec<usize>,
    /// Array parameters passed by reference.
    refs: BTreeSet<String>,
    /// Array and struct parameters passed by `&mut` (in `refs` too for arrays).
    mut_refs: BTreeSet<String>,
    /// The `&mut` parameters of the function being generated, for passing on.
    mut_params: Vec<(String, PK)>,
    /// i32 parameters: not indices.
    i32s: BTreeSet<String>,
    out: OutK,
    mode_enum: bool,
    unsupported_done: bool,
    counter: usize,
    labels: usize,
    /// While the recursive helper's body is generated: its name, its depth parameter and how
    /// many more calls to itself it may make.
    self_call: Option<(String, String, usize)>,
    /// The function being generated calls itself: no `&mut` parameters (a spanned error of
    /// the macro, ui case recursive_mut_param).
    recursive: bool,
}

const PLAIN: &[&str] = &[
    "a", "b", "c", "s", "t", "u", "v", "w", "y", "z", "acc", "tmp", "q", "r", "k2", "h",
];
const TRICKY: &[&str] = &[
    "ct", "__t0", "__t1", "__tape0", "__y", "__ret", "__n", "__e", "__d", "__c", "__b", "__adj",
    "__v", "__z", "__trips", "__done", "__brk0", "__hi", "__lo", "pullback", "tape", "tapes",
    "__pb_g0", "__own_x", "__w_0_0", "x__bar", "x__dot", "x__1", "x__tan", "ct__bar", "__y__bar",
];

impl<'a> Gen<'a> {
    pub fn new(seed: u64, cfg: &'a Cfg) -> Self {
        Gen {
            rng: Rng(seed),
            cfg,
            used: BTreeSet::new(),
            generic: false,
            scopes: vec![],
            names: BTreeSet::new(),
            loops: vec![],
            helpers: vec![],
            structs: vec![],
            struct_vars: vec![],
            struct_marks: vec![],
            refs: BTreeSet::new(),
            mut_refs: BTreeSet::new(),
            mut_params: Vec::new(),
            i32s: BTreeSet::new(),
            out: OutK::Scalar,
            mode_enum: false,
            unsupported_done: false,
            counter: 0,
            labels: 0,
            self_call: None,
            recursive: false,
        }
    }

    /// Whether to use construct `c` now (allowed and drawn with probability `p`); records it.
    /// One or two position adapters for an element loop over `len` items: `.rev()`,
    /// `.skip(k)`, `.take(k)` (`k` up to past the end), `.step_by(k)` (`k >= 1`).
    fn position_adapters(&mut self, len: usize) -> String {
        let n = 1 + self.rng.below(2);
        let mut out = String::new();
        for _ in 0..n {
            let k = self.rng.range(0, len as i64 + 1);
            out.push_str(&match self.rng.below(4) {
                0 => ".rev()".to_string(),
                1 => format!(".skip({k})"),
                2 => format!(".take({k})"),
                _ => format!(".step_by({})", 1 + k % 3),
            });
        }
        out
    }

    fn want(&mut self, c: &str, p: f64) -> bool {
        if self.cfg.allowed(c) && self.rng.chance(p) {
            self.used.insert(c.to_string());
            true
        } else {
            false
        }
    }

    fn ok(&self, c: &str) -> bool {
        self.cfg.allowed(c)
    }

    /// Leaves out the templates with a loop that `--without` removes (`for`, `while`, `loop`).
    fn without_loops(&self, ts: &mut Vec<&'static str>) {
        let all = ts.clone();
        ts.retain(|t| {
            (self.ok("for") || !t.contains("for "))
                && (self.ok("while") || !t.contains("while "))
                && (self.ok("loop") || !t.contains("loop {"))
        });
        if ts.is_empty() {
            // (Every list keeps a template without loops; this only guards the pick.)
            ts.push(all[0]);
        }
    }

    fn mark(&mut self, c: &str) {
        self.used.insert(c.to_string());
    }

    fn fresh(&mut self) -> String {
        for _ in 0..20 {
            let base: String = if self.want("raw-ident", 0.015) {
                let raw = *self
                    .rng
                    .pick(&["x", "y", "type", "match", "loop", "ct", "fn"]);
                format!("r#{raw}")
            } else if self.want("names-generated", 0.12) {
                let existing: Vec<String> = self
                    .names
                    .iter()
                    .filter(|n| !n.starts_with("r#"))
                    .cloned()
                    .collect();
                if !existing.is_empty() && self.rng.chance(0.5) {
                    let n = self.rng.pick(&existing).clone();
                    let suf = *self.rng.pick(&["__bar", "__dot", "__1", "__tan", "__2"]);
                    format!("{n}{suf}")
                } else {
                    self.rng.pick(TRICKY).to_string()
                }
            } else {
                let b = *self.rng.pick(PLAIN);
                self.counter += 1;
                if self.rng.chance(0.5) {
                    b.to_string()
                } else {
                    format!("{b}{}", self.counter)
                }
            };
            let key = base.trim_start_matches("r#").to_string();
            if !self.names.iter().any(|n| n.trim_start_matches("r#") == key) {
                self.names.insert(base.clone());
                return base;
            }
        }
        self.counter += 1;
        let n = format!("v{}", self.counter);
        self.names.insert(n.clone());
        n
    }

    fn declare(&mut self, name: &str, kind: VK, mutable: bool) {
        self.scopes.last_mut().unwrap().push(Var {
            name: name.into(),
            kind,
            mutable,
        });
    }

    fn push_scope(&mut self) {
        self.scopes.push(vec![]);
        self.struct_marks.push(self.struct_vars.len());
    }

    fn pop_scope(&mut self) {
        self.scopes.pop();
        if let Some(n) = self.struct_marks.pop() {
            self.struct_vars.truncate(n);
        }
    }

    fn vars(&self) -> Vec<Var> {
        // Later declarations shadow earlier ones.
        let mut out: Vec<Var> = vec![];
        for s in &self.scopes {
            for v in s {
                out.retain(|o: &Var| o.name != v.name);
                out.push(v.clone());
            }
        }
        out
    }

    fn ints(&self) -> Vec<(String, i64, i64)> {
        self.vars()
            .into_iter()
            .filter_map(|v| {
                if let VK::Int(a, b) = v.kind {
                    Some((v.name, a, b))
                } else {
                    None
                }
            })
            .collect()
    }

    /// An index in [0, len).
    fn idx(&mut self, len: usize) -> IE {
        let len = len as i64;
        let mut cands: Vec<IE> = vec![IE::Lit(self.rng.range(0, len - 1))];
        for (n, a, b) in self.ints() {
            if self.i32s.contains(&n) {
                continue;
            }
            if a >= 0 && b < len {
                cands.push(IE::Var(n.clone()));
                cands.push(IE::Var(n.clone()));
                cands.push(IE::Rev(len, Box::new(IE::Var(n.clone()))));
            }
            if a >= 1 && b <= len {
                cands.push(IE::Sub(Box::new(IE::Var(n.clone())), 1));
                cands.push(IE::Sub(Box::new(IE::Var(n.clone())), 1));
            }
            if a >= 0 {
                let k = self.rng.range(0, 2);
                cands.push(IE::Mod(
                    Box::new(IE::Add(Box::new(IE::Var(n.clone())), k)),
                    len,
                ));
            }
        }
        let i = self.rng.below(cands.len());
        cands.swap_remove(i)
    }

    fn int_expr(&mut self) -> (IE, i64, i64) {
        let ints = self.ints();
        if !ints.is_empty() && self.rng.chance(0.8) {
            let (n, a, b) = self.rng.pick(&ints).clone();
            (IE::Var(n), a, b)
        } else {
            let v = self.rng.range(0, 3);
            (IE::Lit(v), v, v)
        }
    }

    /// Places an expression can read: (expression, passive).
    fn atoms(&mut self) -> Vec<(E, bool)> {
        let mut out = vec![];
        for v in self.vars() {
            match &v.kind {
                VK::F => out.push((E::Var(v.name.clone()), false)),
                VK::PF => out.push((E::Var(v.name.clone()), true)),
                VK::Arr(d) => {
                    let d = d.clone();
                    let ix = d.iter().map(|n| self.idx(*n)).collect();
                    out.push((E::Idx(v.name.clone(), ix), false));
                }
                VK::Vec(n) => {
                    let n = *n;
                    let i = self.idx(n);
                    out.push((E::Idx(v.name.clone(), vec![i]), false));
                }
                VK::PArr(n) => {
                    let n = *n;
                    let i = self.idx(n);
                    out.push((E::Idx(v.name.clone(), vec![i]), true));
                }
                VK::Int(..) | VK::Enum => {}
            }
        }
        let svars = self.struct_vars.clone();
        for (sv, si, _) in svars {
            let fields = self.structs[si].fields.clone();
            for (f, d, _) in fields {
                if d.is_empty() {
                    out.push((E::Var(format!("{sv}.{f}")), false));
                } else {
                    let ix = d.iter().map(|n| self.idx(*n)).collect();
                    out.push((E::Idx(format!("{sv}.{f}"), ix), false));
                }
            }
        }
        out
    }

    fn atom(&mut self) -> E {
        if self.rng.chance(0.12) {
            return E::Lit(self.lit());
        }
        if self.rng.chance(0.05) && self.ok("cast") {
            let ints = self.ints();
            if !ints.is_empty() {
                self.mark("cast");
                let (n, _, _) = self.rng.pick(&ints).clone();
                return E::Cast(IE::Var(n));
            }
        }
        let atoms = self.atoms();
        if atoms.is_empty() {
            return E::Lit(self.lit());
        }
        // Prefer active ones.
        let active: Vec<E> = atoms
            .iter()
            .filter(|(_, p)| !p)
            .map(|(e, _)| e.clone())
            .collect();
        if !active.is_empty() && self.rng.chance(0.85) {
            return self.rng.pick(&active).clone();
        }
        self.rng.pick(&atoms).0.clone()
    }

    fn lit(&mut self) -> f64 {
        *self
            .rng
            .pick(&[0.5, 1.0, 2.0, 0.25, 1.5, -0.5, 0.75, 3.0, 0.0, -1.25])
    }

    /// A positive expression of `u` (for ln, sqrt, ...).
    fn pos(&mut self, u: E) -> E {
        match self.rng.below(3) {
            0 => E::Bin(
                '+',
                Box::new(E::Lit(1.5)),
                Box::new(E::Meth("sin", Box::new(u), vec![], false)),
            ),
            1 => E::Bin(
                '+',
                Box::new(E::Lit(2.0)),
                Box::new(E::Meth("tanh", Box::new(u), vec![], false)),
            ),
            _ => E::Bin(
                '+',
                Box::new(E::Lit(1.25)),
                Box::new(E::Meth("cos", Box::new(u), vec![], false)),
            ),
        }
    }

    /// An expression of `u` in (-0.5, 0.5).
    fn bnd(&mut self, u: E) -> E {
        let m = if self.rng.chance(0.5) { "tanh" } else { "sin" };
        E::Bin(
            '*',
            Box::new(E::Lit(0.5)),
            Box::new(E::Meth(m, Box::new(u), vec![], false)),
        )
    }

    fn rule(&mut self, d: usize) -> E {
        let generic = self.generic;
        let allowed: Vec<&str> = RULES
            .iter()
            .copied()
            .filter(|r| !(generic && matches!(*r, "clamp" | "copysign")))
            .filter(|r| self.ok(&format!("rule:{r}")))
            .collect();
        if allowed.is_empty() || !self.ok("rule") {
            return self.e(d - 1);
        }
        if self.want("sin-cos", 0.04) {
            // A part of the tuple `sin_cos` (its rows `sin` and `cos`).
            let u = self.e(d - 1);
            let ufcs = self.want("ufcs", 0.3);
            return E::Part("sin_cos", Box::new(u), self.rng.below(2), ufcs);
        }
        let r = *self.rng.pick(&allowed);
        self.mark("rule");
        self.mark(&format!("rule:{r}"));
        let u = self.e(d - 1);
        let ufcs = self.want("ufcs", 0.15) && r != "powi";
        let m = |name: &'static str, x: E, args: Vec<E>| E::Meth(name, Box::new(x), args, ufcs);
        match r {
            "sin" | "cos" | "tanh" | "atan" | "asinh" | "abs" | "floor" | "ceil" | "round"
            | "trunc" | "signum" | "to_radians" => m(leak(r), u, vec![]),
            "to_degrees" => {
                let b = self.bnd(u);
                m("to_degrees", b, vec![])
            }
            "clamp" => m("clamp", u, vec![E::Lit(-0.5), E::Lit(0.75)]),
            "copysign" => {
                let v = self.e(d - 1);
                m("copysign", u, vec![v])
            }
            "tan" | "asin" | "acos" | "atanh" => {
                let b = self.bnd(u);
                m(leak(r), b, vec![])
            }
            "sinh" | "cosh" | "exp" | "exp2" | "exp_m1" => {
                let w = if self.rng.chance(0.5) { "tanh" } else { "sin" };
                m(leak(r), E::Meth(w, Box::new(u), vec![], false), vec![])
            }
            "ln" | "ln_1p" | "log2" | "log10" | "sqrt" | "cbrt" | "recip" => {
                let p = self.pos(u);
                m(leak(r), p, vec![])
            }
            "acosh" => m(
                "acosh",
                E::Bin(
                    '+',
                    Box::new(E::Lit(2.5)),
                    Box::new(E::Meth("sin", Box::new(u), vec![], false)),
                ),
                vec![],
            ),
            "log" => {
                let p = self.pos(u);
                let v = self.e(d - 1);
                let base = E::Bin(
                    '+',
                    Box::new(E::Lit(2.5)),
                    Box::new(E::Meth("sin", Box::new(v), vec![], false)),
                );
                m("log", p, vec![base])
            }
            "powf" => {
                let p = self.pos(u);
                let v = self.e(d - 1);
                m("powf", p, vec![E::Meth("sin", Box::new(v), vec![], false)])
            }
            "powi" => {
                let ints: Vec<String> = self
                    .vars()
                    .into_iter()
                    .filter(|v| matches!(v.kind, VK::Int(a, b) if a >= 0 && b <= 3))
                    .map(|v| v.name)
                    .collect();
                if !ints.is_empty() && self.want("powi-param", 0.3) {
                    let n = self.rng.pick(&ints).clone();
                    E::Powi(Box::new(u), IE::Var(n))
                } else if self.rng.chance(0.2) {
                    let p = self.pos(u);
                    E::Powi(Box::new(p), IE::Lit(-1))
                } else {
                    E::Powi(Box::new(u), IE::Lit(self.rng.range(0, 3)))
                }
            }
            "atan2" | "hypot" | "max" | "min" => {
                let v = self.e(d - 1);
                m(leak(r), u, vec![v])
            }
            "mul_add" => {
                let v = self.e(d - 1);
                let w = self.e(d - 1);
                m("mul_add", u, vec![v, w])
            }
            _ => unreachable!(),
        }
    }

    /// A float expression of depth at most `d`.
    pub fn e(&mut self, d: usize) -> E {
        if d == 0 || self.rng.chance(0.25) {
            return self.atom();
        }
        let roll = self.rng.below(100);
        match roll {
            0..=34 => {
                let op = *self.rng.pick(&['+', '-', '*', '+', '*']);
                let a = self.e(d - 1);
                let b = self.e(d - 1);
                E::Bin(op, Box::new(a), Box::new(b))
            }
            35..=39 if self.ok("div") => {
                // `%` now and then: its divisor kept away from zero like `/`'s (the harness
                // does not trust finite differences across its jumps).
                let op = if self.want("rem", 0.25) { '%' } else { '/' };
                self.mark("div");
                let a = self.e(d - 1);
                let b = self.e(d - 1);
                let p = self.pos(b);
                E::Bin(op, Box::new(a), Box::new(p))
            }
            40..=43 if self.ok("neg") => {
                self.mark("neg");
                E::Neg(Box::new(self.e(d - 1)))
            }
            44..=74 => self.rule(d),
            75..=79 if self.ok("if-expr") => {
                self.mark("if-expr");
                let c = self.cond(d - 1);
                let a = self.e(d - 1);
                let b = self.e(d - 1);
                E::If(Box::new(c), Box::new(a), Box::new(b))
            }
            80..=82 if self.ok("match-expr") => {
                self.mark("match-expr");
                let (s, _, _) = self.int_expr();
                let n = self.rng.range(1, 2);
                let arms = (0..n).map(|k| (k, self.e(d - 1))).collect();
                let def = self.e(d - 1);
                E::Match(s, arms, Box::new(def))
            }
            83..=91 if !self.helpers.is_empty() && self.ok("call") => self.call_expr(d),
            92..=95 if self.ok("stop-gradient") => {
                self.mark("stop-gradient");
                E::Stop(Box::new(self.e(d - 1)))
            }
            96..=97 if self.vars().iter().any(|v| matches!(v.kind, VK::Enum)) => {
                let es: Vec<String> = self
                    .vars()
                    .into_iter()
                    .filter(|v| matches!(v.kind, VK::Enum))
                    .map(|v| v.name)
                    .collect();
                let m = self.rng.pick(&es).clone();
                let a = self.e(d - 1);
                let b = self.e(d - 1);
                E::MatchEnum(m, Box::new(a), Box::new(b))
            }
            98..=99
                if !self.generic
                    && self.ok("reduce")
                    && !self.flat_arrays().is_empty()
                    && self.rng.chance(0.5) =>
            {
                self.mark("reduce");
                let xs = self.flat_arrays();
                let (x, _) = self.rng.pick(&xs).clone();
                if self.want("iter-forms", 0.25) {
                    // Zips of zips with nested tuple patterns, `push` into a local `Vec`
                    // (`front/lower/push.rs`).
                    let t = *self.rng.pick(&[
                        "X.iter().zip(X.iter().zip(X.iter())).map(|(fza, (fzb, fzc))| fza * fzb - fzc.sin()).sum::<f64>()",
                        "{ let mut fzs = 0.0f64; for ((fza, fzb), fzc) in X.iter().zip(X.iter()).zip(X.iter().copied()) { fzs = fzs * 0.5 + fza * fzb + fzc; } fzs }",
                        "X.iter().zip(X.iter().zip(X.iter())).rev().fold(0.25f64, |fzs, (fza, (fzb, _))| fzs * fza + fzb)",
                        "{ let mut fpv = Vec::with_capacity(X.len()); let mut fpa = 0.0f64; for &fpw in X.iter() { fpa += fpw; fpv.push(fpa * fpw); } fpv.iter().map(|fq| fq.sin()).sum::<f64>() }",
                        "{ let mut fpv = Vec::new(); for (fpi, fpw) in X.iter().enumerate() { if *fpw > 0.0 { fpv.push(fpw * 2.0); } else { fpv.push(fpw.cos()); } if fpi % 2 == 0 { fpv.push(fpv[fpv.len() - 1] * fpw); } } let mut fps = 0.0f64; for fpj in 0..fpv.len() { fps += fpv[fpj] * (fpj as f64 + 1.0); } fps }",
                    ]);
                    return E::Reduce(t, x);
                }
                if let Some((_, n)) = self.vars().into_iter().find_map(|v| match &v.kind {
                    VK::Arr(d) if d.len() == 1 && v.name == x => Some((v.name, d[0])),
                    _ => None,
                }) && self.want("corpus-forms", 0.25)
                {
                    // `[T; N]::map` (`front/arrays.rs`): the result declared, a map of that, a
                    // map of an array literal used directly. `N` is the array's length.
                    let t = *self.rng.pick(&[
                        "{ let amy: [f64; N] = X.map(|amv| amv.tanh() * 2.0); amy[0] * amy[N - 1] }",
                        "{ let amy: [f64; N] = X.map(|amv| amv * amv + 0.5); let amz = amy.map(|amw| amw.sqrt() * amw); amz.iter().sum::<f64>() }",
                        "[X[0], 0.5f64, X[N - 1]].map(|amv| amv.sin() * amv)[2]",
                        "{ let amy: [f64; N] = X.map(|amv| amv * 0.5); amy.map(|amw| amw * amw + amw).iter().sum::<f64>() }",
                        "{ let amy: [f64; N] = std::array::from_fn(|ami| X[ami] * 0.5 + X[(ami + 1) % N]); amy[0] * amy[N - 1] }",
                    ]);
                    let t: &'static str =
                        Box::leak(t.replace('N', &n.to_string()).into_boxed_str());
                    return E::Reduce(t, x);
                }
                if self.want("corpus-forms", 0.25) {
                    // Issue 13's corpus, as people write it: running values taken apart with a
                    // default (the filtered ones are empty: inputs are in [-1.5, 1.5]).
                    let mut ts = vec![
                        "X.iter().cloned().reduce(f64::max).unwrap_or(0.0)",
                        "X.iter().copied().reduce(f64::min).unwrap_or_default() * 2.0",
                        "X.iter().map(|v| v * v).reduce(|a: f64, b: f64| a.max(b)).unwrap_or(0.5)",
                        "X.iter().copied().filter(|v| *v > 2.0).reduce(f64::max).unwrap_or(X.iter().sum::<f64>())",
                        "X.iter().map(|v| v.sin()).filter(|w| *w > 1.5).reduce(f64::min).unwrap_or_else(|| 0.25)",
                        // First and last elements, running values of references taken out.
                        "(*X.last().unwrap() * X.first().copied().unwrap_or(0.5))",
                        "(*X.iter().max_by(|a, b| a.total_cmp(b)).unwrap() - X.iter().rev().skip(1).min_by(|a, b| a.total_cmp(b)).copied().unwrap_or(0.25))",
                        // References bound to ranges with runtime bounds, `split_at`.
                        "{ let csh = X.len() / 2; let csm = &X[csh..]; let mut css = 0.0f64; for csv in csm { css = css * 0.5 + csv * csm[0]; } css }",
                        "{ let csm = &X[1..X.len()]; csm.iter().map(|csv| csv.sin()).sum::<f64>() + csm.len() as f64 }",
                        "{ let (csa, csb) = X.split_at(X.len() / 2); csa.iter().sum::<f64>() * 0.5 - csb.iter().map(|csv| csv * csv).sum::<f64>() }",
                        "{ let csw = &X; let csm = &csw[..csw.len() - 1]; let mut css = 1.0f64; for (csi, csv) in csm.iter().enumerate() { css += csv * (csi as f64 + 0.5); } css }",
                    ];
                    self.without_loops(&mut ts);
                    let t = *self.rng.pick(&ts);
                    return E::Reduce(t, x);
                }
                if self.want("iter-chain", 0.5) {
                    // Longer chains (`front/iterators.rs`): maps and filters in a row, running
                    // values, `collect`, `chain`, passive `count`. The comparators' parameters
                    // are typed: a local `vec![0.0; n]` may still be `{float}` where they run.
                    let t = *self.rng.pick(&[
                        "X.iter().map(|v| v * 2.0).map(|w| w.sin()).sum::<f64>()",
                        "X.iter().map(|v| v * v + 0.1).filter(|w| *w > 0.2).map(|w| w.sqrt()).sum::<f64>()",
                        "X.iter().copied().max_by(|a: &f64, b: &f64| a.total_cmp(b)).unwrap()",
                        "X.iter().map(|v| v.cos()).min_by(|a: &f64, b: &f64| a.total_cmp(b)).unwrap()",
                        "X.iter().map(|v| v * 0.5).reduce(|a, b| a * b + 0.1).unwrap()",
                        "X.iter().copied().reduce(f64::max).expect(\"non-empty\")",
                        "X.iter().copied().fold(f64::INFINITY, f64::min)",
                        "X.iter().chain(X.iter().rev()).map(|v| v * v).sum::<f64>()",
                        "{ let cv: Vec<f64> = X.iter().map(|v| v.sin() * 2.0).collect(); cv[0] * cv[cv.len() - 1] }",
                        "{ let cw = X.iter().copied().filter(|v| v.abs() < 0.9).collect::<Vec<f64>>(); cw.iter().map(|v| v * v).sum::<f64>() }",
                        "((X.iter().filter(|v| **v > 0.0).count() as f64) + 1.0) * X.iter().map(|v| v * 0.5).sum::<f64>()",
                    ]);
                    return E::Reduce(t, x);
                }
                if self.want("for-adapters", 0.3) {
                    let t = *self.rng.pick(&[
                        "X.iter().skip(1).map(|v| v * v).sum::<f64>()",
                        "X.iter().rev().take(2).fold(0.0, |acc, v| acc * 0.5 + v)",
                        "X.iter().step_by(2).product::<f64>()",
                        "X.iter().rev().skip(1).step_by(2).map(|v| v.sin()).sum::<f64>()",
                        "X.iter().enumerate().skip(1).map(|(i, v)| v * i as f64).sum::<f64>()",
                        "X.iter().filter(|v| **v > 0.1).map(|v| v * v).sum::<f64>()",
                        "X.iter().copied().filter(|v| v.abs() < 0.9).fold(1.0, |acc, v| acc * v)",
                    ]);
                    return E::Reduce(t, x);
                }
                let t = *self.rng.pick(&[
                    "X.iter().sum::<f64>()",
                    "X.iter().map(|v| v * v).sum::<f64>()",
                    "X.iter().map(|v| v.sin()).sum::<f64>()",
                    "X.iter().fold(0.0, |acc, v| acc + v * 0.5)",
                    "X.iter().product::<f64>()",
                    "X.iter().copied().fold(f64::NEG_INFINITY, f64::max)",
                ]);
                E::Reduce(t, x)
            }
            98..=99 if !self.generic && d > 0 && self.want("closure", 0.3) => {
                // Placeholders `@0`, `@1`: no expression's text holds an `@`.
                let t = *self.rng.pick(&[
                    "{ let clsq = |clv: f64| clv * clv; clsq(@0) + clsq(@1) }",
                    "{ let clk = @0; let clf = |clv: f64| clv * clk + clv.sin(); clf(@1) - clf(clk) * 0.5 }",
                    "{ let mut cla = 0.0; let mut cladd = |clv: f64| cla += clv * clv; cladd(@0); cladd(@1); cla }",
                    "{ let clg = |clv: f64, clw: f64| clv * clw - clw; let clh = |clv: f64| clg(clv, 0.5) * clv; clh(@0) + clg(@1, @0) }",
                    "{ let clp = |(clv, clw): (f64, f64)| clv * clw; clp((@0, @1)) }",
                ]);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("method", 0.3) => {
                // The methods of `Mm` (`ast::METHODS`, defined when a program uses them).
                let t = *self.rng.pick(&[
                    "{ let mmv = Mm { a: @0, b: 0.5 }; mmv.mm_eval(@1) }",
                    "{ let mmv = Mm { a: @0, b: @1 }; mmv.mm_mix(0.3, mmv.a) }",
                    "{ let mmv = Mm { a: @0, b: -0.25 }.mm_step(@1); mmv.mm_eval(mmv.b) + mmv.a }",
                    "{ let mmv = Mm::mm_sq(@0); mmv }",
                ]);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("operators", 0.3) => {
                // The operators of `Ov` (`ast::OPERATORS`, defined when a program uses them):
                // struct operands known from literals, `let`s, typed `let`s and loops, scalars
                // on either side, a float-valued operator, compound assignments.
                let mut ts = vec![
                    "{ let ova = Ov { a: @0, b: 0.5 }; let ovb = Ov { a: @1, b: @0 }; let ovc = ova * ovb + ova; ovc.a - ovc.b }",
                    "{ let ova = Ov { a: @0, b: @1 }; let ovc = 2.0 * ova - ova * @1; ovc.a * ovc.b }",
                    "{ let ova = Ov { a: @0, b: @1 }; let mut ovs = ova; for _ in 0..3 { ovs = ovs * ova * 0.5 - ovs; } ovs.a + ovs.b }",
                    "{ let ova = Ov { a: @0, b: @1 }; let ovb: Ov = -ova / @0; (ova % ovb) + ovb.a }",
                    "{ let mut ova = Ov { a: @0, b: @1 }; ova *= 0.5; ova += Ov { a: @1, b: 0.25 } * ova; ova = ova - @0 * ova; ova.a * ova.b }",
                    "{ let ova = Ov { a: @0, b: @1 }; let ovr: Ov = ova + ova * (@0 * 0.5); (ovr % ova) * @1 }",
                    "{ let ova = Ov { a: @1, b: @0 }; let ovd = ova % ova; ovd * ovd + (ova * ovd).b }",
                ];
                self.without_loops(&mut ts);
                let t = *self.rng.pick(&ts);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("corpus-forms", 0.2) => {
                // Static fields (`ast::STATIC_FIELDS`, defined when a program uses them): a
                // `usize` and a `bool` field of an active struct in ranges, index arithmetic,
                // conditions, a `let`, a cast through `stop_gradient`; struct literals of them;
                // calls taking and returning such a struct.
                let mut ts = vec![
                    "{ let sfv = Sf { w: [@0, @1, 0.5], n: 2, on: true, tag: 1 }; let mut sfs = 0.0f64; for sfi in 0..sfv.n { sfs += sfv.w[sfi + 1] * sfv.w[sfv.n - sfi]; } if sfv.on { sfs } else { -sfs } }",
                    "{ let sfv = Sf { w: [@0, 0.25, @1], n: 1, on: false, tag: 2 }; let sfk = sfv.n; sfv.w[sfk] * @0 + sfv.w[sfk + 1] * (sfk as f64 + 0.5) }",
                    "{ let sfv = Sf { w: [@0, @1, @0 * @1], n: 3, on: @0 > 0.0, tag: 3 }; sf_sum(&sfv, @1) }",
                    "{ let sfv = sf_make(@0, 2); let sfw = Sf { n: 1, ..sf_make(@1, 0) }; sf_sum(&sfv, sfw.w[1]) + sfw.w[sfw.n] }",
                ];
                self.without_loops(&mut ts);
                let t = *self.rng.pick(&ts);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("mut-method", 0.3) => {
                // `&mut self` methods of `Mm` on a local: a statement, a bound output, a read of
                // the receiver before the call in the same expression.
                let t = *self.rng.pick(&[
                    "{ let mut mmv = Mm { a: @0, b: 0.5 }; let mmr = mmv.mm_push(@1); mmr + mmv.a * mmv.b }",
                    "{ let mut mmv = Mm { a: @0, b: @1 }; mmv.mm_scale(0.5); mmv.mm_push(mmv.b) + mmv.mm_eval(mmv.a) }",
                    "{ let mut mmv = Mm { a: @0, b: -0.25 }; let mmr = mmv.a * mmv.mm_push(@1); mmv.mm_scale(mmr); mmr + mmv.b }",
                ]);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("pattern-let", 0.3) => {
                let mut ts = vec![
                    "{ let mut wl = @0; let mut wlit = [0.5f64, -1.0, 2.0].iter(); while let Some(&wlq) = wlit.next() { wl = wl * wlq + @1; } wl }",
                    "{ let mut wl = @0; let mut wlit = [1usize, 3, 2].iter(); 'wl: while let Some(&wln) = wlit.next() { if wln > 2 { continue 'wl; } wl = wl * (wln as f64) - @1; } wl }",
                    "(if let Some(&ilq) = [0.5f64, 1.5].get(1) { @0 * ilq } else { @1 })",
                    "(if let Some(ilq) = [0.5f64].get(3) { @0 * ilq } else { @1 * 0.5 })",
                ];
                self.without_loops(&mut ts);
                let t = *self.rng.pick(&ts);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("iter-forms", 0.3) => {
                // Rows of nested arrays and `Vec<Vec<f64>>` with inner loops and chains,
                // `flatten`, `flat_map`, `push` (issue 13's corpus forms).
                let t = *self.rng.pick(&[
                    "{ let fnm = [[@0, 0.5f64], [@1, @0 * @1]]; let mut fns = 0.0f64; for fnr in fnm.iter() { for fnv in fnr { fns += fnv * fnv; } } fns }",
                    "{ let fnm = [[@0, @1, 0.25f64], [0.5f64, @1, @0]]; let mut fns = @0; for (fni, fnr) in fnm.iter().enumerate() { for &fnv in fnr.iter() { fns = fns * 0.5 + fnv * (fni as f64 + 1.0); } } fns }",
                    "{ let fnm = [[@0, 0.5f64], [@1, -0.25f64]]; let mut fns = 0.0f64; for fnr in fnm { for (fnj, fnv) in fnr.iter().enumerate() { fns += fnv * fnr[1 - fnj]; } } fns }",
                    "{ let mut fnm = vec![vec![0.0f64; 2]; 3]; fnm[0][0] = @0; fnm[1][1] = @1; fnm[2][0] = @0 * @1; fnm.iter().map(|fnr| fnr.iter().map(|fnv| fnv * fnv + fnv).sum::<f64>()).sum::<f64>() }",
                    "{ let fnm = [[@0, 0.5f64], [@1, -0.25f64]]; fnm.iter().flatten().map(|fnv| fnv.sin() * fnv).sum::<f64>() }",
                    "{ let fnm = [[@0, @1], [@1, 0.75f64]]; let mut fns = 0.0f64; for fnv in fnm.iter().flatten() { if *fnv > 0.9 { break; } fns += fnv * @0; } fns }",
                    "{ let fnm = [[@0, 0.5f64, @1], [@1, @0, -0.5f64]]; fnm.iter().flat_map(|fnr| fnr.iter()).fold(0.0f64, |fna, fnv| fna * 0.5 + fnv) }",
                    "{ let mut fpv = Vec::new(); let mut fpa = @0; for fpk in 0..3 { fpa = fpa * @1 + (fpk as f64) * 0.25; fpv.push(fpa); } fpv.iter().map(|fq| fq * fq).sum::<f64>() + fpv[fpv.len() - 1] }",
                    "{ let mut fpv: Vec<f64> = vec![]; fpv.push(@0); if @1 > 0.0 { fpv.push(@1 * 2.0); } fpv.push(fpv[0] * 0.5); let mut fps = 0.0f64; for fpi in 0..fpv.len() { fps += fpv[fpi] * (fpi as f64 + 1.0); } fps }",
                ]);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("windows", 0.3) => {
                let mut ts = vec![
                    "{ let wwa = [@0, @1, 0.5f64]; wwa.windows(2).map(|ww| ww[0] * ww[1] - ww[1]).sum::<f64>() }",
                    "{ let wwa = [@0, 0.25f64, @1, -0.5]; let mut wws = 0.0f64; for (wwi, ww) in wwa.windows(3).enumerate() { wws += ww[wwi % 3] * (ww.len() as f64) + ww[0]; } wws }",
                    "{ let wwa = [@0, @1, 0.75f64, -0.5, 1.25]; let mut wws = @0; for wc in wwa.chunks(2) { wws = wws * 0.5 + wc[wc.len() - 1] * wc[0]; } wws }",
                    "{ let wwa = [@1, @0, 0.5f64, 0.25]; wwa.chunks_exact(2).map(|wc| wc[0] - wc[1] * wc[1]).sum::<f64>() }",
                ];
                self.without_loops(&mut ts);
                let t = *self.rng.pick(&ts);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && d > 0 && self.want("destructuring", 0.6) => {
                let t = *self.rng.pick(&[
                    "{ let [dsa, dsb, _] = [@0, @1, 0.5f64]; dsa * dsb - dsa }",
                    "{ let dsm = [[@0, 0.5f64], [@1, -1.0]]; let [[dsa, dsb], dsr] = dsm; dsa * dsr[0] + dsb * dsr[1] }",
                    "{ let dsp = (@0, [@1, 0.25f64]); let (dsa, [dsb, ..]) = dsp; dsa - dsb * dsa }",
                ]);
                let n = if t.contains("@1") { 2 } else { 1 };
                E::Template(t, (0..n).map(|_| self.e(d - 1)).collect())
            }
            98..=99 if !self.generic && !self.unsupported_done && self.want("unsupported", 0.3) => {
                // Outside the subset: the macro must reject it with a spanned error (or, if it
                // accepts it, differentiate it right).
                self.unsupported_done = true;
                let t = *self.rng.pick(&[
                    "f64::from_bits(f64::to_bits(U))",
                    "unsafe { U }",
                    "(|a: f64| a * 2.0)(U)",
                    "((U) as f32 as f64)",
                    "[U, 1.0].iter().sum::<f64>()",
                    "Some(U).unwrap()",
                ]);
                E::Unsup(t, Box::new(self.e(d - 1)))
            }
            _ => {
                let a = self.e(d - 1);
                let b = self.e(d - 1);
                E::Bin('*', Box::new(a), Box::new(b))
            }
        }
    }

    fn cond(&mut self, d: usize) -> Cond {
        let c = if self.rng.chance(0.5) && !self.ints().is_empty() {
            let (a, lo, hi) = self.int_expr();
            let k = self.rng.range(lo, hi.max(lo));
            let op = *self.rng.pick(&["==", "<", ">=", "!="]);
            Cond::I(a, op, IE::Lit(k))
        } else {
            let a = self.e(d.min(1));
            let op = *self.rng.pick(&["<", ">", "<=", ">="]);
            let k = *self.rng.pick(&[0.0, 0.25, -0.25, 0.5]);
            Cond::F(Box::new(a), op, Box::new(E::Lit(k)))
        };
        if self.want("and-or", 0.1) {
            let other = self.cond(0);
            if self.rng.chance(0.5) {
                Cond::And(Box::new(c), Box::new(other))
            } else {
                Cond::Or(Box::new(c), Box::new(other))
            }
        } else {
            c
        }
    }

    fn arg(&mut self, k: &PK, d: usize) -> Arg {
        match k {
            // The depth of the recursive helper: one less inside it, at most 2 from outside.
            PK::Usize(_) => match &self.self_call {
                Some((_, depth, _)) => Arg::Int(IE::Sub(Box::new(IE::Var(depth.clone())), 1)),
                None => Arg::Int(IE::Lit(self.rng.range(0, 2))),
            },
            PK::Arr(dims) | PK::RefArr(dims) => {
                let by_ref = matches!(k, PK::RefArr(_));
                let n = dims[0];
                let cands: Vec<String> = self
                    .vars()
                    .into_iter()
                    .filter(|v| matches!(&v.kind, VK::Arr(dd) if dd == dims))
                    .map(|v| v.name)
                    .filter(|n| by_ref || !self.refs.contains(n) || self.mut_refs.contains(n))
                    .collect();
                if !cands.is_empty()
                    && (!self.ok("call-arg-arrlit") || !self.want("call-arg-arrlit", 0.3))
                {
                    let n = self.rng.pick(&cands).clone();
                    if self.mut_refs.contains(&n) {
                        // An `&mut` parameter: its value (`*x`) or `&*x`.
                        return Arg::ArrVar(format!("*{n}"), by_ref);
                    }
                    let amp = by_ref && !self.refs.contains(&n);
                    Arg::ArrVar(n, amp)
                } else {
                    self.mark("call-arg-arrlit");
                    Arg::ArrLit((0..n).map(|_| self.e(d)).collect(), by_ref)
                }
            }
            _ => {
                let passive: Vec<String> = self
                    .vars()
                    .into_iter()
                    .filter(|v| matches!(v.kind, VK::PF))
                    .map(|v| v.name)
                    .collect();
                let parr: Vec<(String, usize)> = self
                    .vars()
                    .into_iter()
                    .filter_map(|v| {
                        if let VK::PArr(n) = v.kind {
                            Some((v.name, n))
                        } else {
                            None
                        }
                    })
                    .collect();
                if self.rng.chance(0.3) {
                    match self.rng.below(6) {
                        0 if self.ok("call-arg-lit") => {
                            self.mark("call-arg-lit");
                            return Arg::F(E::Lit(self.lit()));
                        }
                        1 if self.ok("call-arg-cast") && !self.ints().is_empty() => {
                            self.mark("call-arg-cast");
                            let (i, _, _) = self.int_expr();
                            return Arg::F(E::Cast(i));
                        }
                        2 if self.ok("call-arg-passive-local") && !passive.is_empty() => {
                            self.mark("call-arg-passive-local");
                            return Arg::F(E::Var(self.rng.pick(&passive).clone()));
                        }
                        3 if self.ok("call-arg-passive-elem") && !parr.is_empty() => {
                            self.mark("call-arg-passive-elem");
                            let (n, len) = self.rng.pick(&parr).clone();
                            let i = self.idx(len);
                            return Arg::F(E::Idx(n, vec![i]));
                        }
                        4 if self.ok("call-arg-stopgrad") => {
                            self.mark("call-arg-stopgrad");
                            return Arg::F(E::Stop(Box::new(self.e(d))));
                        }
                        5 if self.ok("call-arg-passive-expr") => {
                            self.mark("call-arg-passive-expr");
                            let a = if passive.is_empty() {
                                E::Lit(0.5)
                            } else {
                                E::Var(self.rng.pick(&passive).clone())
                            };
                            return Arg::F(E::Bin('*', Box::new(a), Box::new(E::Lit(self.lit()))));
                        }
                        _ => {}
                    }
                }
                Arg::F(self.e(d))
            }
        }
    }

    fn call_args(&mut self, h: usize, d: usize) -> Vec<Arg> {
        let params = self.helpers[h].params.clone();
        for p in &params {
            match p {
                PK::Arr(_) => self.mark("call-arr-param"),
                PK::RefArr(_) => self.mark("call-refarr-param"),
                _ => {}
            }
        }
        params
            .iter()
            .map(|k| self.arg(k, d.saturating_sub(1)))
            .collect()
    }

    /// 1-D float arrays, slices and Vecs in scope (name, length).
    fn flat_arrays(&self) -> Vec<(String, usize)> {
        self.vars()
            .into_iter()
            .filter_map(|v| match &v.kind {
                VK::Arr(d) if d.len() == 1 => Some((v.name, d[0])),
                VK::Vec(n) | VK::PArr(n) => Some((v.name, *n)),
                _ => None,
            })
            .collect()
    }

    /// Whether helper `h` can be called here: each array parameter gets an array variable, or
    /// array literals are allowed.
    /// (A helper with `&mut` parameters is called by `mut_call` only.)
    fn callable(&self, h: usize) -> bool {
        self.arrays_ok(h) && !self.helpers[h].params.iter().any(|k| k.is_mut())
    }

    /// Whether each array parameter of helper `h` gets an array variable, or array literals
    /// are allowed.
    fn arrays_ok(&self, h: usize) -> bool {
        let vars = self.vars();
        self.helpers[h].params.iter().all(|k| match k {
            PK::Arr(d) | PK::RefArr(d) => {
                let by_ref = matches!(k, PK::RefArr(_));
                self.ok("call-arg-arrlit")
                    || vars.iter().any(|v| {
                        matches!(&v.kind, VK::Arr(dd) if dd == d)
                            && (by_ref
                                || !self.refs.contains(&v.name)
                                || self.mut_refs.contains(&v.name))
                    })
            }
            _ => true,
        })
    }

    /// A place that a call may write through `&mut`, for a parameter of kind `k`, rooted at
    /// none of `taken`: the argument's text and its root binding.
    fn mut_place(&mut self, k: &PK, taken: &[String]) -> Option<(String, String)> {
        let mut cands: Vec<(String, String)> = vec![];
        let free = |n: &str| !taken.iter().any(|t| t == n);
        for v in self.vars() {
            if !v.mutable {
                continue;
            }
            let name = v.name.clone();
            match (&v.kind, k) {
                (VK::F, PK::MutScalar) if name.starts_with("(*") => {
                    let root = name
                        .trim_start_matches("(*")
                        .trim_end_matches(')')
                        .to_string();
                    if free(&root) && self.ok("mut-pass-on") {
                        let text = if self.rng.chance(0.5) {
                            root.clone()
                        } else {
                            format!("&mut *{root}")
                        };
                        cands.push((text, root));
                    }
                }
                (VK::F, PK::MutScalar) if !name.contains('.') && free(&name) => {
                    cands.push((format!("&mut {name}"), name))
                }
                (VK::Arr(d), PK::MutScalar) if free(&name) => {
                    let ix: Vec<String> = d
                        .clone()
                        .iter()
                        .map(|n| {
                            let i = self.idx(*n);
                            Pr {
                                generic: false,
                                probe: false,
                            }
                            .ie(&i)
                        })
                        .collect();
                    let mut t = format!("&mut {name}");
                    for i in ix {
                        t.push_str(&format!("[{i}]"));
                    }
                    cands.push((t, name));
                }
                (VK::Vec(n), PK::MutScalar) if free(&name) => {
                    let i = self.idx(*n);
                    let i = Pr {
                        generic: false,
                        probe: false,
                    }
                    .ie(&i);
                    cands.push((format!("&mut {name}[{i}]"), name));
                }
                (VK::Arr(d), PK::MutArr(e)) if d == e && free(&name) => {
                    if self.mut_refs.contains(&name) {
                        if self.ok("mut-pass-on") {
                            let text = if self.rng.chance(0.5) {
                                name.clone()
                            } else {
                                format!("&mut *{name}")
                            };
                            cands.push((text, name));
                        }
                    } else if !self.refs.contains(&name) {
                        cands.push((format!("&mut {name}"), name));
                    }
                }
                _ => {}
            }
        }
        for (sv, si, m) in self.struct_vars.clone() {
            if !m || !free(&sv) {
                continue;
            }
            // The whole struct: a `let mut` local or `mut` parameter, or the function's own
            // `&mut` parameter passed on.
            if *k == PK::MutStruct(si) {
                if !self.mut_refs.contains(&sv) {
                    cands.push((format!("&mut {sv}"), sv.clone()));
                } else if self.ok("mut-pass-on") {
                    let text = if self.rng.chance(0.5) {
                        sv.clone()
                    } else {
                        format!("&mut *{sv}")
                    };
                    cands.push((text, sv.clone()));
                }
            }
            for (f, d, boxed) in self.structs[si].fields.clone() {
                match k {
                    PK::MutScalar if d.is_empty() => {
                        cands.push((format!("&mut {sv}.{f}"), sv.clone()))
                    }
                    PK::MutArr(e) if *e == d && !boxed => {
                        cands.push((format!("&mut {sv}.{f}"), sv.clone()))
                    }
                    _ => {}
                }
            }
        }
        if cands.is_empty() {
            return None;
        }
        // The function's own `&mut` parameters passed on, half the time they can be.
        let on: Vec<(String, String)> = cands
            .iter()
            .filter(|(t, _)| !t.starts_with("&mut ") || t.starts_with("&mut *"))
            .cloned()
            .collect();
        if !on.is_empty() && self.rng.chance(0.5) {
            return Some(self.rng.pick(&on).clone());
        }
        Some(self.rng.pick(&cands).clone())
    }

    /// A call of a helper with `&mut` parameters: on mutable locals, elements, fields, the
    /// function's own `&mut` parameters passed on, or new `let mut` temporaries; as a statement
    /// (the output discarded) or bound, possibly after a read of what it writes (`a[0] +
    /// g(&mut a)`: Rust reads `a[0]` first).
    fn mut_call(&mut self, d: usize) -> Vec<S> {
        let hs: Vec<usize> = (0..self.helpers.len())
            .filter(|h| self.helpers[*h].params.iter().any(|k| k.is_mut()) && self.arrays_ok(*h))
            .collect();
        if hs.is_empty() {
            return vec![];
        }
        let h = *self.rng.pick(&hs);
        let params = self.helpers[h].params.clone();
        let mut pre = vec![];
        let mut roots: Vec<String> = vec![];
        let mut args: Vec<Option<Arg>> = vec![None; params.len()];
        for (i, k) in params.iter().enumerate() {
            if !k.is_mut() {
                continue;
            }
            let (text, root) = match self.mut_place(k, &roots) {
                Some(p) if self.rng.chance(0.85) => p,
                // (No temporary of a struct with a boxed field: `Box::new` is outside the
                // subset.)
                _ if !self.temp_ok(k) => return pre,
                _ => {
                    let name = self.fresh();
                    let init = self.temp_init(k, d.min(2));
                    self.declare_place(&name, k, true);
                    pre.push(S::Let {
                        names: vec![name.clone()],
                        mutable: true,
                        ty: None,
                        init,
                    });
                    (format!("&mut {name}"), name)
                }
            };
            if !text.starts_with("&mut ") || text.starts_with("&mut *") {
                self.mark("mut-pass-on");
            }
            roots.push(root);
            args[i] = Some(Arg::Mut(text));
        }
        let pr = Pr {
            generic: self.generic,
            probe: false,
        };
        for (i, k) in params.iter().enumerate() {
            if args[i].is_some() {
                continue;
            }
            let mut a = self.arg(k, d.saturating_sub(1));
            // Rust refuses another argument reading what an `&mut` one borrows.
            let text = pr.args(std::slice::from_ref(&a));
            let reads = text
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
                .any(|t| roots.iter().any(|r| r == t));
            if reads {
                a = match k {
                    PK::Arr(dims) | PK::RefArr(dims) if self.ok("call-arg-arrlit") => {
                        self.mark("call-arg-arrlit");
                        Arg::ArrLit(
                            (0..dims[0]).map(|_| E::Lit(self.lit())).collect(),
                            matches!(k, PK::RefArr(_)),
                        )
                    }
                    PK::Scalar if self.ok("call-arg-lit") => {
                        self.mark("call-arg-lit");
                        Arg::F(E::Lit(self.lit()))
                    }
                    // No other argument to give: no call.
                    _ => return pre,
                };
            }
            args[i] = Some(a);
        }
        let args: Vec<Arg> = args.into_iter().flatten().collect();
        let g = self.helpers[h].name.clone();
        if self.helpers[h].out != OutK::Scalar || self.rng.chance(0.4) {
            pre.push(S::Call(g, args));
            return pre;
        }
        let call = E::Call(g, args);
        // Read what the call writes, before it (first operand) and after it (a later statement).
        let read = match (roots.first(), self.rng.chance(0.5)) {
            (Some(r), true) => self.read_of(r),
            _ => None,
        };
        let init = match read {
            Some(r) => E::Bin(
                *self.rng.pick(&['+', '*', '-']),
                Box::new(r),
                Box::new(call),
            ),
            None => call,
        };
        let v = self.fresh();
        self.declare(&v, VK::F, false);
        pre.push(S::Let {
            names: vec![v],
            mutable: false,
            ty: None,
            init: Init::E(init),
        });
        pre
    }

    /// The value of a new binding of the kind an `&mut` parameter `k` points to: an expression,
    /// an array literal (zeros when nested), a struct literal.
    fn temp_init(&mut self, k: &PK, d: usize) -> Init {
        match k {
            PK::MutArr(dims) if dims.len() == 1 => {
                Init::List((0..dims[0]).map(|_| self.e(d)).collect())
            }
            PK::MutArr(dims) => Init::Zeros(dims.clone()),
            PK::MutStruct(si) => {
                let st = self.structs[*si].clone();
                let fields = st
                    .fields
                    .iter()
                    .map(|(f, dims, boxed)| {
                        let n: usize = dims.iter().product();
                        let es = (0..n).map(|_| self.e(d.min(1))).collect();
                        (f.clone(), dims.clone(), *boxed, es)
                    })
                    .collect();
                Init::Struct(st.name, fields)
            }
            _ => Init::E(self.e(d)),
        }
    }

    /// Whether `temp_init` can make a value of kind `k` (not a struct with a boxed field:
    /// `Box::new` of active values is outside the subset).
    fn temp_ok(&self, k: &PK) -> bool {
        match k {
            PK::MutStruct(si) => !self.structs[*si].fields.iter().any(|(.., boxed)| *boxed),
            _ => true,
        }
    }

    /// Declares `name`, bound to a value of the kind `&mut` parameter `k` points to.
    fn declare_place(&mut self, name: &str, k: &PK, mutable: bool) {
        match k {
            PK::MutArr(dims) => self.declare(name, VK::Arr(dims.clone()), mutable),
            PK::MutStruct(si) => self.struct_vars.push((name.to_string(), *si, mutable)),
            _ => self.declare(name, VK::F, mutable),
        }
    }

    /// The places `std::mem::swap` and `std::mem::replace` may take here: mutable scalars,
    /// elements, whole arrays, fields and whole structs (`&mut a`, `&mut a[i]`, `&mut s.w`,
    /// `&mut *x` for the function's own `&mut` parameters), with their root binding and the kind
    /// of `&mut` parameter they would match.
    fn mem_places(&mut self) -> Vec<(String, String, PK)> {
        let pr = Pr {
            generic: false,
            probe: false,
        };
        let mut out = vec![];
        for v in self.vars() {
            if !v.mutable {
                continue;
            }
            let name = v.name.clone();
            match &v.kind {
                VK::F if name.starts_with("(*") => {
                    let root = name
                        .trim_start_matches("(*")
                        .trim_end_matches(')')
                        .to_string();
                    out.push((format!("&mut *{root}"), root, PK::MutScalar));
                }
                VK::F if !name.contains('.') => {
                    out.push((format!("&mut {name}"), name, PK::MutScalar))
                }
                VK::Arr(d) => {
                    let mut t = format!("&mut {name}");
                    for n in d.clone() {
                        let i = self.idx(n);
                        t.push_str(&format!("[{}]", pr.ie(&i)));
                    }
                    out.push((t, name.clone(), PK::MutScalar));
                    if self.mut_refs.contains(&name) {
                        out.push((format!("&mut *{name}"), name, PK::MutArr(d.clone())));
                    } else if !self.refs.contains(&name) {
                        out.push((format!("&mut {name}"), name, PK::MutArr(d.clone())));
                    }
                }
                VK::Vec(n) => {
                    let i = self.idx(*n);
                    out.push((format!("&mut {name}[{}]", pr.ie(&i)), name, PK::MutScalar));
                }
                _ => {}
            }
        }
        for (sv, si, m) in self.struct_vars.clone() {
            if !m {
                continue;
            }
            for (f, d, boxed) in self.structs[si].fields.clone() {
                if d.is_empty() {
                    out.push((format!("&mut {sv}.{f}"), sv.clone(), PK::MutScalar));
                } else if !boxed {
                    out.push((format!("&mut {sv}.{f}"), sv.clone(), PK::MutArr(d)));
                }
            }
            let whole = if self.mut_refs.contains(&sv) {
                format!("&mut *{sv}")
            } else {
                format!("&mut {sv}")
            };
            out.push((whole, sv, PK::MutStruct(si)));
        }
        out
    }

    /// `std::mem::swap(&mut a, &mut b)` of two places of the same type (rooted at different
    /// bindings, or at a new `let mut` temporary), or `let old = std::mem::replace(&mut a, v);`
    /// with `v` bound first when it reads `a` (Rust refuses `replace(&mut a, a * 2.0)`), the
    /// old value maybe beside a read of `a` in the same expression (`a[0] + replace(&mut a[1],
    /// v)`: Rust reads `a[0]` first). `desugar::mem_calls` makes them the assignments they are.
    fn mem_swap(&mut self, d: usize) -> Vec<S> {
        let places = self.mem_places();
        if places.is_empty() {
            return vec![];
        }
        let (text, root, k) = self.rng.pick(&places).clone();
        let mut out = vec![];
        if self.rng.chance(0.55) {
            let partners: Vec<String> = places
                .iter()
                .filter(|(_, r, kk)| *kk == k && *r != root)
                .map(|(t, ..)| t.clone())
                .collect();
            let other = if !partners.is_empty() && self.rng.chance(0.8) {
                self.rng.pick(&partners).clone()
            } else if !self.temp_ok(&k) {
                return vec![];
            } else {
                let name = self.fresh();
                let init = self.temp_init(&k, d);
                self.declare_place(&name, &k, true);
                out.push(S::Let {
                    names: vec![name.clone()],
                    mutable: true,
                    ty: None,
                    init,
                });
                format!("&mut {name}")
            };
            let (a, b) = if self.rng.chance(0.5) {
                (text, other)
            } else {
                (other, text)
            };
            out.push(S::Call(
                "std::mem::swap".into(),
                vec![Arg::Mut(a), Arg::Mut(b)],
            ));
            return out;
        }
        // The new value: inline when it does not read the root, else bound first.
        let pr = Pr {
            generic: self.generic,
            probe: false,
        };
        let value = match &k {
            PK::MutScalar => {
                let e = self.e(d);
                let reads = pr
                    .e(&e)
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
                    .any(|t| t == root);
                if reads || self.rng.chance(0.4) {
                    let v = self.fresh();
                    self.declare(&v, VK::F, false);
                    out.push(S::Let {
                        names: vec![v.clone()],
                        mutable: false,
                        ty: None,
                        init: Init::E(e),
                    });
                    Arg::F(E::Var(v))
                } else {
                    Arg::F(e)
                }
            }
            _ if !self.temp_ok(&k) => return vec![],
            _ => {
                let v = self.fresh();
                let init = self.temp_init(&k, d);
                // (A struct is moved into the call: not named afterwards.)
                if !matches!(k, PK::MutStruct(_)) {
                    self.declare_place(&v, &k, false);
                }
                out.push(S::Let {
                    names: vec![v.clone()],
                    mutable: false,
                    ty: None,
                    init,
                });
                match k {
                    PK::MutArr(_) => Arg::ArrVar(v, false),
                    _ => Arg::F(E::Var(v)),
                }
            }
        };
        let old = self.fresh();
        let args = vec![Arg::Mut(text), value];
        let init = match &k {
            PK::MutScalar => {
                let call = E::Call("std::mem::replace".into(), args);
                let read = if self.rng.chance(0.4) {
                    self.read_of(&root)
                } else {
                    None
                };
                Init::E(match read {
                    Some(r) => E::Bin(
                        *self.rng.pick(&['+', '*', '-']),
                        Box::new(r),
                        Box::new(call),
                    ),
                    None => call,
                })
            }
            _ => Init::Call("std::mem::replace".into(), args),
        };
        self.declare_place(&old, &k, false);
        out.push(S::Let {
            names: vec![old],
            mutable: false,
            ty: None,
            init,
        });
        out
    }

    /// A float read of the binding `root` (a scalar, an element, a field).
    fn read_of(&mut self, root: &str) -> Option<E> {
        for v in self.vars().into_iter().rev() {
            let base = v
                .name
                .trim_start_matches("(*")
                .trim_end_matches(')')
                .to_string();
            if base != root {
                continue;
            }
            return match &v.kind {
                VK::F => Some(E::Var(v.name.clone())),
                VK::Arr(d) => {
                    let ix = d.clone().iter().map(|n| self.idx(*n)).collect();
                    Some(E::Idx(v.name.clone(), ix))
                }
                VK::Vec(n) => {
                    let i = self.idx(*n);
                    Some(E::Idx(v.name.clone(), vec![i]))
                }
                _ => None,
            };
        }
        for (sv, si, _) in self.struct_vars.clone() {
            if sv == root {
                let (f, d, _) = self.structs[si].fields[0].clone();
                return d.is_empty().then(|| E::Var(format!("{sv}.{f}")));
            }
        }
        None
    }

    fn call_expr(&mut self, d: usize) -> E {
        // Inside the recursive helper, a call to itself while it may make more (at most two:
        // the calls multiply with the depth).
        let own = |g: &Self, h: usize| match &g.self_call {
            Some((name, _, left)) => g.helpers[h].name != *name || *left > 0,
            None => true,
        };
        let scalar: Vec<usize> = (0..self.helpers.len())
            .filter(|h| self.helpers[*h].out == OutK::Scalar && self.callable(*h) && own(self, *h))
            .collect();
        if scalar.is_empty() {
            return self.e(d - 1);
        }
        self.mark("call");
        let h = *self.rng.pick(&scalar);
        if let Some((name, _, left)) = &mut self.self_call
            && self.helpers[h].name == *name
        {
            *left -= 1;
        }
        let args = self.call_args(h, d);
        E::Call(self.helpers[h].name.clone(), args)
    }

    /// Places that can be written: (place, name of the variable read by `compound-self`).
    fn places(&mut self) -> Vec<(Place, E)> {
        let mut out = vec![];
        for v in self.vars() {
            if !v.mutable {
                continue;
            }
            match &v.kind {
                VK::F => out.push((Place::Var(v.name.clone()), E::Var(v.name.clone()))),
                VK::Arr(d) => {
                    let d = d.clone();
                    let ix: Vec<IE> = d.iter().map(|n| self.idx(*n)).collect();
                    let ix2: Vec<IE> = d.iter().map(|n| self.idx(*n)).collect();
                    out.push((Place::Idx(v.name.clone(), ix), E::Idx(v.name.clone(), ix2)));
                }
                VK::Vec(n) => {
                    let n = *n;
                    let i = self.idx(n);
                    let i2 = self.idx(n);
                    out.push((
                        Place::Idx(v.name.clone(), vec![i]),
                        E::Idx(v.name.clone(), vec![i2]),
                    ));
                }
                _ => {}
            }
        }
        for (sv, si, m) in self.struct_vars.clone() {
            if !m {
                continue;
            }
            for (f, d, boxed) in self.structs[si].fields.clone() {
                if boxed {
                    continue;
                }
                let name = format!("{sv}.{f}");
                if d.is_empty() {
                    out.push((Place::Var(name.clone()), E::Var(name)));
                } else {
                    let ix: Vec<IE> = d.iter().map(|n| self.idx(*n)).collect();
                    let ix2: Vec<IE> = d.iter().map(|n| self.idx(*n)).collect();
                    out.push((Place::Idx(name.clone(), ix), E::Idx(name, ix2)));
                }
            }
        }
        out
    }

    fn block(&mut self, n: usize, depth: usize) -> Vec<S> {
        self.push_scope();
        let mut out = vec![];
        for _ in 0..n {
            let s = self.stmt(depth);
            out.extend(s);
        }
        self.pop_scope();
        out
    }

    fn label(&mut self) -> Option<String> {
        if self.want("label", 0.3) {
            self.labels += 1;
            Some(format!("'l{}", self.labels))
        } else {
            None
        }
    }

    fn loop_body(&mut self, label: Option<String>, depth: usize) -> Vec<S> {
        self.loops.push(LoopCtx {
            label,
            block: false,
            value: false,
        });
        let n = self.rng.range(1, 3) as usize;
        let body = self.block(n, depth + 1);
        self.loops.pop();
        body
    }

    fn stmt(&mut self, depth: usize) -> Vec<S> {
        let ed = 3usize.saturating_sub(depth / 2);
        // Decided from a stream of its own: the programs without it stay as they were.
        if self.ok("mem-swap") && Rng(self.rng.0 ^ 0x6d65_6d5f_7377_6170).chance(0.02) {
            let s = self.mem_swap(ed.min(2));
            if !s.is_empty() {
                self.mark("mem-swap");
                return s;
            }
        }
        if self
            .helpers
            .iter()
            .any(|h| h.params.iter().any(|k| k.is_mut()))
            && self.want("mut-call", 0.15)
        {
            self.mark("call");
            return self.mut_call(ed);
        }
        let roll = self.rng.below(100);
        match roll {
            // let
            0..=17 => {
                let shadow: Vec<String> = self
                    .vars()
                    .into_iter()
                    .filter(|v| {
                        matches!(v.kind, VK::F) && !v.name.contains('.') && !v.name.starts_with('(')
                    })
                    .map(|v| v.name)
                    .collect();
                let e = self.e(ed);
                let name = if !shadow.is_empty() && self.want("let-shadow", 0.2) {
                    self.rng.pick(&shadow).clone()
                } else {
                    self.fresh()
                };
                let mutable = self.want("let-mut", 0.5);
                let ty = if self.want("let-typed", 0.2) {
                    Some("FT".to_string())
                } else {
                    None
                };
                self.declare(&name, VK::F, mutable);
                vec![S::Let {
                    names: vec![name],
                    mutable,
                    ty,
                    init: Init::E(e),
                }]
            }
            18..=21 => {
                if self.want("tuple-let", 0.5) {
                    let tuple_helpers: Vec<usize> = (0..self.helpers.len())
                        .filter(|h| self.helpers[*h].out == OutK::Tuple(2) && self.callable(*h))
                        .collect();
                    let init = if !tuple_helpers.is_empty()
                        && self.ok("call")
                        && self.ok("call-tuple")
                        && self.rng.chance(0.5)
                    {
                        self.mark("call");
                        self.mark("call-tuple");
                        let h = *self.rng.pick(&tuple_helpers);
                        let args = self.call_args(h, ed);
                        Init::Call(self.helpers[h].name.clone(), args)
                    } else if self.want("sin-cos", 0.2) {
                        Init::Tuple("sin_cos", self.e(ed))
                    } else {
                        Init::Pair(self.e(ed), self.e(ed))
                    };
                    let a = self.fresh();
                    let b = self.fresh();
                    self.declare(&a, VK::F, false);
                    self.declare(&b, VK::F, false);
                    vec![S::Let {
                        names: vec![a, b],
                        mutable: false,
                        ty: None,
                        init,
                    }]
                } else if let Some(h) = (0..self.helpers.len())
                    .find(|h| matches!(self.helpers[*h].out, OutK::Array(_)) && self.callable(*h))
                    && self.ok("call")
                    && self.want("call-array-out", 0.5)
                {
                    self.mark("call");
                    let OutK::Array(n) = self.helpers[h].out else {
                        unreachable!()
                    };
                    let args = self.call_args(h, ed);
                    let a = self.fresh();
                    self.declare(&a, VK::Arr(vec![n]), false);
                    vec![S::Let {
                        names: vec![a],
                        mutable: false,
                        ty: None,
                        init: Init::Call(self.helpers[h].name.clone(), args),
                    }]
                } else if self.want("passive-tuple", 0.4) {
                    let a = self.fresh();
                    let b = self.fresh();
                    self.declare(&a, VK::PF, false);
                    self.declare(&b, VK::PF, false);
                    let (x, y) = (self.lit(), self.lit());
                    vec![S::Let {
                        names: vec![a, b],
                        mutable: false,
                        ty: None,
                        init: Init::Pair(E::Lit(x), E::Lit(y)),
                    }]
                } else if self.want("passive-float", 0.5) {
                    let a = self.fresh();
                    self.declare(&a, VK::PF, false);
                    vec![S::Let {
                        names: vec![a],
                        mutable: false,
                        ty: None,
                        init: Init::E(E::Lit(self.lit())),
                    }]
                } else {
                    let a = self.fresh();
                    let v = self.rng.range(0, 2);
                    self.declare(&a, VK::Int(v, v), false);
                    vec![S::Let {
                        names: vec![a],
                        mutable: false,
                        ty: Some("usize".into()),
                        init: Init::Int(IE::Lit(v)),
                    }]
                }
            }
            22..=27 => {
                let n = self.rng.range(2, 4) as usize;
                let name = self.fresh();
                if self.want("local-vec", 0.25) {
                    self.declare(&name, VK::Vec(n), true);
                    vec![S::Let {
                        names: vec![name],
                        mutable: true,
                        ty: None,
                        init: Init::VecZeros(n),
                    }]
                } else if self.want("passive-arr", 0.25) {
                    self.declare(&name, VK::PArr(n), false);
                    let vs = (0..n).map(|_| self.lit()).collect();
                    vec![S::Let {
                        names: vec![name],
                        mutable: false,
                        ty: None,
                        init: Init::Passive(vs),
                    }]
                } else if self.ok("local-arr") {
                    self.mark("local-arr");
                    let init = if self.want("local-arr-list", 0.4) {
                        Init::List((0..n).map(|_| self.e(ed.min(2))).collect())
                    } else {
                        Init::Zeros(vec![n])
                    };
                    self.declare(&name, VK::Arr(vec![n]), true);
                    vec![S::Let {
                        names: vec![name],
                        mutable: true,
                        ty: None,
                        init,
                    }]
                } else {
                    vec![]
                }
            }
            28..=49 => {
                let places = self.places();
                if places.is_empty() || !self.ok("assign") {
                    return self.stmt(depth);
                }
                self.mark("assign");
                let (place, read) = self.rng.pick(&places).clone();
                let op = if self.want("compound", 0.6) {
                    if self.want("compound-div", 0.12) {
                        Some('/')
                    } else {
                        Some(*self.rng.pick(&['+', '-', '*', '+', '-']))
                    }
                } else {
                    None
                };
                let mut rhs = self.e(ed);
                if op == Some('/') {
                    // Divide by something away from zero.
                    rhs = self.pos(rhs);
                }
                if op != Some('/') && self.want("compound-self", 0.25) {
                    rhs = if self.rng.chance(0.5) {
                        read
                    } else {
                        E::Bin('*', Box::new(E::Lit(0.5)), Box::new(read))
                    };
                } else if op == Some('*') {
                    // Keep products bounded.
                    rhs = E::Meth("cos", Box::new(rhs), vec![], false);
                }
                // A compound assignment whose right side happens to read its own place is the
                // `compound-self` construct too.
                let mut op = op;
                let base = match &place {
                    Place::Var(n) | Place::Idx(n, _) => {
                        n.split('.').next().unwrap_or(n).to_string()
                    }
                };
                let text = Pr {
                    generic: false,
                    probe: false,
                }
                .e(&rhs);
                let mentions = text
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
                    .any(|t| t == base);
                if op.is_some() && mentions {
                    if self.ok("compound-self") {
                        self.mark("compound-self");
                    } else {
                        op = None;
                    }
                }
                vec![S::Assign { place, op, rhs }]
            }
            50..=59 if depth < 3 && self.ok("if-stmt") => {
                self.mark("if-stmt");
                let cond = self.cond(2);
                let n = self.rng.range(1, 2) as usize;
                let then = self.block(n, depth + 1);
                let els = if self.want("if-else", 0.5) {
                    Some(self.block(n, depth + 1))
                } else {
                    None
                };
                vec![S::If { cond, then, els }]
            }
            60..=63 if depth < 3 && self.ok("for-elem") && !self.flat_arrays().is_empty() => {
                self.mark("for-elem");
                let xs = self.flat_arrays();
                let (src, len) = self.rng.pick(&xs).clone();
                let var = self.fresh();
                let idx = if self.want("for-enumerate", 0.3) {
                    Some(self.fresh())
                } else {
                    None
                };
                let copied = idx.is_none() && self.rng.chance(0.5);
                let mut adapters = if self.want("for-adapters", 0.4) {
                    self.position_adapters(len)
                } else {
                    String::new()
                };
                // (Literals in predicates are `f64`: not in generic functions.)
                if (!self.generic || idx.is_some()) && self.want("for-filter", 0.3) {
                    // A passive predicate on the item (`&f64` with `enumerate`'s index beside
                    // it, or the item itself).
                    let c = self.rng.range(-8, 8) as f64 / 10.0;
                    adapters.push_str(&match (&idx, copied) {
                        (Some(_), _) if self.generic || self.rng.chance(0.5) => {
                            ".filter(|(i, _)| i % 2 == 0)".to_string()
                        }
                        (Some(_), _) => format!(".filter(|(_, v)| **v > {c:?})"),
                        (None, true) => format!(".filter(|v| v.abs() > {c:?})"),
                        (None, false) => format!(".filter(|&&v| v < {c:?})"),
                    });
                }
                self.push_scope();
                // The iterated array is borrowed by the loop: not writable in its body.
                if let Some(v) = self.vars().into_iter().find(|v| v.name == src) {
                    self.declare(&src, v.kind, false);
                }
                self.declare(&var, VK::F, false);
                if let Some(i) = &idx {
                    self.declare(i, VK::Int(0, len as i64 - 1), false);
                }
                let body = self.loop_body(None, depth);
                self.pop_scope();
                vec![S::ForElem {
                    var,
                    idx,
                    src,
                    copied,
                    adapters,
                    body,
                }]
            }
            60..=73 if depth < 3 && self.ok("for") => {
                self.mark("for");
                let label = self.label();
                let var = self.fresh();
                let mut lo = IE::Lit(self.rng.range(0, 1));
                let mut hi_v = self.rng.range(2, 4);
                let mut hi = IE::Lit(hi_v);
                let ints = self.ints();
                let vecs: Vec<(String, usize)> = self
                    .vars()
                    .into_iter()
                    .filter_map(|v| {
                        if let VK::Vec(n) = v.kind {
                            Some((v.name, n))
                        } else {
                            None
                        }
                    })
                    .collect();
                if !vecs.is_empty() && self.want("for-len", 0.3) {
                    let (n, len) = self.rng.pick(&vecs).clone();
                    lo = IE::Lit(0);
                    hi = IE::Len(n);
                    hi_v = len as i64;
                } else if let Some((n, _a, b)) = ints
                    .iter()
                    .find(|(n, a, b)| a == b && *b >= 1 && *b <= 4 && !self.i32s.contains(n))
                    .cloned()
                    && self.want("for-param-bound", 0.4)
                {
                    hi = IE::Var(n);
                    hi_v = b;
                }
                let inclusive = matches!(hi, IE::Lit(_)) && self.want("for-inclusive", 0.15);
                let lo_v = if let IE::Lit(v) = lo { v } else { 0 };
                let (hi_i, top) = if inclusive {
                    (IE::Lit(hi_v - 1), hi_v - 1)
                } else {
                    (hi, hi_v - 1)
                };
                let rev = self.want("for-rev", 0.25);
                let step = if self.want("for-step", 0.15) { 2 } else { 1 };
                self.push_scope();
                self.declare(&var, VK::Int(lo_v, top.max(lo_v)), false);
                let body = self.loop_body(label.clone(), depth);
                self.pop_scope();
                vec![S::For {
                    label,
                    var,
                    lo,
                    hi: hi_i,
                    inclusive,
                    rev,
                    step,
                    body,
                }]
            }
            74..=79 if depth < 3 => {
                // A `loop` exits by `break`: inside another loop that is a nested break.
                let nested = !self.loops.is_empty();
                let is_while = self.rng.chance(0.5) || (nested && !self.ok("break-nested"));
                let c = if is_while { "while" } else { "loop" };
                if !self.ok(c) {
                    return vec![];
                }
                self.mark(c);
                if !is_while && nested {
                    self.mark("break-nested");
                }
                let label = self.label();
                let counter = self.fresh();
                let n = self.rng.range(1, 3);
                self.push_scope();
                self.declare(&counter, VK::Int(1, n), false);
                let body = self.loop_body(label.clone(), depth);
                self.pop_scope();
                if is_while {
                    vec![S::While {
                        label,
                        counter,
                        n,
                        body,
                    }]
                } else {
                    vec![S::Loop {
                        label,
                        counter,
                        n,
                        body,
                    }]
                }
            }
            80..=86 if !self.loops.is_empty() => {
                let brk = self.rng.chance(0.5);
                let c = if brk { "break" } else { "continue" };
                let nested = self.loops.len() >= 2;
                if !self.ok(c) || (nested && !self.ok("break-nested")) {
                    return vec![];
                }
                // Target: the innermost loop, or a labelled loop (or labelled block, for a
                // `break`). An unlabelled exit cannot leave a labelled block (E0695).
                let unlabelled_ok = !self.loops.last().is_some_and(|l| l.block);
                let labelled: Vec<usize> = (0..self.loops.len())
                    .filter(|&k| self.loops[k].label.is_some() && (brk || !self.loops[k].block))
                    .collect();
                let target = if !labelled.is_empty() && (!unlabelled_ok || self.rng.chance(0.5)) {
                    Some(*self.rng.pick(&labelled))
                } else if unlabelled_ok {
                    None
                } else {
                    return vec![];
                };
                self.mark(c);
                if nested {
                    self.mark("break-nested");
                }
                let ctx = &self.loops[target.unwrap_or(self.loops.len() - 1)];
                let (label, value) = (target.and(ctx.label.clone()), ctx.value);
                let cond = self.cond(1);
                let s = match (brk, value) {
                    (true, true) => S::BreakValue(label, self.e(2)),
                    (true, false) => S::Break(label),
                    (false, _) => S::Continue(label),
                };
                vec![S::If {
                    cond,
                    then: vec![s],
                    els: None,
                }]
            }
            87..=90
                if self.ok("return-early")
                    && (self.loops.is_empty() || self.ok("return-in-loop")) =>
            {
                self.mark("return-early");
                if !self.loops.is_empty() {
                    self.mark("return-in-loop");
                }
                let cond = self.cond(1);
                let out = self.out_expr();
                vec![S::If {
                    cond,
                    then: vec![S::Return(out)],
                    els: None,
                }]
            }
            91..=95 if depth < 3 && self.ok("match") => {
                self.mark("match");
                let (scrut, lo, hi) = self.int_expr();
                let arms: Vec<(i64, Vec<S>)> = (lo..=hi.min(lo + 1))
                    .map(|k| (k, self.block(1, depth + 1)))
                    .collect();
                let default = self.block(1, depth + 1);
                vec![S::Match {
                    scrut,
                    arms,
                    default,
                }]
            }
            96..=99 if depth < 3 && self.ok("loop") && self.want("loop-value", 0.4) => {
                self.loop_value(depth)
            }
            96..=99 if depth < 3 && self.want("labelled-block", 0.5) => self.labelled_block(depth),
            _ => vec![],
        }
    }

    /// `let name = 'l: loop { .. break 'l v; .. };`: a loop used as a value, its state the
    /// variables around, left after at most `n` rounds with `tail` (read where it breaks), or
    /// earlier by the `break`s with values its body may hold.
    fn loop_value(&mut self, depth: usize) -> Vec<S> {
        self.labels += 1;
        let label = format!("'l{}", self.labels);
        let counter = self.fresh();
        let n = self.rng.range(1, 3);
        let tail = self.e(2);
        self.declare(&counter, VK::Int(1, n + 1), false);
        // A value left early, now and then (the body's own exits are drawn at random); drawn
        // before the body, so that it reads only what is declared around the loop.
        let early = self.rng.chance(0.5).then(|| (self.cond(1), self.e(2)));
        self.loops.push(LoopCtx {
            label: Some(label.clone()),
            block: false,
            value: true,
        });
        let nb = self.rng.range(1, 3) as usize;
        let mut body = self.block(nb, depth + 1);
        if let Some((cond, v)) = early {
            let k = self.rng.below(body.len() + 1);
            body.insert(
                k,
                S::If {
                    cond,
                    then: vec![S::BreakValue(Some(label.clone()), v)],
                    els: None,
                },
            );
        }
        self.loops.pop();
        let name = self.fresh();
        self.declare(&name, VK::F, false);
        vec![S::LoopValue {
            name,
            label,
            counter,
            n,
            body,
            tail,
        }]
    }

    /// A labelled block, used as a value (`let v = 'b: { .. break 'b e; .. tail };`) or as a
    /// statement (`'b: { .. break 'b; .. }`), with one conditional `break` to it at least.
    fn labelled_block(&mut self, depth: usize) -> Vec<S> {
        self.labels += 1;
        let label = format!("'b{}", self.labels);
        let valued = self.rng.chance(0.7);
        // The conditional exit reads only what is declared around the block (it may land
        // before the body's own `let`s).
        let cond = self.cond(1);
        let exit = if valued {
            S::BreakValue(Some(label.clone()), self.e(2))
        } else {
            S::Break(Some(label.clone()))
        };
        self.push_scope();
        self.loops.push(LoopCtx {
            label: Some(label.clone()),
            block: true,
            value: valued,
        });
        let nb = self.rng.range(1, 3) as usize;
        let mut body = vec![];
        for _ in 0..nb {
            body.extend(self.stmt(depth + 1));
        }
        let k = self.rng.below(body.len() + 1);
        body.insert(
            k,
            S::If {
                cond,
                then: vec![exit],
                els: None,
            },
        );
        let tail = valued.then(|| self.e(2));
        self.loops.pop();
        self.pop_scope();
        let name = valued.then(|| {
            let n = self.fresh();
            self.declare(&n, VK::F, false);
            n
        });
        vec![S::Block {
            name,
            label,
            body,
            tail,
        }]
    }

    fn out_expr(&mut self) -> Out {
        match self.out.clone() {
            OutK::Scalar => Out::Scalar(self.e(3)),
            OutK::Tuple(n) => Out::Tuple((0..n).map(|_| self.e(2)).collect()),
            OutK::Array(n) => {
                let arrs: Vec<String> = self
                    .vars()
                    .into_iter()
                    .filter(|v| matches!(&v.kind, VK::Arr(d) if d == &vec![n]))
                    .map(|v| v.name)
                    .filter(|n| !self.refs.contains(n))
                    .collect();
                if !arrs.is_empty() && self.want("out-arr-var", 0.5) {
                    Out::ArrVar(self.rng.pick(&arrs).clone())
                } else {
                    Out::Array((0..n).map(|_| self.e(2)).collect())
                }
            }
            OutK::Struct(si) => {
                let mutated: Vec<String> = self
                    .struct_vars
                    .iter()
                    .filter(|(n, s, m)| *s == si && *m && !self.mut_refs.contains(n))
                    .map(|(n, _, _)| n.clone())
                    .collect();
                if !mutated.is_empty() {
                    return Out::StructVar(mutated[0].clone());
                }
                let st = self.structs[si].clone();
                Out::Struct(
                    st.name.clone(),
                    st.fields
                        .iter()
                        .map(|(f, d, _)| {
                            if d.is_empty() {
                                (f.clone(), vec![self.e(2)], false)
                            } else {
                                (f.clone(), (0..d[0]).map(|_| self.e(2)).collect(), true)
                            }
                        })
                        .collect(),
                )
            }
        }
    }

    fn dims(&mut self, nested: bool) -> Vec<usize> {
        if nested {
            vec![self.rng.range(2, 3) as usize, 2]
        } else {
            vec![self.rng.range(2, 3) as usize]
        }
    }

    fn param_kind(&mut self, top: bool) -> PK {
        let roll = self.rng.below(100);
        if !top {
            return match roll {
                0..=14 if self.ok("call-arr-param") => PK::Arr(vec![2]),
                15..=24 if self.ok("call-refarr-param") => PK::RefArr(vec![2]),
                // Helpers with `&mut` parameters, called by `mut_call`.
                25..=39
                    if self.ok("mut-call")
                        && self.ok("call")
                        && self.ok("param-mut-ref")
                        && !self.recursive =>
                {
                    self.mark("param-mut-ref");
                    // `&mut S` now and then, decided from a stream of its own (the other
                    // programs stay as they were).
                    if !self.generic
                        && self.ok("param-struct")
                        && Rng(self.rng.0 ^ 0x6d75_745f_7374_7275).chance(0.3)
                    {
                        self.mark("param-struct");
                        PK::MutStruct(self.struct_def())
                    } else if self.rng.chance(0.5) {
                        PK::MutScalar
                    } else {
                        PK::MutArr(vec![2])
                    }
                }
                _ => PK::Scalar,
            };
        }
        match roll {
            0..=9 if self.ok("param-arr") => {
                self.mark("param-arr");
                let nested = self.want("param-nested-arr", 0.3);
                PK::Arr(self.dims(nested))
            }
            10..=19 if self.ok("param-ref-arr") => {
                self.mark("param-ref-arr");
                let nested = self.want("param-nested-arr", 0.3);
                PK::RefArr(self.dims(nested))
            }
            20..=25 if self.ok("param-slice") => {
                self.mark("param-slice");
                PK::Slice(self.rng.range(2, 4) as usize)
            }
            26..=30 if self.ok("param-refvec") => {
                self.mark("param-refvec");
                PK::RefVec(self.rng.range(2, 4) as usize)
            }
            31..=37 if !self.generic && self.ok("param-struct") => {
                self.mark("param-struct");
                PK::Struct(self.struct_def())
            }
            38..=44 if !self.generic && self.ok("param-ref-struct") => {
                self.mark("param-ref-struct");
                PK::RefStruct(self.struct_def())
            }
            45..=51 if self.ok("param-usize") => {
                self.mark("param-usize");
                PK::Usize(self.rng.range(1, 3))
            }
            55..=57 if self.ok("param-enum") && self.ok("param-ref-enum") => {
                let by_ref = self.rng.chance(0.5);
                self.mark(if by_ref {
                    "param-ref-enum"
                } else {
                    "param-enum"
                });
                self.mode_enum = true;
                PK::Enum(by_ref, self.rng.chance(0.5))
            }
            58..=59 if self.ok("param-enum") => {
                self.mark("param-enum");
                self.mode_enum = true;
                PK::Enum(false, self.rng.chance(0.5))
            }
            60..=69 if self.ok("param-mut-ref") => {
                self.mark("param-mut-ref");
                // Half the time the kind of a helper's `&mut` parameter, so that it can be
                // passed on.
                let helper_kinds: Vec<PK> = self
                    .helpers
                    .iter()
                    .flat_map(|h| h.params.iter().filter(|k| k.is_mut()).cloned())
                    .collect();
                if !helper_kinds.is_empty() && self.rng.chance(0.5) {
                    return self.rng.pick(&helper_kinds).clone();
                }
                match self.rng.below(3) {
                    0 => PK::MutScalar,
                    1 if !self.generic && self.ok("param-struct") => {
                        self.mark("param-struct");
                        PK::MutStruct(self.struct_def())
                    }
                    _ => {
                        let nested = self.want("param-nested-arr", 0.3);
                        PK::MutArr(self.dims(nested))
                    }
                }
            }
            52..=54 if self.ok("param-i32") => {
                self.mark("param-i32");
                PK::I32(self.rng.range(0, 3))
            }
            _ => PK::Scalar,
        }
    }

    fn struct_def(&mut self) -> usize {
        if !self.structs.is_empty() && self.rng.chance(0.5) {
            return 0;
        }
        let mut fields = vec![
            ("a".to_string(), vec![], false),
            ("w".to_string(), vec![self.rng.range(2, 3) as usize], false),
        ];
        if self.rng.chance(0.3) {
            fields.push(("m".to_string(), vec![2, 2], false));
        }
        if self.want("param-box-field", 0.3) {
            fields.push(("bx".to_string(), vec![3], true));
        }
        let n = self.structs.len();
        self.structs.push(StructDef {
            name: format!("S{n}"),
            fields,
        });
        n
    }

    fn enter_params(&mut self, params: &[Param]) {
        self.scopes = vec![vec![]];
        self.struct_vars.clear();
        self.struct_marks.clear();
        self.refs.clear();
        self.mut_refs.clear();
        self.mut_params.clear();
        self.i32s.clear();
        self.loops.clear();
        for p in params {
            let name = p.name.clone();
            match &p.kind {
                PK::Scalar => self.declare(&name, VK::F, p.mutable),
                PK::Arr(d) => self.declare(&name, VK::Arr(d.clone()), p.mutable),
                PK::RefArr(d) => {
                    self.refs.insert(name.clone());
                    self.declare(&name, VK::Arr(d.clone()), false)
                }
                PK::Slice(n) | PK::RefVec(n) => self.declare(&name, VK::Vec(*n), false),
                PK::Struct(s) => self.struct_vars.push((name, *s, p.mutable)),
                PK::RefStruct(s) => self.struct_vars.push((name, *s, false)),
                PK::Usize(v) => self.declare(&name, VK::Int(*v, *v), false),
                PK::Enum(..) => self.declare(&name, VK::Enum, false),
                PK::I32(v) => {
                    self.i32s.insert(name.clone());
                    self.declare(&name, VK::Int(*v, *v), false)
                }
                // `&mut` parameters: read and written in place (`*x`, `x[i]`, `x.a`), passed on.
                PK::MutScalar => self.declare(&format!("(*{name})"), VK::F, true),
                PK::MutArr(d) => {
                    self.refs.insert(name.clone());
                    self.mut_refs.insert(name.clone());
                    self.declare(&name, VK::Arr(d.clone()), true)
                }
                PK::MutStruct(s) => {
                    self.mut_refs.insert(name.clone());
                    self.struct_vars.push((name.clone(), *s, true))
                }
            }
            if p.kind.is_mut() {
                self.mut_params.push((p.name.clone(), p.kind.clone()));
            }
        }
    }

    /// A function; `recursive`: a helper that calls itself, with a passive depth parameter
    /// (its last) decreasing by one a call, and its base case at depth 0.
    fn func(&mut self, name: &str, top: bool, recursive: bool) -> Func {
        self.unsupported_done = !top;
        self.names.clear();
        self.counter = 0;
        self.labels = 0;
        let np = if top {
            self.rng.range(1, 4)
        } else {
            self.rng.range(1, 3)
        } as usize;
        let mut params = vec![];
        for _ in 0..np {
            self.recursive = recursive;
            let kind = self.param_kind(top);
            let pname = if params.is_empty() && self.rng.chance(0.5) {
                self.names.insert("x".into());
                "x".to_string()
            } else {
                self.fresh()
            };
            let mutable = match kind {
                PK::Scalar | PK::Arr(_) => self.want("param-mut", 0.25),
                PK::Struct(_) => self.want("param-mut-struct", 0.3),
                _ => false,
            };
            params.push(Param {
                name: pname,
                kind,
                mutable,
            });
        }
        if !params.iter().any(|p| p.kind.is_float()) {
            params[0].kind = PK::Scalar;
        }
        let depth = recursive.then(|| {
            let d = self.fresh();
            params.push(Param {
                name: d.clone(),
                kind: PK::Usize(0),
                mutable: false,
            });
            d
        });
        let out = if top {
            match self.rng.below(10) {
                0 if self.ok("out-tuple") => {
                    self.mark("out-tuple");
                    OutK::Tuple(2)
                }
                1 if self.ok("out-array") => {
                    self.mark("out-array");
                    OutK::Array(self.rng.range(2, 3) as usize)
                }
                2 if !self.generic && self.ok("out-struct") => {
                    let mutated = params
                        .iter()
                        .position(|p| p.mutable && matches!(p.kind, PK::Struct(_)));
                    match mutated {
                        Some(i) if self.ok("out-struct-mutated") => {
                            self.mark("out-struct");
                            self.mark("out-struct-mutated");
                            let PK::Struct(s) = params[i].kind else {
                                unreachable!()
                            };
                            OutK::Struct(s)
                        }
                        _ if self.ok("out-struct-literal") => {
                            // A struct of scalars and flat arrays, built by a literal.
                            self.mark("out-struct");
                            self.mark("out-struct-literal");
                            let n = self.structs.len();
                            let k = self.rng.range(2, 3) as usize;
                            self.structs.push(StructDef {
                                name: format!("S{n}"),
                                fields: vec![
                                    ("a".into(), vec![], false),
                                    ("w".into(), vec![k], false),
                                ],
                            });
                            OutK::Struct(n)
                        }
                        _ => OutK::Scalar,
                    }
                }
                _ => OutK::Scalar,
            }
        } else if recursive {
            OutK::Scalar
        } else {
            match self.rng.below(10) {
                0 | 1 => OutK::Tuple(2),
                2 => OutK::Array(2),
                _ => OutK::Scalar,
            }
        };
        // A mutated struct returned must not be a fresh literal: drop the mut of other struct
        // params when the output is another struct type.
        if let OutK::Struct(s) = out {
            for p in params.iter_mut() {
                if p.mutable && matches!(p.kind, PK::Struct(t) if t != s) {
                    p.mutable = false;
                }
            }
        }
        self.out = out.clone();
        self.enter_params(&params);
        // The depth is 0 to 2 (the base case is generated before the helper can call itself).
        let base = depth.map(|d| {
            for v in self.scopes[0].iter_mut().filter(|v| v.name == d) {
                v.kind = VK::Int(0, 2);
            }
            let base = self.out_expr();
            self.helpers.push(HelperSig {
                name: name.into(),
                params: params.iter().map(|p| p.kind.clone()).collect(),
                out: out.clone(),
            });
            self.self_call = Some((name.into(), d.clone(), 2));
            (d, base)
        });
        let n = if top {
            self.rng.range(2, 7)
        } else {
            self.rng.range(1, 3)
        } as usize;
        let mut body = vec![];
        if self.ok("let-mut") && self.rng.chance(0.6) {
            let s = self.fresh();
            let e = self.e(2);
            self.declare(&s, VK::F, true);
            self.mark("let-mut");
            body.push(S::Let {
                names: vec![s],
                mutable: true,
                ty: None,
                init: Init::E(e),
            });
        }
        for _ in 0..n {
            let depth = if top { 0 } else { 2 };
            body.extend(self.stmt(depth));
        }
        let mut ret = self.out_expr();
        // A recursive helper whose body made no call to itself makes one in its result.
        let h = self.helpers.len().saturating_sub(1);
        if let (Some((_, _, 2)), Out::Scalar(e)) = (&self.self_call, &ret)
            && self.callable(h)
        {
            let args = self.call_args(h, 2);
            self.mark("call");
            let call = E::Call(name.into(), args);
            ret = Out::Scalar(E::Bin('+', Box::new(e.clone()), Box::new(call)));
        }
        self.self_call = None;
        let mut f = Func {
            name: name.into(),
            params,
            out,
            body,
            ret,
            options: String::new(),
            forward: true,
            reverse: true,
            wrt: None,
            base,
        };
        if top {
            let mut opts = vec![];
            if self.want("opt-forward", 0.1) {
                opts.push("forward".to_string());
                f.reverse = false;
            } else if self.want("opt-reverse", 0.12) {
                opts.push("reverse".to_string());
                f.forward = false;
            }
            let floats: Vec<String> = f
                .params
                .iter()
                .filter(|p| p.kind.is_float())
                .map(|p| p.name.clone())
                .collect();
            if floats.len() >= 2 && self.want("opt-wrt", 0.2) {
                let mut w: Vec<String> = floats
                    .iter()
                    .filter(|_| self.rng.chance(0.5))
                    .cloned()
                    .collect();
                if w.is_empty() {
                    w.push(floats[0].clone());
                }
                opts.push(format!("wrt({})", w.join(", ")));
                f.wrt = Some(w);
            }
            f.options = opts.join(", ");
        }
        f
    }

    pub fn program(&mut self) -> Program {
        self.generic = self.want("generic", 0.15);
        let nh = if self.ok("call") {
            self.rng.below(3)
        } else {
            0
        };
        let mut funcs = vec![];
        for h in 0..nh {
            let name = format!("g{h}");
            // `g0` may call itself (and then registers itself before its body). Drawn from a
            // stream of its own, so that the programs without recursion stay as they were.
            let recursive = h == 0
                && self.ok("recursion")
                && Rng(self.rng.0 ^ 0x7265_6375_7273_6521).chance(0.3);
            if recursive {
                self.mark("recursion");
            }
            let f = self.func(&name, false, recursive);
            if !recursive {
                self.helpers.push(HelperSig {
                    name,
                    params: f.params.iter().map(|p| p.kind.clone()).collect(),
                    out: f.out.clone(),
                });
            }
            funcs.push(f);
        }
        let f = self.func("f", true, false);
        funcs.push(f);
        Program {
            generic: self.generic,
            mode_enum: self.mode_enum,
            structs: self.structs.clone(),
            funcs,
        }
    }
}

fn leak(s: &str) -> &'static str {
    RULES.iter().copied().find(|r| *r == s).unwrap()
}

/// The program `k` of the run with seed `seed`, and the constructs it uses.
pub fn generate(seed: u64, k: usize, cfg: &Cfg) -> (Program, BTreeSet<String>) {
    let mut g = Gen::new(program_seed(seed, k), cfg);
    let p = g.program();
    (p, g.used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_respects_without() {
        let cfg = Cfg {
            without: BTreeSet::new(),
        };
        for k in 0..50 {
            let (a, _) = generate(9, k, &cfg);
            let (b, _) = generate(9, k, &cfg);
            assert_eq!(crate::ast::module(&a), crate::ast::module(&b));
        }
        // Every construct a program records is one --without knows.
        for k in 0..300 {
            let (_, used) = generate(3, k, &cfg);
            for c in used {
                let known = CONSTRUCTS.contains(&c.as_str())
                    || c.strip_prefix("rule:").is_some_and(|r| RULES.contains(&r));
                assert!(known, "construct {c} is not in CONSTRUCTS");
            }
        }
        // --without c: no program uses c.
        for c in CONSTRUCTS {
            let cfg = Cfg {
                without: [c.to_string()].into_iter().collect(),
            };
            for k in 0..40 {
                let (_, used) = generate(5, k, &cfg);
                assert!(
                    !used.contains(*c),
                    "--without {c} still generates it (program {k})"
                );
            }
        }
        let without: BTreeSet<String> = ["for", "for-elem", "while", "loop", "rule", "call"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let cfg = Cfg { without };
        for k in 0..50 {
            let (p, used) = generate(9, k, &cfg);
            let src = crate::ast::source(&p);
            // (`impl Add for Ov` of the construct `operators` is not a loop.)
            let for_loop = src
                .lines()
                .any(|l| l.contains("for ") && !l.trim_start().starts_with("impl"));
            assert!(
                !for_loop && !src.contains("while ") && !src.contains("loop {"),
                "{src}"
            );
            assert!(
                !used.iter().any(|c| c.starts_with("rule") || c == "call"),
                "{used:?}"
            );
        }
    }
}
