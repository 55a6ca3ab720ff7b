//! Front end, after the iterator desugarings (`desugar::reductions`, `iterators::chains`): a
//! reduction's loop becomes statements of the block that computes it, as a hand rewrite writes
//! it, instead of a block used as a value. The loop machinery of the later stages (`_grad`'s
//! one pass, replay, liveness) then sees the same code as for the index loop.
//!
//! Input: `let s = { let mut __acc = -0.0; for x in xs.iter() { __acc = __acc + x * x; } __acc };`
//! Output: `let mut s = -0.0; for x in xs.iter() { s += x * x; }`
//!
//! Input: `h[i] = (b[i] + { let mut __acc = -0.0; for .. { .. } __acc }).tanh();`
//! Output: `let mut __acc0 = -0.0; for .. { .. } h[i] = (b[i] + __acc0).tanh();`
//!
//! A reduction block (first statement `let mut __acc = ..`, value `__acc`, every other binding
//! it declares at its top a generated `__` name) is hoisted out of a statement when it is
//! evaluated unconditionally, at the statement's start or after parts that only read (variables,
//! fields, elements, arithmetic, casts, float methods): those parts and the loop commute when
//! the loop writes nothing they read (checked: assignments, `&mut`, macros and method calls on
//! a variable inside the block count as writes). A block with an exit (`return`, `?`, a labelled
//! `break` / `continue`) stays a value (the lowering reports the exit). Reductions under a
//! branch (`if`, `match`, `&&`, `||`, loop conditions) stay where they are; one that is a
//! branch's or a block's value is hoisted within that branch or block.
//!
//! The accumulator keeps its start and its order of additions (the result is the same to the
//! bit); with a concrete float type (`f64`, `f32`) its update `a = a + item` is written
//! `a += item` (the same operation), which is what `_grad`'s one-pass fusion recognises. A
//! generic float type keeps `a = a + item` (`Float` does not require `AddAssign`).

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat, Stmt};

use crate::front::syntax::strip_paren;
use crate::names::{Fresh, hygienic};

