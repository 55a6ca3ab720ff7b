//! Front end, before renaming: iterator reductions become the `for` loops a hand rewrite gives
//! (which `lower` then turns into index loops over the collection).
//!
//! Input: `xs.iter().zip(ys).map(|(a, b)| a * b).sum::<f64>()`
//! Output: `{ let mut __acc = 0.0; for (a, b) in xs.iter().zip(ys) { __acc = __acc + a * b; } __acc }`
//!
//! Understood: a source `lower` can loop over (`xs.iter()`, `&xs`, `.copied()`, `.cloned()`,
//! `.enumerate()`, `.zip(..)`, position adapters, `.filter(..)`: `syntax::IterLoop`), then at
//! most one `.map(|p| e)` (a closure
//! of one parameter), then `.sum()`, `.product()` (turbofish allowed) or `.fold(init, |acc, p| e)`
//! / `.fold(init, f64::max)`. `__acc` is hygienic: the user's closure cannot name it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat};

use crate::front::syntax::IterLoop;

/// Rewrites every understood reduction in `body`. `zero` and `one` are the function's float
/// zero and one (`0.0`, `<F as Zero>::zero()`).
pub fn reductions(body: &mut syn::Block, zero: TokenStream, one: TokenStream) {
    Reductions { zero, one }.visit_block_mut(body);
}

struct Reductions {
    zero: TokenStream,
    one: TokenStream,
}

impl VisitMut for Reductions {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // Inner reductions first (a closure body may hold one).
        visit_mut::visit_expr_mut(self, e);
        if let Some(rewritten) = self.rewrite(e) {
            *e = rewritten;
        }
    }
}

