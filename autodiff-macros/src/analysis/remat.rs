//! Rematerialization: bindings the reverse sweep recomputes from their operands instead of storing.
//!
//! Input: the structured IR body and the variables assigned anywhere.  Output: by binding, the
//! right-hand side to recompute.

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;

use crate::ir::*;

/// Bindings whose value the reverse sweep can recompute: `+ - * /` and negation of places and
/// constants whose variables are never assigned after their declaration (so their values are
/// the same wherever the reverse sweep reads them), declared inside a loop or branch.
pub(crate) fn rematerializable(
    body: &Block,
    assigned: &HashSet<VarId>,
    by_name: &HashMap<String, VarId>,
) -> HashMap<VarId, Rhs> {
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
    ) {
        for s in &b.stmts {
            if let Stmt::Let { var, rhs, .. } = s {
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
    scan(body, true, &mut out, assigned, &stable);
    visit_stmts(body, &mut |s| {
        for_each_child_block(s, &mut |b| scan(b, false, &mut out, assigned, &stable));
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
