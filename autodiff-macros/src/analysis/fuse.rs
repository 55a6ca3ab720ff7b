//! Analysis: one pass for reduction loops (read by the reverse emitter for `NAME_grad` only).
//!
//! `NAME_grad` knows its cotangent (one) before it starts. A loop of the function's body whose
//! only effect outside itself is to add into float accumulators (`s += ..`) has an adjoint
//! sweep that reads, from outside, only the accumulators' adjoints, and those do not change
//! while it runs. When what follows the loop uses each accumulator linearly (`s`, `0.5 * s`,
//! `c + s - d`, `s / n`), the accumulators' adjoints are known constants before the loop runs,
//! so each iteration's reverse can run right after the iteration itself, in the same order:
//! the values it reads are still live, nothing is taped or recomputed, and the gradient is made
//! in one pass, as a hand-written one is. The pullback then skips the loop.
//!
//! Input: `let mut s = 0.0; for i in 0..n { s += x[i] * x[i]; } s`
//! Output (`_grad`'s forward sweep):
//! `{ let s__bar = 1.0; for i in 0..n { let __t0 = x[i] * x[i]; s += __t0; /* reverse: */
//! let mut __t0__bar = 0.0; __t0__bar = __t0__bar + s__bar; x__bar[i] = .. } }`

use std::collections::{HashMap, HashSet};

use proc_macro2::{TokenStream, TokenTree};

use crate::ir::mentions_tokens;
use crate::ir::*;

/// A loop run in one pass.
pub struct OnePass {
    /// Its active accumulators and their adjoints, as expressions valid before the loop.
    pub accs: Vec<(VarId, TokenStream)>,
    /// Arrays whose adjoints the loop adds to only at `[i + k]` (`i` the loop variable, `k` a
    /// literal), with the largest `k`: their pending adjoints ride along in `k + 1` registers
    /// (`x__bar[i + 1]` of one iteration is `x__bar[i]` of the next) and each element is
    /// written once, as a hand-written gradient carries its neighbour.
    pub windows: Vec<(VarId, usize)>,
    /// The loop's `a..b`, when windows with `k > 0` need its end.
    pub range: Option<(TokenStream, TokenStream)>,
}

/// The loops of the function's body to run in one pass, by index into the body's statements.
pub type Fused = HashMap<usize, OnePass>;

