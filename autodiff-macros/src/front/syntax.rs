//! Queries on the user's syntax, shared by the front end's steps (desugaring, activity,
//! lowering): the element loops an index loop expresses, patterns and their bindings, the base
//! variable of a place, types that carry no derivative, and the names format macros capture.
//!
//! Input: syntax trees.  Output: facts about them; nothing is rewritten here.

use syn::{Expr, Pat, Type, UnOp};

/// A `for` loop over the elements of arrays, slices or `Vec`s, in one of the forms an index loop
/// expresses: `for x in xs` / `&xs` / `xs.iter()` / `xs.into_iter()` (with `.copied()` or
/// `.cloned()`), `for (i, x) in xs.iter().enumerate()`, `for (a, b) in xs.iter().zip(ys)`
/// (`zip(&ys)`, `zip(ys.iter())`), zips of zips (`for (a, (b, c)) in xs.iter().zip(ys.iter()
/// .zip(zs))`, `for ((a, b), c) in xs.iter().zip(ys).zip(zs)`), each element pattern `x`, `&x`,
/// `mut x` or `_`.
///
/// Input: `for (i, &x) in xs.iter().enumerate() { .. }`
/// Output (what `lower` builds): `for __i0 in 0..xs.len() { let i = __i0; let x = xs[__i0]; .. }`
pub struct IterLoop<'a> {
    /// The index binding of `enumerate`.
    pub index: Option<&'a Pat>,
    /// Each element binding with the collection it comes from and how the original loop
    /// yields its items.
    pub elems: Vec<(&'a Pat, &'a Expr, Items)>,
    /// Position adapters applied after the sources are combined, innermost first: `rev()`,
    /// `skip(n)`, `take(n)`, `step_by(n)`. Each maps the positions `0..len` the same way
    /// whatever the items are, so the index loop iterates `(0..len)` through the same adapters.
    pub adapters: Vec<&'a syn::ExprMethodCall>,
    /// `.filter(|q| pred)` calls after the adapters, innermost first: the body runs for the
    /// items whose predicates all hold (passive: they only decide).
    pub filters: Vec<&'a syn::ExprClosure>,
    /// How the items of the sources nest in what the iterator yields (`a.zip(b.zip(c))`
    /// yields `(a, (b, c))`), the leaves numbering `elems`.
    pub shape: Zipped,
}

/// The nesting of zipped sources: a source (its number in [`IterLoop::elems`]), or a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Zipped {
    One(usize),
    Pair(Box<Zipped>, Box<Zipped>),
}

impl Zipped {
    /// The item with each source's part made by `leaf`: `leaf(0)`, `(leaf(0), (leaf(1),
    /// leaf(2)))`.
    pub fn item(
        &self,
        leaf: &dyn Fn(usize) -> proc_macro2::TokenStream,
    ) -> proc_macro2::TokenStream {
        match self {
            Zipped::One(k) => leaf(*k),
            Zipped::Pair(a, b) => {
                let (a, b) = (a.item(leaf), b.item(leaf));
                q!((#a, #b))
            }
        }
    }
}

/// The sources of `a.zip(b)`, `a.zip(b.zip(c))`, `a.zip(b).zip(c)`, .. (each a collection),
/// numbered from `out.len()` in order, and their nesting. `arg`: a `zip`'s argument, whose
/// items come by reference.
fn zipped<'a>(e: &'a Expr, arg: bool, out: &mut Vec<(&'a Expr, Items)>) -> Option<Zipped> {
    match strip_paren(e) {
        Expr::MethodCall(m) if m.method == "zip" && m.args.len() == 1 => {
            let a = zipped(&m.receiver, arg, out)?;
            let b = zipped(&m.args[0], true, out)?;
            Some(Zipped::Pair(Box::new(a), Box::new(b)))
        }
        e => {
            let (c, items) = collection(e)?;
            let items = if arg && items == Items::Value {
                Items::Ref
            } else {
                items
            };
            out.push((c, items));
            Some(Zipped::One(out.len() - 1))
        }
    }
}

/// The element patterns of `pat` matched against `shape`, in the sources' order.
fn zipped_pats<'a>(pat: &'a Pat, shape: &Zipped, out: &mut Vec<&'a Pat>) -> Option<()> {
    match shape {
        Zipped::One(_) => {
            element_pat(pat)?;
            out.push(pat);
            Some(())
        }
        Zipped::Pair(a, b) => match strip_pat_type(pat) {
            Pat::Tuple(t) if t.elems.len() == 2 => {
                zipped_pats(&t.elems[0], a, out)?;
                zipped_pats(&t.elems[1], b, out)
            }
            _ => None,
        },
    }
}

/// The iterator adapters that select or reorder positions without looking at the items.
pub const POSITION_ADAPTERS: &[(&str, usize)] =
    &[("rev", 0), ("skip", 1), ("take", 1), ("step_by", 1)];

/// `it.rev()`, `it.skip(n)`, `it.take(n)`, `it.step_by(n)`: the receiver and the call.
pub fn position_adapter(e: &Expr) -> Option<(&Expr, &syn::ExprMethodCall)> {
    match e {
        Expr::MethodCall(m)
            if POSITION_ADAPTERS.iter().any(|(name, n)| {
                m.method == name && m.args.len() == *n && m.turbofish.is_none()
            }) =>
        {
            Some((&m.receiver, m))
        }
        _ => None,
    }
}

/// How an iterator yields a collection's elements.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Items {
    /// `xs.iter()`, `&xs`, and `zip`'s argument: references.
    Ref,
    /// `.copied()`, or what `xs` / `xs.into_iter()` yields (an array by value, or references
    /// for a slice: the same values either way).
    Value,
    /// `.cloned()`.
    Clone,
}

