//! Front end, after a first renaming: closures bound by `let` are inlined where they are used.
//!
//! A call `f(a, b)` of a closure `let f = |x, y| body;` becomes `({ let (x, y) = (a, b); body })`:
//! the arguments are evaluated first, in order, as a call does, and the body runs where the call
//! was, so what it computes is differentiated like any other code, as fast as a hand rewrite.
//! A use of `f` as a value (`xs.iter().map(f)`) becomes the closure expression itself, which the
//! iterator support then takes apart. The `let` of the closure is dropped.
//!
//! Inlining is exact because names are unique when it runs (every binding renamed apart): what
//! the closure captures at its definition is what the same names denote at its uses. A `move`
//! closure copies its captures at the definition, so it is refused, and so is a closure whose
//! body has a `return` (it would return from the function) or a `?`. The inlined bodies are
//! renamed apart again afterwards, since each use is a copy.
//!
//! Input: `let sq = |v: f64| v * v; let y = sq(x) + sq(2.0 * x);`
//! Output: `let y = ({ let v: f64 = x; v * v }) + ({ let v: f64 = 2.0 * x; v * v });`

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprClosure, Pat, Stmt};

/// Inlines the `let`-bound closures of `body`; returns the errors for those it cannot inline.
pub fn closures(body: &mut syn::Block) -> Vec<syn::Error> {
    let mut i = Inliner {
        scopes: vec![HashMap::new()],
        errors: Vec::new(),
    };
    i.visit_block_mut(body);
    i.errors
}

struct Inliner {
    /// The closures in scope, by name.
    scopes: Vec<HashMap<String, ExprClosure>>,
    errors: Vec<syn::Error>,
}

impl Inliner {
    fn lookup(&self, name: &str) -> Option<&ExprClosure> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    /// `let NAME = |..| ..;` (or `let mut NAME`): the name and the closure.
    fn binding(s: &Stmt) -> Option<(String, &ExprClosure)> {
        let Stmt::Local(l) = s else { return None };
        let init = l.init.as_ref()?;
        if init.diverge.is_some() {
            return None;
        }
        let Pat::Ident(pi) = &l.pat else { return None };
        if pi.by_ref.is_some() || pi.subpat.is_some() {
            return None;
        }
        match strip(&init.expr) {
            Expr::Closure(c) => Some((pi.ident.to_string(), c)),
            _ => None,
        }
    }

    /// Why `c` cannot be inlined, if it cannot.
    fn refusal(c: &ExprClosure) -> Option<(Span, &'static str)> {
        if let Some(m) = &c.capture {
            return Some((
                m.span(),
                "a `move` closure copies what it captures when it is made, which inlining would not: drop `move` (the closure is inlined where it is called), or write a named function",
            ));
        }
        if c.asyncness.is_some() || c.constness.is_some() || c.lifetimes.is_some() {
            return Some((
                c.span(),
                "only plain closures (`|x| ..`) are supported in a differentiated function",
            ));
        }
        struct Exits(Option<(Span, &'static str)>);
        impl<'ast> syn::visit::Visit<'ast> for Exits {
            fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
                self.0.get_or_insert((
                    r.span(),
                    "`return` in a closure is not supported in a differentiated function: give the closure's value as its tail expression",
                ));
            }
            fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
                self.0.get_or_insert((
                    t.span(),
                    "`?` in a closure is not supported in a differentiated function",
                ));
            }
            // A nested closure's `return` is its own.
            fn visit_expr_closure(&mut self, _: &'ast ExprClosure) {}
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        let mut e = Exits(None);
        syn::visit::Visit::visit_expr(&mut e, &c.body);
        e.0
    }

    /// `{ let (p1, p2) = (a1, a2); body }` for a call of `c` with `args`.
    fn inlined(c: &ExprClosure, args: &[Expr], span: Span) -> Option<Expr> {
        if args.len() != c.inputs.len() {
            return None;
        }
        let body = &c.body;
        let tokens = match c.inputs.len() {
            0 => quote::quote_spanned!(span=> { #body }),
            1 => {
                let (p, a) = (&c.inputs[0], &args[0]);
                quote::quote_spanned!(span=> { let #p = #a; #body })
            }
            _ => {
                // `|x: f64, k|` binds as `let (x, k): (f64, _) = (a, b);`.
                let ps = c.inputs.iter().map(|p| match p {
                    Pat::Type(t) => &*t.pat,
                    p => p,
                });
                let any_typed = c.inputs.iter().any(|p| matches!(p, Pat::Type(_)));
                let tys = c.inputs.iter().map(|p| match p {
                    Pat::Type(t) => {
                        let ty = &t.ty;
                        quote::quote!(#ty)
                    }
                    _ => quote::quote!(_),
                });
                let ty = any_typed.then(|| quote::quote_spanned!(span=> : (#(#tys),*)));
                quote::quote_spanned!(span=> { let (#(#ps),*) #ty = (#(#args),*); #body })
            }
        };
        // In parentheses: a block first in a statement would end the statement there
        // (`{ .. } * b` would parse as a block and a dereference).
        syn::parse2(quote::quote_spanned!(span=> (#tokens))).ok()
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        _ => e,
    }
}

fn single_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            seg.arguments.is_none().then(|| seg.ident.to_string())
        }
        _ => None,
    }
}

impl VisitMut for Inliner {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        self.scopes.push(HashMap::new());
        let mut kept = Vec::with_capacity(b.stmts.len());
        for mut s in std::mem::take(&mut b.stmts) {
            // The closure's own body first: it may use closures defined before it.
            self.visit_stmt_mut(&mut s);
            if let Some((name, c)) = Self::binding(&s) {
                if let Some((span, msg)) = Self::refusal(c) {
                    self.errors.push(syn::Error::new(span, msg));
                    kept.push(s);
                    continue;
                }
                let c = c.clone();
                self.scopes.last_mut().expect("a scope").insert(name, c);
                continue;
            }
            kept.push(s);
        }
        b.stmts = kept;
        self.scopes.pop();
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Expr::Call(call) = e
            && let Some(name) = single_name(&call.func)
            && let Some(c) = self.lookup(&name).cloned()
        {
            for a in call.args.iter_mut() {
                self.visit_expr_mut(a);
            }
            let args: Vec<Expr> = call.args.iter().cloned().collect();
            match Self::inlined(&c, &args, call.span()) {
                Some(inl) => *e = inl,
                None => self.errors.push(syn::Error::new(
                    call.span(),
                    format!("the closure `{name}` takes {} argument(s)", c.inputs.len()),
                )),
            }
            return;
        }
        visit_mut::visit_expr_mut(self, e);
        if let Some(name) = single_name(e)
            && let Some(c) = self.lookup(&name)
        {
            *e = Expr::Closure(c.clone());
        }
    }

    // A nested function is its own scope: the closures of this body are not visible there.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
