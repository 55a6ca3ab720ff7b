//! Delta debugging on the AST: remove statements, inline blocks, shorten loops, replace
//! expressions by a sub-expression, a parameter or a literal, drop helpers, parameters and
//! options, keeping an edit when the program still fails with the same signature. Candidates
//! are built and run in batches (one scratch build per batch).

use std::time::{Duration, Instant};

use crate::ast::*;
use crate::harness::{Outcome, Scratch};

#[derive(Clone, Debug)]
enum Edit {
    DropFunc(usize),
    RemoveStmt(usize),
    InlineStmt(usize),
    ShortenLoop(usize),
    ClearOptions,
    DropParam(usize),
    ReplaceExpr(usize, usize),
}

fn children_mut(s: &mut S) -> Vec<&mut Vec<S>> {
    match s {
        S::If { then, els, .. } => {
            let mut v = vec![then];
            if let Some(e) = els {
                v.push(e);
            }
            v
        }
        S::For { body, .. }
        | S::While { body, .. }
        | S::Loop { body, .. }
        | S::LoopValue { body, .. }
        | S::Block { body, .. }
        | S::ForElem { body, .. } => vec![body],
        S::Match { arms, default, .. } => {
            let mut v: Vec<&mut Vec<S>> = arms.iter_mut().map(|(_, b)| b).collect();
            v.push(default);
            v
        }
        _ => vec![],
    }
}

/// Calls `f(list, i)` on the `target`-th statement (pre-order over all functions).
fn at_stmt(p: &mut Program, target: usize, f: &mut dyn FnMut(&mut Vec<S>, usize) -> bool) -> bool {
    fn go(
        body: &mut Vec<S>,
        n: &mut usize,
        target: usize,
        f: &mut dyn FnMut(&mut Vec<S>, usize) -> bool,
    ) -> Option<bool> {
        for i in 0..body.len() {
            if *n == target {
                return Some(f(body, i));
            }
            *n += 1;
            for c in children_mut(&mut body[i]) {
                if let Some(r) = go(c, n, target, f) {
                    return Some(r);
                }
            }
        }
        None
    }
    let mut n = 0;
    for func in p.funcs.iter_mut() {
        if let Some(r) = go(&mut func.body, &mut n, target, f) {
            return r;
        }
    }
    false
}

fn count_stmts(p: &Program) -> usize {
    fn go(body: &[S]) -> usize {
        body.iter()
            .map(|s| {
                let mut c = s.clone();
                1 + children_mut(&mut c)
                    .into_iter()
                    .map(|b| go(b))
                    .sum::<usize>()
            })
            .sum()
    }
    p.funcs.iter().map(|f| go(&f.body)).sum()
}

fn visit_e(e: &mut E, f: &mut dyn FnMut(&mut E)) {
    f(e);
    match e {
        E::Bin(_, a, b) => {
            visit_e(a, f);
            visit_e(b, f);
        }
        E::Neg(a) | E::Stop(a) | E::Powi(a, _) => visit_e(a, f),
        E::Meth(_, x, args, _) => {
            visit_e(x, f);
            args.iter_mut().for_each(|a| visit_e(a, f));
        }
        E::If(c, a, b) => {
            visit_c(c, f);
            visit_e(a, f);
            visit_e(b, f);
        }
        E::Match(_, arms, d) => {
            arms.iter_mut().for_each(|(_, a)| visit_e(a, f));
            visit_e(d, f);
        }
        E::Call(_, args) => args.iter_mut().for_each(|a| visit_arg(a, f)),
        E::MatchEnum(_, a, b) => {
            visit_e(a, f);
            visit_e(b, f);
        }
        E::Unsup(_, a) | E::Part(_, a, _, _) => visit_e(a, f),
        E::Template(_, es) => es.iter_mut().for_each(|e| visit_e(e, f)),
        _ => {}
    }
}

fn visit_arg(a: &mut Arg, f: &mut dyn FnMut(&mut E)) {
    match a {
        Arg::F(e) => visit_e(e, f),
        Arg::ArrLit(es, _) => es.iter_mut().for_each(|e| visit_e(e, f)),
        Arg::ArrVar(..) | Arg::Int(_) | Arg::Mut(_) => {}
    }
}

fn visit_c(c: &mut Cond, f: &mut dyn FnMut(&mut E)) {
    match c {
        Cond::F(a, _, b) => {
            visit_e(a, f);
            visit_e(b, f);
        }
        Cond::I(..) => {}
        Cond::And(a, b) | Cond::Or(a, b) => {
            visit_c(a, f);
            visit_c(b, f);
        }
    }
}

