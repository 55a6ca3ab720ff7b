//! Front end, before renaming: iterator reductions become the `for` loops a hand rewrite gives
//! (which `lower` then turns into index loops over the collection).
//!
//! Input: `xs.iter().zip(ys).map(|(a, b)| a * b).sum::<f64>()`
//! Output: `{ let mut __acc = -0.0; for (a, b) in xs.iter().zip(ys) { __acc = __acc + (a * b); }
//! __acc }` (a block body of the closure is spliced: its statements, then `__acc = __acc +
//! (tail)`). `front::hoist` then makes the block statements of the enclosing block where it can.
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
        // What is reduced: `src.map(|p| body)`, or the items of `src` themselves; `pre`, the
        // statements of a block `body` (run in the loop's body before the item is used).
        let (src, pat, pre, item): (&Expr, Pat, TokenStream, TokenStream) = match &*end.receiver {
            Expr::MethodCall(m) if m.method == "map" && m.args.len() == 1 => match &m.args[0] {
                Expr::Closure(c) if c.inputs.len() == 1 => {
                    let (pre, item) = spliced(&c.body);
                    (&m.receiver, untyped(&c.inputs[0]), pre, item)
                }
                _ => return None,
            },
            other => {
                let x = crate::names::hygienic("__x", Span::call_site());
                (other, syn::parse_quote!(#x), TokenStream::new(), q!(#x))
            }
        };
        let mapped = matches!(&*end.receiver, Expr::MethodCall(m) if m.method == "map");
        let (pat, init, step) = match (end.method.to_string().as_str(), end.args.len()) {
            // std's float `sum` starts at `-0.0` (so an empty sum is `-0.0`, and a sum of
            // `-0.0`s too).
            ("sum", 0) => {
                let zero = &self.zero;
                (pat, q!(-#zero), q!(#acc + #item))
            }
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
        if !loopable(&pat, src) {
            return None;
        }
        syn::parse2(q!({
            let mut #acc = #init;
            for #pat in #src {
                #pre
                #acc = #step;
            }
            #acc
        }))
        .ok()
    }
}

/// A closure body as the statements a loop's body runs and the value it then uses: a block's
/// statements and its tail (`{ let t = x * x; t + 1.0 }`: `let t = x * x;` and `(t + 1.0)`),
/// an expression parenthesised. The loop's body is a scope of its own and names are unique by
/// now, so the block's bindings capture nothing. A block with an exit (`return`, `?`, `break`,
/// `continue`: the closure's own, which would leave the function or the loop) stays a block,
/// used as a value, where the lowering reports its exit. So does a block declaring a generated
/// name (`__acc` of a reduction inside the closure): generated names are not unique before the
/// second renaming, and spliced it would shadow the loop's own `__acc` that the statement after
/// it updates (`.map(|r| r.iter().sum()).fold(..)`: the fold added into the inner sum).
pub(crate) fn spliced(body: &Expr) -> (TokenStream, TokenStream) {
    if let Expr::Block(b) = body
        && b.label.is_none()
        && b.attrs.is_empty()
        && let Some((syn::Stmt::Expr(tail, None), stmts)) = b.block.stmts.split_last()
        && !stmts.iter().any(|s| matches!(s, syn::Stmt::Item(_)))
        && !stmts.iter().any(declares_generated)
        && !exits(&q!(#b))
    {
        return (q!(#(#stmts)*), q!((#tail)));
    }
    (TokenStream::new(), q!((#body)))
}

/// Whether a statement is a `let` binding a generated (`__`) name.
fn declares_generated(s: &syn::Stmt) -> bool {
    let syn::Stmt::Local(l) = s else { return false };
    let mut names = Vec::new();
    crate::front::syntax::pat_bindings(&l.pat, &mut names);
    names.iter().any(|n| n.starts_with("__"))
}

/// Whether the tokens hold a `return`, `?`, `break` or `continue`.
fn exits(t: &TokenStream) -> bool {
    t.clone().into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) => i == "return" || i == "break" || i == "continue",
        proc_macro2::TokenTree::Punct(p) => p.as_char() == '?',
        proc_macro2::TokenTree::Group(g) => exits(&g.stream()),
        _ => false,
    })
}

/// Whether `for pat in src` is a loop `lower` (or [`windows`], or `flatten::loops`) takes.
pub(crate) fn loopable(pat: &Pat, src: &Expr) -> bool {
    IterLoop::parse(pat, src).is_some()
        || Slices::parse(src, pat).is_some()
        || crate::front::flatten::loopable(pat, src)
}

/// A closure parameter's pattern as a `for` pattern (which takes no type annotation).
pub(crate) fn untyped(p: &Pat) -> Pat {
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

/// `xs.windows(k)`, `xs.chunks(k)`, `xs.chunks_exact(k)`, possibly `.enumerate()`d, when `xs` is
/// a place: what a `for` loop (or a reduction, made a loop by [`reductions`]) over them is.
struct Slices<'a> {
    index: Option<&'a Pat>,
    /// The collection.
    of: &'a Expr,
    /// `windows`, `chunks` or `chunks_exact`.
    kind: String,
    k: &'a Expr,
}

impl<'a> Slices<'a> {
    fn parse(iter: &'a Expr, pat: &'a Pat) -> Option<(Slices<'a>, &'a syn::Ident)> {
        let mut iter = crate::front::syntax::strip_paren(iter);
        let mut pat = pat;
        let mut index = None;
        if let Expr::MethodCall(m) = iter
            && m.method == "enumerate"
            && m.args.is_empty()
        {
            let Pat::Tuple(t) = pat else { return None };
            if t.elems.len() != 2 {
                return None;
            }
            index = Some(&t.elems[0]);
            pat = &t.elems[1];
            iter = crate::front::syntax::strip_paren(&m.receiver);
        }
        let Expr::MethodCall(m) = iter else {
            return None;
        };
        let kind = m.method.to_string();
        if !matches!(kind.as_str(), "windows" | "chunks" | "chunks_exact")
            || m.args.len() != 1
            || m.turbofish.is_some()
            || !is_place(&m.receiver)
        {
            return None;
        }
        let Pat::Ident(w) = crate::front::syntax::strip_pat_type(pat) else {
            return None;
        };
        if w.by_ref.is_some() || w.subpat.is_some() {
            return None;
        }
        Some((
            Slices {
                index,
                of: &m.receiver,
                kind,
                k: &m.args[0],
            },
            &w.ident,
        ))
    }
}

/// A variable, a field or an element: evaluating it twice gives the same collection.
fn is_place(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.qself.is_none(),
        Expr::Field(f) => is_place(&f.base),
        Expr::Index(i) => is_place(&i.expr) && !matches!(*i.index, Expr::Range(_)),
        Expr::Paren(p) => is_place(&p.expr),
        _ => false,
    }
}

/// Loops over the windows or chunks of a collection as index loops: `for w in xs.windows(2) {
/// .. w[j] .. }` is `for s in 0..(xs.len() + 1).saturating_sub(2) { .. xs[s + j] .. }` (a
/// chunk starts at `s * k`); `w.len()` is the window's length. A loop whose body uses the
/// window otherwise (passes it on, slices or iterates it) is left for `lower` to refuse.
pub fn windows(body: &mut syn::Block) {
    Windows.visit_block_mut(body);
}

struct Windows;

impl VisitMut for Windows {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        if let Expr::ForLoop(f) = e
            && let Some(r) = window_loop(f)
        {
            *e = r;
        }
    }
}

fn window_loop(f: &syn::ExprForLoop) -> Option<Expr> {
    let (s, w) = Slices::parse(&f.expr, &f.pat)?;
    let (of, k) = (s.of, s.k);
    if matches!(k, Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "0")) {
        return None;
    }
    let start = crate::names::hygienic("__s", Span::call_site());
    // A literal size is known not to be 0 (`windows(0)` panics); another is checked where the
    // loop starts, as `windows` checks it.
    let kind = &s.kind;
    let msg = format!("{kind} size must be non-zero");
    let checked = match k {
        Expr::Lit(_) => q!(#k),
        _ => q!(::core::num::NonZeroUsize::new(#k).expect(#msg).get()),
    };
    let k = match k {
        Expr::Lit(_) | Expr::Path(_) => q!(#k),
        _ => q!((#k)),
    };
    let (count, first, len) = match kind.as_str() {
        "windows" => (
            q!((#of.len() + 1).saturating_sub(#checked)),
            q!(#start),
            k.clone(),
        ),
        "chunks_exact" => (q!(#of.len() / #checked), q!(#start * #k), k.clone()),
        _ => (
            q!(#of.len().div_ceil(#checked)),
            q!(#start * #k),
            q!(usize::min(#k, #of.len() - #start * #k)),
        ),
    };
    let mut body = f.body.clone();
    let mut r = Reads {
        w,
        first: &first,
        len: &len,
        of,
        ok: true,
    };
    r.visit_block_mut(&mut body);
    if !r.ok {
        return None;
    }
    let index = s.index.map(|p| q!(let #p = #start;));
    let label = &f.label;
    // The body's statements directly in the loop's (names are unique by now): a nested block
    // would be a scope of its own.
    let stmts = &body.stmts;
    syn::parse2(q!(#label for #start in 0..#count { #index #(#stmts)* })).ok()
}

/// Rewrites `w[j]` into the collection's element and `w.len()` into the window's length;
/// `ok` is cleared by any other use of `w`.
struct Reads<'a> {
    w: &'a syn::Ident,
    first: &'a TokenStream,
    len: &'a TokenStream,
    of: &'a Expr,
    ok: bool,
}

impl Reads<'_> {
    fn is_w(&self, e: &Expr) -> bool {
        matches!(crate::front::syntax::strip_paren(e), Expr::Path(p) if p.path.is_ident(self.w))
    }
}

impl VisitMut for Reads<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        let rewritten = match e {
            Expr::Index(i) if self.is_w(&i.expr) => {
                if matches!(*i.index, Expr::Range(_)) {
                    self.ok = false;
                    return;
                }
                self.visit_expr_mut(&mut i.index);
                // Spelled as a hand rewrite would (`xs[s]`, `xs[s + 1]`), so that the analyses
                // of index loops see the same offsets.
                let (of, first, j) = (self.of, self.first, &*i.index);
                match j {
                    Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(n) if n.base10_digits() == "0") => {
                        syn::parse2(q!(#of[#first])).ok()
                    }
                    Expr::Lit(_) | Expr::Path(_) => syn::parse2(q!(#of[#first + #j])).ok(),
                    _ => syn::parse2(q!(#of[#first + (#j)])).ok(),
                }
            }
            Expr::MethodCall(m)
                if self.is_w(&m.receiver) && m.method == "len" && m.args.is_empty() =>
            {
                let len = self.len;
                syn::parse2(q!((#len))).ok()
            }
            Expr::Path(p) if p.path.is_ident(self.w) => {
                // The window itself, passed on or iterated.
                self.ok = false;
                None
            }
            _ => {
                visit_mut::visit_expr_mut(self, e);
                None
            }
        };
        if let Some(r) = rewritten {
            *e = r;
        }
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        let w = self.w;
        if m.tokens
            .clone()
            .into_iter()
            .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == w))
        {
            self.ok = false;
        }
    }
}

/// Destructuring `let`s as the `let`s of their parts: `let [a, b] = xs;` is `let a = xs[0];
/// let b = xs[1];`, `let Point { x, y: py, .. } = p;` is `let x = p.x; let py = p.y;`,
/// `let Pair(a, b) = p;` is `let a = p.0; let b = p.1;`, and a tuple pattern of a place `let (a,
/// b) = t;` is `let a = t.0; let b = t.1;`. A value that is not a place is bound first (`let d =
/// e;`, hygienic), so it is computed once; nested patterns are taken apart in turn; `_` and a
/// trailing `..` bind nothing. Other patterns (`..` elsewhere, `@`, `ref`) are left for `lower`.
///
/// Input: `let [a, [b, c]] = m;`  Output: `let a = m[0]; let b = m[1][0]; let c = m[1][1];`
pub fn destructuring(body: &mut syn::Block) {
    Destructuring.visit_block_mut(body);
}

struct Destructuring;

impl VisitMut for Destructuring {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        visit_mut::visit_block_mut(self, b);
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in std::mem::take(&mut b.stmts) {
            match s {
                syn::Stmt::Local(l) => match destructure(&l) {
                    Some(parts) => out.extend(parts),
                    None => out.push(syn::Stmt::Local(l)),
                },
                s => out.push(s),
            }
        }
        b.stmts = out;
    }
}

/// The `let`s a destructuring `let` stands for, or `None` when it is not one this pass takes.
fn destructure(l: &syn::Local) -> Option<Vec<syn::Stmt>> {
    let init = l.init.as_ref()?;
    if init.diverge.is_some() {
        return None;
    }
    let (pat, ty) = match &l.pat {
        Pat::Type(t) => (&*t.pat, Some(&t.ty)),
        p => (p, None),
    };
    let tuple_of_place = matches!(pat, Pat::Tuple(_)) && is_place(&init.expr);
    if !matches!(pat, Pat::Slice(_) | Pat::Struct(_) | Pat::TupleStruct(_)) && !tuple_of_place {
        return None;
    }
    let mut out = Vec::new();
    let src: TokenStream = if is_place(&init.expr) {
        let e = &init.expr;
        q!(#e)
    } else {
        let d = crate::names::hygienic("__d", Span::call_site());
        let (e, ty) = (&init.expr, ty.map(|t| q!(: #t)));
        out.push(syn::parse2(q!(let #d #ty = #e;)).ok()?);
        q!(#d)
    };
    parts(pat, &src, &mut out)?;
    Some(out)
}

/// The `let`s binding the parts of `pat` matched against the place `src`.
fn parts(pat: &Pat, src: &TokenStream, out: &mut Vec<syn::Stmt>) -> Option<()> {
    let mut bind = |p: &Pat, part: TokenStream| -> Option<()> {
        match p {
            Pat::Wild(_) => Some(()),
            Pat::Ident(i) if i.by_ref.is_none() && i.subpat.is_none() => {
                out.push(syn::parse2(q!(let #i = #part;)).ok()?);
                Some(())
            }
            Pat::Slice(_) | Pat::Struct(_) | Pat::TupleStruct(_) | Pat::Tuple(_) => {
                parts(p, &part, out)
            }
            Pat::Paren(q) => parts(&q.pat, &part, out),
            _ => None,
        }
    };
    match pat {
        Pat::Slice(s) => {
            for (k, p) in s.elems.iter().enumerate() {
                if matches!(p, Pat::Rest(_)) {
                    // Only a trailing `..`: the positions before it are known.
                    return (k + 1 == s.elems.len()).then_some(());
                }
                bind(p, q!(#src[#k]))?;
            }
            Some(())
        }
        Pat::Tuple(syn::PatTuple { elems, .. })
        | Pat::TupleStruct(syn::PatTupleStruct { elems, .. }) => {
            for (k, p) in elems.iter().enumerate() {
                if matches!(p, Pat::Rest(_)) {
                    return (k + 1 == elems.len()).then_some(());
                }
                let k = syn::Index::from(k);
                bind(p, q!(#src.#k))?;
            }
            Some(())
        }
        Pat::Struct(s) => {
            for f in &s.fields {
                let m = &f.member;
                bind(&f.pat, q!(#src.#m))?;
            }
            Some(())
        }
        _ => None,
    }
}

/// `std::mem::swap` and `std::mem::replace` on places (also spelled `core::mem::..` or
/// `mem::..`): the assignments they make, which `lower` differentiates as any others (a call of
/// the standard library carries no derivative).
///
/// Input: `std::mem::swap(&mut a, &mut b[i]);`  Output: `{ let __m = a; a = b[i]; b[i] = __m; };`
/// Input: `let old = mem::replace(&mut s, v);`  Output: `let old = { let __m = s; s = (v); __m };`
/// (the borrow checker keeps `v` from reading `s`, so the order of the two reads is moot).
pub fn mem_calls(body: &mut syn::Block) {
    MemCalls.visit_block_mut(body);
}

struct MemCalls;

impl VisitMut for MemCalls {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        if let Some(new) = mem_call(e) {
            *e = new;
        }
    }
}

/// The block a `mem::swap` / `mem::replace` call of places stands for.
fn mem_call(e: &Expr) -> Option<Expr> {
    let Expr::Call(c) = e else { return None };
    let Expr::Path(p) = &*c.func else { return None };
    if p.qself.is_some() {
        return None;
    }
    let segs = crate::front::syntax::segments(&p.path);
    let f = match segs.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["std" | "core", "mem", f] | ["mem", f] => f.to_string(),
        _ => return None,
    };
    let mut_place = |a: &Expr| match a {
        Expr::Reference(r) if r.mutability.is_some() && is_place(&r.expr) => {
            Some((*r.expr).clone())
        }
        _ => None,
    };
    let args: Vec<&Expr> = c.args.iter().collect();
    let m = crate::names::hygienic("__m", Span::call_site());
    let block = match (f.as_str(), &args[..]) {
        ("swap", [a, b]) => {
            let (a, b) = (mut_place(a)?, mut_place(b)?);
            q!({ let #m = #a; #a = #b; #b = #m; })
        }
        ("replace", [a, v]) => {
            let a = mut_place(a)?;
            q!({ let #m = #a; #a = (#v); #m })
        }
        _ => return None,
    };
    syn::parse2(block).ok()
}
