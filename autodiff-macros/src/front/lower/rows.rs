//! Element loops over rows: the element binding of an element loop over a nested collection
//! (`for row in m.iter()` with `m` a nested array, a slice of arrays, a `Vec<Vec<F>>`) names
//! the row itself, as a hand rewrite over indices does: every use of `row` in the body becomes
//! `m[k]` (`&m[k]` where the loop yields references), so the body's inner loops and reads are
//! index loops and reads of `m`'s elements, and no row is copied (a `Vec` row could not be).
//!
//! Input: `for row in m.iter() { for v in row { s += v * v; } }`
//! Output (what `lower` then lowers): `for __i0 in 0..m.len() { for v in &m[__i0] { s += v * v; } }`

use proc_macro2::{TokenStream, TokenTree};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Ident};

use super::*;

/// Methods that use their receiver as a collection (a row, not a float).
const COLLECTION_METHODS: &[&str] = &[
    "iter",
    "into_iter",
    "len",
    "is_empty",
    "windows",
    "chunks",
    "chunks_exact",
    "first",
    "last",
    "get",
    "to_vec",
    "as_slice",
];

impl Lowerer<'_> {
    /// `body` with the element binding `name` of an active collection `src` at index `k`
    /// replaced by the row it names, when the body uses `name` as a collection (indexes it,
    /// iterates it, takes its length, passes it to a call) and every use can be replaced:
    /// `None` otherwise (the element is then bound by a `let` as before). `by_ref`: the loop
    /// yields references to the rows (`m.iter()`, `&m`, `m` a reference parameter), else
    /// copies (`for row in m` over an array, `for &row in m.iter()`).
    pub(super) fn row_alias(
        &self,
        body: &syn::Block,
        name: &Ident,
        src: &Expr,
        k: &Ident,
        by_ref: bool,
    ) -> Option<syn::Block> {
        // A row copied out of an array the body writes is the value before the writes.
        let base = crate::front::syntax::place_base(src)?;
        let block = Expr::Block(syn::ExprBlock {
            attrs: Vec::new(),
            label: None,
            block: body.clone(),
        });
        if crate::front::syntax::written_bases(&block)
            .iter()
            .any(|(_, b)| *b == base || b == &name.to_string())
        {
            return None;
        }
        let place: Expr = syn::parse2(q!(#src[#k])).ok()?;
        let mut a = Alias {
            names: vec![name.clone()],
            place,
            by_ref,
            row: false,
            ok: true,
        };
        let mut out = body.clone();
        a.visit_block_mut(&mut out);
        // A row the body never names needs no binding (a `Vec` row could not be copied into
        // one).
        let unnamed = || !names_ident(&quote::ToTokens::to_token_stream(body), name);
        (a.ok && (a.row || self.has_vec_rows(src) && unnamed())).then_some(out)
    }

    /// Whether the loop `iter` over `src` (whose items `items` says how the iterator yields)
    /// yields references to its elements: `xs.iter()`, `&xs`, or a reference parameter itself
    /// (`for row in m` with `m: &[[F; 2]]`), not `.copied()`.
    pub(super) fn yields_refs(
        &self,
        iter: &Expr,
        src: &Expr,
        items: crate::front::syntax::Items,
    ) -> bool {
        use crate::front::syntax::Items;
        match items {
            Items::Ref => true,
            Items::Clone => false,
            Items::Value if copied(iter, src) => false,
            Items::Value => match crate::front::syntax::strip_paren(src) {
                Expr::Path(p) => p
                    .path
                    .get_ident()
                    .and_then(|i| self.lookup(&i.to_string()))
                    .is_some_and(|v| {
                        matches!(self.vars[v].param, Some(ParamKind::Ref | ParamKind::Slice))
                    }),
                _ => false,
            },
        }
    }
}

/// Whether `iter` takes the elements of `src` through `.copied()` or `.cloned()` (`src` found
/// by address: it is a part of `iter`).
fn copied(iter: &Expr, src: &Expr) -> bool {
    /// Counts the `copied` / `cloned` calls around the current point; `found` is that count
    /// where `src` is.
    struct C<'s> {
        src: &'s Expr,
        depth: usize,
        found: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for C<'_> {
        fn visit_expr(&mut self, e: &'ast Expr) {
            if std::ptr::eq(e, self.src) && self.depth > 0 {
                self.found = true;
            }
            match e {
                Expr::MethodCall(m) if m.method == "copied" || m.method == "cloned" => {
                    self.depth += 1;
                    self.visit_expr(&m.receiver);
                    self.depth -= 1;
                }
                Expr::MethodCall(m) => {
                    // Only the receiver chain: a `zip`'s argument is a source of its own.
                    let d = std::mem::take(&mut self.depth);
                    for a in &m.args {
                        self.visit_expr(a);
                    }
                    self.depth = d;
                    self.visit_expr(&m.receiver);
                }
                _ => syn::visit::visit_expr(self, e),
            }
        }
    }
    let mut c = C {
        src,
        depth: 0,
        found: false,
    };
    syn::visit::Visit::visit_expr(&mut c, iter);
    c.found
}

