//! Front end, before renaming: the iterator chains `desugar::reductions` does not take, as the
//! loops a hand rewrite gives. A chain is a source `lower` loops over (`syntax::IterLoop`, or the
//! windows and chunks of `desugar`), or several joined by `.chain(..)` (one loop each, the same
//! body), then any `.map(|p| e)` and `.filter(|q| pred)` in a row, then an end:
//!
//! - `.sum()`, `.product()`, `.fold(init, f)` (as in `desugar::reductions`, with any stages);
//! - `.max_by(cmp)` / `.min_by(cmp)` / `.reduce(f)` then `.unwrap()` / `.expect(msg)` /
//!   `.unwrap_or(d)` / `.unwrap_or_else(|| d)` / `.unwrap_or_default()`: a running value and a
//!   flag (std's semantics: `max_by` keeps the last of equal maxima, `min_by` the first; an
//!   empty source panics with std's message, or takes the default: `d` evaluated after the
//!   loop, as Rust evaluates the argument after the chain, and only when empty for
//!   `unwrap_or_else`; a default that writes a variable is not taken);
//! - `.collect::<Vec<T>>()` and `let v: Vec<T> = ...collect();` of floats: a `vec![0.0; n]`
//!   written in order (`n` the source's length, or a count of the filtered items).
//!
//! Each map's value is bound by a `let` of the next closure's pattern, spliced into the loop's
//! body; a filter becomes an `if` around the rest. Every name introduced is hygienic.
//!
//! Input: `xs.iter().map(|x| x * 2.0).map(|y| y.sin()).sum::<f64>()`
//! Output: `{ let mut __acc = -0.0; for x in xs.iter() { let y = (x * 2.0); __acc = __acc +
//! (y.sin()); } __acc }` (a map's block body is spliced, as in `desugar::reductions`; `front::hoist`
//! then makes the block statements of the enclosing block where it can)
//!
//! Items of the running value and of `collect` must be known floats, or the `0.0` it starts from
//! would not type: a `Vec<f64>` (or `f32`, or the function's float type) named by the user, a
//! map computing floats (a float literal or a float method in it), a closure parameter typed
//! with a float type, `total_cmp`, or `f64::max`-like paths. Other chains are left alone (the
//! lowering refuses them on active values; on passive ones they stay the user's code).

use proc_macro2::{Span, TokenStream};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat};

use crate::front::desugar::{loopable, spliced, untyped};
use crate::front::syntax::strip_paren;
use crate::names::hygienic;

/// Rewrites every understood chain in `body`. `zero` and `one` are the function's float zero and
/// one, `floats` the names of its float types.
/// `params` are the function's parameters with their types: those that are slices, arrays or
/// `Vec`s of floats make their items known floats.
pub fn chains(
    body: &mut syn::Block,
    zero: TokenStream,
    one: TokenStream,
    floats: &[String],
    params: &[(String, &syn::Type)],
) {
    let mut floats = floats.to_vec();
    floats.extend(["f64".to_string(), "f32".to_string()]);
    let mut c = Chains {
        zero,
        one,
        floats,
        float_params: Vec::new(),
    };
    c.float_params = params
        .iter()
        .filter(|(_, t)| c.float_collection(t))
        .map(|(n, _)| n.clone())
        .collect();
    let locals = c.float_locals(body);
    c.float_params.extend(locals);
    c.visit_block_mut(body);
}

/// Whether `e` is a syntactic float (see `Chains::float_expr_in`): `names` are known floats,
/// `floats` the function's float types.
/// `it.sum::<f64>()` and `it.product::<F>()` are floats by their turbofish too (for the array
/// maps of `front::arrays`, which run before any reduction is a loop).
pub(crate) fn float_valued(e: &Expr, names: &[String], floats: &[String]) -> bool {
    let mut floats = floats.to_vec();
    floats.extend(["f64".to_string(), "f32".to_string()]);
    let c = Chains {
        zero: TokenStream::new(),
        one: TokenStream::new(),
        floats,
        float_params: Vec::new(),
    };
    if let Expr::MethodCall(m) = strip_paren(e)
        && (m.method == "sum" || m.method == "product")
        && m.turbofish.as_ref().is_some_and(|t| {
            t.args.len() == 1
                && matches!(&t.args[0], syn::GenericArgument::Type(t) if c.is_float_type(t))
        })
    {
        return true;
    }
    c.float_expr_in(e, names)
}

