//! The one traversal of the IR, and the queries every later stage asks of it: the statements
//! nested in a statement, the bindings a statement declares or writes, the bindings a passive
//! token stream mentions, a place's projections as a key, whether an operand is a float scalar.
//!
//! Input: a [`Block`] or [`Stmt`]. Output: the visited statements, or a set of [`VarId`]s.

use std::collections::{HashMap, HashSet};

use proc_macro2::{TokenStream, TokenTree};

use super::*;

/// Calls `f` on every statement, nested ones included.
pub fn visit_stmts(b: &Block, f: &mut dyn FnMut(&Stmt)) {
    for s in &b.stmts {
        visit_stmt(s, f);
    }
}

/// Calls `f` on `s` and on every statement nested in it.
pub fn visit_stmt(s: &Stmt, f: &mut dyn FnMut(&Stmt)) {
    f(s);
    match s {
        Stmt::Let { rhs, .. } => match rhs {
            Rhs::If { then, els, .. } => {
                visit_stmts(then, f);
                visit_stmts(els, f);
            }
            Rhs::Match { arms, .. } => arms.iter().for_each(|a| visit_stmts(&a.body, f)),
            Rhs::Block(b) => visit_stmts(b, f),
            _ => {}
        },
        Stmt::If { then, els, .. } => {
            visit_stmts(then, f);
            visit_stmts(els, f);
        }
        Stmt::Match { arms, .. } => arms.iter().for_each(|a| visit_stmts(&a.body, f)),
        Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
            visit_stmts(body, f)
        }
        _ => {}
    }
}

/// Calls `f` on the blocks directly inside a statement.
pub fn for_each_child_block<'b>(s: &'b Stmt, f: &mut dyn FnMut(&'b Block)) {
    match s {
        Stmt::Let { rhs, .. } => match rhs {
            Rhs::If { then, els, .. } => {
                f(then);
                f(els);
            }
            Rhs::Match { arms, .. } => arms.iter().for_each(|a| f(&a.body)),
            Rhs::Block(b) => f(b),
            _ => {}
        },
        Stmt::If { then, els, .. } => {
            f(then);
            f(els);
        }
        Stmt::Match { arms, .. } => arms.iter().for_each(|a| f(&a.body)),
        Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => f(body),
        _ => {}
    }
}

pub fn collect_decls(b: &Block, lets: &mut HashSet<VarId>, fors: &mut HashSet<VarId>) {
    visit_stmts(b, &mut |s| match s {
        Stmt::Let { var, .. } => {
            lets.insert(*var);
        }
        Stmt::For { var, .. } => {
            fors.insert(*var);
        }
        _ => {}
    });
}

pub fn assigned_vars(b: &Block, out: &mut HashSet<VarId>) {
    visit_stmts(b, &mut |s| match s {
        Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } => {
            out.insert(place.var);
        }
        _ => {}
    });
}

pub fn contains_return(b: &Block) -> bool {
    let mut found = false;
    visit_stmts(b, &mut |s| {
        if matches!(s, Stmt::Return { .. }) {
            found = true;
        }
    });
    found
}

pub fn op_var(op: &Operand, set: &mut HashSet<VarId>) {
    if let Operand::Place(p) = op {
        set.insert(p.var);
    }
}

/// The variables `s` declares (its own `let`, inner loops' variables and bindings).
pub fn declared(s: &Stmt, out: &mut HashSet<VarId>) {
    visit_stmt(s, &mut |s| match s {
        Stmt::Let { var, .. } | Stmt::For { var, .. } => {
            out.insert(*var);
        }
        _ => {}
    });
}

pub fn mentions_tokens(
    t: &TokenStream,
    by_name: &HashMap<String, VarId>,
    out: &mut HashSet<VarId>,
) {
    for tt in t.clone() {
        match tt {
            TokenTree::Ident(i) => {
                if let Some(&v) = by_name.get(&i.to_string()) {
                    out.insert(v);
                }
            }
            TokenTree::Group(g) => mentions_tokens(&g.stream(), by_name, out),
            _ => {}
        }
    }
}

/// A place's projections as a comparable key.
pub fn key(p: &Place) -> String {
    let mut k = String::new();
    for pr in &p.proj {
        match pr {
            Proj::Index(t) => {
                k.push('[');
                k.push_str(&t.to_string());
                k.push(']');
            }
            Proj::Field(m) => {
                k.push('.');
                k.push_str(&quote::ToTokens::to_token_stream(m).to_string());
            }
        }
    }
    k
}

pub fn op_scalar(op: &Operand, vars: &[Var]) -> bool {
    match op {
        Operand::Place(p) => p.proj.is_empty() && vars[p.var].scalar,
        Operand::Const { float, tokens } => {
            *float && syn::parse2::<syn::Lit>(tokens.clone()).is_ok()
        }
    }
}

/// Whether every statement of `body` has an id of its own (facts are keyed by [`StmtId`]).
pub fn ids_unique(body: &Block) -> bool {
    let mut seen = HashSet::new();
    let mut unique = true;
    visit_stmts(body, &mut |s| unique &= seen.insert(s.id()));
    unique
}