impl<'a> IterLoop<'a> {
    /// The number of positions before the adapters: the collection's length, or the shortest
    /// of zipped ones.
    pub fn len(&self) -> Option<proc_macro2::TokenStream> {
        let lens: Vec<proc_macro2::TokenStream> = self
            .elems
            .iter()
            .map(|(_, src, _)| {
                let src = strip_paren(src);
                q!(#src.len())
            })
            .collect();
        let (first, rest) = lens.split_first()?;
        Some(
            rest.iter()
                .fold(first.clone(), |a, b| q!(::core::cmp::min(#a, #b))),
        )
    }

    /// The positions the loop visits: `0..len` through its position adapters
    /// (`xs.iter().skip(1).step_by(2)` visits `(0..len).skip(1).step_by(2)`).
    pub fn positions(&self, len: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        if self.adapters.is_empty() {
            return q!(0..#len);
        }
        let adapters = self.adapters.iter().map(|m| {
            let (method, args) = (&m.method, &m.args);
            q!(.#method(#args))
        });
        q!((0..#len) #(#adapters)*)
    }

    pub fn parse(pat: &'a Pat, iter: &'a Expr) -> Option<IterLoop<'a>> {
        let mut filters = Vec::new();
        let mut iter = strip_paren(iter);
        while let Expr::MethodCall(m) = iter
            && m.method == "filter"
            && m.args.len() == 1
            && let Expr::Closure(c) = &m.args[0]
            && c.inputs.len() == 1
        {
            filters.push(c);
            iter = strip_paren(&m.receiver);
        }
        filters.reverse();
        let mut adapters = Vec::new();
        while let Some((inner, call)) = position_adapter(strip_paren(iter)) {
            adapters.push(call);
            iter = inner;
        }
        adapters.reverse();
        let iter = strip_paren(iter);
        let (iter, enumerate) = match iter {
            Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() => {
                (&*m.receiver, true)
            }
            e => (e, false),
        };
        let mut sources: Vec<(&Expr, Items)> = Vec::new();
        let shape = zipped(iter, false, &mut sources)?;
        let pat = strip_pat_type(pat);
        let (index, elem_pat) = if enumerate {
            match pat {
                Pat::Tuple(t) if t.elems.len() == 2 => (Some(&t.elems[0]), &t.elems[1]),
                _ => return None,
            }
        } else {
            (None, pat)
        };
        let mut elem_pats: Vec<&Pat> = Vec::new();
        zipped_pats(elem_pat, &shape, &mut elem_pats)?;
        if index.is_some_and(|p| !matches!(strip_pat_type(p), Pat::Ident(_) | Pat::Wild(_))) {
            return None;
        }
        Some(IterLoop {
            index,
            elems: elem_pats
                .into_iter()
                .zip(sources)
                .map(|(p, (e, items))| (p, e, items))
                .collect(),
            adapters,
            filters,
            shape,
        })
    }
}

/// The binding of an element pattern (`x`, `&x`, `mut x`, `&mut x`), `None` for `_`... or for
/// what is not an element pattern (the outer `Option` is `None` then).
pub fn element_pat(p: &Pat) -> Option<Option<&syn::PatIdent>> {
    match strip_pat_type(p) {
        Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => Some(Some(pi)),
        Pat::Wild(_) => Some(None),
        Pat::Reference(r) => element_pat(&r.pat),
        _ => None,
    }
}

/// The collection iterated by `xs`, `&xs`, `xs.iter()`, `xs.into_iter()`, `xs.iter().copied()`,
/// `xs.iter().cloned()` (`xs` a place: a name, a field, an element), and how its items come.
pub(crate) fn collection(e: &Expr) -> Option<(&Expr, Items)> {
    match e {
        Expr::MethodCall(m)
            if (m.method == "copied" || m.method == "cloned") && m.args.is_empty() =>
        {
            let items = if m.method == "copied" {
                Items::Value
            } else {
                Items::Clone
            };
            match &*m.receiver {
                Expr::MethodCall(i) if i.method == "iter" && i.args.is_empty() => {
                    Some((collection(&i.receiver)?.0, items))
                }
                _ => None,
            }
        }
        Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => {
            Some((collection(&m.receiver)?.0, Items::Ref))
        }
        Expr::MethodCall(m) if m.method == "into_iter" && m.args.is_empty() => {
            collection(&m.receiver)
        }
        Expr::Reference(r) if r.mutability.is_none() => Some((collection(&r.expr)?.0, Items::Ref)),
        Expr::Paren(p) => collection(&p.expr),
        Expr::Path(_) | Expr::Field(_) | Expr::Index(_) => Some((e, Items::Value)),
        _ => None,
    }
}

pub fn strip_pat_type(p: &Pat) -> &Pat {
    match p {
        Pat::Type(t) => strip_pat_type(&t.pat),
        Pat::Paren(p) => strip_pat_type(&p.pat),
        _ => p,
    }
}

/// The names a passive statement kept as tokens binds (`let (a, b) = ..;`), if it is a `let`.
pub fn passive_bindings(t: &proc_macro2::TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(syn::Stmt::Local(l)) = syn::parse2::<syn::Stmt>(t.clone()) {
        pat_bindings(&l.pat, &mut out);
    }
    out
}

/// The names a pattern binds.
pub fn pat_bindings(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            let s = p.ident.to_string();
            if !s.starts_with(|c: char| c.is_uppercase()) {
                out.push(s);
            }
            if let Some((_, sub)) = &p.subpat {
                pat_bindings(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pat_bindings(&f.pat, out)),
        Pat::Reference(r) => pat_bindings(&r.pat, out),
        Pat::Type(t) => pat_bindings(&t.pat, out),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::Paren(p) => pat_bindings(&p.pat, out),
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                pat_bindings(first, out)
            }
        }
        _ => {}
    }
}

/// The variable at the root of a place expression (`x`, `x[i]`, `p.w[o]`, `*x`).
pub fn place_base(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.path.segments.len() == 1 && p.qself.is_none() => {
            Some(p.path.segments[0].ident.to_string())
        }
        Expr::Index(i) => place_base(&i.expr),
        Expr::Field(f) => place_base(&f.base),
        Expr::Paren(p) => place_base(&p.expr),
        Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => place_base(&u.expr),
        _ => None,
    }
}

/// Function types: `impl Fn(..)` (`FnMut`, `FnOnce`), `&dyn Fn(..)`, `Box<dyn Fn(..)>`,
/// `fn(..) -> ..`. A parameter of such a type carries no derivative: it is a function passed as
/// a value, which a differentiated body may call only on values that carry none.
pub fn is_fn_type(ty: &Type) -> bool {
    let fn_bound = |b: &syn::TypeParamBound| {
        matches!(b, syn::TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| matches!(s.ident.to_string().as_str(), "Fn" | "FnMut" | "FnOnce")))
    };
    match ty {
        Type::BareFn(_) => true,
        Type::ImplTrait(t) => t.bounds.iter().any(fn_bound),
        Type::TraitObject(t) => t.bounds.iter().any(fn_bound),
        Type::Reference(r) => is_fn_type(&r.elem),
        Type::Paren(p) => is_fn_type(&p.elem),
        Type::Group(g) => is_fn_type(&g.elem),
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "Box"
                && matches!(&s.arguments, syn::PathArguments::AngleBracketed(a)
                    if a.args.iter().any(|g| matches!(g, syn::GenericArgument::Type(t) if is_fn_type(t))))
        }),
        _ => false,
    }
}

/// Integer, boolean and character types: values of these never carry derivatives.
pub fn is_passive_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.get_ident().is_some_and(|i| {
            matches!(
                i.to_string().as_str(),
                "usize"
                    | "isize"
                    | "u8"
                    | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "bool"
                    | "char"
                    | "str"
                    | "String"
            )
        }),
        Type::Reference(r) => is_passive_type(&r.elem),
        Type::Paren(p) => is_passive_type(&p.elem),
        _ => false,
    }
}