struct Chains {
    zero: TokenStream,
    one: TokenStream,
    floats: Vec<String>,
    /// Parameters that are collections of floats.
    float_params: Vec<String>,
}

#[derive(Clone, Copy)]
enum Stage<'a> {
    Map(&'a syn::ExprClosure),
    Filter(&'a syn::ExprClosure),
}

impl VisitMut for Chains {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        if let Some(r) = self.rewrite(e) {
            *e = r;
        }
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        visit_mut::visit_block_mut(self, b);
        // `let v: Vec<f64> = CHAIN.collect();` and `for p in a.chain(b) { .. }` become statements
        // of the block itself.
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in std::mem::take(&mut b.stmts) {
            match self.statements(&s) {
                Some(stmts) => out.extend(stmts),
                None => out.push(s),
            }
        }
        b.stmts = out;
    }
}

/// `src.map(..).filter(..)..`: the source (the receiver of the first `map`; filters before it
/// stay with the source, which `lower` takes) and the stages from that `map` on.
fn split(e: &Expr) -> (&Expr, Vec<Stage<'_>>) {
    let mut cur = strip_paren(e);
    let mut st: Vec<(&Expr, Stage)> = Vec::new();
    while let Expr::MethodCall(m) = cur
        && (m.method == "map" || m.method == "filter")
        && m.args.len() == 1
        && m.turbofish.is_none()
        && let Expr::Closure(c) = &m.args[0]
        && c.inputs.len() == 1
    {
        let s = if m.method == "map" {
            Stage::Map(c)
        } else {
            Stage::Filter(c)
        };
        st.push((&m.receiver, s));
        cur = strip_paren(&m.receiver);
    }
    st.reverse();
    match st.iter().position(|(_, s)| matches!(s, Stage::Map(_))) {
        Some(i) => (st[i].0, st[i..].iter().map(|(_, s)| *s).collect()),
        None => (e, Vec::new()),
    }
}

