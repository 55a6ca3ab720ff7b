//! Parameter elements whose adjoint receives exactly one contribution.
//!
//! A parameter's adjoint starts at zero, and the reverse sweep adds every read's contribution
//! into it (`p__bar.w[i][j] = p__bar.w[i][j] + c`). When an element is read at one place only,
//! indexed by the variables of every loop around that place, and every one of those loops runs
//! over a range, each element is read at most once per call, so its adjoint is still zero when
//! the contribution arrives and the sweep can store it (`p__bar.w[i][j] = c`), as a
//! hand-written gradient does: no load, no add.
//!
//! Input:
//! ```text
//! for i in 0..NH { let mut s = p.b[i]; for j in 0..NI { s += p.w[i][j] * x[j]; } .. }
//! ```
//! `p.b[i]` (loops `{i}`, indices `{i}`) and `p.w[i][j]` (loops `{i, j}`, indices `{i, j}`)
//! qualify; `x[j]` (loops `{i, j}`, indices `{j}`: read once per `i`) does not. A parameter that
//! is also read whole (`f(&p)`), read at a second place, or written, has no such element.
//!
//! The same walk finds values that need no tape because memory keeps them: `let t = x.tanh();
//! h[i] = t;` in a loop over `i`, where `h` is declared in the function's body and written
//! nowhere else, leaves `t` in `h[i]` until the reverse sweep of that iteration starts (later
//! iterations write other elements; the only restore of `h[i]`, this assignment's own, runs
//! after it), so the reverse sweep reads `h[i]` instead of popping `t` from a tape (`aliases`).

use std::collections::{HashMap, HashSet};

use crate::ir::{Block, Func, Operand, Place, Proj, Rhs, Stmt, VarId, key};

/// What the walk finds.
pub struct Analysis {
    /// The `(parameter, projections)` pairs whose adjoint gets at most one contribution per
    /// call.
    pub once: HashSet<(VarId, String)>,
    /// Bindings whose value the reverse sweep reads back from the array element they were
    /// stored into.
    pub aliases: HashMap<VarId, Place>,
    /// How many places read each active parameter.
    pub param_reads: HashMap<VarId, usize>,
}

pub fn analyse(f: &Func, body: &Block, by_name: &HashMap<String, VarId>) -> Analysis {
    let mut w = Walk::new(f, by_name, body.id);
    w.block(body);
    let mut once = HashSet::new();
    for (v, reads) in &w.reads {
        if w.writes.contains_key(v) {
            continue;
        }
        for (i, r) in reads.iter().enumerate() {
            let alone = reads
                .iter()
                .enumerate()
                .all(|(j, o)| j == i || !overlap(&r.fields, &o.fields));
            if r.exact && alone {
                once.insert((*v, r.key.clone()));
            }
        }
    }
    let param_reads = w.read_counts();
    let aliases = w
        .stores
        .into_iter()
        .filter(|(t, p)| {
            w.writes.get(&p.var) == Some(&1)
                && !w.passive.contains(&p.var)
                && !w.writes.contains_key(t)
                && f.var(*t).scalar
        })
        .collect();
    Analysis {
        once,
        aliases,
        param_reads,
    }
}

/// How many places in `b` read each active parameter.
pub fn param_reads(f: &Func, b: &Block, by_name: &HashMap<String, VarId>) -> HashMap<VarId, usize> {
    let mut w = Walk::new(f, by_name, usize::MAX);
    w.block(b);
    w.read_counts()
}

/// Two reads may touch the same element unless their leading field paths diverge
/// (`p.w[..]` and `p.b[..]` do not; `p.w[i]` and `p.w[0]`, or `p` and `p.w[i]`, may).
fn overlap(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// One read of an active parameter.
struct Read {
    key: String,
    /// The field names before the first index.
    fields: Vec<String>,
    /// Indexed by exactly the variables of the enclosing loops, all over ranges.
    exact: bool,
}

struct Walk<'a> {
    f: &'a Func,
    by_name: &'a HashMap<String, VarId>,
    body_id: usize,
    /// The enclosing loops: the `for` variable's name when the loop runs over a range.
    loops: Vec<Option<String>>,
    /// Every read of an active parameter.
    reads: HashMap<VarId, Vec<Read>>,
    /// How many assignments write each variable (whole or in part).
    writes: HashMap<VarId, usize>,
    /// Variables that passive code mentions (and so may write).
    passive: HashSet<VarId>,
    /// `h[..] = t` directly after `let t` in the same block, `h` declared in the body and
    /// indexed by exactly the enclosing loops.
    stores: Vec<(VarId, Place)>,
}

impl<'a> Walk<'a> {
    /// A walk of a function's body (`body_id`: its block, whose arrays may hold values read
    /// back; `usize::MAX` when only counting reads).
    fn new(f: &'a Func, by_name: &'a HashMap<String, VarId>, body_id: usize) -> Self {
        Walk {
            f,
            by_name,
            body_id,
            loops: Vec::new(),
            reads: HashMap::new(),
            writes: HashMap::new(),
            passive: HashSet::new(),
            stores: Vec::new(),
        }
    }

    /// How many places read each active parameter.
    fn read_counts(&self) -> HashMap<VarId, usize> {
        self.reads.iter().map(|(v, r)| (*v, r.len())).collect()
    }

