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
    for_each_child_block(s, &mut |b| visit_stmts(b, f));
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

/// The bindings the `let`s among `stmts` declare (not those of nested blocks), in order.
pub fn let_vars(stmts: &[Stmt]) -> impl Iterator<Item = VarId> + '_ {
    stmts.iter().filter_map(|s| match s {
        Stmt::Let { var, .. } => Some(*var),
        _ => None,
    })
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

/// The variables assigned anywhere in `b`, by assignments or by calls through `&mut`.
pub fn assigned_vars(b: &Block, out: &mut HashSet<VarId>) {
    visit_stmts(b, &mut |s| {
        out.extend(s.written_places().iter().map(|p| p.var))
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

/// The variables that passive tokens mention, into a set.
pub fn mentions_tokens(
    t: &TokenStream,
    by_name: &HashMap<String, VarId>,
    out: &mut HashSet<VarId>,
) {
    token_mentions(t, by_name, &mut |v| {
        out.insert(v);
    });
}

/// Calls `f` on every variable that passive tokens mention, once a mention.
pub fn token_mentions(t: &TokenStream, by_name: &HashMap<String, VarId>, f: &mut dyn FnMut(VarId)) {
    for tt in t.clone() {
        match tt {
            TokenTree::Ident(i) => {
                if let Some(&v) = by_name.get(&i.to_string()) {
                    f(v);
                }
            }
            TokenTree::Group(g) => token_mentions(&g.stream(), by_name, f),
            _ => {}
        }
    }
}

/// Calls `f` on the variables a place's index expressions mention.
pub fn index_mentions(p: &Place, by_name: &HashMap<String, VarId>, f: &mut dyn FnMut(VarId)) {
    for pr in &p.proj {
        if let Proj::Index(i) = pr {
            token_mentions(i, by_name, f);
        }
    }
}

/// Calls `f` on the variables an operand reads: a place's variable and its indices' variables,
/// or those a passive expression mentions.
pub fn operand_mentions(op: &Operand, by_name: &HashMap<String, VarId>, f: &mut dyn FnMut(VarId)) {
    match op {
        Operand::Place(p) => {
            f(p.var);
            index_mentions(p, by_name, f);
        }
        Operand::Const { tokens, .. } => token_mentions(tokens, by_name, f),
    }
}

/// Every variable `s` assigns or declares, nested statements included (a call through `&mut`
/// assigns what it is passed).
pub fn writes(s: &Stmt, out: &mut HashSet<VarId>) {
    visit_stmt(s, &mut |s| {
        out.extend(s.written_places().iter().map(|p| p.var));
        if let Stmt::Let { var, .. } | Stmt::For { var, .. } = s {
            out.insert(*var);
        }
    });
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
