//! Save regions: for each assignment, the statements whose reverse sweep could read the value it
//! overwrites. An overwrite whose region reads nothing of the variable needs no saved value.
//!
//! Input: the structured IR body.  Output: by assignment, the ids of the statements of its region.

use std::collections::{HashMap, HashSet};

use crate::ir::*;

/// For every assignment, the statements whose reverse sweep runs after its own and could read
/// the value it overwrote: the statements of the block declaring the variable, from the
/// declaration to the one containing the assignment (whole, for the loops around it). If none
/// of them reads the variable, the old value need not be saved.
pub(crate) fn save_regions(
    body: &Block,
    let_declared: &HashSet<VarId>,
    for_vars: &HashSet<VarId>,
    f: &Func,
) -> HashMap<usize, Vec<usize>> {
    struct Walk<'f> {
        f: &'f Func,
        let_declared: &'f HashSet<VarId>,
        for_vars: &'f HashSet<VarId>,
        out: HashMap<usize, Vec<usize>>,
    }
    impl Walk<'_> {
        fn block<'b>(&mut self, b: &'b Block, chain: &mut Vec<(&'b Block, usize)>) {
            for (k, s) in b.stmts.iter().enumerate() {
                chain.push((b, k));
                // An assignment, or a call writing through `&mut` (the union of its places'
                // regions).
                let mut union: Option<Vec<usize>> = None;
                for place in s.written_places() {
                    let v = place.var;
                    let var = &self.f.vars[v];
                    let mut region: Option<Vec<usize>> = None;
                    for (depth, &(blk, kk)) in chain.iter().enumerate().rev() {
                        let decl = blk
                            .stmts
                            .iter()
                            .position(|s| matches!(s, Stmt::Let { var, .. } if *var == v));
                        let pattern_here = !self.let_declared.contains(&v)
                            && !self.for_vars.contains(&v)
                            && var.scope == Some(blk.id);
                        let param_here = var.param.is_some() && depth == 0;
                        if decl.is_some() || pattern_here || param_here {
                            let from = decl.unwrap_or(0);
                            region = Some(blk.stmts[from..=kk].iter().map(|s| s.id()).collect());
                            break;
                        }
                    }
                    // Not found (a loop variable assigned in its body): always save.
                    let region = region.unwrap_or_else(|| vec![usize::MAX]);
                    union = Some(match union {
                        None => region,
                        Some(mut u) => {
                            u.extend(
                                region
                                    .into_iter()
                                    .filter(|r| !u.contains(r))
                                    .collect::<Vec<_>>(),
                            );
                            u
                        }
                    });
                }
                if let Some(region) = union {
                    self.out.insert(s.id(), region);
                }
                for_each_child_block(s, &mut |child| self.block(child, chain));
                chain.pop();
            }
        }
    }
    let mut w = Walk {
        f,
        let_declared,
        for_vars,
        out: HashMap::new(),
    };
    w.block(body, &mut Vec::new());
    w.out
}