/// The names a formatting macro's string literals capture inline (`"{x}"`, `"{x:.3}"`).
pub fn format_captures(tokens: &proc_macro2::TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens.clone() {
        match t {
            proc_macro2::TokenTree::Literal(l) => {
                let s = l.to_string();
                if !s.starts_with('"') {
                    continue;
                }
                let mut rest = s.as_str();
                while let Some(i) = rest.find('{') {
                    rest = &rest[i + 1..];
                    if let Some(r) = rest.strip_prefix('{') {
                        rest = r;
                        continue;
                    }
                    let end = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    let name = &rest[..end];
                    if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                        out.push(name.to_string());
                    }
                    rest = &rest[end..];
                }
            }
            proc_macro2::TokenTree::Group(g) => out.extend(format_captures(&g.stream())),
            _ => {}
        }
    }
    out
}

pub fn strip_paren(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_paren(&p.expr),
        _ => e,
    }
}

/// The spans of everything in `e` that may write a variable: assignments, compound
/// assignments, `&mut` borrows and macros (whose expansion is not seen).
pub fn writes_in(e: &Expr) -> Vec<proc_macro2::Span> {
    use syn::spanned::Spanned;
    struct W(Vec<proc_macro2::Span>);
    impl<'ast> syn::visit::Visit<'ast> for W {
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            self.0.push(a.span());
        }
        fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
            if compound_assign(&b.op) {
                self.0.push(b.span());
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
            if r.mutability.is_some() {
                self.0.push(r.span());
            }
            syn::visit::visit_expr_reference(self, r);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            self.0.push(m.span());
        }
    }
    let mut w = W(Vec::new());
    syn::visit::Visit::visit_expr(&mut w, e);
    w.0
}

