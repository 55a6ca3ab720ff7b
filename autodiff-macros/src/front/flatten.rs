//! Front end, before renaming: loops over `flatten()` and `flat_map(..)` as the nested loops a
//! hand rewrite gives, the outer one over the rows, the inner one over each row's items.
//!
//! Input: `for v in c.iter().flatten() { body }`
//! Output: `for __r0 in c.iter() { for v in __r0 { body } }`
//!
//! Understood: `X.flatten()` and `X.flat_map(|p| E)`, possibly followed by `.copied()` or
//! `.cloned()`, where `for __r in X` (or `for p in X`) and the inner `for v in __r` (`for v in E`)
//! are loops `lower` takes (`desugar::loopable`), flattens of flattens included. A `break` of
//! the body leaves both loops (it becomes `break 'outer`), a `continue` goes on with the next
//! item (`continue` of the loop's own label becomes `continue 'inner`). The reductions and
//! chains of `desugar` and `iterators` take these sources too ([`loopable`]): they write the
//! `for` loop, which this pass then nests.

use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat};

use crate::front::desugar::{self, untyped};
use crate::front::syntax::strip_paren;
use crate::names::hygienic;

/// A flattened source: the outer loop's pattern and source, the inner loop's source.
struct Flat {
    outer_pat: Pat,
    outer: Expr,
    inner: Expr,
}

/// `X.flatten()`, `X.flat_map(|p| E)`, with `.copied()` / `.cloned()` after them; `row` names
/// the outer loop's variable of a `flatten`.
fn parse(src: &Expr, row: &syn::Ident) -> Option<Flat> {
    let mut cur = strip_paren(src);
    let mut items = None;
    if let Expr::MethodCall(m) = cur
        && (m.method == "copied" || m.method == "cloned")
        && m.args.is_empty()
    {
        items = Some(m.method.clone());
        cur = strip_paren(&m.receiver);
    }
    let Expr::MethodCall(m) = cur else {
        return None;
    };
    if m.turbofish.is_some() {
        return None;
    }
    let (outer_pat, inner): (Pat, Expr) = match (m.method.to_string().as_str(), m.args.len()) {
        ("flatten", 0) => {
            let inner = match &items {
                Some(how) => syn::parse_quote!(#row.iter().#how()),
                None => syn::parse_quote!(#row),
            };
            (syn::parse_quote!(#row), inner)
        }
        ("flat_map", 1) => {
            let Expr::Closure(c) = &m.args[0] else {
                return None;
            };
            if c.inputs.len() != 1 || c.asyncness.is_some() || c.capture.is_some() {
                return None;
            }
            let e = &*c.body;
            let inner = match &items {
                Some(how) => syn::parse_quote!((#e).#how()),
                None => e.clone(),
            };
            (untyped(&c.inputs[0]), inner)
        }
        _ => return None,
    };
    Some(Flat {
        outer_pat,
        outer: (*m.receiver).clone(),
        inner,
    })
}

/// Whether `for pat in src` is a loop over a flattened source this pass nests.
pub(crate) fn loopable(pat: &Pat, src: &Expr) -> bool {
    let row = hygienic("__r", Span::call_site());
    parse(src, &row).is_some_and(|f| {
        let inner: Expr = strip_paren(&f.inner).clone();
        // `desugar::loopable` takes flattened sources too (a flatten of a flatten).
        desugar::loopable(&f.outer_pat, &f.outer) && desugar::loopable(pat, &inner)
    })
}

/// Nests every loop over a flattened source in `body`.
pub fn loops(body: &mut syn::Block) {
    Nest { labels: 0 }.visit_block_mut(body);
}

struct Nest {
    /// Labels and row names made so far (each is numbered).
    labels: usize,
}

impl VisitMut for Nest {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        if let Expr::ForLoop(f) = e
            && let Some(r) = self.nest(f)
        {
            *e = r;
        }
    }
}

impl Nest {
    fn fresh(&mut self, what: &str) -> syn::Ident {
        self.labels += 1;
        hygienic(&format!("{what}{}", self.labels - 1), Span::call_site())
    }

    fn nest(&mut self, f: &syn::ExprForLoop) -> Option<Expr> {
        if !loopable(&f.pat, &f.expr) {
            return None;
        }
        let row = self.fresh("__r");
        let flat = parse(&f.expr, &row)?;
        let (outer_pat, outer, inner, pat) = (&flat.outer_pat, &flat.outer, &flat.inner, &f.pat);
        let mut body = f.body.clone();
        let user = f.label.as_ref().map(|l| l.name.clone());
        let mut exits = Exits {
            user: user.as_ref().map(|l| l.ident.to_string()),
            depth: 0,
            breaks: false,
            continues: false,
            outer: None,
            inner: None,
        };
        // The labels the rewritten exits name.
        let outer_label = match &user {
            Some(l) => l.clone(),
            None => {
                let l = self.fresh("__flat");
                syn::Lifetime {
                    apostrophe: l.span(),
                    ident: l,
                }
            }
        };
        let inner_label = {
            let l = self.fresh("__flat");
            syn::Lifetime {
                apostrophe: l.span(),
                ident: l,
            }
        };
        exits.outer = Some(outer_label.clone());
        exits.inner = Some(inner_label.clone());
        exits.visit_block_mut(&mut body);
        let ol = (exits.breaks || user.is_some()).then(|| q!(#outer_label:));
        let il = exits.continues.then(|| q!(#inner_label:));
        let nested: Expr = syn::parse2(q!(
            #ol for #outer_pat in #outer { #il for #pat in #inner #body }
        ))
        .ok()?;
        // A flatten of a flatten: its outer loop nests in turn.
        match nested {
            Expr::ForLoop(mut o) => {
                if let Some(r) = self.nest(&o) {
                    return Some(r);
                }
                o.attrs.clone_from(&f.attrs);
                Some(Expr::ForLoop(o))
            }
            e => Some(e),
        }
    }
}

/// Rewrites the exits of a flattened loop's body: an unlabelled `break` of the loop itself
/// (outside inner loops) to `break 'outer`, a `continue` of the loop's own label to
/// `continue 'inner`.
struct Exits {
    user: Option<String>,
    /// Loops entered inside the body.
    depth: usize,
    breaks: bool,
    continues: bool,
    outer: Option<syn::Lifetime>,
    inner: Option<syn::Lifetime>,
}

impl VisitMut for Exits {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.depth += 1;
                visit_mut::visit_expr_mut(self, e);
                self.depth -= 1;
            }
            Expr::Closure(_) => {}
            Expr::Break(b) => {
                if b.label.is_none() && self.depth == 0 {
                    b.label.clone_from(&self.outer);
                    self.breaks = true;
                }
                visit_mut::visit_expr_mut(self, e);
            }
            Expr::Continue(c) => {
                if c.label
                    .as_ref()
                    .is_some_and(|l| Some(l.ident.to_string()) == self.user)
                {
                    c.label.clone_from(&self.inner);
                    self.continues = true;
                }
            }
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_macro_mut(&mut self, _: &mut syn::Macro) {}
}