/// Hoists the reductions of `body` (see the module's documentation). `compound`: the function's
/// float type has `+=` (`f64`, `f32`).
pub fn reductions(body: &mut syn::Block, compound: bool) {
    let fresh = Fresh::new(q!(#body));
    Hoist { fresh, compound }.visit_block_mut(body);
}

struct Hoist {
    fresh: Fresh,
    compound: bool,
}

impl VisitMut for Hoist {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        // Inner blocks first: a reduction inside another's loop is hoisted into that loop's body.
        visit_mut::visit_block_mut(self, b);
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in std::mem::take(&mut b.stmts) {
            self.statement(s, &mut out);
        }
        b.stmts = out;
    }
}

const ACC: &str = "__acc";

/// The statements of `e` when it is a reduction block that may be hoisted (see the module's
/// documentation).
fn reduction(e: &Expr) -> Option<&syn::Block> {
    let Expr::Block(b) = strip_paren(e) else {
        return None;
    };
    if b.label.is_some() || !b.attrs.is_empty() {
        return None;
    }
    let stmts = &b.block.stmts;
    let (Some(Stmt::Local(first)), Some(Stmt::Expr(Expr::Path(tail), None))) =
        (stmts.first(), stmts.last())
    else {
        return None;
    };
    let Pat::Ident(pi) = &first.pat else {
        return None;
    };
    if pi.ident != ACC
        || pi.mutability.is_none()
        || pi.by_ref.is_some()
        || pi.subpat.is_some()
        || first.init.as_ref().is_none_or(|i| i.diverge.is_some())
        || !tail.path.is_ident(ACC)
    {
        return None;
    }
    // Every binding declared at its top is generated (it cannot capture a user's name where it
    // lands); no item.
    for s in &stmts[1..stmts.len() - 1] {
        match s {
            Stmt::Local(l) => {
                let mut names = Vec::new();
                crate::front::syntax::pat_bindings(&l.pat, &mut names);
                if names.iter().any(|n| !n.starts_with("__")) {
                    return None;
                }
            }
            Stmt::Item(_) => return None,
            _ => {}
        }
    }
    if exits(&q!(#b)) {
        return None;
    }
    Some(&b.block)
}

/// Whether the tokens hold a `return`, a `?` or a labelled `break` / `continue`.
fn exits(t: &TokenStream) -> bool {
    let tts: Vec<TokenTree> = t.clone().into_iter().collect();
    tts.iter().enumerate().any(|(k, tt)| match tt {
        TokenTree::Ident(i) if i == "return" => true,
        TokenTree::Ident(i) if i == "break" || i == "continue" => {
            matches!(tts.get(k + 1), Some(TokenTree::Punct(p)) if p.as_char() == '\'')
        }
        TokenTree::Punct(p) => p.as_char() == '?',
        TokenTree::Group(g) => exits(&g.stream()),
        _ => false,
    })
}

/// Every identifier in the tokens.
fn idents(t: TokenStream, out: &mut HashSet<String>) {
    for tt in t {
        match tt {
            TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}

/// The variables `e` may write: the bases of assignments and compound assignments, of `&mut`
/// borrows and of method calls' receivers (a method may take `&mut self`), and every name in a
/// macro.
fn writes(e: &syn::Block) -> HashSet<String> {
    struct W(HashSet<String>);
    impl W {
        fn base(&mut self, e: &Expr) {
            if let Some(b) = crate::front::syntax::place_base(e) {
                self.0.insert(b);
            }
        }
    }
    impl<'ast> syn::visit::Visit<'ast> for W {
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            self.base(&a.left);
            syn::visit::visit_expr_assign(self, a);
        }
        fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
            if crate::front::syntax::compound_assign(&b.op) {
                self.base(&b.left);
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
            if r.mutability.is_some() {
                self.base(&r.expr);
            }
            syn::visit::visit_expr_reference(self, r);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            if !pure_method(&m.method.to_string()) {
                self.base(&m.receiver);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            idents(m.tokens.clone(), &mut self.0);
        }
    }
    let mut w = W(HashSet::new());
    syn::visit::Visit::visit_block(&mut w, e);
    w.0
}

/// A method that only reads its receiver and arguments: a float rule's (`sin`, `powi`, `max`,
/// ...) or a length.
fn pure_method(name: &str) -> bool {
    matches!(name, "len" | "is_empty") || autodiff_core::rules::Rule::find(name).is_some()
}

/// A call that only reads its arguments: `f64::max(a, b)`, `F::exp(x)` (a float rule by path).
fn pure_call(c: &syn::ExprCall) -> bool {
    matches!(&*c.func, Expr::Path(p) if p.qself.is_none()
        && p.path.segments.len() == 2
        && autodiff_core::rules::Rule::find(&p.path.segments[1].ident.to_string()).is_some())
}

/// Whether evaluating `e` only reads: variables, literals, fields, elements, shared borrows,
/// arithmetic, comparisons, casts, tuples, arrays, float methods and lengths.
fn pure(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Paren(p) => pure(&p.expr),
        Expr::Group(g) => pure(&g.expr),
        Expr::Field(f) => pure(&f.base),
        Expr::Cast(c) => pure(&c.expr),
        Expr::Unary(u) => pure(&u.expr),
        Expr::Reference(r) => r.mutability.is_none() && pure(&r.expr),
        Expr::Index(i) => pure(&i.expr) && pure(&i.index),
        Expr::Binary(b) => {
            !crate::front::syntax::compound_assign(&b.op) && pure(&b.left) && pure(&b.right)
        }
        Expr::Tuple(t) => t.elems.iter().all(pure),
        Expr::Array(a) => a.elems.iter().all(pure),
        Expr::MethodCall(m) => {
            m.turbofish.is_none()
                && pure_method(&m.method.to_string())
                && pure(&m.receiver)
                && m.args.iter().all(pure)
        }
        Expr::Call(c) => pure_call(c) && c.args.iter().all(pure),
        _ => false,
    }
}

/// A walk of one statement's expression in evaluation order, hoisting the reductions it meets
/// while everything evaluated before them only reads.
struct Walk<'h> {
    hoist: &'h mut Hoist,
    /// What the parts evaluated so far (other than hoisted reductions) name.
    reads: HashSet<String>,
    /// Nothing more is hoisted from this statement.
    stop: bool,
    /// The statements hoisted, in order.
    out: Vec<Stmt>,
}

impl Walk<'_> {
    /// A part that is evaluated but not walked into.
    fn opaque(&mut self, e: &Expr) {
        idents(q!(#e), &mut self.reads);
        if !pure(e) {
            self.stop = true;
        }
    }

    fn walk(&mut self, e: &mut Expr) {
        if self.stop {
            return;
        }
        if let Some(r) = reduction(e) {
            if writes(r).iter().any(|w| self.reads.contains(w)) {
                self.stop = true;
                return;
            }
            let r = r.clone();
            let acc = self.hoist.fresh_acc();
            self.out.extend(self.hoist.take(r, &acc));
            *e = syn::parse_quote!(#acc);
            return;
        }
        match e {
            Expr::Paren(p) => self.walk(&mut p.expr),
            Expr::Group(g) => self.walk(&mut g.expr),
            Expr::Field(f) => self.walk(&mut f.base),
            Expr::Cast(c) => self.walk(&mut c.expr),
            Expr::Unary(u) => self.walk(&mut u.expr),
            Expr::Reference(r) => self.walk(&mut r.expr),
            Expr::Index(i) => {
                self.walk(&mut i.expr);
                self.walk(&mut i.index);
            }
            Expr::Binary(b) => match b.op {
                syn::BinOp::And(_) | syn::BinOp::Or(_) => {
                    self.walk(&mut b.left);
                    // Evaluated or not, after the left side.
                    self.stop = true;
                }
                op if crate::front::syntax::compound_assign(&op) => {
                    // The place may be evaluated first (a non-primitive type's `AddAssign`).
                    self.opaque(&b.left);
                    self.walk(&mut b.right);
                }
                _ => {
                    self.walk(&mut b.left);
                    self.walk(&mut b.right);
                }
            },
            Expr::Assign(a) => {
                // The value first, then the place.
                self.walk(&mut a.right);
                self.opaque(&a.left);
            }
            Expr::Tuple(t) => t.elems.iter_mut().for_each(|e| self.walk(e)),
            Expr::Array(a) => a.elems.iter_mut().for_each(|e| self.walk(e)),
            Expr::MethodCall(m) => {
                self.walk(&mut m.receiver);
                m.args.iter_mut().for_each(|e| self.walk(e));
                if m.turbofish.is_some() || !pure_method(&m.method.to_string()) {
                    self.stop = true;
                }
            }
            Expr::Call(c) => {
                let pure_fn = pure_call(c);
                self.opaque(&c.func);
                c.args.iter_mut().for_each(|e| self.walk(e));
                if !pure_fn {
                    self.stop = true;
                }
            }
            Expr::Return(r) => {
                if let Some(e) = &mut r.expr {
                    self.walk(e);
                }
            }
            Expr::If(i) => {
                self.walk(&mut i.cond);
                self.stop = true;
            }
            Expr::Match(m) => {
                self.walk(&mut m.expr);
                self.stop = true;
            }
            e => self.opaque(e),
        }
    }
}

impl Hoist {
    fn fresh_acc(&mut self) -> syn::Ident {
        let (name, _) = self.fresh.next(ACC, 0);
        hygienic(&name, Span::call_site())
    }

    /// A reduction block's statements (without its value), its accumulator renamed `acc`, its
    /// other generated bindings renamed apart, its update written with `+=` when the float type
    /// has it.
    fn take(&mut self, r: syn::Block, acc: &syn::Ident) -> Vec<Stmt> {
        let mut stmts = r.stmts;
        stmts.pop();
        let mut renames: Vec<(String, syn::Ident)> = vec![(ACC.to_string(), acc.clone())];
        for s in &stmts[1..] {
            if let Stmt::Local(l) = s {
                let mut names = Vec::new();
                crate::front::syntax::pat_bindings(&l.pat, &mut names);
                for n in names {
                    if renames.iter().all(|(o, _)| *o != n) {
                        let (f, _) = self.fresh.next(&n, 0);
                        renames.push((n, hygienic(&f, Span::call_site())));
                    }
                }
            }
        }
        let tokens = rename(q!(#(#stmts)*), &renames);
        let Ok(mut block) = syn::parse2::<syn::Block>(q!({ #tokens })) else {
            unreachable!("renaming identifiers keeps statements statements")
        };
        if self.compound {
            Compound(acc).visit_block_mut(&mut block);
        }
        block.stmts
    }

    fn statement(&mut self, s: Stmt, out: &mut Vec<Stmt>) {
        match s {
            Stmt::Local(mut l) => {
                // `let s = REDUCTION;`: the accumulator is `s`.
                if let Some(init) = &l.init
                    && init.diverge.is_none()
                    && let Some((pi, ty)) = plain(&l.pat)
                    && let Some(r) = reduction(&init.expr)
                    && !mentions(&q!(#r), &pi.ident.to_string())
                {
                    let (r, id, ty) = (r.clone(), pi.ident.clone(), ty.cloned());
                    let mut stmts = self.take(r, &id);
                    if let Some(Stmt::Local(first)) = stmts.first_mut() {
                        first.attrs = l.attrs;
                        let pat: Pat = syn::parse_quote!(mut #id);
                        first.pat = match ty {
                            Some(t) => Pat::Type(syn::PatType {
                                attrs: Vec::new(),
                                pat: Box::new(pat),
                                colon_token: Default::default(),
                                ty: Box::new(t),
                            }),
                            None => pat,
                        };
                    }
                    out.extend(stmts);
                    return;
                }
                let hoisted = match &mut l.init {
                    Some(init) if init.diverge.is_none() => self.walk(&mut init.expr),
                    _ => Vec::new(),
                };
                out.extend(hoisted);
                out.push(Stmt::Local(l));
            }
            Stmt::Expr(mut e, semi) => {
                let hoisted = self.walk(&mut e);
                out.extend(hoisted);
                out.push(Stmt::Expr(e, semi));
            }
            s => out.push(s),
        }
    }

    fn walk(&mut self, e: &mut Expr) -> Vec<Stmt> {
        let mut w = Walk {
            hoist: self,
            reads: HashSet::new(),
            stop: false,
            out: Vec::new(),
        };
        w.walk(e);
        w.out
    }
}

/// `x`, `mut x`, `x: T`: the binding and its type.
fn plain(p: &Pat) -> Option<(&syn::PatIdent, Option<&syn::Type>)> {
    let (p, ty) = match p {
        Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
        p => (p, None),
    };
    match p {
        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => Some((pi, ty)),
        _ => None,
    }
}

fn mentions(t: &TokenStream, name: &str) -> bool {
    let mut all = HashSet::new();
    idents(t.clone(), &mut all);
    all.contains(name)
}

/// The tokens with each identifier spelled as an old name replaced by its new one.
fn rename(t: TokenStream, renames: &[(String, syn::Ident)]) -> TokenStream {
    t.into_iter()
        .map(|tt| match tt {
            TokenTree::Ident(i) => match renames.iter().find(|(o, _)| i == o) {
                Some((_, n)) => TokenTree::Ident(n.clone()),
                None => TokenTree::Ident(i),
            },
            TokenTree::Group(g) => {
                let mut ng = proc_macro2::Group::new(g.delimiter(), rename(g.stream(), renames));
                ng.set_span(g.span());
                TokenTree::Group(ng)
            }
            tt => tt,
        })
        .collect()
}

/// `acc = acc + e;` as `acc += e;`.
struct Compound<'a>(&'a syn::Ident);

impl VisitMut for Compound<'_> {
    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        visit_mut::visit_stmt_mut(self, s);
        let Stmt::Expr(Expr::Assign(a), Some(_)) = s else {
            return;
        };
        let acc = self.0;
        let is_acc = |e: &Expr| matches!(e, Expr::Path(p) if p.path.is_ident(acc));
        if !is_acc(&a.left) {
            return;
        }
        if let Expr::Binary(b) = &*a.right
            && matches!(b.op, syn::BinOp::Add(_))
            && is_acc(&b.left)
        {
            let item = &b.right;
            *s = syn::parse_quote!(#acc += #item;);
        }
    }
}