/// The variables `e` itself binds (`let`s, `for` and `match` patterns, closure parameters):
/// names are unique by now, so a write to one of them stays inside `e`.
pub fn bound_in(e: &Expr) -> std::collections::HashSet<String> {
    struct B(Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for B {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            pat_bindings(&l.pat, &mut self.0);
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            pat_bindings(&f.pat, &mut self.0);
            syn::visit::visit_expr_for_loop(self, f);
        }
        fn visit_arm(&mut self, a: &'ast syn::Arm) {
            pat_bindings(&a.pat, &mut self.0);
            syn::visit::visit_arm(self, a);
        }
        fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
            for p in &c.inputs {
                pat_bindings(p, &mut self.0);
            }
            syn::visit::visit_expr_closure(self, c);
        }
    }
    let mut b = B(Vec::new());
    syn::visit::Visit::visit_expr(&mut b, e);
    b.0.into_iter().collect()
}

/// The base variables that `e` assigns (`x = ..`, `x[i] += ..`, `s.f *= ..`) or borrows mutably
/// (`&mut x`), with the span of each write; closures and nested items included.
pub fn written_bases(e: &Expr) -> Vec<(proc_macro2::Span, String)> {
    use syn::spanned::Spanned;
    struct W(Vec<(proc_macro2::Span, String)>);
    impl W {
        fn place(&mut self, e: &Expr, span: proc_macro2::Span) {
            if let Some(b) = place_base(e) {
                self.0.push((span, b));
            }
        }
    }
    impl<'ast> syn::visit::Visit<'ast> for W {
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            self.place(&a.left, a.left.span());
            syn::visit::visit_expr_assign(self, a);
        }
        fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
            if compound_assign(&b.op) {
                self.place(&b.left, b.left.span());
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
            if r.mutability.is_some() {
                self.place(&r.expr, r.span());
            }
            syn::visit::visit_expr_reference(self, r);
        }
        // A macro's arguments (`debug_assert!({ s = t; true })`, `println!("{}", { s += 1.0; s })`)
        // are expressions the macro keeps as written: their writes count. Arguments that are
        // not expressions are scanned for `name =`, `name op=` and `&mut name`.
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            use syn::parse::Parser;
            let args = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated
                .parse2(m.tokens.clone());
            match args {
                Ok(args) => args.iter().for_each(|a| self.visit_expr(a)),
                Err(_) => scan_writes(m.tokens.clone(), &mut self.0),
            }
        }
    }
    /// `name =`, `name op=` (not `==`) and `&mut name` in tokens that are not expressions.
    fn scan_writes(t: proc_macro2::TokenStream, out: &mut Vec<(proc_macro2::Span, String)>) {
        use proc_macro2::TokenTree as T;
        let tts: Vec<T> = t.into_iter().collect();
        for (i, tt) in tts.iter().enumerate() {
            match tt {
                T::Group(g) => scan_writes(g.stream(), out),
                T::Ident(id) => {
                    let after_mut = i >= 2
                        && matches!(&tts[i - 1], T::Ident(m) if m == "mut")
                        && matches!(&tts[i - 2], T::Punct(p) if p.as_char() == '&');
                    let assigned = match (tts.get(i + 1), tts.get(i + 2)) {
                        (Some(T::Punct(p)), next) if p.as_char() == '=' => {
                            p.spacing() == proc_macro2::Spacing::Alone
                                || !matches!(next, Some(T::Punct(q)) if q.as_char() == '=' || q.as_char() == '>')
                        }
                        (Some(T::Punct(p)), Some(T::Punct(q)))
                            if "+-*/%^&|".contains(p.as_char())
                                && p.spacing() == proc_macro2::Spacing::Joint
                                && q.as_char() == '=' =>
                        {
                            true
                        }
                        _ => false,
                    };
                    if after_mut || assigned {
                        out.push((id.span(), id.to_string()));
                    }
                }
                _ => {}
            }
        }
    }
    let mut w = W(Vec::new());
    syn::visit::Visit::visit_expr(&mut w, e);
    w.0
}