    fn block(&mut self, b: &Block) {
        for (k, s) in b.stmts.iter().enumerate() {
            if let Stmt::Assign {
                place,
                value: Operand::Place(t),
                ..
            } = s
            {
                let declared_before = b.stmts[..k]
                    .iter()
                    .any(|s| matches!(s, Stmt::Let { var, .. } if *var == t.var));
                if t.proj.is_empty()
                    && declared_before
                    && self.f.var(place.var).scope == Some(self.body_id)
                    && self.f.var(place.var).param.is_none()
                    && self.exact(place)
                {
                    self.stores.push((t.var, place.clone()));
                }
            }
            self.stmt(s);
        }
        if let Some(t) = &b.tail {
            self.operand(t);
        }
    }

    /// Indexed by exactly the variables of the enclosing loops, all over ranges: each element
    /// is reached at most once per call.
    fn exact(&self, p: &Place) -> bool {
        let mut indices: Vec<String> = p
            .proj
            .iter()
            .filter_map(|pr| match pr {
                Proj::Index(t) => Some(t.to_string()),
                Proj::Field(_) => None,
            })
            .collect();
        let mut loops = Vec::new();
        for l in &self.loops {
            match l {
                Some(n) => loops.push(n.clone()),
                None => return false,
            }
        }
        let n = indices.len();
        indices.sort();
        indices.dedup();
        loops.sort();
        n > 0 && indices.len() == n && indices == loops
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { rhs, .. } => {
                // A call through `&mut` writes what it is passed.
                for p in rhs.mut_places() {
                    *self.writes.entry(p.var).or_default() += 1;
                }
                self.rhs(rhs)
            }
            Stmt::Assign { place, value, .. }
            | Stmt::AddAssign { place, value, .. }
            | Stmt::Push { place, value, .. } => {
                *self.writes.entry(place.var).or_default() += 1;
                self.operand(value);
            }
            Stmt::Passive(_, t) => {
                crate::ir::mentions_tokens(t, self.by_name, &mut self.passive);
            }
            Stmt::Break { .. } | Stmt::Continue { .. } => {}
            Stmt::If { then, els, .. } => {
                self.block(then);
                self.block(els);
            }
            Stmt::Match { arms, .. } => arms.iter().for_each(|a| self.block(&a.body)),
            Stmt::For {
                var, iter, body, ..
            } => {
                let name = is_range(&iter.tokens).then(|| self.f.var(*var).name.to_string());
                self.loops.push(name);
                self.block(body);
                self.loops.pop();
            }
            Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
                self.loops.push(None);
                self.block(body);
                self.loops.pop();
            }
            Stmt::Return { value, .. } => self.operand(value),
        }
    }

    fn rhs(&mut self, r: &Rhs) {
        match r {
            Rhs::Operand(a) | Rhs::Neg(a) | Rhs::Repeat { elem: a, .. } => self.operand(a),
            Rhs::Bin(_, a, b) => {
                self.operand(a);
                self.operand(b);
            }
            Rhs::Rule(_, args) | Rhs::Array(args) | Rhs::Tuple(args) | Rhs::Struct { args, .. } => {
                args.iter().for_each(|a| self.operand(a))
            }
            Rhs::Call { args, .. } => args.iter().for_each(|a| self.operand(&a.op)),
            Rhs::If { then, els, .. } => {
                self.block(then);
                self.block(els);
            }
            Rhs::Match { arms, .. } => arms.iter().for_each(|a| self.block(&a.body)),
            Rhs::Block(b) => self.block(b),
        }
    }

    fn operand(&mut self, op: &Operand) {
        let Some(p) = op.active_place(self.f) else {
            return;
        };
        if self.f.var(p.var).param.is_none() {
            return;
        }
        let mut fields = Vec::new();
        for pr in &p.proj {
            match pr {
                Proj::Index(_) => break,
                Proj::Field(m) => fields.push(quote::ToTokens::to_token_stream(m).to_string()),
            }
        }
        let exact = self.exact(p);
        self.reads.entry(p.var).or_default().push(Read {
            key: key(p),
            fields,
            exact,
        });
    }
}

/// `a..b`, `a..=b`, possibly in parentheses, followed by `.rev()` or `.step_by(k)`: an
/// iterator that yields each value at most once.
pub fn is_range(t: &proc_macro2::TokenStream) -> bool {
    let Ok(mut e) = syn::parse2::<syn::Expr>(t.clone()) else {
        return false;
    };
    loop {
        match e {
            syn::Expr::Range(r) => return r.start.is_some() && r.end.is_some(),
            syn::Expr::Paren(p) => e = *p.expr,
            syn::Expr::Group(g) => e = *g.expr,
            syn::Expr::MethodCall(m) if m.method == "rev" || m.method == "step_by" => {
                e = *m.receiver
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_range;

    #[test]
    fn ranges_yield_each_value_once() {
        assert!(is_range(&q!(0..n)));
        assert!(is_range(&q!((0..=n).rev())));
        assert!(is_range(&q!((1..n).step_by(2).rev())));
        assert!(!is_range(&q!(idx.iter().copied())));
        assert!(!is_range(&q!(0..)));
        assert!(!is_range(&q!([0, 0, 1])));
    }
}