fn visit_out(o: &mut Out, f: &mut dyn FnMut(&mut E)) {
    match o {
        Out::Scalar(e) => visit_e(e, f),
        Out::Tuple(es) | Out::Array(es) => es.iter_mut().for_each(|e| visit_e(e, f)),
        Out::Struct(_, fields) => fields
            .iter_mut()
            .for_each(|(_, es, _)| es.iter_mut().for_each(|e| visit_e(e, f))),
        _ => {}
    }
}

fn visit_stmts(body: &mut [S], f: &mut dyn FnMut(&mut E)) {
    for s in body {
        match s {
            S::Let { init, .. } => match init {
                Init::E(e) => visit_e(e, f),
                Init::List(es) => es.iter_mut().for_each(|e| visit_e(e, f)),
                Init::Pair(a, b) => {
                    visit_e(a, f);
                    visit_e(b, f);
                }
                Init::Call(_, args) => args.iter_mut().for_each(|a| visit_arg(a, f)),
                Init::Tuple(_, e) => visit_e(e, f),
                Init::Struct(_, fields) => fields
                    .iter_mut()
                    .for_each(|(.., es)| es.iter_mut().for_each(|e| visit_e(e, f))),
                _ => {}
            },
            S::Assign { rhs, .. } | S::BreakValue(_, rhs) => visit_e(rhs, f),
            S::LoopValue { body, tail, .. } => {
                visit_e(tail, f);
                visit_stmts(body, f);
            }
            S::Block { body, tail, .. } => {
                visit_stmts(body, f);
                if let Some(t) = tail {
                    visit_e(t, f);
                }
            }
            S::If { cond, then, els } => {
                visit_c(cond, f);
                visit_stmts(then, f);
                if let Some(e) = els {
                    visit_stmts(e, f);
                }
            }
            S::For { body, .. } | S::While { body, .. } | S::Loop { body, .. } => {
                visit_stmts(body, f)
            }
            S::Match { arms, default, .. } => {
                arms.iter_mut().for_each(|(_, b)| visit_stmts(b, f));
                visit_stmts(default, f);
            }
            S::Return(o) => visit_out(o, f),
            S::Call(_, args) => args.iter_mut().for_each(|a| visit_arg(a, f)),
            _ => {}
        }
    }
}

fn visit_program(p: &mut Program, f: &mut dyn FnMut(&mut E)) {
    for func in p.funcs.iter_mut() {
        visit_stmts(&mut func.body, f);
        visit_out(&mut func.ret, f);
    }
}

/// Simpler replacements of an expression: its sub-expressions, a scalar parameter, a literal.
fn simpler(e: &E, param: Option<&str>) -> Vec<E> {
    let mut v: Vec<E> = match e {
        E::Bin(_, a, b) => vec![(**a).clone(), (**b).clone()],
        E::Neg(a) | E::Stop(a) | E::Powi(a, _) | E::Part(_, a, _, _) => vec![(**a).clone()],
        E::Meth(_, x, args, _) => {
            let mut v = vec![(**x).clone()];
            v.extend(args.iter().cloned());
            v
        }
        E::If(_, a, b) | E::MatchEnum(_, a, b) => vec![(**a).clone(), (**b).clone()],
        E::Match(_, arms, d) => {
            let mut v: Vec<E> = vec![(**d).clone()];
            v.extend(arms.iter().map(|(_, a)| a.clone()));
            v
        }
        E::Call(_, args) => args
            .iter()
            .filter_map(|a| {
                if let Arg::F(e) = a {
                    Some(e.clone())
                } else {
                    None
                }
            })
            .collect(),
        _ => vec![],
    };
    let atom = matches!(e, E::Lit(_) | E::Var(_));
    if !atom {
        if let Some(p) = param {
            v.push(E::Var(p.to_string()));
        }
        v.push(E::Lit(0.5));
    }
    v
}

fn expr_count(p: &Program) -> Vec<usize> {
    // The number of replacements of each expression, in visiting order.
    let mut q = p.clone();
    let param = first_scalar(p);
    let mut out = vec![];
    visit_program(&mut q, &mut |e| {
        out.push(simpler(e, param.as_deref()).len())
    });
    out
}

fn first_scalar(p: &Program) -> Option<String> {
    p.funcs
        .last()?
        .params
        .iter()
        .find(|q| q.kind == PK::Scalar)
        .map(|q| q.name.clone())
}

