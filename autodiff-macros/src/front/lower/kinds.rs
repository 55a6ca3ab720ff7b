//! Scalar inference: the kind of value (float, array of floats, integer, other) an expression or
//! type has, from declarations and the float types of the function.
//!
//! Input: a syntax expression or type.  Output: its `ValueKind`.

use autodiff_core::rules::Rule;
use quote::ToTokens;
use syn::{BinOp as SynBinOp, Expr, Type, UnOp};

use super::*;

impl Lowerer<'_> {
    /// Is this passive expression a float (so that a call passes it a zero tangent)?
    pub(super) fn float_kind(&self, e: &Expr) -> bool {
        self.value_kind(e).differentiable()
    }

    /// What a type is: floats, a `Differentiable` struct, or something without derivatives.
    pub fn type_kind(&self, ty: &Type) -> ValueKind {
        use ValueKind::*;
        match ty {
            _ if self.is_float_type(ty) => Floats,
            _ if crate::front::syntax::is_passive_type(ty) => Other,
            Type::Reference(r) => self.type_kind(&r.elem),
            Type::Array(a) => self.type_kind(&a.elem),
            Type::Slice(a) => self.type_kind(&a.elem),
            Type::Paren(p) => self.type_kind(&p.elem),
            Type::Tuple(t) if t.elems.is_empty() => Other,
            Type::Tuple(t) => {
                let kinds: Vec<ValueKind> = t.elems.iter().map(|e| self.type_kind(e)).collect();
                if kinds.iter().all(|k| *k == Floats) {
                    Floats
                } else if kinds.iter().all(|k| *k == Other) {
                    Other
                } else {
                    Unknown
                }
            }
            Type::Path(p) => {
                let Some(last) = p.path.segments.last() else {
                    return Unknown;
                };
                if (last.ident == "Vec" || last.ident == "Box")
                    && let syn::PathArguments::AngleBracketed(a) = &last.arguments
                    && let Some(syn::GenericArgument::Type(t)) = a.args.first()
                {
                    return self.type_kind(t);
                }
                if p.path
                    .get_ident()
                    .is_some_and(|i| self.type_params.contains(&i.to_string()))
                {
                    // A type parameter that is not a float: passive.
                    return Other;
                }
                Differentiable
            }
            _ => Unknown,
        }
    }

    /// What a passive expression is, as far as the source shows.
    pub fn value_kind(&self, e: &Expr) -> ValueKind {
        use ValueKind::*;
        match e {
            Expr::Lit(l) => match &l.lit {
                syn::Lit::Float(_) => Floats,
                syn::Lit::Int(i) if i.suffix() == "f32" || i.suffix() == "f64" => Floats,
                _ => Other,
            },
            Expr::Cast(c) => self.type_kind(&c.ty),
            Expr::Paren(p) => self.value_kind(&p.expr),
            Expr::Group(g) => self.value_kind(&g.expr),
            Expr::Reference(r) => self.value_kind(&r.expr),
            Expr::Unary(u) => match u.op {
                UnOp::Not(_) => Other,
                _ => self.value_kind(&u.expr),
            },
            Expr::Binary(b) => match b.op {
                SynBinOp::Add(_)
                | SynBinOp::Sub(_)
                | SynBinOp::Mul(_)
                | SynBinOp::Div(_)
                | SynBinOp::Rem(_) => self.value_kind(&b.left).join(self.value_kind(&b.right)),
                // Comparisons, `&&`, `||`, bit operations (on integers).
                _ => Other,
            },
            Expr::Path(p) => {
                if let Some(i) = p.path.get_ident() {
                    return self
                        .lookup(&i.to_string())
                        .map_or(Unknown, |id| self.vars[id].kind);
                }
                let segs = crate::front::syntax::segments(&p.path);
                // `f64::consts::PI`, `core::f64::consts::E`, `f64::EPSILON`, `usize::MAX`, ...
                if segs.iter().any(|s| s == "consts") || self.float_types.contains(&segs[0]) {
                    return Floats;
                }
                let first: Type = match syn::parse_str(&segs[0]) {
                    Ok(t) => t,
                    Err(_) => return Unknown,
                };
                if crate::front::syntax::is_passive_type(&first) {
                    Other
                } else {
                    Unknown
                }
            }
            Expr::Index(i) => self.value_kind(&i.expr).element(),
            Expr::Field(f) => match (self.value_kind(&f.base), &f.member) {
                // A tuple of floats.
                (Floats, syn::Member::Unnamed(_)) => Floats,
                // Every field of a `Differentiable` struct carries derivatives.
                (Differentiable, _) => Differentiable,
                _ if self.is_active(&f.base) => Differentiable,
                _ => Unknown,
            },
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs = crate::front::syntax::segments(&p.path);
                    if segs.len() == 2 && self.float_types.contains(&segs[0]) {
                        Floats
                    } else if segs.last().is_some_and(|s| s == "stop_gradient") {
                        c.args.first().map_or(Unknown, |a| self.value_kind(a))
                    } else if c.args.iter().any(|a| self.is_active(a)) {
                        // A call of a differentiable function: its value carries derivatives.
                        Differentiable
                    } else if p.path.segments.last().is_some_and(|s| {
                        s.arguments.to_token_stream().into_iter().any(|t| {
                            matches!(&t, proc_macro2::TokenTree::Ident(i) if self.float_types.contains(&i.to_string()))
                        })
                    }) {
                        // `g::<F>(..)`, generic over the float type: a function of floats.
                        Differentiable
                    } else {
                        Unknown
                    }
                }
                _ => Unknown,
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                match name.as_str() {
                    "unwrap" | "expect" | "clone" | "to_owned" | "to_vec" => {
                        self.value_kind(&m.receiver)
                    }
                    "len" | "count" => Other,
                    // Methods of integers too: the receiver decides.
                    "abs" | "max" | "min" | "signum" | "clamp" | "pow" => {
                        self.value_kind(&m.receiver)
                    }
                    _ if PREDICATES.contains(&name.as_str()) => Other,
                    _ if Rule::find(&name).is_some()
                        || autodiff_core::rules::Tuple::find(&name).is_some() =>
                    {
                        Floats
                    }
                    // A call of a differentiated method: its value carries derivatives.
                    _ if self.is_active(&m.receiver)
                        || m.args.iter().any(|a| self.is_active(a)) =>
                    {
                        Differentiable
                    }
                    _ => Unknown,
                }
            }
            Expr::Array(a) => a
                .elems
                .iter()
                .map(|e| self.value_kind(e))
                .reduce(ValueKind::join)
                .unwrap_or(Unknown),
            Expr::Repeat(r) => self.value_kind(&r.expr),
            // `Model { .. }`: what its type is (a `Differentiable` struct unless passive).
            Expr::Struct(st) if st.qself.is_none() => self.type_kind(&Type::Path(syn::TypePath {
                qself: None,
                path: st.path.clone(),
            })),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                match crate::names::MacroArgs::parse(&m.mac.tokens) {
                    Some(crate::names::MacroArgs::Repeat(e, _)) => self.value_kind(&e),
                    Some(crate::names::MacroArgs::List(l)) => l
                        .iter()
                        .map(|e| self.value_kind(e))
                        .reduce(ValueKind::join)
                        .unwrap_or(Unknown),
                    None => Unknown,
                }
            }
            Expr::Tuple(t) if t.elems.is_empty() => Other,
            Expr::Tuple(t) => {
                let kinds: Vec<ValueKind> = t.elems.iter().map(|e| self.value_kind(e)).collect();
                if kinds.iter().all(|k| *k == Floats) {
                    Floats
                } else if kinds.iter().all(|k| *k == Other) {
                    Other
                } else {
                    Unknown
                }
            }
            Expr::If(i) => {
                let tail = |b: &syn::Block| match b.stmts.last() {
                    Some(syn::Stmt::Expr(e, None)) => self.value_kind(e),
                    _ => Unknown,
                };
                let same = |a: ValueKind, b: ValueKind| {
                    if a == b {
                        a
                    } else if a.differentiable() && b.differentiable() {
                        Differentiable
                    } else {
                        Unknown
                    }
                };
                match &i.else_branch {
                    Some((_, els)) => match &**els {
                        Expr::Block(b) => same(tail(&i.then_branch), tail(&b.block)),
                        other => same(tail(&i.then_branch), self.value_kind(other)),
                    },
                    None => Other,
                }
            }
            // The arms' values decide, as for `if`.
            Expr::Match(m) => m
                .arms
                .iter()
                .map(|a| self.value_kind(&a.body))
                .reduce(|a, b| {
                    if a == b {
                        a
                    } else if a.differentiable() && b.differentiable() {
                        Differentiable
                    } else {
                        Unknown
                    }
                })
                .unwrap_or(Unknown),
            Expr::Block(b) if b.label.is_none() => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => self.value_kind(e),
                _ => Unknown,
            },
            _ => Unknown,
        }
    }
}
