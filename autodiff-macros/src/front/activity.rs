//! Activity analysis: which bindings carry derivatives.
//!
//! A binding is active when its value depends on an active parameter: it is initialised or
//! assigned (anywhere, also in a later loop iteration) from an expression that reads an active
//! binding. This is a flow-insensitive fixpoint over the renamed body, so a `let mut s = 0.0;`
//! that a loop later accumulates into is active from its declaration on. Reading through
//! `stop_gradient(..)`, `.len()`, comparisons, predicates and casts to integers is passive.

use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{BinOp, Expr, Pat, Stmt, Type, UnOp};

use crate::names::MacroArgs;

/// Returns the set of active binding names, starting from the active parameters.
pub fn analyze(body: &syn::Block, seeds: HashSet<String>) -> HashSet<String> {
    let mut a = Analysis {
        active: seeds,
        changed: true,
    };
    while a.changed {
        a.changed = false;
        a.visit_block(body);
    }
    a.active
}

struct Analysis {
    active: HashSet<String>,
    changed: bool,
}

impl Analysis {
    fn mark(&mut self, name: String) {
        if self.active.insert(name) {
            self.changed = true;
        }
    }

    fn mark_pat(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        pat_bindings(pat, &mut names);
        for n in names {
            self.mark(n);
        }
    }
}

impl<'ast> Visit<'ast> for Analysis {
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        // `for x in xs.iter()`: `x` is active when `xs` is (the loop is lowered to an index loop).
        if let Some(lp) = IterLoop::parse(&f.pat, &f.expr) {
            for (pat, src, _) in &lp.elems {
                if is_active(src, &self.active) {
                    self.mark_pat(pat);
                }
            }
        }
        visit::visit_expr_for_loop(self, f);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            match (strip_pat_type(&l.pat), &*init.expr) {
                (Pat::Tuple(pt), Expr::Tuple(et)) if pt.elems.len() == et.elems.len() => {
                    for (p, e) in pt.elems.iter().zip(&et.elems) {
                        if is_active(e, &self.active) {
                            self.mark_pat(p);
                        }
                    }
                }
                _ => {
                    if is_active(&init.expr, &self.active) {
                        self.mark_pat(&l.pat);
                    }
                }
            }
        }
        visit::visit_local(self, l);
    }

    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        if is_active(&e.right, &self.active)
            && let Some(base) = place_base(&e.left)
        {
            self.mark(base);
        }
        visit::visit_expr_assign(self, e);
    }

    fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
        let compound = matches!(
            e.op,
            BinOp::AddAssign(_) | BinOp::SubAssign(_) | BinOp::MulAssign(_) | BinOp::DivAssign(_)
        );
        if compound
            && is_active(&e.right, &self.active)
            && let Some(base) = place_base(&e.left)
        {
            self.mark(base);
        }
        visit::visit_expr_binary(self, e);
    }
}