impl Reductions {
    fn rewrite(&self, e: &Expr) -> Option<Expr> {
        let Expr::MethodCall(end) = e else {
            return None;
        };
        let acc = crate::names::hygienic("__acc", Span::call_site());
        // What is reduced: `src.map(|p| body)`, or the items of `src` themselves.
        let (src, pat, item): (&Expr, Pat, TokenStream) = match &*end.receiver {
            Expr::MethodCall(m) if m.method == "map" && m.args.len() == 1 => match &m.args[0] {
                Expr::Closure(c) if c.inputs.len() == 1 => {
                    let body = &c.body;
                    (&m.receiver, untyped(&c.inputs[0]), q!({ #body }))
                }
                _ => return None,
            },
            other => {
                let x = crate::names::hygienic("__x", Span::call_site());
                (other, syn::parse_quote!(#x), q!(#x))
            }
        };
        let mapped = matches!(&*end.receiver, Expr::MethodCall(m) if m.method == "map");
        let (pat, init, step) = match (end.method.to_string().as_str(), end.args.len()) {
            ("sum", 0) => (pat, self.zero.clone(), q!(#acc + #item)),
            ("product", 0) => (pat, self.one.clone(), q!(#acc * #item)),
            ("fold", 2) => {
                let init = end.args[0].to_token_stream();
                match &end.args[1] {
                    // `fold(init, |a, y| body)`: `a` is the accumulator, `y` the item.
                    Expr::Closure(c) if c.inputs.len() == 2 => {
                        let (a, y, body) = (&c.inputs[0], &c.inputs[1], &c.body);
                        if mapped {
                            (pat, init, q!({ let #a = #acc; let #y = #item; #body }))
                        } else {
                            (untyped(y), init, q!({ let #a = #acc; #body }))
                        }
                    }
                    // `fold(init, f64::max)`.
                    Expr::Path(p) => (pat, init, q!(#p(#acc, #item))),
                    _ => return None,
                }
            }
            _ => return None,
        };
        IterLoop::parse(&pat, src)?;
        syn::parse2(q!({
            let mut #acc = #init;
            for #pat in #src {
                #acc = #step;
            }
            #acc
        }))
        .ok()
    }
}

/// A closure parameter's pattern as a `for` pattern (which takes no type annotation).
fn untyped(p: &Pat) -> Pat {
    match p {
        Pat::Type(t) => (*t.pat).clone(),
        p => p.clone(),
    }
}

/// `if let`, `while let` and `let ... else` as the `match`es they stand for:
///
/// - `if let P = e { a } else { b }` -> `match e { P => { a } _ => { b } }`;
/// - `'l: while let P = e { body }` -> `'l: loop { match e { P => { body } _ => break, } }`;
/// - `let P = e else { d }; rest` -> `match e { P => { rest } _ => { d } }` (see [`let_else`]).
///
/// `if let` chains with `&&` are left alone (the lowering refuses them).
pub fn patterns(body: &mut syn::Block) {
    // The body's own `let ... else` first, so that its tail becomes a `return`.
    let_else_top(body);
    Patterns.visit_block_mut(body);
}

struct Patterns;

impl VisitMut for Patterns {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        let rewritten = match e {
            Expr::If(i) => match &*i.cond {
                Expr::Let(l) => {
                    let (pat, scrutinee, then) = (&l.pat, &l.expr, &i.then_branch);
                    let els = match &i.else_branch {
                        Some((_, e)) => q!(#e),
                        None => q!({}),
                    };
                    syn::parse2(q!(match #scrutinee { #pat => #then _ => #els })).ok()
                }
                _ => None,
            },
            Expr::While(w) => match &*w.cond {
                Expr::Let(l) => {
                    let (label, pat, scrutinee, body) = (&w.label, &l.pat, &l.expr, &w.body);
                    syn::parse2(q!(#label loop { match #scrutinee { #pat => #body _ => break, } }))
                        .ok()
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(r) = rewritten {
            *e = r;
        }
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        visit_mut::visit_block_mut(self, b);
        let_else(b, false);
    }
}

/// `let P = e else { d }; rest` in `b` as `match e { P => { rest } _ => { d } }`: the rest of
/// the block runs in the arm that binds `P`. In the function's body (`top`), a tail `t` of the
/// rest becomes `return t;`, so that the `match` needs no value (its other arm diverges).
fn let_else(b: &mut syn::Block, top: bool) {
    let Some(k) = b.stmts.iter().position(|s| {
        matches!(s, syn::Stmt::Local(l) if l.init.as_ref().is_some_and(|i| i.diverge.is_some()))
    }) else {
        return;
    };
    let mut rest: Vec<syn::Stmt> = b.stmts.split_off(k + 1);
    let syn::Stmt::Local(l) = b.stmts.pop().expect("the let-else") else {
        unreachable!("found above")
    };
    let init = l.init.expect("found above");
    let (_, diverge) = init.diverge.expect("found above");
    let (pat, scrutinee) = (&l.pat, &init.expr);
    let mut inner = syn::Block {
        brace_token: b.brace_token,
        stmts: std::mem::take(&mut rest),
    };
    if top
        && let Some(syn::Stmt::Expr(t, None)) = inner.stmts.last()
        && !matches!(t, Expr::Return(_))
    {
        let t = t.clone();
        inner.stmts.pop();
        inner.stmts.push(syn::parse_quote!(return #t;));
    }
    // Further `let ... else` in the rest (their tails already returns).
    let_else(&mut inner, top);
    match syn::parse2::<Expr>(q!(match #scrutinee { #pat => #inner _ => #diverge })) {
        // In the function's body a statement (every path returns); elsewhere the block's tail,
        // valued or not as the rest was.
        Ok(m) if top => b.stmts.push(syn::Stmt::Expr(m, Some(Default::default()))),
        Ok(m) => b.stmts.push(syn::Stmt::Expr(m, None)),
        Err(_) => {
            // Not expected; leave the statement for the lowering to report.
            b.stmts.push(syn::Stmt::Local(syn::Local {
                init: Some(syn::LocalInit {
                    diverge: Some((Default::default(), diverge)),
                    ..init
                }),
                ..l
            }));
            b.stmts.extend(inner.stmts);
        }
    }
}

/// `let ... else` in the function's body itself (see [`let_else`]).
pub fn let_else_top(body: &mut syn::Block) {
    let_else(body, true);
}
