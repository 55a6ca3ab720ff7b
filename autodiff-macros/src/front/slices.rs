//! Front end, after closures are inlined (names are unique): references bound by `let` to a
//! part of a collection, `let mid = &x[a..b];`, `let w = &layer.weights;`, `let row = &m[i];`,
//! `let (left, right) = x.split_at(k);`, as the places themselves. A hand rewrite reads
//! `x[a..b][j]` where the user wrote `mid[j]`; so does this pass, and the later stages see
//! the element loops and reductions over places they take (`x[a..b].iter().sum()`).
//!
//! The bounds and indices are evaluated once, where the `let` was (`let __lo0 = a;`), so that
//! the places denote what the reference did wherever it is used; the collection itself cannot
//! change while the reference lives (the borrow checker sees to it). A use as a receiver
//! (`mid.iter()`, `mid.len()`), an indexed place (`mid[j]`) or under `*` is the place; any other
//! use (`for v in mid`, `g(mid)`) is `&place`.
//!
//! Input: `let mid = &x[1..x.len() - 1]; let s: f64 = mid.iter().sum(); s * mid[0]`
//! Output: `let __hi0 = x.len() - 1; let s: f64 = x[1..__hi0].iter().sum(); s * x[1..__hi0][0]`
//!
//! A binding a macro names (`println!("{mid:?}")`), `mut` or `ref` bindings, and references to
//! anything else than a place (a call's value) are left as written (the lowering refuses a
//! reference on an active value there).
//!
//! Then values taken out of the `Option`s of references (`Ends`): `*xs.last().unwrap()` is
//! `xs[xs.len() - 1]`, `*xs.iter().max_by(cmp).unwrap()` is the running value of the copied
//! items `xs.iter().copied().max_by(cmp).unwrap()` that `front::iterators` takes.

use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat, Stmt};

use crate::front::syntax::{strip_paren, strip_pat_type};
use crate::names::{Fresh, hygienic};

