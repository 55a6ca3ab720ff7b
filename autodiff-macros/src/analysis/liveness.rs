//! Liveness: which bindings' values reach the result, and which are live after each statement.
//! The reverse emitter leaves out the adjoint statements of dead bindings (a NaN through an unused
//! overflowing value must not reach a gradient).
//!
//! Input: the structured IR body.  Output: the set of live bindings, and by statement the bindings
//! live just after it.

use std::collections::{HashMap, HashSet};

use crate::ir::*;

/// The active bindings whose values reach the function's result: those the result (or a
/// `return`) reads, and, to a fixpoint, those read by the definitions and assignments of live
/// bindings (flow-insensitive, so loops are covered; a value-producing `if`, `match` or block
/// passes its tails' bindings).
pub(crate) fn live_vars(f: &Func, body: &Block) -> HashSet<VarId> {
    let mut live: HashSet<VarId> = HashSet::new();
    let add = |op: &Operand, live: &mut HashSet<VarId>| -> bool {
        match op {
            Operand::Place(p) => live.insert(p.var),
            Operand::Const { .. } => false,
        }
    };
    if let Some(t) = &body.tail {
        add(t, &mut live);
    }
    visit_stmts(body, &mut |s| {
        if let Stmt::Return { value, .. } = s {
            add(value, &mut live);
        }
    });
    fn tails(b: &Block, out: &mut Vec<Operand>) {
        if let Some(t) = &b.tail {
            out.push(t.clone());
        }
    }
    loop {
        let mut grew = false;
        visit_stmts(body, &mut |s| {
            let mut reads: Vec<Operand> = Vec::new();
            // A call through `&mut` also assigns what it is passed: live when that is.
            let writes_live = s.written_places().iter().any(|p| live.contains(&p.var));
            match s {
                Stmt::Let { var, rhs, .. } if live.contains(var) || writes_live => match rhs {
                    Rhs::Operand(a) | Rhs::Neg(a) => reads.push(a.clone()),
                    Rhs::Bin(_, a, b) => reads.extend([a.clone(), b.clone()]),
                    Rhs::Rule(_, args)
                    | Rhs::Array(args)
                    | Rhs::Tuple(args)
                    | Rhs::Struct { args, .. } => reads.extend(args.iter().cloned()),
                    Rhs::Repeat { elem, .. } => reads.push(elem.clone()),
                    Rhs::Call { args, .. } => reads.extend(args.iter().map(|a| a.op.clone())),
                    Rhs::If { then, els, .. } => {
                        tails(then, &mut reads);
                        tails(els, &mut reads);
                    }
                    Rhs::Match { arms, .. } => arms.iter().for_each(|a| tails(&a.body, &mut reads)),
                    Rhs::Block(b) => tails(b, &mut reads),
                },
                Stmt::Assign { place, value, .. }
                | Stmt::AddAssign { place, value, .. }
                | Stmt::Push { place, value, .. }
                    if live.contains(&place.var) =>
                {
                    reads.push(value.clone());
                }
                _ => {}
            }
            for r in &reads {
                grew |= add(r, &mut live);
            }
        });
        if !grew {
            break;
        }
    }
    let _ = f;
    live
}

/// For every statement (by address), the active bindings whose values just after it can still
/// reach the result: a backward liveness in which a binding's definition makes its operands
/// live only when the binding itself is ("strongly live"), a whole assignment `v = e` ends
/// `v`'s liveness before it, loops are run to a fixpoint and branches joined.
pub(crate) fn live_after(body: &Block) -> HashMap<usize, HashSet<VarId>> {
    let mut map = HashMap::new();
    let mut out = HashSet::new();
    if let Some(Operand::Place(p)) = &body.tail {
        out.insert(p.var);
    }
    live_block(body, out, &mut map);
    map
}

/// The bindings live before the block, given those live after it (its tail's included by the
/// caller when the block's value is used).
pub(crate) fn live_block(
    b: &Block,
    mut live: HashSet<VarId>,
    map: &mut HashMap<usize, HashSet<VarId>>,
) -> HashSet<VarId> {
    for s in b.stmts.iter().rev() {
        map.insert(s.id(), live.clone());
        live = live_stmt(s, live, map);
    }
    live
}

pub(crate) fn live_stmt(
    s: &Stmt,
    out: HashSet<VarId>,
    map: &mut HashMap<usize, HashSet<VarId>>,
) -> HashSet<VarId> {
    let value_block = |blk: &Block,
                       rest: &HashSet<VarId>,
                       used: bool,
                       map: &mut HashMap<usize, HashSet<VarId>>| {
        let mut after = rest.clone();
        if used && let Some(t) = &blk.tail {
            op_var(t, &mut after);
        }
        live_block(blk, after, map)
    };
    match s {
        Stmt::Let { var, rhs, .. } => {
            // A call through `&mut` is used when its output or what it writes is (it reads what
            // it writes: those stay live before it then).
            let used = out.contains(var) || s.written_places().iter().any(|p| out.contains(&p.var));
            let mut live = out.clone();
            live.remove(var);
            match rhs {
                Rhs::If { then, els, .. } => {
                    let a = value_block(then, &live, used, map);
                    let b = value_block(els, &live, used, map);
                    a.union(&b).copied().collect()
                }
                Rhs::Match { arms, .. } => {
                    let mut all = live.clone();
                    for a in arms {
                        all.extend(value_block(&a.body, &live, used, map));
                    }
                    all
                }
                Rhs::Block(blk) => value_block(blk, &live, used, map),
                _ => {
                    if used {
                        let mut reads = Vec::new();
                        match rhs {
                            Rhs::Operand(a) | Rhs::Neg(a) => reads.push(a),
                            Rhs::Bin(_, a, b) => reads.extend([a, b]),
                            Rhs::Rule(_, args)
                            | Rhs::Array(args)
                            | Rhs::Tuple(args)
                            | Rhs::Struct { args, .. } => reads.extend(args.iter()),
                            Rhs::Repeat { elem, .. } => reads.push(elem),
                            Rhs::Call { args, .. } => reads.extend(args.iter().map(|a| &a.op)),
                            _ => {}
                        }
                        for r in reads {
                            op_var(r, &mut live);
                        }
                    }
                    live
                }
            }
        }
        Stmt::Assign { place, value, .. } => {
            let used = out.contains(&place.var);
            let mut live = out.clone();
            if place.proj.is_empty() {
                live.remove(&place.var);
            }
            if used {
                op_var(value, &mut live);
            }
            live
        }
        // A push adds an element: the `Vec`'s other elements stay.
        Stmt::AddAssign { place, value, .. } | Stmt::Push { place, value, .. } => {
            let mut live = out.clone();
            if out.contains(&place.var) {
                op_var(value, &mut live);
            }
            live
        }
        Stmt::Return { value, .. } => {
            let mut live = out;
            op_var(value, &mut live);
            live
        }
        Stmt::If { then, els, .. } => {
            let a = live_block(then, out.clone(), map);
            let b = live_block(els, out, map);
            a.union(&b).copied().collect()
        }
        Stmt::Match { arms, .. } => {
            let mut all = out.clone();
            for a in arms {
                all.extend(live_block(&a.body, out.clone(), map));
            }
            all
        }
        Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
            // Live before the loop: after it, or before the body (which may run again).
            let mut live = out.clone();
            loop {
                let before_body = live_block(body, live.clone(), map);
                let next: HashSet<VarId> = out.union(&before_body).copied().collect();
                if next == live {
                    break;
                }
                live = next;
            }
            live
        }
        Stmt::Passive(_, _) | Stmt::Break { .. } | Stmt::Continue { .. } => out,
    }
}