pub fn size(p: &Program) -> usize {
    let mut q = p.clone();
    let mut n = 0;
    visit_program(&mut q, &mut |_| n += 1);
    n + 4 * count_stmts(p)
        + p.funcs.len() * 4
        + p.funcs.iter().map(|f| f.params.len()).sum::<usize>()
}

fn apply(p: &Program, edit: &Edit) -> Option<Program> {
    let mut q = p.clone();
    let ok = match edit {
        Edit::DropFunc(i) => {
            if *i + 1 >= q.funcs.len() {
                return None;
            }
            q.funcs.remove(*i);
            true
        }
        Edit::RemoveStmt(n) => at_stmt(&mut q, *n, &mut |b, i| {
            b.remove(i);
            true
        }),
        Edit::InlineStmt(n) => at_stmt(&mut q, *n, &mut |b, i| {
            let inner: Vec<S> = match &b[i] {
                S::If { then, .. } => then.clone(),
                S::Match { default, .. } => default.clone(),
                _ => return false,
            };
            b.splice(i..=i, inner);
            true
        }),
        Edit::ShortenLoop(n) => at_stmt(&mut q, *n, &mut |b, i| match &mut b[i] {
            S::For {
                hi: IE::Lit(h),
                lo: IE::Lit(l),
                inclusive,
                ..
            } if *h > *l + if *inclusive { 0 } else { 1 } => {
                *h -= 1;
                true
            }
            S::While { n, .. } | S::Loop { n, .. } | S::LoopValue { n, .. } if *n > 1 => {
                *n -= 1;
                true
            }
            _ => false,
        }),
        Edit::ClearOptions => {
            let f = q.funcs.last_mut().unwrap();
            if f.options.is_empty() {
                return None;
            }
            f.options.clear();
            f.forward = true;
            f.reverse = true;
            f.wrt = None;
            true
        }
        Edit::DropParam(i) => {
            let f = q.funcs.last_mut().unwrap();
            if f.params.len() <= 1 || *i >= f.params.len() {
                return None;
            }
            let name = f.params.remove(*i).name;
            if let Some(w) = &mut f.wrt {
                w.retain(|n| *n != name);
                if w.is_empty() {
                    return None;
                }
                let mut opts = vec![];
                if !f.forward {
                    opts.push("reverse".to_string());
                }
                if !f.reverse {
                    opts.push("forward".to_string());
                }
                opts.push(format!("wrt({})", w.join(", ")));
                f.options = opts.join(", ");
            }
            true
        }
        Edit::ReplaceExpr(n, r) => {
            let param = first_scalar(p);
            let mut k = 0;
            let mut done = false;
            visit_program(&mut q, &mut |e| {
                if k == *n && !done {
                    let s = simpler(e, param.as_deref());
                    if let Some(x) = s.get(*r) {
                        *e = x.clone();
                        done = true;
                    }
                }
                k += 1;
            });
            done
        }
    };
    if ok { Some(q) } else { None }
}

fn candidates(p: &Program) -> Vec<Program> {
    let mut edits = vec![];
    for i in 0..p.funcs.len().saturating_sub(1) {
        edits.push(Edit::DropFunc(i));
    }
    edits.push(Edit::ClearOptions);
    let n = count_stmts(p);
    for i in 0..n {
        edits.push(Edit::RemoveStmt(i));
    }
    for i in 0..n {
        edits.push(Edit::InlineStmt(i));
    }
    for i in 0..p.funcs.last().map(|f| f.params.len()).unwrap_or(0) {
        edits.push(Edit::DropParam(i));
    }
    for i in 0..n {
        edits.push(Edit::ShortenLoop(i));
    }
    for (i, c) in expr_count(p).into_iter().enumerate() {
        for r in 0..c {
            edits.push(Edit::ReplaceExpr(i, r));
        }
    }
    // Smallest results first: the big cuts (a helper, a loop, a whole branch) are tried before
    // the small ones.
    let mut out: Vec<(usize, Program)> = edits
        .iter()
        .filter_map(|e| apply(p, e))
        .filter(well_scoped)
        .map(|q| (size(&q), q))
        .collect();
    out.sort_by_key(|(n, _)| *n);
    out.into_iter().map(|(_, q)| q).collect()
}