pub fn plan(
    f: &Func,
    body: &Block,
    by_name: &HashMap<String, VarId>,
    one: &TokenStream,
    has_return: bool,
) -> Fused {
    let mut out = Fused::new();
    if has_return {
        return out;
    }
    let mut assigned_anywhere = HashSet::new();
    visit_stmts(body, &mut |s| match s {
        Stmt::Passive(_, t) => mentions_tokens(t, by_name, &mut assigned_anywhere),
        _ => assigned_anywhere.extend(s.changed_places().iter().map(|p| p.var)),
    });
    for (li, s) in body.stmts.iter().enumerate() {
        let Stmt::For {
            var,
            iter,
            body: lb,
            exit: None,
            ..
        } = s
        else {
            continue;
        };
        let (found, all_windowed) = windows(f, lb, s, *var);
        let range = range_ends(&iter.tokens);
        let windows: Vec<(VarId, usize)> = found
            .iter()
            .copied()
            .filter(|&(_, k)| k == 0 || range.is_some())
            .collect();
        // A straight-line body is cheap to sweep twice, and backwards the optimiser keeps the
        // neighbouring adjoint elements (`x__bar[i + 1]`) in registers, which forwards it does
        // not when bounds checks remain: such loops run in one pass only when every array
        // adjoint they touch rides in window registers.
        let windowed = all_windowed && windows.len() == found.len();
        let mut inner_loop = false;
        visit_stmts(lb, &mut |s| {
            inner_loop |= matches!(s, Stmt::For { .. } | Stmt::While { .. } | Stmt::Loop { .. })
        });
        if !windowed && !inner_loop {
            continue;
        }
        if let Some(accs) = candidate(f, body, li, lb, s, by_name, one, &assigned_anywhere) {
            out.insert(
                li,
                OnePass {
                    accs,
                    windows,
                    range,
                },
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn candidate(
    f: &Func,
    body: &Block,
    li: usize,
    lb: &Block,
    l: &Stmt,
    by_name: &HashMap<String, VarId>,
    one: &TokenStream,
    assigned_anywhere: &HashSet<VarId>,
) -> Option<Vec<(VarId, TokenStream)>> {
    // What the loop declares, assigns and mentions.
    let mut own = HashSet::new();
    crate::ir::declared(l, &mut own);
    let mut accs: HashSet<VarId> = HashSet::new();
    let mut ok = true;
    let mut mentioned: HashSet<VarId> = HashSet::new();
    let mut acc_uses: HashMap<VarId, usize> = HashMap::new();
    let mut acc_writes: HashMap<VarId, usize> = HashMap::new();
    visit_stmts(lb, &mut |s| {
        stmt_mentions(s, by_name, &mut mentioned, &mut acc_uses);
        match s {
            Stmt::AddAssign { place, .. } if !own.contains(&place.var) => {
                if place.proj.is_empty() && f.vars[place.var].scalar {
                    accs.insert(place.var);
                    *acc_writes.entry(place.var).or_insert(0) += 1;
                } else {
                    ok = false;
                }
            }
            Stmt::Assign { place, .. } | Stmt::Push { place, .. } if !own.contains(&place.var) => {
                ok = false
            }
            // A call writing through `&mut` is not a reduction's accumulation: two sweeps.
            Stmt::Let { rhs, .. } if !rhs.mut_places().is_empty() => ok = false,
            Stmt::Passive(_, t) => {
                // Passive code may write what it names: only loop-local names, or flags.
                let mut m = HashSet::new();
                mentions_tokens(t, by_name, &mut m);
                if m.iter().any(|v| !own.contains(v)) {
                    ok = false;
                }
            }
            _ => {}
        }
    });
    if !ok {
        return None;
    }
    // An accumulator is named only where it is added to.
    for a in &accs {
        if acc_uses.get(a).copied().unwrap_or(0) != acc_writes.get(a).copied().unwrap_or(0) {
            return None;
        }
    }
    // Before the loop, an accumulator is named only by its declaration (its earlier values are
    // not kept for a later reverse sweep).
    for s in &body.stmts[..li] {
        let mut m = HashSet::new();
        let mut dummy = HashMap::new();
        visit_stmt(s, &mut |s| stmt_mentions(s, by_name, &mut m, &mut dummy));
        let decl = match s {
            Stmt::Let { var, rhs, .. } => {
                // `let s = <value not naming s>`: its own declaration, unless its reverse reads
                // its value (`let s = x.sqrt()`: the partial is `0.5 / s`), which the loop
                // changes before the pullback runs (fuzzer 1320:102).
                let mut r = HashSet::new();
                rhs_mentions(rhs, by_name, &mut r);
                let reads_result = rhs.arith().is_some_and(|(rule, _)| {
                    (0..rule.partials.len())
                        .any(|k| crate::rules::partial_reads(rule, k).contains(&rule.result))
                });
                (!r.contains(var) && !reads_result).then_some(*var)
            }
            _ => None,
        };
        if accs.iter().any(|a| m.contains(a) && decl != Some(*a)) {
            return None;
        }
    }
    // The active values the loop reads keep their adjoints until the pullback: nothing after
    // the loop may write them (that would zero or pass on an adjoint the loop already added to).
    let mut later_assigned = HashSet::new();
    for s in &body.stmts[li + 1..] {
        visit_stmt(s, &mut |s| match s {
            Stmt::Passive(_, t) => mentions_tokens(t, by_name, &mut later_assigned),
            _ => later_assigned.extend(s.changed_places().iter().map(|p| p.var)),
        });
    }
    if mentioned
        .iter()
        .any(|v| !own.contains(v) && f.vars[*v].active && later_assigned.contains(v))
    {
        return None;
    }
    // The accumulators' adjoints, from what follows the loop.
    let active_accs: Vec<VarId> = accs.iter().copied().filter(|a| f.vars[*a].active).collect();
    if active_accs.is_empty() {
        return Some(Vec::new());
    }
    let before: HashSet<VarId> = f
        .params
        .iter()
        .copied()
        .chain(crate::ir::let_vars(&body.stmts[..li]))
        .collect();
    let coefs = coefficients(body, li, by_name, one, &before, assigned_anywhere)?;
    let mut res = Vec::new();
    for a in active_accs {
        match coefs.get(&a) {
            Some(Coef::Known(c)) => res.push((a, c.clone())),
            Some(Coef::Unknown) => return None,
            // Nothing after the loop reads it: its adjoint is zero and so is the loop's.
            None => res.push((a, q!((#one - #one)))),
        }
    }
    Some(res)
}

#[derive(Clone)]
enum Coef {
    Known(TokenStream),
    Unknown,
}

/// The outer active arrays the loop body reads only as `a[i]` or `a[i + k]`, with their largest
/// `k`; and whether every outer active array it reads is so.
fn windows(f: &Func, lb: &Block, l: &Stmt, var: VarId) -> (Vec<(VarId, usize)>, bool) {
    let mut own = HashSet::new();
    crate::ir::declared(l, &mut own);
    let name = f.vars[var].name.to_string();
    let mut good: HashMap<VarId, usize> = HashMap::new();
    let mut bad: HashSet<VarId> = HashSet::new();
    // Arrays read whole (passed to a call): the call's adjoint is added to every element at
    // once, which pending window registers (stored, not added, when flushed) would overwrite.
    let mut whole: HashSet<VarId> = HashSet::new();
    let mut see = |op: &Operand, as_arg: bool| {
        let Operand::Place(p) = op else { return };
        if own.contains(&p.var) || !f.vars[p.var].active {
            return;
        }
        if p.proj.is_empty() {
            if !f.vars[p.var].scalar {
                whole.insert(p.var);
            }
            return;
        }
        let k = match (as_arg, p.proj.as_slice()) {
            (false, [Proj::Index(t)]) => offset(t, &name),
            _ => None,
        };
        match k {
            Some(k) => {
                let e = good.entry(p.var).or_insert(0);
                *e = (*e).max(k);
            }
            None => {
                bad.insert(p.var);
            }
        }
    };
    visit_stmts(lb, &mut |s| match s {
        // A binding of an element not known to be a float (a row `let row = m[i];` of a nested
        // array) has an adjoint of the row's shape, which no float register holds.
        Stmt::Let { var, rhs, .. } => match rhs {
            Rhs::Operand(a) => see(a, !f.vars[*var].scalar),
            Rhs::Neg(a) => see(a, false),
            Rhs::Bin(_, a, b) => {
                see(a, false);
                see(b, false);
            }
            Rhs::Rule(_, args) => args.iter().for_each(|a| see(a, false)),
            Rhs::Array(args) | Rhs::Tuple(args) | Rhs::Struct { args, .. } => {
                args.iter().for_each(|a| see(a, true))
            }
            Rhs::Repeat { elem, .. } => see(elem, true),
            Rhs::Call { args, .. } => args.iter().for_each(|a| see(&a.op, true)),
            Rhs::If { then, els, .. } => {
                for b in [then, els] {
                    if let Some(t) = &b.tail {
                        see(t, true);
                    }
                }
            }
            Rhs::Match { arms, .. } => {
                for a in arms {
                    if let Some(t) = &a.body.tail {
                        see(t, true);
                    }
                }
            }
            Rhs::Block(b) => {
                if let Some(t) = &b.tail {
                    see(t, true);
                }
            }
        },
        Stmt::Assign { value, .. } | Stmt::AddAssign { value, .. } | Stmt::Push { value, .. } => {
            see(value, true)
        }
        Stmt::Return { value, .. } => see(value, true),
        _ => {}
    });
    bad.extend(whole.into_iter().filter(|v| good.contains_key(v)));
    let all = bad.is_empty();
    let mut out: Vec<(VarId, usize)> = good.into_iter().filter(|(v, _)| !bad.contains(v)).collect();
    out.sort_unstable();
    (out, all)
}

/// `i` -> 0, `i + 3` -> 3 (the loop variable plus a small literal).
pub fn offset(t: &TokenStream, var: &str) -> Option<usize> {
    let tts: Vec<TokenTree> = t.clone().into_iter().collect();
    match tts.as_slice() {
        [TokenTree::Ident(i)] if *i == var => Some(0),
        [
            TokenTree::Ident(i),
            TokenTree::Punct(p),
            TokenTree::Literal(l),
        ] if *i == var && p.as_char() == '+' => l
            .to_string()
            .trim_end_matches("usize")
            .parse::<usize>()
            .ok()
            .filter(|k| *k <= 4),
        _ => None,
    }
}

/// `a..b` -> (`a`, `b`).
fn range_ends(t: &TokenStream) -> Option<(TokenStream, TokenStream)> {
    let r: syn::ExprRange = syn::parse2(t.clone()).ok()?;
    if !matches!(r.limits, syn::RangeLimits::HalfOpen(_)) {
        return None;
    }
    let (a, b) = (r.start?, r.end?);
    Some((q!(#a), q!(#b)))
}

/// d(result)/d(v) for the values the statements after `li` combine linearly into the result.
fn coefficients(
    body: &Block,
    li: usize,
    by_name: &HashMap<String, VarId>,
    one: &TokenStream,
    before: &HashSet<VarId>,
    assigned_anywhere: &HashSet<VarId>,
) -> Option<HashMap<VarId, Coef>> {
    let mut c: HashMap<VarId, Coef> = HashMap::new();
    match &body.tail {
        Some(Operand::Place(p)) if p.proj.is_empty() => {
            c.insert(p.var, Coef::Known(one.clone()));
        }
        Some(Operand::Place(p)) => {
            c.insert(p.var, Coef::Unknown);
        }
        _ => {}
    }
    // A passive factor usable before the loop: names only values declared before it, never
    // assigned.
    let usable = |t: &TokenStream| {
        let mut m = HashSet::new();
        mentions_tokens(t, by_name, &mut m);
        m.iter()
            .all(|v| before.contains(v) && !assigned_anywhere.contains(v))
    };
    fn add(c: &mut HashMap<VarId, Coef>, v: VarId, k: Option<TokenStream>) {
        let new = match (c.get(&v), k) {
            (Some(Coef::Unknown), _) | (_, None) => Coef::Unknown,
            (Some(Coef::Known(a)), Some(b)) => Coef::Known(q!((#a + #b))),
            (None, Some(b)) => Coef::Known(b),
        };
        c.insert(v, new);
    }
    fn unknown(c: &mut HashMap<VarId, Coef>, m: &HashSet<VarId>) {
        for &v in m {
            c.insert(v, Coef::Unknown);
        }
    }
    for s in body.stmts[li + 1..].iter().rev() {
        match s {
            // A call writing through `&mut`: what it names may take any adjoint.
            Stmt::Let { rhs, .. } if !rhs.mut_places().is_empty() => {
                let mut m = HashSet::new();
                rhs_mentions(rhs, by_name, &mut m);
                unknown(&mut c, &m);
            }
            Stmt::Let { var, rhs, .. } => {
                let Some(cv) = c.get(var).cloned() else {
                    continue;
                };
                let k = match cv {
                    Coef::Known(k) => k,
                    Coef::Unknown => {
                        let mut m = HashSet::new();
                        rhs_mentions(rhs, by_name, &mut m);
                        unknown(&mut c, &m);
                        continue;
                    }
                };
                let place = |op: &Operand| match op {
                    Operand::Place(p) if p.proj.is_empty() => Some(p.var),
                    _ => None,
                };
                let konst = |op: &Operand| match op {
                    Operand::Const { tokens, .. } if usable(tokens) => Some(tokens.clone()),
                    _ => None,
                };
                let mut m = HashSet::new();
                rhs_mentions(rhs, by_name, &mut m);
                match rhs {
                    Rhs::Operand(a) if place(a).is_some() => {
                        add(&mut c, place(a).unwrap_or_default(), Some(k));
                    }
                    Rhs::Neg(a) if place(a).is_some() => {
                        add(&mut c, place(a).unwrap_or_default(), Some(q!((-#k))));
                    }
                    Rhs::Bin(op @ (BinOp::Add | BinOp::Sub), a, b) => {
                        for (x, neg) in [(a, false), (b, *op == BinOp::Sub)] {
                            match x {
                                Operand::Place(p) if p.proj.is_empty() => {
                                    let kk = if neg { q!((-#k)) } else { k.clone() };
                                    add(&mut c, p.var, Some(kk));
                                }
                                Operand::Place(p) => {
                                    c.insert(p.var, Coef::Unknown);
                                }
                                // A passive term: no adjoint.
                                Operand::Const { .. } => {}
                            }
                        }
                    }
                    Rhs::Bin(BinOp::Mul, a, b) if place(b).is_some() && konst(a).is_some() => {
                        let f = konst(a).unwrap_or_default();
                        add(&mut c, place(b).unwrap_or_default(), Some(q!((#k * #f))));
                    }
                    Rhs::Bin(BinOp::Mul | BinOp::Div, a, b)
                        if place(a).is_some() && konst(b).is_some() =>
                    {
                        let f = konst(b).unwrap_or_default();
                        let e = if matches!(rhs, Rhs::Bin(BinOp::Mul, ..)) {
                            q!((#k * #f))
                        } else {
                            q!((#k / #f))
                        };
                        add(&mut c, place(a).unwrap_or_default(), Some(e));
                    }
                    _ => unknown(&mut c, &m),
                }
            }
            other => {
                // Loops, branches, assignments: whatever they name may take any adjoint.
                let mut m = HashSet::new();
                let mut dummy = HashMap::new();
                visit_stmt(other, &mut |s| {
                    stmt_mentions(s, by_name, &mut m, &mut dummy)
                });
                unknown(&mut c, &m);
            }
        }
    }
    Some(c)
}

/// Every variable a statement names (not its nested statements'); counts, in `places`, how
/// often each variable is named.
fn stmt_mentions(
    s: &Stmt,
    by_name: &HashMap<String, VarId>,
    out: &mut HashSet<VarId>,
    count: &mut HashMap<VarId, usize>,
) {
    let mut m: Vec<VarId> = Vec::new();
    let op = |o: &Operand, m: &mut Vec<VarId>| {
        crate::ir::operand_mentions(o, by_name, &mut |v| m.push(v))
    };
    match s {
        Stmt::Let { var, rhs, .. } => {
            m.push(*var);
            let mut r = HashSet::new();
            rhs_mentions(rhs, by_name, &mut r);
            m.extend(r);
        }
        Stmt::Assign { place, value, .. }
        | Stmt::AddAssign { place, value, .. }
        | Stmt::Push { place, value, .. } => {
            m.push(place.var);
            place_idx(place, by_name, &mut m);
            op(value, &mut m);
        }
        Stmt::Passive(_, t) => tokens_vec(t, by_name, &mut m),
        Stmt::If { cond, .. } => tokens_vec(cond, by_name, &mut m),
        Stmt::Match { scrutinee, .. } => tokens_vec(scrutinee, by_name, &mut m),
        Stmt::For { var, iter, .. } => {
            m.push(*var);
            tokens_vec(&iter.tokens, by_name, &mut m);
        }
        Stmt::While { cond, .. } => tokens_vec(cond, by_name, &mut m),
        Stmt::Return { value, .. } => op(value, &mut m),
        _ => {}
    }
    for v in m {
        out.insert(v);
        *count.entry(v).or_insert(0) += 1;
    }
}

/// The variables a right-hand side names (the blocks of `if`/`match` values included).
fn rhs_mentions(rhs: &Rhs, by_name: &HashMap<String, VarId>, out: &mut HashSet<VarId>) {
    let mut m = Vec::new();
    let op = |o: &Operand, m: &mut Vec<VarId>| {
        crate::ir::operand_mentions(o, by_name, &mut |v| m.push(v))
    };
    match rhs {
        Rhs::Operand(a) | Rhs::Neg(a) => op(a, &mut m),
        Rhs::Bin(_, a, b) => {
            op(a, &mut m);
            op(b, &mut m);
        }
        Rhs::Rule(_, args) | Rhs::Array(args) | Rhs::Tuple(args) | Rhs::Struct { args, .. } => {
            args.iter().for_each(|a| op(a, &mut m))
        }
        Rhs::Call { args, .. } => args.iter().for_each(|a| op(&a.op, &mut m)),
        Rhs::Repeat { elem, len, .. } => {
            op(elem, &mut m);
            tokens_vec(len, by_name, &mut m);
        }
        Rhs::If { cond, then, els } => {
            tokens_vec(cond, by_name, &mut m);
            for b in [then, els] {
                block_mentions(b, by_name, &mut m);
            }
        }
        Rhs::Match { scrutinee, arms } => {
            tokens_vec(scrutinee, by_name, &mut m);
            for a in arms {
                block_mentions(&a.body, by_name, &mut m);
            }
        }
        Rhs::Block(b) => block_mentions(b, by_name, &mut m),
    }
    out.extend(m);
}

fn block_mentions(b: &Block, by_name: &HashMap<String, VarId>, m: &mut Vec<VarId>) {
    let mut set = HashSet::new();
    let mut dummy = HashMap::new();
    visit_stmts(b, &mut |s| stmt_mentions(s, by_name, &mut set, &mut dummy));
    if let Some(Operand::Place(p)) = &b.tail {
        set.insert(p.var);
    }
    if let Some(Operand::Const { tokens, .. }) = &b.tail {
        mentions_tokens(tokens, by_name, &mut set);
    }
    m.extend(set);
}

fn place_idx(p: &Place, by_name: &HashMap<String, VarId>, m: &mut Vec<VarId>) {
    crate::ir::index_mentions(p, by_name, &mut |v| m.push(v));
}

fn tokens_vec(t: &TokenStream, by_name: &HashMap<String, VarId>, m: &mut Vec<VarId>) {
    crate::ir::token_mentions(t, by_name, &mut |v| m.push(v));
}