/// The sources a loop runs over in turn: `a.chain(b)` is `a` then `b` (filters on the chain go
/// to each part).
fn pieces(src: &Expr) -> Vec<Expr> {
    let mut filters = Vec::new();
    let mut cur = strip_paren(src);
    while let Expr::MethodCall(m) = cur
        && m.method == "filter"
        && m.args.len() == 1
    {
        filters.push(&m.args[0]);
        cur = strip_paren(&m.receiver);
    }
    filters.reverse();
    match cur {
        Expr::MethodCall(m) if m.method == "chain" && m.args.len() == 1 && !filters.is_empty() => {
            let mut out = pieces(&m.receiver);
            out.extend(pieces(&m.args[0]));
            out.into_iter()
                .map(|p| {
                    let mut p: Expr = syn::parse_quote!((#p));
                    for f in &filters {
                        p = syn::parse_quote!(#p.filter(#f));
                    }
                    p
                })
                .collect()
        }
        Expr::MethodCall(m) if m.method == "chain" && m.args.len() == 1 => {
            let mut out = pieces(&m.receiver);
            out.extend(pieces(&m.args[0]));
            out
        }
        _ => vec![src.clone()],
    }
}

/// A closure body as an operand.
fn operand(e: &Expr) -> TokenStream {
    match e {
        Expr::Block(_) | Expr::Path(_) | Expr::Lit(_) | Expr::Paren(_) => q!(#e),
        _ => q!((#e)),
    }
}

/// The statements of a loop's body: the stages applied to `item` (the statements `pre`, then the
/// value), then `end` of the last value. A map's block body is spliced (`desugar::spliced`).
fn staged(
    stages: &[Stage],
    (pre, item): (TokenStream, TokenStream),
    end: &dyn Fn(&TokenStream) -> TokenStream,
) -> TokenStream {
    match stages.split_first() {
        None => {
            let e = end(&item);
            q!(#pre #e)
        }
        Some((Stage::Map(c), rest)) => {
            let p = &c.inputs[0];
            let r = staged(rest, spliced(&c.body), end);
            q!(#pre let #p = #item; #r)
        }
        Some((Stage::Filter(c), rest)) => {
            let y = hygienic("__y", Span::call_site());
            let (p, pred) = (&c.inputs[0], &c.body);
            let r = staged(rest, (TokenStream::new(), q!(#y)), end);
            q!(#pre let #y = #item; if { let #p = &#y; #pred } { #r })
        }
    }
}

/// The loops over `src` (one per piece of a `chain`) whose bodies run `stages` then `end`, or
/// `None` when a piece is not a source `lower` takes.
fn loops(
    src: &Expr,
    stages: &[Stage],
    label: Option<&syn::Label>,
    end: &dyn Fn(&TokenStream) -> TokenStream,
) -> Option<TokenStream> {
    let x = hygienic("__x", Span::call_site());
    let pat = for_pat(stages);
    let body = match stages.first() {
        Some(Stage::Map(c)) => staged(&stages[1..], spliced(&c.body), end),
        _ => staged(stages, (TokenStream::new(), q!(#x)), end),
    };
    let mut out = TokenStream::new();
    for p in pieces(src) {
        if !loopable(&pat, &p) {
            return None;
        }
        out.extend(q!(#label for #pat in #p { #body }));
    }
    Some(out)
}

/// The pattern of the loops' variable: the first map's parameter, or a fresh name.
fn for_pat(stages: &[Stage]) -> Pat {
    match stages.first() {
        Some(Stage::Map(c)) => untyped(&c.inputs[0]),
        _ => {
            let x = hygienic("__x", Span::call_site());
            syn::parse_quote!(#x)
        }
    }
}

/// How a running value's `Option` is taken apart.
#[derive(Clone, Copy)]
enum Unwrap<'a> {
    /// `.unwrap()` (`None`) or `.expect(msg)`: an empty source panics.
    Panic(Option<&'a Expr>),
    /// `.unwrap_or(d)`: `d`, evaluated after the chain (as Rust evaluates the argument).
    Or(&'a Expr),
    /// `.unwrap_or_else(|| d)`: `d`, evaluated only for an empty source.
    OrElse(&'a Expr),
    /// `.unwrap_or_default()`: zero, where the running value starts.
    Default,
}

/// Whether `e` may write a variable it does not declare itself (a reduction's accumulator is its
/// own), or holds a macro (whose expansion is not seen).
fn writes_outside(e: &Expr) -> bool {
    struct M(bool);
    impl<'ast> syn::visit::Visit<'ast> for M {
        fn visit_macro(&mut self, _: &'ast syn::Macro) {
            self.0 = true;
        }
    }
    let mut m = M(false);
    syn::visit::Visit::visit_expr(&mut m, e);
    let own = crate::front::syntax::bound_in(e);
    m.0 || crate::front::syntax::written_bases(e)
        .iter()
        .any(|(_, b)| !own.contains(b))
}

/// How `e` takes apart an `Option` (see [`Unwrap`]), and the receiver. An argument that may
/// write a variable (an assignment, `&mut`, a macro) is not taken: moved after the chain's
/// loop, it would run in another order than the user wrote.
fn unwrapped(e: &Expr) -> Option<(&Expr, Unwrap<'_>)> {
    let Expr::MethodCall(m) = e else {
        return None;
    };
    if m.turbofish.is_some() {
        return None;
    }
    let u = match (m.method.to_string().as_str(), m.args.len()) {
        ("unwrap", 0) => Unwrap::Panic(None),
        ("expect", 1) => Unwrap::Panic(Some(&m.args[0])),
        ("unwrap_or", 1) if !writes_outside(&m.args[0]) => Unwrap::Or(&m.args[0]),
        ("unwrap_or_else", 1) => match &m.args[0] {
            Expr::Closure(c) if c.inputs.is_empty() && !writes_outside(&c.body) => {
                Unwrap::OrElse(&c.body)
            }
            _ => return None,
        },
        ("unwrap_or_default", 0) => Unwrap::Default,
        _ => return None,
    };
    Some((&m.receiver, u))
}

impl Chains {
    fn is_float_type(&self, t: &syn::Type) -> bool {
        matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some_and(|i| self.floats.contains(&i.to_string())))
    }

    /// `Vec<T>` with `T` a float type.
    fn float_vec(&self, t: &syn::Type) -> bool {
        if let syn::Type::Path(p) = t
            && p.qself.is_none()
            && let Some(last) = p.path.segments.last()
            && last.ident == "Vec"
            && let syn::PathArguments::AngleBracketed(a) = &last.arguments
            && a.args.len() == 1
            && let syn::GenericArgument::Type(t) = &a.args[0]
        {
            return self.is_float_type(t);
        }
        false
    }

    /// `&[F]`, `[F; N]`, `Vec<F>` (behind references) with `F` a float type.
    fn float_collection(&self, t: &syn::Type) -> bool {
        match t {
            syn::Type::Reference(r) => self.float_collection(&r.elem),
            syn::Type::Paren(p) => self.float_collection(&p.elem),
            syn::Type::Slice(s) => self.is_float_type(&s.elem),
            syn::Type::Array(a) => self.is_float_type(&a.elem),
            t => self.float_vec(t),
        }
    }

    /// The locals that are collections of floats (names are unique by now): typed so (`let v:
    /// Vec<f64> = ..`, `let a: [f64; 3] = ..`), or made by an array literal, a repeat or a
    /// `vec![..]` of floats (`[x, 2.0 * y]`, `[0.0; 3]`, `vec![0.0f64; n]`).
    fn float_locals(&self, body: &syn::Block) -> Vec<String> {
        struct L<'a> {
            c: &'a Chains,
            out: Vec<String>,
        }
        impl<'ast> syn::visit::Visit<'ast> for L<'_> {
            fn visit_local(&mut self, l: &'ast syn::Local) {
                let (name, ty) = match &l.pat {
                    Pat::Type(t) => match &*t.pat {
                        Pat::Ident(pi) => (Some(&pi.ident), Some(&*t.ty)),
                        _ => (None, None),
                    },
                    Pat::Ident(pi) => (Some(&pi.ident), None),
                    _ => (None, None),
                };
                let floats = |e: &Expr| self.c.float_expr(e);
                let float = ty.is_some_and(|t| self.c.float_collection(t))
                    || ty.is_none()
                        && l.init.as_ref().is_some_and(|i| match strip_paren(&i.expr) {
                            Expr::Array(a) => !a.elems.is_empty() && a.elems.iter().all(floats),
                            Expr::Repeat(r) => floats(&r.expr),
                            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                                match crate::names::MacroArgs::parse(&m.mac.tokens) {
                                    Some(crate::names::MacroArgs::Repeat(e, _)) => floats(&e),
                                    Some(crate::names::MacroArgs::List(l)) => {
                                        !l.is_empty() && l.iter().all(floats)
                                    }
                                    None => false,
                                }
                            }
                            _ => false,
                        });
                if float && let Some(n) = name {
                    self.out.push(n.to_string());
                }
                syn::visit::visit_local(self, l);
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        let mut l = L {
            c: self,
            out: Vec::new(),
        };
        syn::visit::Visit::visit_block(&mut l, body);
        l.out
    }

    /// Whether every piece of `src` iterates one float collection parameter.
    fn source_floats(&self, src: &Expr) -> bool {
        let x = hygienic("__x", Span::call_site());
        let pat: Pat = syn::parse_quote!(#x);
        pieces(src).iter().all(|p| {
            crate::front::syntax::IterLoop::parse(&pat, p).is_some_and(|lp| {
                lp.elems.len() == 1
                    && matches!(strip_paren(lp.elems[0].1), Expr::Path(q) if q.path.get_ident().is_some_and(|i| self.float_params.contains(&i.to_string())))
            })
        })
    }

    /// A syntactic float: a float literal, a name in `names`, a float method (not one integers
    /// also have), a cast to a float type, arithmetic on one of these.
    fn float_expr(&self, e: &Expr) -> bool {
        self.float_expr_in(e, &[])
    }

    fn float_expr_in(&self, e: &Expr, names: &[String]) -> bool {
        let float_expr = |e: &Expr| self.float_expr_in(e, names);
        match e {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| names.contains(&i.to_string())),
            Expr::Lit(l) => matches!(l.lit, syn::Lit::Float(_)),
            Expr::Paren(p) => float_expr(&p.expr),
            Expr::Group(g) => float_expr(&g.expr),
            Expr::Unary(u) => float_expr(&u.expr),
            Expr::Binary(b) => {
                use syn::BinOp::*;
                matches!(b.op, Add(_) | Sub(_) | Mul(_) | Div(_) | Rem(_))
                    && (float_expr(&b.left) || float_expr(&b.right))
            }
            Expr::Cast(c) => self.is_float_type(&c.ty),
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                !matches!(
                    name.as_str(),
                    "abs" | "max" | "min" | "clamp" | "signum" | "pow" | "rem_euclid"
                ) && autodiff_core::rules::Rule::find(&name).is_some()
                    || float_expr(&m.receiver)
                        && matches!(name.as_str(), "abs" | "max" | "min" | "clamp" | "signum")
            }
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    p.path.segments.len() == 2
                        && self.floats.contains(&p.path.segments[0].ident.to_string())
                }
                _ => false,
            },
            Expr::Block(b) => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => float_expr(e),
                _ => false,
            },
            Expr::If(i) => match i.then_branch.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => float_expr(e),
                _ => false,
            },
            _ => false,
        }
    }

    fn typed_float(&self, p: &Pat) -> bool {
        matches!(p, Pat::Type(t) if self.is_float_type(&t.ty))
    }

    /// Whether the chain's items are known floats: the source's are (a float collection
    /// parameter) and no map changes that, or its last map computes floats (from a float
    /// literal or method, or from floats it is given).
    fn float_items(&self, src: &Expr, stages: &[Stage]) -> bool {
        let mut float = self.source_floats(src);
        for s in stages {
            if let Stage::Map(c) = s {
                let p = &c.inputs[0];
                let mut names = Vec::new();
                if float || self.typed_float(p) {
                    crate::front::syntax::pat_bindings(p, &mut names);
                }
                float = self.float_expr_in(&c.body, &names);
            }
        }
        float
    }

    fn rewrite(&self, e: &Expr) -> Option<Expr> {
        if let Some((recv, how)) = unwrapped(e) {
            return self.running(recv, how);
        }
        let Expr::MethodCall(end) = e else {
            return None;
        };
        let (src, stages) = split(&end.receiver);
        let chained = pieces(src).len() > 1;
        let acc = hygienic("__acc", Span::call_site());
        match (end.method.to_string().as_str(), end.args.len()) {
            // One map and no chain is `desugar::reductions`' (which ran before).
            ("sum" | "product" | "fold", _) if stages.len() <= 1 && !chained => None,
            ("sum", 0) | ("product", 0) => {
                // std's float `sum` starts at `-0.0`, as in `desugar::reductions`.
                let (init, op) = if end.method == "sum" {
                    let zero = &self.zero;
                    (q!(-#zero), q!(+))
                } else {
                    (self.one.clone(), q!(*))
                };
                let body = loops(src, &stages, None, &|item| q!(#acc = #acc #op #item;))?;
                syn::parse2(q!({ let mut #acc = #init; #body #acc })).ok()
            }
            ("fold", 2) => {
                let init = &end.args[0];
                let body = match &end.args[1] {
                    Expr::Closure(c) if c.inputs.len() == 2 => {
                        let (a, y, f) = (&c.inputs[0], &c.inputs[1], &c.body);
                        let f = operand(f);
                        loops(
                            src,
                            &stages,
                            None,
                            &|item| q!(let #a = #acc; let #y = #item; #acc = #f;),
                        )?
                    }
                    Expr::Path(p) => {
                        loops(src, &stages, None, &|item| q!(#acc = #p(#acc, #item);))?
                    }
                    _ => return None,
                };
                syn::parse2(q!({ let mut #acc = #init; #body #acc })).ok()
            }
            _ => None,
        }
    }

    /// `CHAIN.max_by(cmp)` / `.min_by(cmp)` / `.reduce(f)`, unwrapped (`how`): a running value.
    fn running(&self, recv: &Expr, how: Unwrap) -> Option<Expr> {
        let Expr::MethodCall(m) = strip_paren(recv) else {
            return None;
        };
        if m.args.len() != 1 || m.turbofish.is_some() {
            return None;
        }
        let (src, stages) = split(&m.receiver);
        // Without a map the items are the source's: values (`.copied()`), not references (the
        // user's code would read the result as a reference).
        if stages.is_empty() && !pieces(src).iter().all(value_items) {
            return None;
        }
        let (acc, some, y) = (
            hygienic("__acc", Span::call_site()),
            hygienic("__some", Span::call_site()),
            hygienic("__y", Span::call_site()),
        );
        let f = &m.args[0];
        let known = self.float_items(src, &stages);
        let greater = q!(::core::cmp::Ordering::Greater);
        let (known, body) = match (m.method.to_string().as_str(), f) {
            (name @ ("max_by" | "min_by"), Expr::Closure(c)) if c.inputs.len() == 2 => {
                let (a, b, cmp) = (&c.inputs[0], &c.inputs[1], &c.body);
                // std: `max_by` takes the new item unless the running value is greater (the
                // last of equal maxima); `min_by` only when the running value is greater.
                let take = if name == "max_by" { q!(!=) } else { q!(==) };
                let known = known
                    || mentions_ident(&q!(#cmp), "total_cmp")
                    || self.typed_float(a)
                    || self.typed_float(b);
                (
                    known,
                    loops(src, &stages, None, &|item| {
                        q!(
                            let #y = #item;
                            if !#some || ({ let #a = &#acc; let #b = &#y; #cmp } #take #greater) {
                                #acc = #y;
                            }
                            #some = true;
                        )
                    })?,
                )
            }
            ("reduce", Expr::Closure(c)) if c.inputs.len() == 2 => {
                let (a, b, f) = (&c.inputs[0], &c.inputs[1], operand(&c.body));
                let known =
                    known || self.typed_float(a) || self.typed_float(b) || self.float_expr(&c.body);
                (
                    known,
                    loops(src, &stages, None, &|item| {
                        q!(
                            let #y = #item;
                            if #some {
                                let #a = #acc;
                                let #b = #y;
                                #acc = #f;
                            } else {
                                #acc = #y;
                            }
                            #some = true;
                        )
                    })?,
                )
            }
            ("reduce", Expr::Path(p)) => {
                let known = known
                    || p.path.segments.len() == 2
                        && self.floats.contains(&p.path.segments[0].ident.to_string());
                (
                    known,
                    loops(src, &stages, None, &|item| {
                        q!(
                            let #y = #item;
                            if #some {
                                #acc = #p(#acc, #y);
                            } else {
                                #acc = #y;
                            }
                            #some = true;
                        )
                    })?,
                )
            }
            _ => return None,
        };
        if !known {
            return None;
        }
        let zero = &self.zero;
        let d = hygienic("__d", Span::call_site());
        // Where the source is empty: a statement, not a branch, for a panic (the sweeps have
        // nothing to record); the default's value otherwise (`unwrap_or_default`: the zero the
        // running value starts from).
        let empty = match how {
            Unwrap::Panic(None) => {
                q!(::core::assert!(#some, "called `Option::unwrap()` on a `None` value");)
            }
            Unwrap::Panic(Some(m)) => q!(::core::assert!(#some, "{}", #m);),
            Unwrap::Or(e) => q!(let #d = #e; if !#some { #acc = #d; }),
            Unwrap::OrElse(e) => {
                let e = operand(e);
                q!(if !#some { #acc = #e; })
            }
            Unwrap::Default => q!(let _ = #some;),
        };
        syn::parse2(q!({
            let mut #acc = #zero;
            let mut #some = false;
            #body
            #empty
            #acc
        }))
        .ok()
    }

    /// The statements filling `v` with the items of `src` through `stages`.
    fn collect(&self, v: &syn::Ident, chain: &Expr) -> Option<TokenStream> {
        let (src, stages) = split(chain);
        let stages = &stages[..];
        let k = hygienic("__k", Span::call_site());
        let n = hygienic("__n", Span::call_site());
        if stages.is_empty() && !pieces(src).iter().all(value_items) {
            return None;
        }
        let fill = loops(src, stages, None, &|item| q!(#v[#k] = #item; #k += 1;))?;
        let zero = &self.zero;
        let pat = for_pat(stages);
        let exact: Option<Vec<TokenStream>> =
            if stages.iter().any(|s| matches!(s, Stage::Filter(_))) {
                None
            } else {
                pieces(src).iter().map(|p| exact_len(&pat, p)).collect()
            };
        let len = match exact {
            Some(lens) => q!(let #n = 0usize #(+ #lens)*;),
            // The number of items the filters keep: the user's chain counted (passive: what
            // the filters decide on is the primal).
            None => q!(let #n = (#chain).count();),
        };
        Some(q!(
            #len
            let mut #v = ::std::vec![#zero; #n];
            let mut #k = 0usize;
            #fill
        ))
    }

    /// `v` bound to `e` when it is `CHAIN.collect()` into a `Vec` of floats (`ty` the `let`'s
    /// type, if any).
    fn collected(&self, v: &syn::Ident, e: &Expr, ty: Option<&syn::Type>) -> Option<TokenStream> {
        let Expr::MethodCall(end) = strip_paren(e) else {
            return None;
        };
        if end.method != "collect" || !end.args.is_empty() {
            return None;
        }
        let ty = match (&end.turbofish, ty) {
            (Some(t), _) if t.args.len() == 1 => match &t.args[0] {
                syn::GenericArgument::Type(t) => t,
                _ => return None,
            },
            (None, Some(t)) => t,
            _ => return None,
        };
        let (src, stages) = split(&end.receiver);
        if !is_vec(ty) || !(self.float_vec(ty) || self.float_items(src, &stages)) {
            return None;
        }
        self.collect(v, &end.receiver)
    }

    /// `let v: Vec<f64> = CHAIN.collect();` (and a block's value `CHAIN.collect::<Vec<f64>>()`),
    /// and `for` loops over chains: statements of the
    /// enclosing block.
    fn statements(&self, s: &syn::Stmt) -> Option<Vec<syn::Stmt>> {
        match s {
            syn::Stmt::Local(l) => {
                let init = l.init.as_ref()?;
                if init.diverge.is_some() {
                    return None;
                }
                let (pi, ty) = match &l.pat {
                    Pat::Type(t) => match &*t.pat {
                        Pat::Ident(pi) => (pi, Some(&*t.ty)),
                        _ => return None,
                    },
                    Pat::Ident(pi) => (pi, None),
                    _ => return None,
                };
                if pi.by_ref.is_some() || pi.subpat.is_some() {
                    return None;
                }
                let stmts = self.collected(&pi.ident, &init.expr, ty)?;
                let block: syn::Block = syn::parse2(q!({ #stmts })).ok()?;
                Some(block.stmts)
            }
            syn::Stmt::Expr(Expr::ForLoop(f), _) => {
                let ps = pieces(&f.expr);
                if ps.len() < 2 || breaks(&f.body) {
                    return None;
                }
                let (pat, body, label) = (&f.pat, &f.body, &f.label);
                let mut out = Vec::new();
                for p in ps {
                    if !loopable(pat, &p) {
                        return None;
                    }
                    out.push(syn::Stmt::Expr(
                        syn::parse2(q!(#label for #pat in #p #body)).ok()?,
                        None,
                    ));
                }
                Some(out)
            }
            // The block's value.
            syn::Stmt::Expr(e, None) => {
                let v = hygienic("__v", Span::call_site());
                let stmts = self.collected(&v, e, None)?;
                let block: syn::Block = syn::parse2(q!({ #stmts #v })).ok()?;
                Some(block.stmts)
            }
            _ => None,
        }
    }
}

fn is_vec(t: &syn::Type) -> bool {
    matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Vec"))
}

/// The number of items of an unfiltered element loop over `src` (with `pat`), from the lengths
/// of its collections through its position adapters; `None` for other sources.
fn exact_len(pat: &Pat, src: &Expr) -> Option<TokenStream> {
    let lp = crate::front::syntax::IterLoop::parse(pat, src)?;
    if !lp.filters.is_empty() {
        return None;
    }
    let len = lp.len()?;
    if lp.adapters.is_empty() {
        return Some(len);
    }
    let positions = lp.positions(&len);
    Some(q!(::core::iter::ExactSizeIterator::len(&#positions)))
}

/// Whether a loop body `break`s (out of this loop or an outer one).
fn breaks(b: &syn::Block) -> bool {
    struct B(bool);
    impl<'ast> syn::visit::Visit<'ast> for B {
        fn visit_expr_break(&mut self, _: &'ast syn::ExprBreak) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            if m.tokens.to_string().contains("break") {
                self.0 = true;
            }
        }
    }
    let mut v = B(false);
    syn::visit::Visit::visit_block(&mut v, b);
    v.0
}

/// Whether a token stream names `name`.
fn mentions_ident(t: &TokenStream, name: &str) -> bool {
    t.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions_ident(&g.stream(), name),
        _ => false,
    })
}

/// A source whose items are values (`.copied()`, `.cloned()`, an array by value), one collection.
fn value_items(src: &Expr) -> bool {
    let x = hygienic("__x", Span::call_site());
    let pat: Pat = syn::parse_quote!(#x);
    crate::front::syntax::IterLoop::parse(&pat, src)
        .is_some_and(|lp| lp.elems.len() == 1 && lp.elems[0].2 != crate::front::syntax::Items::Ref)
}
