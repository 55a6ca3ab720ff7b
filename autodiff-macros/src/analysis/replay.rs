//! Analysis: recompute instead of store (read by the reverse emitter).
//!
//! A loop body (or branch) declares its own bindings; their values are gone when the block ends,
//! so a value the reverse sweep reads must either be pushed on a tape at the end of every
//! iteration and popped in the reverse sweep, or be computed again at the start of the
//! iteration's reverse. This pass picks the statements that can be re-run there: the ones that
//! write only the block's own bindings (inner `for` loops over ranges included) and read only
//! values the block never changes, so that re-running them, in order, rebuilds exactly the state
//! the block ended with. The rest is stored as before.
//!
//! Input (a Gaussian-mixture body): `let mut xc = [0.0; D]; for j in 0..D { xc[j] = x[j] - m[k][j]; }
//! ... se += v.exp();` Output: the reverse of the iteration starts with the same two statements
//! instead of `let xc = __tape8.pop().unwrap();`, and the forward sweep no longer pushes `xc`.

use std::collections::{HashMap, HashSet};

use crate::ir::*;

/// What the reverse sweep of one block re-runs.
pub struct Plan {
    /// Indices into the block's statements, in order.
    pub stmts: Vec<usize>,
    /// The block's bindings whose values the re-run statements give back (never taped).
    pub covered: HashSet<VarId>,
}

/// Which statements of `b` to re-run so that the `needed` bindings of `b` (outside `skip`,
/// the ones recomputed by other means) need no tape.
pub fn plan(
    b: &Block,
    needed: &HashSet<VarId>,
    skip: &HashMap<VarId, Rhs>,
    by_name: &HashMap<String, VarId>,
) -> Plan {
    let empty = Plan {
        stmts: Vec::new(),
        covered: HashSet::new(),
    };
    // The block's own bindings, by `let` directly in it: only those can be rebuilt.
    let locals: HashSet<VarId> = crate::ir::let_vars(&b.stmts).collect();
    let want: Vec<VarId> = locals
        .iter()
        .copied()
        .filter(|v| needed.contains(v) && !skip.contains_key(v))
        .collect();
    if want.is_empty() {
        return empty;
    }
    // Everything the block assigns, anywhere in it (passive code counted by every name it
    // mentions), and every local that passive code mentions (it may write it).
    let mut changed: HashSet<VarId> = HashSet::new();
    let mut untouchable: HashSet<VarId> = HashSet::new();
    crate::ir::visit_stmts(b, &mut |s| match s {
        Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } | Stmt::Push { place, .. } => {
            changed.insert(place.var);
        }
        Stmt::Let { var, rhs, .. } => {
            changed.insert(*var);
            // A call through `&mut` changes what it is passed.
            changed.extend(rhs.mut_places().iter().map(|p| p.var));
        }
        Stmt::For { var, .. } => {
            changed.insert(*var);
        }
        Stmt::Passive(_, t) => {
            let mut m = HashSet::new();
            mentions_tokens(t, by_name, &mut m);
            untouchable.extend(m.iter().copied().filter(|v| locals.contains(v)));
            changed.extend(m);
        }
        _ => {}
    });
    // Per statement: can it be re-run, what it writes, what it mentions.
    struct Info {
        replayable: bool,
        writes: HashSet<VarId>,
        decls: HashSet<VarId>,
        mentions: HashSet<VarId>,
    }
    let infos: Vec<Info> = b
        .stmts
        .iter()
        .map(|s| {
            let mut writes = HashSet::new();
            let mut decls = HashSet::new();
            let mut mentions = HashSet::new();
            let replayable = scan(s, by_name, &mut writes, &mut decls, &mut mentions);
            // Writes of a statement that cannot be re-run count too (they stop a re-run).
            crate::ir::writes(s, &mut writes);
            Info {
                replayable,
                writes,
                decls,
                mentions,
            }
        })
        .collect();
    let mut writers: HashMap<VarId, Vec<usize>> = HashMap::new();
    for (i, info) in infos.iter().enumerate() {
        for &w in &info.writes {
            writers.entry(w).or_default().push(i);
        }
    }
    // Statements that could be re-run, before looking at what they read of the block's own.
    let mut r: HashSet<usize> = (0..infos.len())
        .filter(|&i| {
            let info = &infos[i];
            info.replayable
                && info.writes.iter().all(|w| {
                    (locals.contains(w) && !untouchable.contains(w)) || info.decls.contains(w)
                })
                && info
                    .mentions
                    .iter()
                    .all(|m| locals.contains(m) || info.decls.contains(m) || !changed.contains(m))
        })
        .collect();
    // A re-run statement reading a local needs every write of that local re-run too.
    loop {
        let drop: Vec<usize> = r
            .iter()
            .copied()
            .filter(|&i| {
                infos[i].mentions.iter().any(|m| {
                    locals.contains(m)
                        && !infos[i].decls.contains(m)
                        && (untouchable.contains(m)
                            || writers
                                .get(m)
                                .is_none_or(|ws| ws.iter().any(|w| !r.contains(w))))
                })
            })
            .collect();
        if drop.is_empty() {
            break;
        }
        for i in drop {
            r.remove(&i);
        }
    }
    let covered_ok = |v: &VarId| {
        !untouchable.contains(v)
            && writers
                .get(v)
                .is_some_and(|ws| !ws.is_empty() && ws.iter().all(|w| r.contains(w)))
    };
    let covered: HashSet<VarId> = want.iter().copied().filter(covered_ok).collect();
    if covered.is_empty() {
        return empty;
    }
    // The statements to re-run: the writers of what is covered, and of what they read.
    let mut useful: HashSet<usize> = HashSet::new();
    let mut work: Vec<VarId> = covered.iter().copied().collect();
    let mut seen: HashSet<VarId> = HashSet::new();
    while let Some(v) = work.pop() {
        if !seen.insert(v) {
            continue;
        }
        for &w in writers.get(&v).into_iter().flatten() {
            if useful.insert(w) {
                for &m in &infos[w].mentions {
                    if locals.contains(&m) && !infos[w].decls.contains(&m) {
                        work.push(m);
                    }
                }
            }
        }
    }
    let mut stmts: Vec<usize> = useful.into_iter().collect();
    stmts.sort_unstable();
    Plan { stmts, covered }
}