struct Alias {
    /// The element binding, and the bindings `let r = row;` makes of it.
    names: Vec<Ident>,
    /// `src[k]`.
    place: Expr,
    by_ref: bool,
    /// A use as a collection was seen.
    row: bool,
    /// Every use could be replaced.
    ok: bool,
}

impl Alias {
    fn is_name(&self, e: &Expr) -> bool {
        matches!(crate::front::syntax::strip_paren(e), Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some_and(|i| self.names.contains(i)))
    }

    /// The row where a value or reference of it is used: `&src[k]` or `src[k]`.
    fn bare(&self) -> Expr {
        let p = &self.place;
        if self.by_ref {
            syn::parse_quote!(&#p)
        } else {
            p.clone()
        }
    }

    fn paren(e: Expr) -> Expr {
        match e {
            Expr::Reference(_) => syn::parse_quote!((#e)),
            e => e,
        }
    }

    /// Token-level replacement inside a macro's tokens; `false` when a format string
    /// captures the name (`"{row:?}"`), which no replacement reaches.
    fn tokens(&self, t: &TokenStream) -> Option<TokenStream> {
        if crate::front::syntax::format_captures(t)
            .iter()
            .any(|c| self.names.iter().any(|n| n == c))
        {
            return None;
        }
        let bare = Self::paren(self.bare());
        let mut out = TokenStream::new();
        for tt in t.clone() {
            match tt {
                TokenTree::Ident(i) if self.names.contains(&i) => out.extend(q!(#bare)),
                TokenTree::Group(g) => {
                    let mut ng = proc_macro2::Group::new(g.delimiter(), self.tokens(&g.stream())?);
                    ng.set_span(g.span());
                    out.extend([TokenTree::Group(ng)]);
                }
                tt => out.extend([tt]),
            }
        }
        Some(out)
    }
}

impl VisitMut for Alias {
    /// `let r = row;` (or `let r: &[F] = row;`) names the row too: `r` is replaced as `row` is,
    /// and the `let` goes.
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        let mut out = Vec::with_capacity(b.stmts.len());
        for mut s in std::mem::take(&mut b.stmts) {
            if let syn::Stmt::Local(l) = &s
                && let Some(init) = &l.init
                && init.diverge.is_none()
                && self.is_name(&init.expr)
                && let syn::Pat::Ident(pi) = crate::front::syntax::strip_pat_type(&l.pat)
                && pi.by_ref.is_none()
                && pi.mutability.is_none()
                && pi.subpat.is_none()
            {
                self.names.push(pi.ident.clone());
                continue;
            }
            self.visit_stmt_mut(&mut s);
            out.push(s);
        }
        b.stmts = out;
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Index(i) if self.is_name(&i.expr) => {
                self.row = true;
                *i.expr = self.place.clone();
                self.visit_expr_mut(&mut i.index);
            }
            Expr::MethodCall(m) if self.is_name(&m.receiver) => {
                let method = m.method.to_string();
                self.row |= COLLECTION_METHODS.contains(&method.as_str());
                // Auto-referencing finds the same method on the row as on a reference to it,
                // except for methods taking `self` by value (`into_iter` of a `&Vec` iterates
                // references, of a `Vec` moves it).
                *m.receiver = if self.by_ref && method == "into_iter" {
                    Self::paren(self.bare())
                } else {
                    self.place.clone()
                };
                for a in m.args.iter_mut() {
                    self.arg(a);
                }
            }
            Expr::MethodCall(m) if matches!(m.method.to_string().as_str(), "zip" | "chain") => {
                self.visit_expr_mut(&mut m.receiver);
                for a in m.args.iter_mut() {
                    self.row |= self.iterated(a);
                    self.arg(a);
                }
            }
            Expr::MethodCall(m) => {
                self.visit_expr_mut(&mut m.receiver);
                for a in m.args.iter_mut() {
                    self.arg(a);
                }
            }
            Expr::Call(c) => {
                self.visit_expr_mut(&mut c.func);
                for a in c.args.iter_mut() {
                    if self.is_name(a) && self.by_ref {
                        self.row = true;
                    }
                    self.arg(a);
                }
            }
            Expr::ForLoop(f) if self.iterated(&f.expr) => {
                self.row = true;
                if self.is_name(&f.expr) {
                    *f.expr = self.bare();
                } else {
                    self.visit_expr_mut(&mut f.expr);
                }
                self.visit_pat_mut(&mut f.pat);
                self.visit_block_mut(&mut f.body);
            }
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) && self.is_name(&u.expr) => {
                if self.by_ref {
                    *e = self.place.clone();
                } else {
                    self.ok = false;
                }
            }
            // Arithmetic reads the value (`&F op &F` is `F op F`).
            Expr::Binary(b) => {
                for side in [&mut b.left, &mut b.right] {
                    if self.is_name(side) {
                        **side = self.place.clone();
                    } else {
                        self.visit_expr_mut(side);
                    }
                }
            }
            Expr::Assign(a) if self.is_name(&a.left) => self.ok = false,
            Expr::Path(_) if self.is_name(e) => *e = Self::paren(self.bare()),
            Expr::Macro(m) => self.visit_macro_mut(&mut m.mac),
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        match self.tokens(&m.tokens) {
            Some(t) => m.tokens = t,
            None => self.ok = false,
        }
    }

    fn visit_local_mut(&mut self, l: &mut syn::Local) {
        // `let mut r = row;` (a copy to change) or a pattern: the element keeps its own
        // binding.
        if l.init.as_ref().is_some_and(|i| self.is_name(&i.expr)) {
            self.ok = false;
            return;
        }
        visit_mut::visit_local_mut(self, l);
    }

    fn visit_field_value_mut(&mut self, f: &mut syn::FieldValue) {
        // `S { row }`: a shorthand names the field too.
        if f.colon_token.is_none() && self.is_name(&f.expr) {
            self.ok = false;
            return;
        }
        visit_mut::visit_field_value_mut(self, f);
    }
}

impl Alias {
    /// `row` or `&row` where it is iterated (a `for` loop's source, a `zip`'s argument).
    fn iterated(&self, e: &Expr) -> bool {
        match crate::front::syntax::strip_paren(e) {
            Expr::Reference(r) => self.is_name(&r.expr),
            e => self.is_name(e),
        }
    }

    /// An argument (of a call, of a method): the row by reference or by value, unparenthesized
    /// (`g(&m[k])` is how a call passes a reference).
    fn arg(&mut self, a: &mut Expr) {
        if self.is_name(a) {
            *a = self.bare();
        } else {
            self.visit_expr_mut(a);
        }
    }
}

/// `body` with `*name` read as `name`: the binding holds the value a reference pointed to.
pub(super) fn deref_free(body: &syn::Block, name: &Ident) -> syn::Block {
    struct D<'a>(&'a Ident);
    impl VisitMut for D<'_> {
        fn visit_expr_mut(&mut self, e: &mut Expr) {
            if let Expr::Unary(u) = e
                && matches!(u.op, syn::UnOp::Deref(_))
                && matches!(crate::front::syntax::strip_paren(&u.expr), Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.0))
            {
                *e = (*u.expr).clone();
                return;
            }
            visit_mut::visit_expr_mut(self, e);
        }
    }
    let mut out = body.clone();
    D(name).visit_block_mut(&mut out);
    out
}

