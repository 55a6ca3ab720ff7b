//! Rematerialization: bindings the reverse sweep recomputes from their operands instead of storing.
//!
//! Input: the structured IR body and the variables assigned anywhere.  Output: by binding, the
//! right-hand side to recompute.

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;

use crate::ir::*;

/// Bindings whose value the reverse sweep can recompute: `+ - * /` and negation of places and
/// constants whose variables are never assigned after their declaration (so their values are
/// the same wherever the reverse sweep reads them), declared inside a loop or branch. A place
/// whose variable (and index variables) the rest of the block never writes counts too (`let q =
/// qxc[i];` in a loop over `qxc`'s elements): the recomputation runs at the start of the block's
/// reverse, when the reverse of everything after the block has restored what it overwrote (the
/// reads are needed like any other), so the place holds what the `let` read.
pub(crate) fn rematerializable(
    body: &Block,
    assigned: &HashSet<VarId>,
    by_name: &HashMap<String, VarId>,
) -> HashMap<VarId, Rhs> {
    // Passive code kept as written may write whatever it names (`v.push(w * 2.0)` on a passive
    // `let mut v = Vec::new();`, which recomputed from its `let` would be empty).
    let mut assigned = assigned.clone();
    visit_stmts(body, &mut |s| {
        if let Stmt::Passive(_, t) = s {
            crate::ir::mentions_tokens(t, by_name, &mut assigned);
        }
    });
    let assigned = &assigned;
    let stable_tokens = |t: &TokenStream| stable_tokens(t, by_name, assigned);
    let stable = |op: &Operand| match op {
        Operand::Place(p) => {
            !assigned.contains(&p.var)
                && p.proj.iter().all(|pr| match pr {
                    Proj::Index(i) => stable_tokens(i),
                    Proj::Field(_) => true,
                })
        }
        Operand::Const { tokens, .. } => stable_tokens(tokens),
    };
    let mut out = HashMap::new();
    fn scan(
        b: &Block,
        top: bool,
        out: &mut HashMap<VarId, Rhs>,
        assigned: &HashSet<VarId>,
        stable: &dyn Fn(&Operand) -> bool,
        unchanged_after: &dyn Fn(&Block, usize, &Operand) -> bool,
    ) {
        for (i, s) in b.stmts.iter().enumerate() {
            if let Stmt::Let { var, rhs, .. } = s {
                let stable = |op: &Operand| stable(op) || (!top && unchanged_after(b, i, op));
                let cheap = match rhs {
                    Rhs::Operand(a) | Rhs::Neg(a) => stable(a),
                    Rhs::Bin(_, a, b) => stable(a) && stable(b),
                    _ => false,
                };
                if cheap && !top && !assigned.contains(var) {
                    out.insert(*var, rhs.clone());
                }
            }
        }
    }
    // A place the statements of `b` after the `i`-th never write, nor the variables of its
    // indices (passive code counted as writing whatever it names).
    let unchanged_after = |b: &Block, i: usize, op: &Operand| {
        let Operand::Place(p) = op else {
            return false;
        };
        let mut read = HashSet::from([p.var]);
        crate::ir::index_mentions(p, by_name, &mut |v| {
            read.insert(v);
        });
        let mut written = HashSet::new();
        for s in &b.stmts[i + 1..] {
            crate::ir::writes(s, &mut written);
            visit_stmt(s, &mut |s| {
                if let Stmt::Passive(_, t) = s {
                    crate::ir::mentions_tokens(t, by_name, &mut written);
                }
            });
        }
        read.is_disjoint(&written)
    };
    scan(body, true, &mut out, assigned, &stable, &unchanged_after);
    visit_stmts(body, &mut |s| {
        for_each_child_block(s, &mut |b| {
            scan(b, false, &mut out, assigned, &stable, &unchanged_after)
        });
    });
    out
}

/// Passive tokens that name no variable assigned anywhere: they evaluate to the same value
/// wherever the reverse sweep reads them.
pub(crate) fn stable_tokens(
    t: &TokenStream,
    by_name: &HashMap<String, VarId>,
    assigned: &HashSet<VarId>,
) -> bool {
    let mut named = HashSet::new();
    crate::ir::mentions_tokens(t, by_name, &mut named);
    named.iter().all(|v| !assigned.contains(v))
}