/// Replaces the references bound by `let` to places in `body` by the places (see the module's
/// documentation).
pub fn aliases(body: &mut syn::Block) {
    let fresh = Fresh::new(q!(#body));
    Aliases { fresh }.visit_block_mut(body);
    Ends.visit_block_mut(body);
}

/// The first and last elements taken out by value (and running values of references taken out
/// by value, [`copied_running`]), `*xs.last().unwrap()`,
/// `xs.first().copied().unwrap_or(d)` (`cloned`, `expect`, `unwrap_or_else(|| d)`), as the
/// elements themselves: `xs[xs.len() - 1]`, `if xs.is_empty() { d } else { xs[0] }` (`xs` a
/// place). An empty collection panics with `Option::unwrap`'s message, as the original; the
/// default `d` of `unwrap_or` must not write anything (it is evaluated only when needed here,
/// always in the original).
struct Ends;

impl Ends {
    fn rewrite(e: &Expr) -> Option<Expr> {
        let (inner, deref) = match e {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => (strip_paren(&u.expr), true),
            e => (e, false),
        };
        let Expr::MethodCall(end) = inner else {
            return None;
        };
        let (opt, copied) = match strip_paren(&end.receiver) {
            Expr::MethodCall(c)
                if (c.method == "copied" || c.method == "cloned") && c.args.is_empty() =>
            {
                (strip_paren(&c.receiver), true)
            }
            r => (r, false),
        };
        if deref == copied {
            return None;
        }
        let Expr::MethodCall(m) = opt else {
            return None;
        };
        if !(m.method == "first" || m.method == "last")
            || !m.args.is_empty()
            || m.turbofish.is_some()
            || !is_place(&m.receiver)
        {
            return None;
        }
        let xs = strip_paren(&m.receiver);
        let elem = if m.method == "first" {
            q!(#xs[0])
        } else {
            q!(#xs[#xs.len() - 1])
        };
        let no_writes = |e: &Expr| crate::front::syntax::writes_in(e).is_empty();
        let out = match (end.method.to_string().as_str(), end.args.len()) {
            ("unwrap", 0) => {
                q!({ ::core::assert!(!#xs.is_empty(), "called `Option::unwrap()` on a `None` value"); #elem })
            }
            ("expect", 1) => {
                let msg = &end.args[0];
                q!({ ::core::assert!(!#xs.is_empty(), "{}", #msg); #elem })
            }
            ("unwrap_or", 1) if no_writes(&end.args[0]) => {
                let d = &end.args[0];
                q!((if #xs.is_empty() { #d } else { #elem }))
            }
            ("unwrap_or_else", 1) => match &end.args[0] {
                Expr::Closure(c) if c.inputs.is_empty() && no_writes(&c.body) => {
                    let d = &c.body;
                    q!((if #xs.is_empty() { #d } else { #elem }))
                }
                _ => return None,
            },
            _ => return None,
        };
        syn::parse2(out).ok()
    }
}

impl VisitMut for Ends {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Some(c) = copied_running(e) {
            *e = c;
        }
        visit_mut::visit_expr_mut(self, e);
        if let Some(r) = Ends::rewrite(e) {
            *e = r;
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

struct Aliases {
    fresh: Fresh,
}

/// The names a `let` binds, each with the place it stands for.
type Places = Vec<(syn::Ident, Expr)>;

/// A variable, a field, an element or a range of elements of one.
fn is_place(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.qself.is_none() && p.path.get_ident().is_some(),
        Expr::Field(f) => is_place(&f.base),
        Expr::Index(i) => is_place(&i.expr),
        Expr::Paren(p) => is_place(&p.expr),
        _ => false,
    }
}

/// The single name a `let` pattern binds by value without `mut` (`x`, `x: &[f64]`).
fn plain_name(p: &Pat) -> Option<&syn::Ident> {
    match strip_pat_type(p) {
        Pat::Ident(pi) if pi.by_ref.is_none() && pi.mutability.is_none() && pi.subpat.is_none() => {
            Some(&pi.ident)
        }
        _ => None,
    }
}

/// A literal or a name of a parameter-free path: evaluating it again gives the same value only
/// when it is a literal (a variable may be assigned later).
fn is_literal(e: &Expr) -> bool {
    matches!(strip_paren(e), Expr::Lit(_))
}

impl Aliases {
    /// `e` with its indices and range bounds evaluated into fresh bindings pushed on `lets`.
    fn frozen(&mut self, e: &Expr, lets: &mut Vec<Stmt>) -> Expr {
        match e {
            Expr::Paren(p) => self.frozen(&p.expr, lets),
            Expr::Field(f) => {
                let mut f = f.clone();
                f.base = Box::new(self.frozen(&f.base, lets));
                Expr::Field(f)
            }
            Expr::Index(i) => {
                let mut i = i.clone();
                i.expr = Box::new(self.frozen(&i.expr, lets));
                match &mut *i.index {
                    Expr::Range(r) => {
                        if let Some(s) = &mut r.start {
                            **s = self.bound(s, "__lo", lets);
                        }
                        if let Some(e) = &mut r.end {
                            **e = self.bound(e, "__hi", lets);
                        }
                    }
                    k => *k = self.bound(k, "__at", lets),
                }
                Expr::Index(i)
            }
            e => e.clone(),
        }
    }

    fn bound(&mut self, e: &Expr, base: &str, lets: &mut Vec<Stmt>) -> Expr {
        if is_literal(e) {
            return e.clone();
        }
        let (name, _) = self.fresh.next(base, 0);
        let v = hygienic(&name, Span::call_site());
        lets.push(syn::parse_quote!(let #v = #e;));
        syn::parse_quote!(#v)
    }

    /// The statements replacing `s` and the places its names stand for, when it binds
    /// references to places.
    fn alias(&mut self, s: &Stmt) -> Option<(Vec<Stmt>, Places)> {
        let Stmt::Local(l) = s else {
            return None;
        };
        let init = l.init.as_ref()?;
        if init.diverge.is_some() || !l.attrs.is_empty() {
            return None;
        }
        let mut lets = Vec::new();
        match strip_paren(&init.expr) {
            // `let mid = &x[a..b];`
            Expr::Reference(r) if r.mutability.is_none() && is_place(&r.expr) => {
                let name = plain_name(&l.pat)?.clone();
                let place = self.frozen(&r.expr, &mut lets);
                Some((lets, vec![(name, place)]))
            }
            // `let (left, right) = x.split_at(k);`
            Expr::MethodCall(m)
                if m.method == "split_at"
                    && m.args.len() == 1
                    && m.turbofish.is_none()
                    && is_place(&m.receiver) =>
            {
                let Pat::Tuple(t) = strip_pat_type(&l.pat) else {
                    return None;
                };
                if t.elems.len() != 2 {
                    return None;
                }
                let names: Vec<Option<&syn::Ident>> = t
                    .elems
                    .iter()
                    .map(|p| match p {
                        Pat::Wild(_) => Some(None),
                        p => plain_name(p).map(Some),
                    })
                    .collect::<Option<_>>()?;
                let of = self.frozen(&m.receiver, &mut lets);
                let k = self.bound(&m.args[0], "__at", &mut lets);
                // `split_at` panics past the end; so does the slice it stands for, but the
                // message differs: keep the check where the user's call was.
                lets.push(syn::parse_quote!(::core::assert!(#k <= #of.len(), "mid > len");));
                let mut out = Vec::new();
                if let Some(a) = names[0] {
                    out.push((a.clone(), syn::parse_quote!(#of[..#k])));
                }
                if let Some(b) = names[1] {
                    out.push((b.clone(), syn::parse_quote!(#of[#k..])));
                }
                Some((lets, out))
            }
            _ => None,
        }
    }
}

impl VisitMut for Aliases {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        // Inner blocks first: an alias of an alias there is then a place of this block's alias.
        visit_mut::visit_block_mut(self, b);
        let mut i = 0;
        while i < b.stmts.len() {
            let Some((lets, names)) = self.alias(&b.stmts[i]) else {
                i += 1;
                continue;
            };
            let rest = &b.stmts[i + 1..];
            if names.iter().any(|(n, _)| in_macro(rest, n)) {
                i += 1;
                continue;
            }
            for (name, place) in &names {
                let mut s = Substitute { name, place };
                for st in &mut b.stmts[i + 1..] {
                    s.visit_stmt_mut(st);
                }
            }
            let n = lets.len();
            b.stmts.splice(i..=i, lets);
            i += n;
        }
    }
}

/// Whether a macro in `stmts` names `name` (its expansion is not seen, so a use there cannot be
/// replaced).
fn in_macro(stmts: &[Stmt], name: &syn::Ident) -> bool {
    struct M<'a> {
        name: &'a syn::Ident,
        found: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for M<'_> {
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            let n = self.name.to_string();
            self.found |= mentions(&m.tokens, &n)
                || crate::front::syntax::format_captures(&m.tokens).contains(&n);
        }
    }
    fn mentions(t: &proc_macro2::TokenStream, n: &str) -> bool {
        t.clone().into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == n,
            proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), n),
            _ => false,
        })
    }
    let mut m = M { name, found: false };
    for s in stmts {
        syn::visit::Visit::visit_stmt(&mut m, s);
    }
    m.found
}

/// Replaces the uses of `name` by `place` (as a receiver, an indexed place or under `*`) or
/// `&place` (elsewhere).
struct Substitute<'a> {
    name: &'a syn::Ident,
    place: &'a Expr,
}

impl Substitute<'_> {
    fn is_name(&self, e: &Expr) -> bool {
        matches!(strip_paren(e), Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.name))
    }
}

impl VisitMut for Substitute<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        let place = self.place;
        match e {
            Expr::Index(i) if self.is_name(&i.expr) => {
                *i.expr = place.clone();
                self.visit_expr_mut(&mut i.index);
            }
            Expr::MethodCall(m) if self.is_name(&m.receiver) => {
                *m.receiver = place.clone();
                for a in m.args.iter_mut() {
                    self.visit_expr_mut(a);
                }
            }
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) && self.is_name(&u.expr) => {
                *e = syn::parse_quote!((#place));
            }
            Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.name) => {
                *e = syn::parse_quote!(&#place);
            }
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_field_value_mut(&mut self, f: &mut syn::FieldValue) {
        // `S { mid }` names the field and the value: written out, the value can change.
        if f.colon_token.is_none() && self.is_name(&f.expr) {
            f.colon_token = Some(Default::default());
        }
        visit_mut::visit_field_value_mut(self, f);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// A running value of references taken out by value, `*xs.iter().max_by(cmp).unwrap()` or
/// `xs.iter().max_by(cmp).copied().unwrap_or(d)` (`min_by`, `reduce`; `cloned`; `expect`, the
/// defaults): the same running value of the items copied, `xs.iter().copied().max_by(cmp)
/// .unwrap()`, which `front::iterators` takes. The source is `xs.iter()` with position adapters only (a
/// filter's closure would see other references); a closure that dereferences its parameters
/// (`|a, b| (**a).total_cmp(*b)`) is left alone (it would see one reference less).
fn copied_running(e: &Expr) -> Option<Expr> {
    let (inner, deref) = match e {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => (strip_paren(&u.expr), true),
        e => (e, false),
    };
    let Expr::MethodCall(end) = inner else {
        return None;
    };
    if !matches!(
        end.method.to_string().as_str(),
        "unwrap" | "expect" | "unwrap_or" | "unwrap_or_else" | "unwrap_or_default"
    ) {
        return None;
    }
    // `.copied()` / `.cloned()` between the running value and the unwrap.
    let (run, copied) = match strip_paren(&end.receiver) {
        Expr::MethodCall(c)
            if (c.method == "copied" || c.method == "cloned") && c.args.is_empty() =>
        {
            (strip_paren(&c.receiver), true)
        }
        r => (r, false),
    };
    if deref == copied {
        return None;
    }
    let Expr::MethodCall(run) = run else {
        return None;
    };
    if !matches!(
        run.method.to_string().as_str(),
        "max_by" | "min_by" | "reduce"
    ) || run.args.len() != 1
        || run.turbofish.is_some()
    {
        return None;
    }
    if let Expr::Closure(c) = &run.args[0]
        && derefs(&c.body)
    {
        return None;
    }
    // The source: `xs.iter()` then position adapters.
    let mut adapters = Vec::new();
    let mut cur = strip_paren(&run.receiver);
    while let Some((inner, call)) = crate::front::syntax::position_adapter(cur) {
        adapters.push(call);
        cur = strip_paren(inner);
    }
    let Expr::MethodCall(it) = cur else {
        return None;
    };
    if it.method != "iter" || !it.args.is_empty() {
        return None;
    }
    let mut src: Expr = syn::parse_quote!(#cur.copied());
    for a in adapters.iter().rev() {
        let (m, args) = (&a.method, &a.args);
        src = syn::parse_quote!(#src.#m(#args));
    }
    let (m, args) = (&run.method, &run.args);
    let (u, uargs) = (&end.method, &end.args);
    syn::parse2(q!(#src.#m(#args).#u(#uargs))).ok()
}

/// Whether `e` holds a unary `*`.
fn derefs(e: &Expr) -> bool {
    struct D(bool);
    impl<'ast> syn::visit::Visit<'ast> for D {
        fn visit_expr_unary(&mut self, u: &'ast syn::ExprUnary) {
            self.0 |= matches!(u.op, syn::UnOp::Deref(_));
            syn::visit::visit_expr_unary(self, u);
        }
    }
    let mut d = D(false);
    syn::visit::Visit::visit_expr(&mut d, e);
    d.0
}