/// Whether a type's elements are `Vec`s: `Vec<Vec<T>>`, `[Vec<T>; N]`, `&[Vec<T>]` (behind
/// references).
pub(super) fn vec_elements(ty: &syn::Type) -> bool {
    fn is_vec(t: &syn::Type) -> bool {
        matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Vec"))
    }
    match ty {
        syn::Type::Reference(r) => vec_elements(&r.elem),
        syn::Type::Paren(p) => vec_elements(&p.elem),
        syn::Type::Slice(s) => is_vec(&s.elem),
        syn::Type::Array(a) => is_vec(&a.elem),
        syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "Vec"
                && matches!(&s.arguments, syn::PathArguments::AngleBracketed(a)
                    if matches!(a.args.first(), Some(syn::GenericArgument::Type(t)) if is_vec(t)))
        }),
        _ => false,
    }
}

/// The locals of `body` whose elements are `Vec`s, as their `let`s show: a type
/// (`Vec<Vec<f64>>`) or a `vec![vec![..]; n]`.
pub(super) fn vec_row_locals(body: &syn::Block) -> Vec<String> {
    struct L(Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for L {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let (pat, ty) = match &l.pat {
                syn::Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
                p => (p, None),
            };
            let nested_vec = |e: &Expr| match e {
                Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                    m.mac.tokens.to_string().trim_start().starts_with("vec !")
                        || m.mac.tokens.to_string().trim_start().starts_with("vec!")
                }
                _ => false,
            };
            if let syn::Pat::Ident(pi) = pat
                && (ty.is_some_and(vec_elements)
                    || l.init.as_ref().is_some_and(|i| nested_vec(&i.expr)))
            {
                self.0.push(pi.ident.to_string());
            }
            syn::visit::visit_local(self, l);
        }
    }
    let mut l = L(Vec::new());
    syn::visit::Visit::visit_block(&mut l, body);
    l.0
}

impl Lowerer<'_> {
    /// Whether the elements of `src` (a collection, a row of one) are known to be `Vec`s.
    pub(super) fn has_vec_rows(&self, src: &Expr) -> bool {
        match crate::front::syntax::strip_paren(src) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.vec_rows.contains(&i.to_string())),
            _ => false,
        }
    }
}

/// Whether a token stream contains the identifier `name`.
fn names_ident(t: &TokenStream, name: &Ident) -> bool {
    t.clone().into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == *name,
        TokenTree::Group(g) => names_ident(&g.stream(), name),
        _ => false,
    })
}