/// `break` / `continue` that leave, and `return`s inside, an expression used as a value (a
/// `let` initializer, the right side of an assignment, an argument): the spans, each with what
/// it is. The structured reverse sweep cannot leave a value half made. A `loop` or labelled
/// block that is the whole value of a `let` or of an assignment, and that `hoisted` says is
/// lowered into statements before its use (`let r = loop { .. }`), is no value here: exits
/// from it are statements' exits. `hoisted(e, named)` is asked with `named` when the value is
/// bound to a name (or `_`, or assigned), where a passive one can be lowered too.
pub fn exits_from_values(
    body: &syn::Block,
    hoisted: &dyn Fn(&Expr, bool) -> bool,
) -> Vec<(proc_macro2::Span, &'static str)> {
    use syn::spanned::Spanned;
    struct V<'h> {
        hoisted: &'h dyn Fn(&Expr, bool) -> bool,
        /// The labels of the loops and labelled blocks around, innermost last, each with
        /// whether it is a block (which only a labelled `break` leaves).
        loops: Vec<(Option<String>, bool)>,
        /// For each value being computed, the number of loops around it.
        frames: Vec<usize>,
        out: Vec<(proc_macro2::Span, &'static str)>,
    }
    impl V<'_> {
        fn value(&mut self, e: &Expr) {
            self.frames.push(self.loops.len());
            syn::visit::Visit::visit_expr(self, e);
            self.frames.pop();
        }
        /// The whole value of a `let` or an assignment (`named`: bound to a name or `_`, or
        /// assigned).
        fn whole_value(&mut self, e: &Expr, named: bool) {
            let whole = strip_paren(e);
            let exited = match whole {
                Expr::Loop(l) => loop_has_value(l),
                Expr::Block(b) => !block_breaks(b).is_empty(),
                _ => false,
            };
            if exited && (self.hoisted)(whole, named) {
                syn::visit::Visit::visit_expr(self, e);
                return;
            }
            self.frames.push(self.loops.len());
            syn::visit::Visit::visit_expr(self, e);
            self.frames.pop();
        }
        fn target(&self, label: &Option<syn::Lifetime>) -> Option<usize> {
            match label {
                None => self.loops.iter().rposition(|(_, block)| !block),
                Some(l) => {
                    let n = l.ident.to_string();
                    self.loops
                        .iter()
                        .rposition(|(x, _)| x.as_deref() == Some(n.as_str()))
                }
            }
        }
        fn exit(
            &mut self,
            label: &Option<syn::Lifetime>,
            span: proc_macro2::Span,
            what: &'static str,
        ) {
            let Some(&frame) = self.frames.last() else {
                return;
            };
            if self.target(label).is_none_or(|t| t < frame) {
                self.out.push((span, what));
            }
        }
        fn in_loop(&mut self, label: &Option<syn::Label>, body: &syn::Block, block: bool) {
            self.loops
                .push((label.as_ref().map(|l| l.name.ident.to_string()), block));
            syn::visit::Visit::visit_block(self, body);
            self.loops.pop();
        }
    }
    impl<'ast> syn::visit::Visit<'ast> for V<'_> {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            if let Some(init) = &l.init {
                let named = matches!(strip_pat_type(&l.pat), Pat::Ident(_) | Pat::Wild(_));
                self.whole_value(&init.expr, named);
                if let Some((_, d)) = &init.diverge {
                    syn::visit::Visit::visit_expr(self, d);
                }
            }
        }
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            self.whole_value(&a.right, true);
        }
        fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
            use syn::BinOp::*;
            self.value(&b.left);
            match b.op {
                AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_) => {
                    self.whole_value(&b.right, true)
                }
                _ => self.value(&b.right),
            }
        }
        // Conditions and scrutinees are kept as written.
        fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
            self.value(&i.cond);
            syn::visit::Visit::visit_block(self, &i.then_branch);
            if let Some((_, e)) = &i.else_branch {
                syn::visit::Visit::visit_expr(self, e);
            }
        }
        fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
            self.value(&m.expr);
            for a in &m.arms {
                syn::visit::Visit::visit_arm(self, a);
            }
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            c.args.iter().for_each(|a| self.value(a));
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            self.value(&m.receiver);
            m.args.iter().for_each(|a| self.value(a));
        }
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            self.value(&f.expr);
            self.in_loop(&f.label, &f.body, false);
        }
        fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
            self.value(&w.cond);
            self.in_loop(&w.label, &w.body, false);
        }
        fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
            self.in_loop(&l.label, &l.body, false);
        }
        fn visit_expr_block(&mut self, b: &'ast syn::ExprBlock) {
            match &b.label {
                // A labelled block is left by the `break`s naming it.
                Some(_) => self.in_loop(&b.label, &b.block, true),
                None => syn::visit::Visit::visit_block(self, &b.block),
            }
        }
        fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
            self.exit(&b.label, b.span(), "`break`");
        }
        fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
            self.exit(&c.label, c.span(), "`continue`");
        }
        fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
            if !self.frames.is_empty() {
                self.out.push((r.span(), "`return`"));
            }
        }
        // Closures and items have exits of their own.
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut v = V {
        hoisted,
        loops: Vec::new(),
        frames: Vec::new(),
        out: Vec::new(),
    };
    syn::visit::Visit::visit_block(&mut v, body);
    v.out
}