/// Shrinks `p` while it fails with the signature of `failure`, for at most `cap`.
pub fn shrink(
    scratch: &Scratch,
    p: &Program,
    failure: &Outcome,
    cap: Duration,
    batch: usize,
) -> (Program, Outcome, usize) {
    let start = Instant::now();
    let target = failure.signature();
    let mut cur = p.clone();
    let mut cur_out = failure.clone();
    let mut steps = 0;
    'outer: while start.elapsed() < cap {
        let cands = candidates(&cur);
        for chunk in cands.chunks(batch) {
            if start.elapsed() >= cap {
                break 'outer;
            }
            let progs: Vec<(usize, &Program)> = chunk.iter().enumerate().collect();
            let res = scratch.evaluate(&progs, Duration::from_secs(20));
            for (i, c) in chunk.iter().enumerate() {
                if let Some(o) = res.get(&i)
                    && o.signature() == target
                    && size(c) < size(&cur)
                {
                    cur = c.clone();
                    cur_out = o.clone();
                    steps += 1;
                    continue 'outer;
                }
            }
        }
        break;
    }
    (cur, cur_out, steps)
}

/// Whether every name a function reads is declared before (parameters, `let`s, loop
/// variables and counters in scope): candidates that are not are dropped without a build.
fn well_scoped(p: &Program) -> bool {
    /// The binding a name, a field path or an argument reads: `x` of `x.a`, `(*x)`, `&mut *x`,
    /// `&mut x[1]`.
    fn base(n: &str) -> &str {
        let n = n
            .trim_start_matches("&mut ")
            .trim_start_matches('(')
            .trim_start_matches('*');
        n.split(['.', ')', '[']).next().unwrap_or(n)
    }
    fn ie_ok(e: &IE, sc: &[Vec<String>]) -> bool {
        match e {
            IE::Lit(_) => true,
            IE::Var(n) | IE::Len(n) => has(sc, n),
            IE::Add(a, _) | IE::Sub(a, _) | IE::Mod(a, _) | IE::Rev(_, a) => ie_ok(a, sc),
        }
    }
    fn has(sc: &[Vec<String>], n: &str) -> bool {
        let n = base(n);
        sc.iter().any(|s| s.iter().any(|m| m == n))
    }
    fn e_ok(e: &E, sc: &[Vec<String>]) -> bool {
        match e {
            E::Lit(_) => true,
            E::Reduce(_, x) => has(sc, x),
            E::Var(n) => has(sc, n),
            E::Idx(n, ix) => has(sc, n) && ix.iter().all(|i| ie_ok(i, sc)),
            E::Bin(_, a, b) | E::MatchEnum(_, a, b) => {
                e_ok(a, sc)
                    && e_ok(b, sc)
                    && if let E::MatchEnum(m, _, _) = e {
                        has(sc, m)
                    } else {
                        true
                    }
            }
            E::Neg(a) | E::Stop(a) | E::Unsup(_, a) | E::Part(_, a, _, _) => e_ok(a, sc),
            E::Powi(a, i) => e_ok(a, sc) && ie_ok(i, sc),
            E::Meth(_, x, args, _) => e_ok(x, sc) && args.iter().all(|a| e_ok(a, sc)),
            E::Cast(i) => ie_ok(i, sc),
            E::If(c, a, b) => c_ok(c, sc) && e_ok(a, sc) && e_ok(b, sc),
            E::Match(s, arms, d) => {
                ie_ok(s, sc) && arms.iter().all(|(_, a)| e_ok(a, sc)) && e_ok(d, sc)
            }
            E::Call(_, args) => args.iter().all(|a| arg_ok(a, sc)),
            E::Template(_, es) => es.iter().all(|e| e_ok(e, sc)),
        }
    }
    fn arg_ok(a: &Arg, sc: &[Vec<String>]) -> bool {
        match a {
            Arg::F(e) => e_ok(e, sc),
            Arg::ArrVar(n, _) | Arg::Mut(n) => has(sc, n),
            Arg::ArrLit(es, _) => es.iter().all(|e| e_ok(e, sc)),
            Arg::Int(i) => ie_ok(i, sc),
        }
    }
    fn c_ok(c: &Cond, sc: &[Vec<String>]) -> bool {
        match c {
            Cond::F(a, _, b) => e_ok(a, sc) && e_ok(b, sc),
            Cond::I(a, _, b) => ie_ok(a, sc) && ie_ok(b, sc),
            Cond::And(a, b) | Cond::Or(a, b) => c_ok(a, sc) && c_ok(b, sc),
        }
    }
    fn out_ok(o: &Out, sc: &[Vec<String>]) -> bool {
        match o {
            Out::Scalar(e) => e_ok(e, sc),
            Out::Tuple(es) | Out::Array(es) => es.iter().all(|e| e_ok(e, sc)),
            Out::ArrVar(n) | Out::StructVar(n) => has(sc, n),
            Out::Struct(_, fs) => fs.iter().all(|(_, es, _)| es.iter().all(|e| e_ok(e, sc))),
        }
    }
    fn place_ok(pl: &Place, sc: &[Vec<String>]) -> bool {
        match pl {
            Place::Var(n) => has(sc, n),
            Place::Idx(n, ix) => has(sc, n) && ix.iter().all(|i| ie_ok(i, sc)),
        }
    }
    fn block_ok(body: &[S], sc: &mut Vec<Vec<String>>) -> bool {
        sc.push(vec![]);
        let ok = body.iter().all(|s| stmt_ok(s, sc));
        sc.pop();
        ok
    }
    fn stmt_ok(s: &S, sc: &mut Vec<Vec<String>>) -> bool {
        match s {
            S::Let { names, init, .. } => {
                let ok = match init {
                    Init::E(e) => e_ok(e, sc),
                    Init::List(es) => es.iter().all(|e| e_ok(e, sc)),
                    Init::Pair(a, b) => e_ok(a, sc) && e_ok(b, sc),
                    Init::Call(_, args) => args.iter().all(|a| arg_ok(a, sc)),
                    Init::Tuple(_, e) => e_ok(e, sc),
                    Init::Struct(_, fields) => {
                        fields.iter().all(|(.., es)| es.iter().all(|e| e_ok(e, sc)))
                    }
                    Init::Int(i) => ie_ok(i, sc),
                    Init::Zeros(_) | Init::VecZeros(_) | Init::Passive(_) => true,
                };
                sc.last_mut().unwrap().extend(names.iter().cloned());
                ok
            }
            S::Assign { place, rhs, .. } => place_ok(place, sc) && e_ok(rhs, sc),
            S::If { cond, then, els } => {
                c_ok(cond, sc) && block_ok(then, sc) && els.as_ref().is_none_or(|e| block_ok(e, sc))
            }
            S::For {
                var, lo, hi, body, ..
            } => {
                if !(ie_ok(lo, sc) && ie_ok(hi, sc)) {
                    return false;
                }
                sc.push(vec![var.clone()]);
                let ok = block_ok(body, sc);
                sc.pop();
                ok
            }
            S::While { counter, body, .. } | S::Loop { counter, body, .. } => {
                sc.last_mut().unwrap().push(counter.clone());
                block_ok(body, sc)
            }
            S::ForElem {
                var,
                idx,
                src,
                body,
                ..
            } => {
                if !has(sc, src) {
                    return false;
                }
                sc.push(std::iter::once(var.clone()).chain(idx.clone()).collect());
                let ok = block_ok(body, sc);
                sc.pop();
                ok
            }
            S::Break(_) | S::Continue(_) => true,
            S::BreakValue(_, e) => e_ok(e, sc),
            S::LoopValue {
                name,
                counter,
                body,
                tail,
                ..
            } => {
                sc.last_mut().unwrap().push(counter.clone());
                let ok = e_ok(tail, sc) && block_ok(body, sc);
                sc.last_mut().unwrap().push(name.clone());
                ok
            }
            S::Block {
                name, body, tail, ..
            } => {
                sc.push(vec![]);
                let ok = body.iter().all(|s| stmt_ok(s, sc))
                    && tail.as_ref().is_none_or(|t| e_ok(t, sc));
                sc.pop();
                sc.last_mut().unwrap().extend(name.iter().cloned());
                ok
            }
            S::Return(o) => out_ok(o, sc),
            S::Call(_, args) => args.iter().all(|a| arg_ok(a, sc)),
            S::Match {
                scrut,
                arms,
                default,
            } => {
                ie_ok(scrut, sc)
                    && arms.iter().all(|(_, b)| block_ok(b, sc))
                    && block_ok(default, sc)
            }
        }
    }
    p.funcs.iter().all(|f| {
        let mut sc = vec![f.params.iter().map(|q| q.name.clone()).collect::<Vec<_>>()];
        f.body.iter().all(|s| stmt_ok(s, &mut sc)) && out_ok(&f.ret, &sc)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Cfg, generate};

    #[test]
    fn generated_programs_are_well_scoped() {
        let cfg = Cfg {
            without: Default::default(),
        };
        for k in 0..200 {
            let (p, _) = generate(4, k, &cfg);
            assert!(well_scoped(&p), "{}", crate::ast::source(&p));
        }
    }
}