/// Whether `s` can be re-run as it is (no calls, branches, tapes or early exits), collecting
/// what it writes, declares and mentions.
fn scan(
    s: &Stmt,
    by_name: &HashMap<String, VarId>,
    writes: &mut HashSet<VarId>,
    decls: &mut HashSet<VarId>,
    mentions: &mut HashSet<VarId>,
) -> bool {
    match s {
        Stmt::Let { var, rhs, .. } => {
            writes.insert(*var);
            decls.insert(*var);
            match rhs {
                Rhs::Operand(a) | Rhs::Neg(a) => operand(a, by_name, mentions),
                Rhs::Bin(_, a, c) => {
                    operand(a, by_name, mentions);
                    operand(c, by_name, mentions);
                }
                // Transcendental rules cost more to recompute than to store (the table says).
                Rhs::Rule(rule, args) if rule.cost == autodiff_core::rules::Cost::Cheap => {
                    args.iter().for_each(|a| operand(a, by_name, mentions))
                }
                Rhs::Array(args) | Rhs::Tuple(args) | Rhs::Struct { args, .. } => {
                    args.iter().for_each(|a| operand(a, by_name, mentions))
                }
                Rhs::Rule(..) => return false,
                Rhs::Repeat { elem, len, .. } => {
                    operand(elem, by_name, mentions);
                    mentions_tokens(len, by_name, mentions);
                }
                Rhs::Call { .. } | Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_) => {
                    return false;
                }
            }
            true
        }
        Stmt::Assign { place, value, .. } | Stmt::AddAssign { place, value, .. } => {
            writes.insert(place.var);
            mentions.insert(place.var);
            proj(place, by_name, mentions);
            operand(value, by_name, mentions);
            true
        }
        Stmt::For {
            var,
            iter,
            body,
            exit: None,
            ..
        } if iter.reversible => {
            writes.insert(*var);
            decls.insert(*var);
            mentions_tokens(&iter.tokens, by_name, mentions);
            mentions.extend(iter.reads.iter().copied());
            body.tail.is_none()
                && body
                    .stmts
                    .iter()
                    .all(|s| scan(s, by_name, writes, decls, mentions))
        }
        _ => false,
    }
}

fn operand(op: &Operand, by_name: &HashMap<String, VarId>, out: &mut HashSet<VarId>) {
    crate::ir::operand_mentions(op, by_name, &mut |v| {
        out.insert(v);
    });
}

fn proj(p: &Place, by_name: &HashMap<String, VarId>, out: &mut HashSet<VarId>) {
    crate::ir::index_mentions(p, by_name, &mut |v| {
        out.insert(v);
    });
}