/// The `break`s in `body` that leave the loop or labelled block whose body it is: those naming
/// `label`, and, for a loop (`unlabelled`), the unlabelled ones outside the loops nested in it.
/// Closures and items have exits of their own.
pub fn breaks_to<'a>(
    body: &'a syn::Block,
    label: Option<&syn::Lifetime>,
    unlabelled: bool,
) -> Vec<&'a syn::ExprBreak> {
    struct V<'a> {
        label: Option<String>,
        /// Whether an unlabelled `break` here leaves the construct (no loop in between).
        unlabelled: bool,
        out: Vec<&'a syn::ExprBreak>,
    }
    impl V<'_> {
        fn nested(&mut self, shadows: bool, f: impl FnOnce(&mut Self)) {
            let (label, unlabelled) = (self.label.clone(), self.unlabelled);
            if shadows {
                self.label = None;
            }
            self.unlabelled = false;
            f(self);
            self.label = label;
            self.unlabelled = unlabelled;
        }
        fn shadows(&self, l: &Option<syn::Label>) -> bool {
            l.as_ref()
                .is_some_and(|l| Some(l.name.ident.to_string()) == self.label)
        }
    }
    impl<'a> syn::visit::Visit<'a> for V<'a> {
        fn visit_expr_break(&mut self, b: &'a syn::ExprBreak) {
            let to_us = match &b.label {
                Some(l) => Some(l.ident.to_string()) == self.label,
                None => self.unlabelled,
            };
            if to_us {
                self.out.push(b);
            }
            syn::visit::visit_expr_break(self, b);
        }
        fn visit_expr_loop(&mut self, l: &'a syn::ExprLoop) {
            let s = self.shadows(&l.label);
            self.nested(s, |v| v.visit_block(&l.body));
        }
        fn visit_expr_while(&mut self, w: &'a syn::ExprWhile) {
            self.visit_expr(&w.cond);
            let s = self.shadows(&w.label);
            self.nested(s, |v| v.visit_block(&w.body));
        }
        fn visit_expr_for_loop(&mut self, f: &'a syn::ExprForLoop) {
            self.visit_expr(&f.expr);
            let s = self.shadows(&f.label);
            self.nested(s, |v| v.visit_block(&f.body));
        }
        fn visit_expr_block(&mut self, b: &'a syn::ExprBlock) {
            if self.shadows(&b.label) {
                // Only its label is shadowed: an unlabelled `break` passes through a block.
                let label = self.label.take();
                self.visit_block(&b.block);
                self.label = label;
            } else {
                self.visit_block(&b.block);
            }
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        label: label.map(|l| l.ident.to_string()),
        unlabelled,
        out: Vec::new(),
    };
    syn::visit::Visit::visit_block(&mut v, body);
    v.out
}