/// A `for` loop over the elements of arrays, slices or `Vec`s, in one of the forms an index loop
/// expresses: `for x in xs` / `&xs` / `xs.iter()` / `xs.into_iter()` (with `.copied()` or
/// `.cloned()`), `for (i, x) in xs.iter().enumerate()`, `for (a, b) in xs.iter().zip(ys)`
/// (`zip(&ys)`, `zip(ys.iter())`), each element pattern `x`, `&x`, `mut x` or `_`.
///
/// Input: `for (i, &x) in xs.iter().enumerate() { .. }`
/// Output (what `lower` builds): `for __i0 in 0..xs.len() { let i = __i0; let x = xs[__i0]; .. }`
pub struct IterLoop<'a> {
    /// The index binding of `enumerate`.
    pub index: Option<&'a Pat>,
    /// Each element binding with the collection it comes from and how the original loop
    /// yields its items.
    pub elems: Vec<(&'a Pat, &'a Expr, Items)>,
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
    pub fn parse(pat: &'a Pat, iter: &'a Expr) -> Option<IterLoop<'a>> {
        let (iter, enumerate) = match iter {
            Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() => {
                (&*m.receiver, true)
            }
            e => (e, false),
        };
        let sources: Vec<(&Expr, Items)> = match iter {
            Expr::MethodCall(m) if m.method == "zip" && m.args.len() == 1 => {
                let (b, items) = collection(&m.args[0])?;
                let items = if items == Items::Value {
                    Items::Ref
                } else {
                    items
                };
                vec![collection(&m.receiver)?, (b, items)]
            }
            e => vec![collection(e)?],
        };
        let pat = strip_pat_type(pat);
        let (index, elem_pat) = if enumerate {
            match pat {
                Pat::Tuple(t) if t.elems.len() == 2 => (Some(&t.elems[0]), &t.elems[1]),
                _ => return None,
            }
        } else {
            (None, pat)
        };
        let elem_pats: Vec<&Pat> = if sources.len() == 2 {
            match strip_pat_type(elem_pat) {
                Pat::Tuple(t) if t.elems.len() == 2 => t.elems.iter().collect(),
                _ => return None,
            }
        } else {
            vec![elem_pat]
        };
        if !elem_pats.iter().all(|p| element_pat(p).is_some()) {
            return None;
        }
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
fn collection(e: &Expr) -> Option<(&Expr, Items)> {
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

/// Float methods whose result is not a float (so reading through them is passive).
pub const PREDICATES: &[&str] = &[
    "len",
    "is_empty",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_subnormal",
    "is_sign_positive",
    "is_sign_negative",
    "partial_cmp",
    "total_cmp",
    "classify",
];

/// Methods that take a float out of the floats (its derivative would silently be lost): passive
/// here, and each a spanned error of `lower` on an active receiver.
pub const EXITS: &[&str] = &[
    "to_bits",
    "to_ne_bytes",
    "to_le_bytes",
    "to_be_bytes",
    "to_int_unchecked",
    "to_string",
];

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

/// Does the value of `e` depend on an active binding?
pub fn is_active(e: &Expr, active: &HashSet<String>) -> bool {
    match e {
        Expr::Path(p) => {
            p.qself.is_none()
                && p.path.segments.len() == 1
                && active.contains(&p.path.segments[0].ident.to_string())
        }
        Expr::Lit(_) | Expr::Range(_) => false,
        Expr::Binary(b) => match b.op {
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) | BinOp::Rem(_) => {
                is_active(&b.left, active) || is_active(&b.right, active)
            }
            _ => false,
        },
        Expr::Unary(u) => match u.op {
            UnOp::Not(_) => false,
            _ => is_active(&u.expr, active),
        },
        Expr::Paren(p) => is_active(&p.expr, active),
        Expr::Group(g) => is_active(&g.expr, active),
        Expr::Index(i) => is_active(&i.expr, active),
        Expr::Field(f) => is_active(&f.base, active),
        Expr::Reference(r) => is_active(&r.expr, active),
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if PREDICATES.contains(&name.as_str()) || EXITS.contains(&name.as_str()) {
                false
            } else {
                is_active(&m.receiver, active) || m.args.iter().any(|a| is_active(a, active))
            }
        }
        Expr::Call(c) => {
            if let Expr::Path(p) = &*c.func
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "stop_gradient")
            {
                return false;
            }
            c.args.iter().any(|a| is_active(a, active))
        }
        Expr::Cast(c) => !is_passive_type(&c.ty) && is_active(&c.expr, active),
        Expr::If(i) => {
            block_active(&i.then_branch, active)
                || i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| is_active(e, active))
        }
        Expr::Match(m) => m.arms.iter().any(|a| is_active(&a.body, active)),
        Expr::Block(b) => block_active(&b.block, active),
        Expr::Unsafe(b) => block_active(&b.block, active),
        Expr::Array(a) => a.elems.iter().any(|e| is_active(e, active)),
        Expr::Tuple(t) => t.elems.iter().any(|e| is_active(e, active)),
        Expr::Repeat(r) => is_active(&r.expr, active),
        Expr::Macro(m) => match MacroArgs::parse(&m.mac.tokens) {
            Some(MacroArgs::Repeat(e, _)) => is_active(&e, active),
            Some(MacroArgs::List(l)) => l.iter().any(|e| is_active(e, active)),
            None => false,
        },
        // Anything else (closures, `loop` values, ...) is active when it mentions an active name.
        other => mentions(other, active),
    }
}

fn block_active(b: &syn::Block, active: &HashSet<String>) -> bool {
    match b.stmts.last() {
        Some(Stmt::Expr(e, None)) => is_active(e, active),
        _ => false,
    }
}

/// Does `e` mention an active name anywhere?
pub fn mentions(e: &Expr, active: &HashSet<String>) -> bool {
    struct M<'a> {
        active: &'a HashSet<String>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for M<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if p.path.segments.len() == 1
                && self.active.contains(&p.path.segments[0].ident.to_string())
            {
                self.found = true;
            }
        }
    }
    let mut m = M {
        active,
        found: false,
    };
    m.visit_expr(e);
    m.found
}
