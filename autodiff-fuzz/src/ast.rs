//! The generator's own small AST of a program (structs, helper functions, the function under
//! test), printed to Rust source. The shrinker edits this tree, not text.

use std::fmt::Write;

/// An integer (passive) expression: indices, counters, loop bounds.
#[derive(Clone, Debug)]
pub enum IE {
    Lit(i64),
    Var(String),
    Add(Box<IE>, i64),
    Sub(Box<IE>, i64),
    /// `(e) % n`
    Mod(Box<IE>, i64),
    /// `n - 1 - e`
    Rev(i64, Box<IE>),
    /// `x.len()`
    Len(String),
}

#[derive(Clone, Debug)]
pub enum Cond {
    F(Box<E>, &'static str, Box<E>),
    I(IE, &'static str, IE),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

/// A float expression.
#[derive(Clone, Debug)]
pub enum E {
    Lit(f64),
    /// A scalar variable or a field path (`p.a`).
    Var(String),
    /// `a[i][j]`, `p.w[i]`.
    Idx(String, Vec<IE>),
    Bin(char, Box<E>, Box<E>),
    Neg(Box<E>),
    /// `x.name(args)` (ufcs false) or `f64::name(x, args)` (ufcs true).
    Meth(&'static str, Box<E>, Vec<E>, bool),
    Powi(Box<E>, IE),
    /// `(i as f64)` / `F::from(i).unwrap()`.
    Cast(IE),
    Stop(Box<E>),
    If(Box<Cond>, Box<E>, Box<E>),
    Match(IE, Vec<(i64, E)>, Box<E>),
    Call(String, Vec<Arg>),
    /// `match m { Mode::A => a, Mode::B => b }` on a passive enum.
    MatchEnum(String, Box<E>, Box<E>),
    /// A construct outside the subset around an expression: the template with `U` replaced.
    Unsup(&'static str, Box<E>),
    /// An iterator reduction over a 1-D float array / slice / Vec: the template with `X`
    /// replaced by the variable (`X.iter().map(|v| v * v).sum::<f64>()`).
    Reduce(&'static str, String),
    /// A block expression (closures, `while let`, `if let`): the template with `@0`, `@1` replaced by
    /// the expressions (`{ let sq = |v: f64| v * v; sq(@0) + sq(@1) }`).
    Template(&'static str, Vec<E>),
    /// Part `k` of a tuple-valued float method: `x.sin_cos().1` (ufcs false) or
    /// `f64::sin_cos(x).1` (ufcs true).
    Part(&'static str, Box<E>, usize, bool),
}

/// A call argument.
#[derive(Clone, Debug)]
pub enum Arg {
    F(E),
    /// An array variable, by value or `&`.
    ArrVar(String, bool),
    /// `[e1, e2]`, by value or `&`.
    ArrLit(Vec<E>, bool),
    /// An integer argument: the depth of a recursive helper (`depth - 1`, `2`).
    Int(IE),
    /// Passed by `&mut`, as written: `&mut a`, `&mut a[1]`, `&mut s.w`, or an `&mut`
    /// parameter passed on (`x`, `&mut *x`).
    Mut(String),
}

#[derive(Clone, Debug)]
pub enum Place {
    Var(String),
    Idx(String, Vec<IE>),
}

#[derive(Clone, Debug)]
pub enum Init {
    E(E),
    Zeros(Vec<usize>),
    List(Vec<E>),
    VecZeros(usize),
    /// A passive float array `[0.5, -1.0]`.
    Passive(Vec<f64>),
    Int(IE),
    /// `(e1, e2)` bound to a tuple pattern.
    Pair(E, E),
    /// `g(..)` returning a tuple or an array, bound whole.
    Call(String, Vec<Arg>),
    /// A tuple-valued float method bound to a tuple pattern: `let (a, b) = x.sin_cos();`.
    Tuple(&'static str, E),
    /// A struct literal `S { a: e, w: [e, e], m: [[e, e], [e, e]], bx: Box::new([..]) }`:
    /// each field's name, dimensions, whether boxed, and its elements in row-major order.
    Struct(String, Vec<(String, Vec<usize>, bool, Vec<E>)>),
}

#[derive(Clone, Debug)]
pub enum Out {
    Scalar(E),
    Tuple(Vec<E>),
    Array(Vec<E>),
    ArrVar(String),
    /// `S { a: e, w: [..] }`: fields in order (scalar or array).
    Struct(String, Vec<(String, Vec<E>, bool)>),
    StructVar(String),
}

#[derive(Clone, Debug)]
pub enum S {
    Let {
        names: Vec<String>,
        mutable: bool,
        ty: Option<String>,
        init: Init,
    },
    Assign {
        place: Place,
        op: Option<char>,
        rhs: E,
    },
    If {
        cond: Cond,
        then: Vec<S>,
        els: Option<Vec<S>>,
    },
    For {
        label: Option<String>,
        var: String,
        lo: IE,
        hi: IE,
        inclusive: bool,
        rev: bool,
        step: usize,
        body: Vec<S>,
    },
    /// `let mut c = 0; while c < n { c += 1; body }`
    While {
        label: Option<String>,
        counter: String,
        n: i64,
        body: Vec<S>,
    },
    /// `let mut c = 0; loop { c += 1; if c > n { break; } body }`
    Loop {
        label: Option<String>,
        counter: String,
        n: i64,
        body: Vec<S>,
    },
    Break(Option<String>),
    /// `break 'l e;` (or `break e;`) out of a loop or labelled block used as a value.
    BreakValue(Option<String>, E),
    Continue(Option<String>),
    /// `let mut c: usize = 0; let name = 'l: loop { c += 1; if c > n { break 'l tail; } body };`
    /// a loop used as a value (its body may `break 'l v` too).
    LoopValue {
        name: String,
        label: String,
        counter: String,
        n: i64,
        body: Vec<S>,
        tail: E,
    },
    /// `let name = 'b: { body tail };` (with a name and a tail) or the statement `'b: { body }`:
    /// a labelled block, left by `break 'b v` / `break 'b` in its body.
    Block {
        name: Option<String>,
        label: String,
        body: Vec<S>,
        tail: Option<E>,
    },
    Return(Out),
    Match {
        scrut: IE,
        arms: Vec<(i64, Vec<S>)>,
        default: Vec<S>,
    },
    /// `g(args);`: a call whose output is discarded (one that writes through `&mut`).
    Call(String, Vec<Arg>),
    /// `for &v in x.iter()`, `for v in x.iter().copied()`, `for (i, &v) in x.iter().enumerate()`.
    ForElem {
        var: String,
        idx: Option<String>,
        src: String,
        copied: bool,
        /// Position adapters after the source (`.skip(1).step_by(2)`), or empty.
        adapters: String,
        body: Vec<S>,
    },
}

/// A parameter's kind.
#[derive(Clone, Debug, PartialEq)]
pub enum PK {
    Scalar,
    Arr(Vec<usize>),
    RefArr(Vec<usize>),
    Slice(usize),
    RefVec(usize),
    Struct(usize),
    RefStruct(usize),
    Usize(i64),
    I32(i64),
    /// A passive `Mode` (by reference when true), holding `Mode::A` or `Mode::B`.
    Enum(bool, bool),
    /// `&mut F`, `&mut [F; N]` (nested), `&mut S`: in/out values.
    MutScalar,
    MutArr(Vec<usize>),
    MutStruct(usize),
}

impl PK {
    pub fn is_float(&self) -> bool {
        !matches!(self, PK::Usize(_) | PK::I32(_) | PK::Enum(..))
    }

    /// An `&mut` parameter.
    pub fn is_mut(&self) -> bool {
        matches!(self, PK::MutScalar | PK::MutArr(_) | PK::MutStruct(_))
    }
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub kind: PK,
    pub mutable: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OutK {
    Scalar,
    Tuple(usize),
    Array(usize),
    Struct(usize),
}

#[derive(Clone, Debug)]
pub struct Func {
    pub name: String,
    pub params: Vec<Param>,
    pub out: OutK,
    pub body: Vec<S>,
    pub ret: Out,
    /// The attribute's arguments: "", "forward", "reverse, wrt(x)", ...
    pub options: String,
    pub forward: bool,
    pub reverse: bool,
    /// Names in `wrt(..)`, if any.
    pub wrt: Option<Vec<String>>,
    /// A helper that calls itself: its depth parameter and its base case, printed first as
    /// `if depth == 0 { return base; }` (kept out of the body so that shrinking never removes
    /// it).
    pub base: Option<(String, Out)>,
}

#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: String,
    /// (field, dims (empty: scalar), boxed)
    pub fields: Vec<(String, Vec<usize>, bool)>,
}

#[derive(Clone, Debug)]
pub struct Program {
    pub generic: bool,
    /// Whether `enum Mode { A, B }` is defined.
    pub mode_enum: bool,
    pub structs: Vec<StructDef>,
    /// Helpers first, the function under test (`f`) last.
    pub funcs: Vec<Func>,
}

pub struct Pr {
    pub generic: bool,
    /// The probe copy: no attribute, every computed float passed through `probe` (which notes
    /// a non-finite value), helpers called by their probe copies. The harness runs it to tell
    /// whether a point has non-finite intermediates, where NaN derivatives are the right answer.
    pub probe: bool,
}

/// The name of a function's probe copy.
pub fn probe_name(f: &str) -> String {
    format!("__probe_{f}")
}

/// The elements `es` (row-major) as a literal of dimensions `dims`: `e`, `[e, e]`,
/// `[[e, e], [e, e]]`.
fn nested_lit(dims: &[usize], es: &[String]) -> String {
    match dims {
        [] => es[0].clone(),
        [_] => format!("[{}]", es.join(", ")),
        [_, rest @ ..] => {
            let inner: usize = rest.iter().product();
            let rows: Vec<String> = es.chunks(inner).map(|c| nested_lit(rest, c)).collect();
            format!("[{}]", rows.join(", "))
        }
    }
}

fn ty_arr(ft: &str, dims: &[usize]) -> String {
    let mut s = ft.to_string();
    for d in dims.iter().rev() {
        s = format!("[{s}; {d}]");
    }
    s
}

impl Pr {
    fn ft(&self) -> &'static str {
        if self.generic { "F" } else { "f64" }
    }

    fn lit(&self, v: f64) -> String {
        if self.generic {
            if v == 0.0 {
                "F::zero()".into()
            } else if v == 1.0 {
                "F::one()".into()
            } else {
                format!("F::from({v:?}).unwrap()")
            }
        } else {
            let s = format!("{v:?}");
            if v < 0.0 { format!("({s})") } else { s }
        }
    }

    pub fn ie(&self, e: &IE) -> String {
        match e {
            IE::Lit(v) => format!("{v}"),
            IE::Var(n) => n.clone(),
            IE::Add(a, k) => format!("({} + {k})", self.ie(a)),
            IE::Sub(a, k) => format!("({} - {k})", self.ie(a)),
            IE::Mod(a, k) => format!("({} % {k})", self.ie(a)),
            IE::Rev(n, a) => format!("({n} - 1 - {})", self.ie(a)),
            IE::Len(x) => format!("{x}.len()"),
        }
    }

    fn cond(&self, c: &Cond) -> String {
        match c {
            Cond::F(a, op, b) => format!("{} {op} {}", self.e(a), self.e(b)),
            Cond::I(a, op, b) => format!("{} {op} {}", self.ie(a), self.ie(b)),
            Cond::And(a, b) => format!("({}) && ({})", self.cond(a), self.cond(b)),
            Cond::Or(a, b) => format!("({}) || ({})", self.cond(a), self.cond(b)),
        }
    }

    pub fn args(&self, args: &[Arg]) -> String {
        let v: Vec<String> = args
            .iter()
            .map(|a| match a {
                Arg::F(e) => self.e(e),
                Arg::ArrVar(n, r) => format!("{}{n}", if *r { "&" } else { "" }),
                Arg::ArrLit(es, r) => {
                    let v: Vec<String> = es.iter().map(|e| self.e(e)).collect();
                    format!("{}[{}]", if *r { "&" } else { "" }, v.join(", "))
                }
                Arg::Int(i) => self.ie(i),
                Arg::Mut(s) => s.clone(),
            })
            .collect();
        v.join(", ")
    }

    fn call(&self, g: &str, args: &[Arg]) -> String {
        // A path of the standard library (`std::mem::swap`): as written in every copy.
        if g.contains("::") {
            return format!("{g}({})", self.args(args));
        }
        let g = if self.probe {
            probe_name(g)
        } else {
            g.to_string()
        };
        if self.generic {
            format!("{g}::<F>({})", self.args(args))
        } else {
            format!("{g}({})", self.args(args))
        }
    }

    pub fn e(&self, e: &E) -> String {
        let s = self.e_plain(e);
        let computed = matches!(
            e,
            E::Bin(..)
                | E::Neg(_)
                | E::Meth(..)
                | E::Powi(..)
                | E::Call(..)
                | E::Reduce(..)
                | E::Template(..)
                | E::Part(..)
        );
        if self.probe && computed {
            format!("probe({s})")
        } else {
            s
        }
    }

    fn e_plain(&self, e: &E) -> String {
        match e {
            E::Lit(v) => self.lit(*v),
            E::Var(n) => n.clone(),
            E::Idx(n, ix) => {
                let mut s = n.clone();
                for i in ix {
                    write!(s, "[{}]", self.ie(i)).unwrap();
                }
                s
            }
            E::Bin(op, a, b) => format!("({} {op} {})", self.e(a), self.e(b)),
            E::Neg(a) => format!("(-{})", self.e(a)),
            E::Meth(m, x, args, ufcs) => {
                let a: Vec<String> = args.iter().map(|a| self.e(a)).collect();
                if *ufcs {
                    let mut all = vec![self.e(x)];
                    all.extend(a);
                    format!("{}::{m}({})", self.ft(), all.join(", "))
                } else if let (E::Lit(v), false) = (&**x, self.generic) {
                    // `0.5.sin()` is ambiguous to rustc: give the literal its type.
                    format!("({v:?}_f64).{m}({})", a.join(", "))
                } else {
                    format!("{}.{m}({})", self.e(x), a.join(", "))
                }
            }
            E::Powi(x, n) => match (&**x, self.generic) {
                (E::Lit(v), false) => format!("({v:?}_f64).powi({} as i32)", self.ie(n)),
                _ => format!("{}.powi({} as i32)", self.e(x), self.ie(n)),
            },
            E::Cast(i) => {
                if self.generic {
                    format!("F::from({}).unwrap()", self.ie(i))
                } else {
                    format!("({} as f64)", self.ie(i))
                }
            }
            E::Stop(a) => format!("stop_gradient({})", self.e(a)),
            E::If(c, a, b) => format!(
                "(if {} {{ {} }} else {{ {} }})",
                self.cond(c),
                self.e(a),
                self.e(b)
            ),
            E::Match(s, arms, d) => {
                let mut out = format!("(match {} {{ ", self.ie(s));
                for (k, e) in arms {
                    write!(out, "{k} => {}, ", self.e(e)).unwrap();
                }
                write!(out, "_ => {} }})", self.e(d)).unwrap();
                out
            }
            E::Call(g, args) => self.call(g, args),
            E::MatchEnum(m, a, b) => {
                format!(
                    "(match {m} {{ Mode::A => {}, Mode::B => {} }})",
                    self.e(a),
                    self.e(b)
                )
            }
            E::Unsup(t, a) => t.replace('U', &self.e(a)),
            E::Reduce(t, x) => t.replace('X', x),
            E::Part(m, x, k, ufcs) => {
                if *ufcs {
                    format!("{}::{m}({}).{k}", self.ft(), self.e(x))
                } else if let (E::Lit(v), false) = (&**x, self.generic) {
                    format!("({v:?}_f64).{m}().{k}")
                } else {
                    format!("{}.{m}().{k}", self.e(x))
                }
            }
            E::Template(t, es) => {
                let mut s = t.to_string();
                for (k, e) in es.iter().enumerate() {
                    s = s.replace(&format!("@{k}"), &self.e(e));
                }
                // A block template is an operand wherever it lands: at the start of a block
                // (`else { {..} * 0.5 }`) an unparenthesised block would be a statement.
                if s.starts_with('{') {
                    format!("({s})")
                } else {
                    s
                }
            }
        }
    }

    fn place(&self, p: &Place) -> String {
        match p {
            Place::Var(n) => n.clone(),
            Place::Idx(n, ix) => self.e(&E::Idx(n.clone(), ix.clone())),
        }
    }

    pub fn out(&self, o: &Out) -> String {
        match o {
            Out::Scalar(e) => self.e(e),
            Out::Tuple(es) => {
                let v: Vec<String> = es.iter().map(|e| self.e(e)).collect();
                format!("({})", v.join(", "))
            }
            Out::Array(es) => {
                let v: Vec<String> = es.iter().map(|e| self.e(e)).collect();
                format!("[{}]", v.join(", "))
            }
            Out::ArrVar(n) | Out::StructVar(n) => n.clone(),
            Out::Struct(s, fields) => {
                let v: Vec<String> = fields
                    .iter()
                    .map(|(f, es, arr)| {
                        if *arr {
                            let v: Vec<String> = es.iter().map(|e| self.e(e)).collect();
                            format!("{f}: [{}]", v.join(", "))
                        } else {
                            format!("{f}: {}", self.e(&es[0]))
                        }
                    })
                    .collect();
                format!("{s} {{ {} }}", v.join(", "))
            }
        }
    }

    fn label(l: &Option<String>) -> String {
        l.as_ref().map(|l| format!("{l}: ")).unwrap_or_default()
    }

    pub fn stmts(&self, body: &[S], ind: usize, out: &mut String) {
        for s in body {
            self.stmt(s, ind, out);
        }
    }

    fn stmt(&self, s: &S, ind: usize, out: &mut String) {
        let pad = "    ".repeat(ind);
        match s {
            S::Let {
                names,
                mutable,
                ty,
                init,
            } => {
                let m = if *mutable { "mut " } else { "" };
                let pat = if names.len() == 1 {
                    format!("{m}{}", names[0])
                } else {
                    let v: Vec<String> = names.iter().map(|n| format!("{m}{n}")).collect();
                    format!("({})", v.join(", "))
                };
                let ty = ty
                    .as_ref()
                    .map(|t| format!(": {}", t.replace("FT", self.ft())))
                    .unwrap_or_default();
                let rhs = match init {
                    Init::E(e) => self.e(e),
                    Init::Zeros(d) => {
                        let mut s = self.lit(0.0);
                        for n in d.iter().rev() {
                            s = format!("[{s}; {n}]");
                        }
                        s
                    }
                    Init::List(es) => {
                        let v: Vec<String> = es.iter().map(|e| self.e(e)).collect();
                        format!("[{}]", v.join(", "))
                    }
                    Init::VecZeros(n) => format!("vec![{}; {n}]", self.lit(0.0)),
                    Init::Passive(vs) => {
                        let v: Vec<String> = vs.iter().map(|v| self.lit(*v)).collect();
                        format!("[{}]", v.join(", "))
                    }
                    Init::Int(i) => self.ie(i),
                    Init::Pair(a, b) => format!("({}, {})", self.e(a), self.e(b)),
                    Init::Call(g, args) => self.call(g, args),
                    Init::Tuple(m, e) => match (e, self.generic) {
                        (E::Lit(v), false) => format!("({v:?}_f64).{m}()"),
                        _ => format!("{}.{m}()", self.e(e)),
                    },
                    Init::Struct(name, fields) => {
                        let v: Vec<String> = fields
                            .iter()
                            .map(|(f, d, boxed, es)| {
                                let es: Vec<String> = es.iter().map(|e| self.e(e)).collect();
                                let v = nested_lit(d, &es);
                                if *boxed {
                                    format!("{f}: Box::new({v})")
                                } else {
                                    format!("{f}: {v}")
                                }
                            })
                            .collect();
                        format!("{name} {{ {} }}", v.join(", "))
                    }
                };
                writeln!(out, "{pad}let {pat}{ty} = {rhs};").unwrap();
            }
            S::Assign { place, op, rhs } => {
                let p = self.place(place);
                match op {
                    None => writeln!(out, "{pad}{p} = {};", self.e(rhs)).unwrap(),
                    Some(o) if self.probe => {
                        writeln!(out, "{pad}{p} = probe({p} {o} {});", self.e(rhs)).unwrap()
                    }
                    Some(o) if self.generic => {
                        writeln!(out, "{pad}{p} = {p} {o} {};", self.e(rhs)).unwrap()
                    }
                    Some(o) => writeln!(out, "{pad}{p} {o}= {};", self.e(rhs)).unwrap(),
                }
            }
            S::If { cond, then, els } => {
                writeln!(out, "{pad}if {} {{", self.cond(cond)).unwrap();
                self.stmts(then, ind + 1, out);
                if let Some(els) = els {
                    writeln!(out, "{pad}}} else {{").unwrap();
                    self.stmts(els, ind + 1, out);
                }
                writeln!(out, "{pad}}}").unwrap();
            }
            S::For {
                label,
                var,
                lo,
                hi,
                inclusive,
                rev,
                step,
                body,
            } => {
                let dots = if *inclusive { "..=" } else { ".." };
                let mut range = format!("{}{dots}{}", self.ie(lo), self.ie(hi));
                if *rev || *step > 1 {
                    range = format!("({range})");
                }
                if *rev {
                    range.push_str(".rev()");
                }
                if *step > 1 {
                    write!(range, ".step_by({step})").unwrap();
                }
                writeln!(out, "{pad}{}for {var} in {range} {{", Self::label(label)).unwrap();
                self.stmts(body, ind + 1, out);
                writeln!(out, "{pad}}}").unwrap();
            }
            S::While {
                label,
                counter,
                n,
                body,
            } => {
                writeln!(out, "{pad}let mut {counter}: usize = 0;").unwrap();
                writeln!(out, "{pad}{}while {counter} < {n} {{", Self::label(label)).unwrap();
                writeln!(out, "{pad}    {counter} += 1;").unwrap();
                self.stmts(body, ind + 1, out);
                writeln!(out, "{pad}}}").unwrap();
            }
            S::Loop {
                label,
                counter,
                n,
                body,
            } => {
                writeln!(out, "{pad}let mut {counter}: usize = 0;").unwrap();
                writeln!(out, "{pad}{}loop {{", Self::label(label)).unwrap();
                writeln!(out, "{pad}    {counter} += 1;").unwrap();
                writeln!(out, "{pad}    if {counter} > {n} {{").unwrap();
                writeln!(out, "{pad}        break;").unwrap();
                writeln!(out, "{pad}    }}").unwrap();
                self.stmts(body, ind + 1, out);
                writeln!(out, "{pad}}}").unwrap();
            }
            S::Break(l) => writeln!(
                out,
                "{pad}break{};",
                l.as_ref().map(|l| format!(" {l}")).unwrap_or_default()
            )
            .unwrap(),
            S::BreakValue(l, e) => writeln!(
                out,
                "{pad}break{} {};",
                l.as_ref().map(|l| format!(" {l}")).unwrap_or_default(),
                self.e(e)
            )
            .unwrap(),
            S::LoopValue {
                name,
                label,
                counter,
                n,
                body,
                tail,
            } => {
                writeln!(out, "{pad}let mut {counter}: usize = 0;").unwrap();
                writeln!(out, "{pad}let {name} = {label}: loop {{").unwrap();
                writeln!(out, "{pad}    {counter} += 1;").unwrap();
                writeln!(out, "{pad}    if {counter} > {n} {{").unwrap();
                writeln!(out, "{pad}        break {label} {};", self.e(tail)).unwrap();
                writeln!(out, "{pad}    }}").unwrap();
                self.stmts(body, ind + 1, out);
                writeln!(out, "{pad}}};").unwrap();
            }
            S::Block {
                name,
                label,
                body,
                tail,
            } => {
                match name {
                    Some(n) => writeln!(out, "{pad}let {n} = {label}: {{").unwrap(),
                    None => writeln!(out, "{pad}{label}: {{").unwrap(),
                }
                self.stmts(body, ind + 1, out);
                if let Some(t) = tail {
                    writeln!(out, "{pad}    {}", self.e(t)).unwrap();
                }
                match name {
                    Some(_) => writeln!(out, "{pad}}};").unwrap(),
                    None => writeln!(out, "{pad}}}").unwrap(),
                }
            }
            S::Continue(l) => writeln!(
                out,
                "{pad}continue{};",
                l.as_ref().map(|l| format!(" {l}")).unwrap_or_default()
            )
            .unwrap(),
            S::Return(o) => writeln!(out, "{pad}return {};", self.out(o)).unwrap(),
            S::Call(g, args) => writeln!(out, "{pad}{};", self.call(g, args)).unwrap(),
            S::ForElem {
                var,
                idx,
                src,
                copied,
                adapters: ad,
                body,
            } => {
                let head = match (idx, copied) {
                    (Some(i), _) => format!("for ({i}, &{var}) in {src}.iter().enumerate(){ad}"),
                    (None, true) => format!("for {var} in {src}.iter().copied(){ad}"),
                    (None, false) => format!("for &{var} in {src}.iter(){ad}"),
                };
                writeln!(out, "{pad}{head} {{").unwrap();
                self.stmts(body, ind + 1, out);
                writeln!(out, "{pad}}}").unwrap();
            }
            S::Match {
                scrut,
                arms,
                default,
            } => {
                writeln!(out, "{pad}match {} {{", self.ie(scrut)).unwrap();
                for (k, b) in arms {
                    writeln!(out, "{pad}    {k} => {{").unwrap();
                    self.stmts(b, ind + 2, out);
                    writeln!(out, "{pad}    }}").unwrap();
                }
                writeln!(out, "{pad}    _ => {{").unwrap();
                self.stmts(default, ind + 2, out);
                writeln!(out, "{pad}    }}").unwrap();
                writeln!(out, "{pad}}}").unwrap();
            }
        }
    }

    /// The Rust type of a parameter in the function's own source.
    pub fn param_ty(&self, k: &PK, structs: &[StructDef]) -> String {
        let ft = self.ft();
        match k {
            PK::Scalar => ft.into(),
            PK::Arr(d) => ty_arr(ft, d),
            PK::RefArr(d) => format!("&{}", ty_arr(ft, d)),
            PK::Slice(_) => format!("&[{ft}]"),
            PK::RefVec(_) => format!("&Vec<{ft}>"),
            PK::Struct(s) => structs[*s].name.clone(),
            PK::RefStruct(s) => format!("&{}", structs[*s].name),
            PK::Usize(_) => "usize".into(),
            PK::I32(_) => "i32".into(),
            PK::Enum(r, _) => {
                if *r {
                    "&Mode".into()
                } else {
                    "Mode".into()
                }
            }
            PK::MutScalar => format!("&mut {ft}"),
            PK::MutArr(d) => format!("&mut {}", ty_arr(ft, d)),
            PK::MutStruct(s) => format!("&mut {}", structs[*s].name),
        }
    }

    pub fn out_ty(&self, o: &OutK, structs: &[StructDef], ft: &str) -> String {
        match o {
            OutK::Scalar => ft.into(),
            OutK::Tuple(n) => format!("({})", vec![ft; *n].join(", ")),
            OutK::Array(n) => format!("[{ft}; {n}]"),
            OutK::Struct(s) => structs[*s].name.clone(),
        }
    }

    pub fn func(&self, f: &Func, structs: &[StructDef], out: &mut String) {
        if self.probe {
            // No attribute.
        } else if f.options.is_empty() {
            writeln!(out, "#[differentiate]").unwrap();
        } else {
            writeln!(out, "#[differentiate({})]", f.options).unwrap();
        }
        let params: Vec<String> = f
            .params
            .iter()
            .map(|p| {
                format!(
                    "{}{}: {}",
                    if p.mutable { "mut " } else { "" },
                    p.name,
                    self.param_ty(&p.kind, structs)
                )
            })
            .collect();
        let generics = if self.generic { "<F: Float>" } else { "" };
        writeln!(
            out,
            "pub fn {}{generics}({}) -> {} {{",
            if self.probe {
                probe_name(&f.name)
            } else {
                f.name.clone()
            },
            params.join(", "),
            self.out_ty(&f.out, structs, self.ft())
        )
        .unwrap();
        if let Some((depth, base)) = &f.base {
            writeln!(out, "    if {depth} == 0 {{ return {}; }}", self.out(base)).unwrap();
        }
        self.stmts(&f.body, 1, out);
        writeln!(out, "    {}", self.out(&f.ret)).unwrap();
        writeln!(out, "}}").unwrap();
    }
}

/// The source of the program's functions and structs (no check code).
pub fn source(p: &Program) -> String {
    let pr = Pr {
        generic: p.generic,
        probe: false,
    };
    let mut s = String::new();
    if p.mode_enum {
        writeln!(
            s,
            "#[derive(Clone, Copy, Debug, PartialEq)]\npub enum Mode {{\n    A,\n    B,\n}}\n"
        )
        .unwrap();
    }
    for st in &p.structs {
        writeln!(s, "#[derive(Differentiable, Clone, Debug)]").unwrap();
        writeln!(s, "pub struct {} {{", st.name).unwrap();
        for (f, d, boxed) in &st.fields {
            let t = ty_arr("f64", d);
            if *boxed {
                writeln!(s, "    pub {f}: Box<{t}>,").unwrap();
            } else {
                writeln!(s, "    pub {f}: {t},").unwrap();
            }
        }
        writeln!(s, "}}\n").unwrap();
    }
    let mut funcs = String::new();
    for f in &p.funcs {
        pr.func(f, &p.structs, &mut funcs);
        funcs.push('\n');
    }
    if funcs.contains("mmv") {
        s.push_str(METHODS);
    }
    if funcs.contains("ova") {
        s.push_str(OPERATORS);
    }
    if funcs.contains("sfv") {
        s.push_str(STATIC_FIELDS);
    }
    s.push_str(&funcs);
    s
}

/// The struct of the construct `corpus-forms`' static fields: `Sf` with a `usize` and a `bool`
/// field (no annotation) and a `#[differentiable(skip)]` one, a differentiated function reading
/// them in index arithmetic (through a `let`) and as a condition (no loop: `--without for`
/// holds), and one returning an `Sf`
/// made by a literal.
pub const STATIC_FIELDS: &str = "#[derive(Differentiable, Clone, Debug, PartialEq)]
pub struct Sf {
    pub w: [f64; 3],
    pub n: usize,
    pub on: bool,
    #[differentiable(skip)]
    pub tag: u8,
}

#[differentiate]
pub fn sf_sum(s: &Sf, v: f64) -> f64 {
    let k = s.n - 1;
    let t = s.w[3 - s.n] * v + s.w[k] * s.w[(k + 1) % 3];
    if s.on { t } else { t * 0.5 }
}

#[differentiate]
pub fn sf_make(v: f64, k: usize) -> Sf {
    Sf { w: [v, v * v, 1.0], n: k % 3 + 1, on: k > 1, tag: 7 }
}

";

/// The struct of the construct `method`: differentiated methods taking `&self` and `self`,
/// calling each other (`self.mm_eval(..)`, `Self::mm_sq(..)`) and returning `Self`. The
/// attributes start their lines, so that the plain copy leaves them out.
pub const METHODS: &str = "#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
pub struct Mm {
    pub a: f64,
    pub b: f64,
}

impl Mm {
#[differentiate]
    pub fn mm_eval(&self, v: f64) -> f64 {
        self.a * v.sin() + self.b * v
    }
#[differentiate]
    pub fn mm_mix(&self, v: f64, w: f64) -> f64 {
        let q = self.mm_eval(v);
        q * w + Self::mm_sq(self.b)
    }
#[differentiate]
    pub fn mm_step(self, v: f64) -> Self {
        Self { a: self.a + v * self.b, b: self.b * v.cos() }
    }
#[differentiate]
    pub fn mm_sq(v: f64) -> f64 {
        v * v
    }
#[differentiate]
    pub fn mm_push(&mut self, v: f64) -> f64 {
        let old = self.a;
        self.a = 0.5 * self.a + v * self.b;
        self.b *= v.cos();
        old * v
    }
#[differentiate]
    pub fn mm_scale(&mut self, k: f64) {
        self.a *= k;
        self.b += k * self.a;
    }
}

";

/// The struct of the construct `operators`: `Ov` with differentiated operators
/// (`#[differentiate]` on their `impl` blocks): `+`, unary `-`, `-` written with both, a `*` of
/// two that is not commutative, `*` by a float on either side, `/` by a float, and `%` of two
/// whose value is a float. `*=` and `+=` are plain impls (the macro differentiates `*=` as the
/// `*`, `+=` as the linear update). The attributes start their lines, so that the plain copy
/// leaves them out.
pub const OPERATORS: &str = "#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
pub struct Ov {
    pub a: f64,
    pub b: f64,
}

#[differentiate]
impl ::core::ops::Add for Ov {
    type Output = Ov;
    fn add(self, o: Ov) -> Ov {
        Ov { a: self.a + o.a, b: self.b + o.b }
    }
}

#[differentiate]
impl ::core::ops::Neg for Ov {
    type Output = Self;
    fn neg(self) -> Self::Output {
        Self { a: -self.a, b: -self.b }
    }
}

#[differentiate]
impl ::core::ops::Sub for Ov {
    type Output = Ov;
    fn sub(self, o: Ov) -> Ov {
        self + (-o)
    }
}

#[differentiate]
impl ::core::ops::Mul for Ov {
    type Output = Ov;
    fn mul(self, o: Ov) -> Ov {
        Ov { a: self.a * o.b - self.b.sin() * o.a, b: self.b * o.b + 0.5 * self.a }
    }
}

#[differentiate]
impl ::core::ops::Mul<f64> for Ov {
    type Output = Ov;
    fn mul(self, s: f64) -> Ov {
        Ov { a: self.a * s, b: self.b * s.cos() }
    }
}

#[differentiate]
impl ::core::ops::Mul<Ov> for f64 {
    type Output = Ov;
    fn mul(self, o: Ov) -> Ov {
        o * self + Ov { a: self, b: 0.25 }
    }
}

#[differentiate]
impl ::core::ops::Div<f64> for Ov {
    type Output = Ov;
    fn div(self, s: f64) -> Ov {
        Ov { a: self.a / (1.5 + s.sin()), b: self.b - s }
    }
}

#[differentiate]
impl ::core::ops::Rem for Ov {
    type Output = f64;
    fn rem(self, o: Ov) -> f64 {
        self.a * o.a + self.b * o.b.tanh()
    }
}

impl ::core::ops::MulAssign<f64> for Ov {
    fn mul_assign(&mut self, s: f64) {
        *self = *self * s;
    }
}

impl ::core::ops::AddAssign for Ov {
    fn add_assign(&mut self, o: Ov) {
        self.a += o.a;
        self.b += o.b;
    }
}

";

/// The check code of the function under test, for one float type (`f64`, or `f32` for the
/// second instantiation of a generic program).
pub fn check(p: &Program, ft: &str, fname: &str) -> String {
    let f = p.funcs.last().unwrap();
    let pr = Pr {
        generic: false,
        probe: false,
    };
    let strict = ft == "f64";
    let mut s = String::new();
    // Flat and Rand for the structs.
    let active: Vec<bool> = f
        .params
        .iter()
        .map(|q| q.kind.is_float() && f.wrt.as_ref().is_none_or(|w| w.contains(&q.name)))
        .collect();
    let ty = |k: &PK| -> String {
        match k {
            PK::Scalar => ft.into(),
            PK::Arr(d) | PK::RefArr(d) => ty_arr(ft, d),
            PK::Slice(_) | PK::RefVec(_) => format!("Vec<{ft}>"),
            PK::Struct(i) | PK::RefStruct(i) | PK::MutStruct(i) => p.structs[*i].name.clone(),
            PK::Usize(_) => "usize".into(),
            PK::I32(_) => "i32".into(),
            PK::Enum(..) => "Mode".into(),
            PK::MutScalar => ft.into(),
            PK::MutArr(d) => ty_arr(ft, d),
        }
    };
    let rand = |k: &PK| -> String {
        match k {
            PK::Slice(n) | PK::RefVec(n) => format!("h.vec({n})"),
            PK::Usize(v) | PK::I32(v) => format!("{v}"),
            PK::Enum(_, a) => {
                if *a {
                    "Mode::A".into()
                } else {
                    "Mode::B".into()
                }
            }
            _ => "Rand::rand(h)".into(),
        }
    };
    let turbo = if p.generic {
        format!("::<{ft}>")
    } else {
        String::new()
    };
    let args: Vec<String> = f
        .params
        .iter()
        .enumerate()
        .map(|(i, q)| match &q.kind {
            PK::Scalar | PK::Usize(_) | PK::I32(_) | PK::Enum(false, _) => format!("__p{i}"),
            PK::Enum(true, _) => format!("&__p{i}"),
            PK::Arr(_) | PK::Struct(_) => format!("__p{i}.clone()"),
            PK::RefArr(_) | PK::RefVec(_) | PK::RefStruct(_) => format!("&__p{i}"),
            PK::Slice(_) => format!("&__p{i}[..]"),
            // A fresh copy of the initial state for every call (`copies`).
            PK::MutScalar | PK::MutArr(_) | PK::MutStruct(_) => format!("&mut __m{i}"),
        })
        .collect();
    let args = args.join(", ");
    // `&mut` parameters: the function is the map from (initial states, inputs) to (output,
    // final states of the active ones); a copy of the initial state before each call.
    let muts: Vec<usize> = (0..f.params.len())
        .filter(|i| f.params[*i].kind.is_mut())
        .collect();
    let copies: String = muts
        .iter()
        .map(|i| format!("let mut __m{i} = __p{i}.clone(); "))
        .collect();
    let finals = |v: &str, all: bool| -> String {
        muts.iter()
            .filter(|i| all || active[**i])
            .map(|i| format!("__m{i}.flat(&mut {v}); "))
            .collect()
    };
    let targs: Vec<String> = f
        .params
        .iter()
        .enumerate()
        .filter(|(i, _)| active[*i])
        .map(|(i, q)| match &q.kind {
            PK::Scalar | PK::Arr(_) => format!("__t{i}.clone()"),
            PK::Slice(_) | PK::RefVec(_) => format!("&__t{i}[..]"),
            PK::MutScalar | PK::MutArr(_) | PK::MutStruct(_) => format!("&mut __tm{i}"),
            _ => format!("&__t{i}"),
        })
        .collect();
    let all_args = if targs.is_empty() {
        args.clone()
    } else {
        format!("{args}, {}", targs.join(", "))
    };
    let rt = pr.out_ty(&f.out, &p.structs, ft);
    writeln!(s, "pub fn {fname}(h: &mut H) -> Result<(), String> {{").unwrap();
    writeln!(s, "    let strict = {strict};").unwrap();
    writeln!(s, "    h.strict = strict;").unwrap();
    writeln!(s, "    for _pt in 0..h.points {{").unwrap();
    for (i, q) in f.params.iter().enumerate() {
        writeln!(
            s,
            "        let __p{i}: {} = {};",
            ty(&q.kind),
            rand(&q.kind)
        )
        .unwrap();
    }
    writeln!(s, "        sg_record();").unwrap();
    writeln!(
        s,
        "        {copies}let __y: {rt} = {}{turbo}({args});",
        f.name
    )
    .unwrap();
    writeln!(s, "        sg_off();").unwrap();
    writeln!(
        s,
        "        let mut __yv = flat(&__y); {}",
        finals("__yv", false)
    )
    .unwrap();
    writeln!(
        s,
        "        let mut __fin: Vec<f64> = Vec::new(); {}",
        finals("__fin", true)
    )
    .unwrap();
    writeln!(
        s,
        "        if !h.usable(&__yv) {{ h.skipped += 1; continue; }}"
    )
    .unwrap();
    writeln!(
        s,
        "        h.yscale = 1.0 + __yv.iter().fold(0.0f64, |m, v| m.max(v.abs()));"
    )
    .unwrap();
    // Whether the point has a non-finite intermediate (an overflow that a later operation hides
    // from the output): there NaN or infinite derivatives are what the chain rule gives, and
    // such a point is counted, not failed; finite derivatives are still checked.
    writeln!(s, "        stage(\"original\");").unwrap();
    writeln!(s, "        probe_reset();").unwrap();
    writeln!(
        s,
        "        {copies}let _ = {}{turbo}({args});",
        probe_name(&f.name)
    )
    .unwrap();
    writeln!(s, "        let __nf = probe_hit();").unwrap();
    writeln!(s, "        stage(\"\");").unwrap();
    let nonfinite = |v: &str| {
        format!(
            "        if __nf && !{v}.iter().all(|v| v.is_finite()) {{ h.nonfinite += 1; continue; }}\n"
        )
    };
    writeln!(s, "        let mut __base: Vec<f64> = Vec::new();").unwrap();
    for i in (0..f.params.len()).filter(|i| active[*i]) {
        writeln!(s, "        __p{i}.flat(&mut __base);").unwrap();
    }
    writeln!(s, "        let __eval = |__v: &[f64]| -> Vec<f64> {{").unwrap();
    writeln!(s, "            let mut __it = __v.iter().copied();").unwrap();
    for i in (0..f.params.len()).filter(|i| active[*i]) {
        writeln!(s, "            let mut __p{i} = __p{i}.clone();").unwrap();
        writeln!(s, "            __p{i}.set(&mut __it);").unwrap();
    }
    writeln!(s, "            stage(\"original\");").unwrap();
    writeln!(s, "            sg_replay();").unwrap();
    writeln!(
        s,
        "            {copies}let mut __r = flat(&{}{turbo}({args})); {}",
        f.name,
        finals("__r", false)
    )
    .unwrap();
    writeln!(s, "            sg_off();").unwrap();
    writeln!(s, "            __r").unwrap();
    writeln!(s, "        }};").unwrap();
    writeln!(s, "        let mut __tv: Vec<f64> = Vec::new();").unwrap();
    for (i, q) in f.params.iter().enumerate().filter(|(i, _)| active[*i]) {
        writeln!(
            s,
            "        let __t{i}: {} = {};",
            ty(&q.kind),
            rand(&q.kind)
        )
        .unwrap();
        writeln!(s, "        __t{i}.flat(&mut __tv);").unwrap();
        if q.kind.is_mut() {
            writeln!(s, "        let mut __tm{i} = __t{i}.clone();").unwrap();
        }
    }
    writeln!(s, "        let __fd = h.fd(&__eval, &__base, &__tv);").unwrap();
    writeln!(s, "        stage(\"\");").unwrap();
    if f.forward {
        writeln!(s, "        stage(\"{}_jvp\");", f.name).unwrap();
        writeln!(
            s,
            "        {copies}let (__y1, __dy) = {}_jvp{turbo}({all_args});",
            f.name
        )
        .unwrap();
        writeln!(
            s,
            "        let mut __y1v = flat(&__y1); {}",
            finals("__y1v", false)
        )
        .unwrap();
        writeln!(s, "        h.same(\"{ft} jvp value\", &__yv, &__y1v)?;").unwrap();
        if !muts.is_empty() {
            writeln!(
                s,
                "        let mut __f1: Vec<f64> = Vec::new(); {} h.same(\"{ft} jvp final states\", &__fin, &__f1)?;",
                finals("__f1", true)
            )
            .unwrap();
        }
        let dfinals: String = muts
            .iter()
            .filter(|i| active[**i])
            .map(|i| format!("__tm{i}.flat(&mut __dyv); "))
            .collect();
        writeln!(s, "        let mut __dyv = flat(&__dy); {dfinals}").unwrap();
        s.push_str(&nonfinite("__dyv"));
        writeln!(s, "        if let Some(fd) = &__fd {{ h.close(\"jvp vs finite differences\", fd, &__dyv, 1e-5)?; }}").unwrap();
    }
    if f.reverse {
        writeln!(s, "        let __c: {rt} = Rand::rand(h);").unwrap();
        writeln!(s, "        let mut __cv = flat(&__c);").unwrap();
        // The final states' cotangents, after the output's.
        let mut cts = String::from("__c.clone()");
        for i in muts.iter().filter(|i| active[**i]) {
            writeln!(
                s,
                "        let __cm{i}: {} = Rand::rand(h); __cm{i}.flat(&mut __cv);",
                ty(&f.params[*i].kind)
            )
            .unwrap();
            write!(cts, ", __cm{i}.clone()").unwrap();
        }
        writeln!(s, "        stage(\"{}_vjp\");", f.name).unwrap();
        writeln!(
            s,
            "        {copies}let (__y2, __pb) = {}_vjp{turbo}({args});",
            f.name
        )
        .unwrap();
        writeln!(
            s,
            "        let mut __y2v = flat(&__y2); {}",
            finals("__y2v", false)
        )
        .unwrap();
        writeln!(s, "        h.same(\"{ft} vjp value\", &__yv, &__y2v)?;").unwrap();
        if !muts.is_empty() {
            writeln!(
                s,
                "        let mut __f2: Vec<f64> = Vec::new(); {} h.same(\"{ft} vjp final states\", &__fin, &__f2)?;",
                finals("__f2", true)
            )
            .unwrap();
        }
        writeln!(s, "        stage(\"pullback of {}_vjp\");", f.name).unwrap();
        writeln!(s, "        let __adj = flat(&__pb({cts}));").unwrap();
        s.push_str(&nonfinite("__adj"));
        writeln!(
            s,
            "        if let Some(fd) = &__fd {{ h.dots(\"vjp vs finite differences\", &__adj, &__tv, &__cv, fd, 1e-5)?; }}"
        )
        .unwrap();
        if f.forward {
            writeln!(s, "        h.dots(\"dot-product identity <J t, c> = <t, J^T c>\", &__adj, &__tv, &__cv, &__dyv, 1e-10)?;")
                .unwrap();
        }
        if f.out == OutK::Scalar {
            let one = if ft == "f64" { "1.0f64" } else { "1.0f32" };
            writeln!(s, "        stage(\"{}_grad\");", f.name).unwrap();
            writeln!(
                s,
                "        {copies}let (__y3, __g) = {}_grad{turbo}({args});",
                f.name
            )
            .unwrap();
            writeln!(
                s,
                "        h.same(\"{ft} grad value\", &flat(&__y), &flat(&__y3))?;"
            )
            .unwrap();
            writeln!(s, "        let __gv = flat(&__g);").unwrap();
            s.push_str(&nonfinite("__gv"));
            writeln!(s, "        stage(\"{}_vjp\");", f.name).unwrap();
            writeln!(
                s,
                "        {copies}let (_, __pb1) = {}_vjp{turbo}({args});",
                f.name
            )
            .unwrap();
            // `_grad` is the pullback at 1 and zero cotangents for the final states.
            let mut ones = one.to_string();
            for i in muts.iter().filter(|i| active[**i]) {
                write!(ones, ", Differentiable::zero_like(&__p{i})").unwrap();
            }
            writeln!(
                s,
                "        h.close(\"grad vs pullback(1)\", &flat(&__pb1({ones})), &__gv, 1e-12)?;"
            )
            .unwrap();
            writeln!(
                s,
                "        let mut __c1 = vec![0.0f64; __yv.len()]; __c1[0] = 1.0;"
            )
            .unwrap();
            writeln!(
                s,
                "        if let Some(fd) = &__fd {{ h.dots(\"grad vs finite differences\", &__gv, &__tv, &__c1, fd, 1e-5)?; }}"
            )
            .unwrap();
        }
    }
    writeln!(s, "    }}").unwrap();
    writeln!(s, "    Ok(())").unwrap();
    writeln!(s, "}}").unwrap();
    s
}

/// Flat and Rand for the program's structs.
pub fn struct_impls(p: &Program) -> String {
    let mut s = String::new();
    for st in &p.structs {
        writeln!(s, "impl Flat for {} {{", st.name).unwrap();
        writeln!(s, "    fn flat(&self, out: &mut Vec<f64>) {{").unwrap();
        for (f, _, _) in &st.fields {
            writeln!(s, "        self.{f}.flat(out);").unwrap();
        }
        writeln!(
            s,
            "    }}\n    fn set(&mut self, it: &mut dyn Iterator<Item = f64>) {{"
        )
        .unwrap();
        for (f, _, _) in &st.fields {
            writeln!(s, "        self.{f}.set(it);").unwrap();
        }
        writeln!(s, "    }}\n}}").unwrap();
        writeln!(
            s,
            "impl Rand for {} {{\n    fn rand(h: &mut H) -> Self {{",
            st.name
        )
        .unwrap();
        for (i, _) in st.fields.iter().enumerate() {
            writeln!(s, "        let __f{i} = Rand::rand(h);").unwrap();
        }
        let v: Vec<String> = st
            .fields
            .iter()
            .enumerate()
            .map(|(i, (f, _, _))| format!("{f}: __f{i}"))
            .collect();
        writeln!(s, "        {} {{ {} }}\n    }}\n}}", st.name, v.join(", ")).unwrap();
    }
    s
}

/// The module file of a program: its source, the struct impls and the check functions.
pub fn module(p: &Program) -> String {
    let mut s = String::from(
        "#![allow(warnings, clippy::all)]\nuse super::support::*;\nuse super::support::stop_gradient;\nuse autodiff::prelude::*;\n\n",
    );
    s.push_str(&source(p));
    let probe = Pr {
        generic: p.generic,
        probe: true,
    };
    for f in &p.funcs {
        probe.func(f, &p.structs, &mut s);
        s.push('\n');
    }
    s.push_str(&struct_impls(p));
    if p.generic {
        s.push_str(&check(p, "f64", "check_f64"));
        s.push_str(&check(p, "f32", "check_f32"));
        s.push_str("pub fn check(h: &mut H) -> Result<(), String> {\n    check_f64(h)?;\n    check_f32(h)\n}\n");
    } else {
        s.push_str(&check(p, "f64", "check"));
    }
    s
}