/// Whether `e` (a loop or labelled block) holds a `return`, or a `break` or `continue` to a
/// loop or block around it (closures and items have exits of their own).
pub fn leaves(e: &Expr) -> bool {
    struct V {
        /// Labels defined inside, and the number of loops inside, around the current point.
        labels: Vec<String>,
        loops: usize,
        found: bool,
    }
    impl V {
        fn exit(&mut self, label: &Option<syn::Lifetime>) {
            let inside = match label {
                Some(l) => self.labels.contains(&l.ident.to_string()),
                None => self.loops > 0,
            };
            self.found |= !inside;
        }
        fn nested(&mut self, label: &Option<syn::Label>, is_loop: bool, body: &syn::Block) {
            let n = self.labels.len();
            if let Some(l) = label {
                self.labels.push(l.name.ident.to_string());
            }
            self.loops += usize::from(is_loop);
            syn::visit::Visit::visit_block(self, body);
            self.loops -= usize::from(is_loop);
            self.labels.truncate(n);
        }
    }
    impl<'ast> syn::visit::Visit<'ast> for V {
        fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
            self.exit(&b.label);
            syn::visit::visit_expr_break(self, b);
        }
        fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
            self.exit(&c.label);
        }
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.found = true;
        }
        fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
            self.nested(&l.label, true, &l.body);
        }
        fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
            self.visit_expr(&w.cond);
            self.nested(&w.label, true, &w.body);
        }
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            self.visit_expr(&f.expr);
            self.nested(&f.label, true, &f.body);
        }
        fn visit_expr_block(&mut self, b: &'ast syn::ExprBlock) {
            self.nested(&b.label, false, &b.block);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut v = V {
        labels: Vec::new(),
        loops: 0,
        found: false,
    };
    syn::visit::Visit::visit_expr(&mut v, e);
    v.found
}

/// Whether some `break` leaves this `loop` with a value (so the loop is a value).
pub fn loop_has_value(l: &syn::ExprLoop) -> bool {
    let label = l.label.as_ref().map(|l| &l.name);
    breaks_to(&l.body, label, true)
        .iter()
        .any(|b| b.expr.is_some())
}

/// The `break`s that leave a labelled block (none for a block without a label).
pub fn block_breaks(b: &syn::ExprBlock) -> Vec<&syn::ExprBreak> {
    match &b.label {
        Some(l) => breaks_to(&b.block, Some(&l.name), false),
        None => Vec::new(),
    }
}

/// A path's segments as strings (`std::mem::swap`: `["std", "mem", "swap"]`), generic arguments
/// left out.
pub fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Whether an operator is a compound assignment (`+=`, `-=`, ..., `>>=`): it writes its left side.
pub fn compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}
