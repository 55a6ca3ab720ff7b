//! The signature model: the function's parameters classified (float, array, slice, struct,
//! passive), its float types (`f32`, `f64`, `F: Float` parameters), the options applied (`wrt`),
//! and the types of tangents and adjoints.
//!
//! Input: the attribute's tokens and the user's function.  Output: a [`Signature`], or every
//! error in the signature at once.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    FnArg, GenericParam, Ident, ItemFn, Pat, ReturnType, Type, TypeParamBound, WherePredicate,
};

use crate::front::options::{self, Options};
use crate::front::syntax::is_passive_type;
use crate::ir::ParamKind;
use crate::names::{self, Renamer};

/// Gathers spanned errors so that all of them are reported at once.
#[derive(Default)]
pub struct Errors(pub Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// A parameter of the user's function.
pub struct Param {
    pub name: Ident,
    pub ty: Type,
    pub pat: Pat,
    pub kind: ParamKind,
    /// The element type of a slice parameter (`&[E]`, `&Vec<E>`).
    pub elem: Option<Type>,
    pub scalar: bool,
    pub differentiable: bool,
}

/// What the signature says, checked.
pub struct Signature {
    pub opts: Options,
    pub params: Vec<Param>,
    /// `f32`, `f64` and the type parameters bounded by `Float`.
    pub float_types: Vec<String>,
    /// The type parameters bounded by `Float`.
    pub float_params: Vec<Ident>,
    /// Every type parameter (those that are not floats are passive types).
    pub type_params: Vec<String>,
    pub ret_ty: Type,
    /// The float type derivatives are computed in.
    pub scalar: TokenStream,
}

/// Reads and checks the signature of `func` under the attribute's `args`; `core` is the path of
/// the runtime crate.
///
/// For a method, `func` is the method with its receiver already made a parameter (see
/// `expand`), and `receiver` that parameter's name: `wrt(self, ..)` names it.
pub fn read(
    args: TokenStream,
    func: &ItemFn,
    core: &TokenStream,
    receiver: Option<&Ident>,
) -> syn::Result<Signature> {
    let sig = &func.sig;
    let mut errors = Errors::default();
    let opts = match options::parse(args) {
        Ok(mut o) => {
            if let (Some(wrt), Some(r)) = (&mut o.wrt, receiver) {
                for w in wrt.iter_mut().filter(|w| *w == "self") {
                    *w = Ident::new(&r.to_string(), w.span());
                }
            }
            Some(o)
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new(a.span, "#[differentiate] does not support `async fn`: differentiate a plain `fn` and call it from async code"));
    }
    if let Some(u) = &sig.unsafety {
        errors.push(syn::Error::new(u.span, "#[differentiate] does not support `unsafe fn`: write a safe function, or give the unsafe one hand-written `_jvp` and `_vjp`"));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new(
            v.span(),
            "#[differentiate] does not support variadic functions",
        ));
    }
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new(
            c.span,
            "#[differentiate] does not support `const fn`: remove `const`",
        ));
    }
    let ret_ty: Option<Type> = match &sig.output {
        ReturnType::Type(_, t) => Some((**t).clone()),
        ReturnType::Default => {
            errors.push(syn::Error::new(sig.ident.span(), "a differentiated function must return a value: add `-> f64` (or the float, array, tuple or struct it computes)"));
            None
        }
    };

    // The float types: f32, f64 and type parameters bounded by `Float`.
    let mut float_types: Vec<String> = vec!["f32".into(), "f64".into()];
    let mut float_params: Vec<Ident> = Vec::new();
    for g in &sig.generics.params {
        if let GenericParam::Type(t) = g
            && (t.bounds.iter().any(is_float_bound) || where_bounds_float(&sig.generics, &t.ident))
        {
            float_types.push(t.ident.to_string());
            float_params.push(t.ident.clone());
        }
    }

    let type_params: Vec<String> = sig
        .generics
        .params
        .iter()
        .filter_map(|g| match g {
            GenericParam::Type(t) => Some(t.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut params = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => errors.push(syn::Error::new(r.span(), "#[differentiate] does not support methods (`self`): write a free function that takes the value as a parameter")),
            FnArg::Typed(pt) => {
                let name = match &*pt.pat {
                    Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => pi.ident.clone(),
                    other => {
                        errors.push(syn::Error::new(other.span(), "a parameter of a differentiated function must be a plain name (`x: f64`); destructure it in the body"));
                        continue;
                    }
                };
                match classify(&pt.ty, &float_types, &type_params) {
                    Ok((kind, elem, scalar)) => {
                        let differentiable = kind != ParamKind::Passive;
                        params.push(Param { name, ty: (*pt.ty).clone(), pat: (*pt.pat).clone(), kind, elem, scalar, differentiable });
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
    }
    // A parameter of a named type that the body only matches on, compares or calls methods of
    // is an enum or another type without derivatives: it is passive.
    let named: Vec<String> = params
        .iter()
        .filter(|p| {
            p.kind != ParamKind::Passive
                && !p.scalar
                && p.elem.is_none()
                && matches!(strip_ref(&p.ty), Type::Path(_))
        })
        .map(|p| p.name.to_string())
        .collect();
    // Counted on the body with shadowing resolved: a closure parameter or a later `let` that
    // reuses the parameter's name is another binding (found by the fuzzer).
    let mut scoped = (*func.block).clone();
    let mut scope_renamer = Renamer::new(names::Fresh::new(q!(#func)));
    for p in &params {
        scope_renamer.declare(&p.name);
    }
    scope_renamer.visit_block_mut(&mut scoped);
    let receiver_name = receiver.map(|r| r.to_string());
    let passive_params: Vec<String> = params
        .iter()
        .filter(|p| p.kind == ParamKind::Passive)
        .map(|p| p.name.to_string())
        .collect();
    let passive_only =
        only_passive_uses(&scoped, &named, receiver_name.as_deref(), &passive_params);
    let named_in_wrt = |n: &Ident| {
        opts.as_ref()
            .and_then(|o| o.wrt.as_ref())
            .is_some_and(|w| w.contains(n))
    };
    for p in &mut params {
        // Naming a parameter in `wrt(..)` says it is differentiable, whatever its uses.
        if passive_only.contains(&p.name.to_string()) && !named_in_wrt(&p.name) {
            p.kind = ParamKind::Passive;
            p.differentiable = false;
        }
    }
    let Some(opts) = opts else {
        errors.finish()?;
        unreachable!("an options error was pushed");
    };
    if let Some(wrt) = &opts.wrt {
        for w in wrt {
            let spelled = |n: &Ident| {
                if Some(n) == receiver {
                    "self".to_string()
                } else {
                    n.to_string()
                }
            };
            match params.iter().find(|p| p.name == *w) {
                None => errors.push(syn::Error::new(
                    w.span(),
                    format!(
                        "`{w}` is not a parameter of `{}`: `wrt(..)` names parameters ({})",
                        sig.ident,
                        params.iter().map(|p| spelled(&p.name)).collect::<Vec<_>>().join(", ")
                    ),
                )),
                Some(p) if !p.differentiable => errors.push(syn::Error::new(
                    w.span(),
                    format!("`{}` cannot be differentiated: its type is not a float, an array of floats, a slice of floats or a `Differentiable` struct", spelled(w)),
                )),
                _ => {}
            }
        }
        for p in &mut params {
            if !wrt.contains(&p.name) && p.kind != ParamKind::Passive {
                p.kind = ParamKind::Passive;
            }
        }
    }
    // (Not reported on top of a parameter error, which is the real problem.)
    if errors.0.is_none() && params.iter().all(|p| p.kind == ParamKind::Passive) {
        errors.push(syn::Error::new(sig.ident.span(), format!("`{}` has no parameter to differentiate with respect to: give it a float, array, slice or `Differentiable` parameter", sig.ident)));
    }
    errors.finish()?;
    let ret_ty = ret_ty.expect("checked above");
    let scalar = scalar_type(&float_params, &params, &ret_ty, core);
    Ok(Signature {
        opts,
        params,
        float_types,
        float_params,
        type_params,
        ret_ty,
        scalar,
    })
}

/// Whether a type names a lifetime (`Foo<'a>`, `Foo<'_>`): such a type cannot be bounded in a
/// where-clause without the function's lifetimes in scope.
pub(crate) fn mentions_lifetime(ty: &Type) -> bool {
    fn walk(ts: TokenStream) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '\'',
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(q!(#ty))
}

pub(crate) fn strip_ref(ty: &Type) -> &Type {
    match ty {
        Type::Reference(r) => strip_ref(&r.elem),
        Type::Paren(p) => strip_ref(&p.elem),
        _ => ty,
    }
}

/// The parameters used in the body, every use one that no derivative flows through: the
/// scrutinee of a `match`, `if let`, `while let` or `let else`, a side of `==` / `!=`, the
/// receiver of a method call (also as `*p` or `&p`) whose arguments read no variable other
/// than the `passive` parameters, unless it is the method's `receiver`: `self.norm()` and
/// `model.loss(x)` are calls of differentiated methods, which take the receiver's tangent;
/// `mode.scale(2.0)` and `mode.pick(k)` (`k: usize`) are not. A parameter of a named type used
/// only so is an enum or another value without derivatives; one whose fields are read, or that
/// is passed to a call, bound, returned or built on, is taken to be a `Differentiable` struct,
/// and so is one the body does not use (API.md: its adjoint is zero).
pub(crate) fn only_passive_uses(
    body: &syn::Block,
    names: &[String],
    receiver: Option<&str>,
    passive: &[String],
) -> HashSet<String> {
    use syn::visit::Visit;
    /// Whether `e` reads a variable (a lower-case name) other than the `passive` ones.
    fn reads_variable(e: &syn::Expr, passive: &[String]) -> bool {
        struct R<'a> {
            passive: &'a [String],
            found: bool,
        }
        impl<'ast> Visit<'ast> for R<'_> {
            fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                if let Some(i) = p.path.get_ident() {
                    let n = i.to_string();
                    let n = n.trim_start_matches("r#");
                    if n.starts_with(|c: char| c.is_lowercase() || c == '_')
                        && !self.passive.iter().any(|q| q == n)
                    {
                        self.found = true;
                    }
                }
            }
        }
        let mut r = R {
            passive,
            found: false,
        };
        r.visit_expr(e);
        r.found
    }
    struct V<'a> {
        names: &'a [String],
        receiver: Option<&'a str>,
        passive_params: &'a [String],
        all: HashMap<String, usize>,
        passive: HashMap<String, usize>,
    }
    fn name(e: &syn::Expr) -> Option<String> {
        match e {
            syn::Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => name(&u.expr),
            syn::Expr::Reference(r) => name(&r.expr),
            syn::Expr::Paren(p) => name(&p.expr),
            _ => None,
        }
    }
    impl V<'_> {
        fn passive_use(&mut self, e: &syn::Expr) {
            if let Some(n) = name(e)
                && self.names.contains(&n)
            {
                *self.passive.entry(n).or_insert(0) += 1;
            }
        }
    }
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(i) = p.path.get_ident() {
                let n = i.to_string();
                if self.names.contains(&n) {
                    *self.all.entry(n).or_insert(0) += 1;
                }
            }
        }
        fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
            self.passive_use(&m.expr);
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
            self.passive_use(&l.expr);
            syn::visit::visit_expr_let(self, l);
        }
        fn visit_local(&mut self, l: &'ast syn::Local) {
            if let Some(init) = &l.init
                && init.diverge.is_some()
            {
                self.passive_use(&init.expr);
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
            if matches!(b.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) {
                self.passive_use(&b.left);
                self.passive_use(&b.right);
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            let differentiated = m
                .args
                .iter()
                .any(|a| reads_variable(a, self.passive_params))
                || self.receiver.is_some() && name(&m.receiver).as_deref() == self.receiver;
            if !differentiated {
                self.passive_use(&m.receiver);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut v = V {
        names,
        receiver,
        passive_params: passive,
        all: HashMap::new(),
        passive: HashMap::new(),
    };
    v.visit_block(body);
    names
        .iter()
        .filter(|n| {
            let passive = v.passive.get(*n).copied().unwrap_or(0);
            passive > 0 && v.all.get(*n).copied().unwrap_or(0) == passive
        })
        .cloned()
        .collect()
}

pub(crate) fn is_float_bound(b: &TypeParamBound) -> bool {
    match b {
        TypeParamBound::Trait(t) => t
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Float" || s.ident == "Real"),
        _ => false,
    }
}

pub(crate) fn where_bounds_float(g: &syn::Generics, id: &Ident) -> bool {
    g.where_clause.as_ref().is_some_and(|w| {
        w.predicates.iter().any(|p| match p {
            WherePredicate::Type(t) => {
                matches!(&t.bounded_ty, Type::Path(tp) if tp.path.is_ident(id))
                    && t.bounds.iter().any(is_float_bound)
            }
            _ => false,
        })
    })
}

pub(crate) fn is_scalar_type(ty: &Type, float_types: &[String]) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .get_ident()
            .is_some_and(|i| float_types.contains(&i.to_string())),
        Type::Paren(p) => is_scalar_type(&p.elem, float_types),
        _ => false,
    }
}

/// Every leaf of the type is passive (integers, bools, strings).
pub(crate) fn type_is_passive(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => type_is_passive(&r.elem),
        Type::Array(a) => type_is_passive(&a.elem),
        Type::Slice(s) => type_is_passive(&s.elem),
        Type::Tuple(t) => {
            !t.elems.is_empty() && t.elems.iter().all(type_is_passive) || t.elems.is_empty()
        }
        Type::Paren(p) => type_is_passive(&p.elem),
        Type::Path(p) => {
            if is_passive_type(ty) {
                return true;
            }
            if let Some(last) = p.path.segments.last()
                && (last.ident == "Vec" || last.ident == "Option" || last.ident == "Box")
                && let syn::PathArguments::AngleBracketed(a) = &last.arguments
            {
                return a
                    .args
                    .iter()
                    .all(|g| matches!(g, syn::GenericArgument::Type(t) if type_is_passive(t)));
            }
            false
        }
        _ => false,
    }
}

/// The kind of a parameter, the element type of slices, and whether it is a single float.
pub(crate) fn classify(
    ty: &Type,
    float_types: &[String],
    type_params: &[String],
) -> syn::Result<(ParamKind, Option<Type>, bool)> {
    if let Type::Reference(r) = ty
        && r.mutability.is_some()
    {
        return Err(syn::Error::new(
            ty.span(),
            "`&mut` parameters are not supported by #[differentiate]: take the value (or `&T`) and return the new value instead",
        ));
    }
    // A function passed as a value (`impl Fn(f64) -> f64`, `&dyn Fn(..)`, `fn(..)`): passive;
    // the body may call it on values that carry no derivative (`lower`).
    if crate::front::syntax::is_fn_type(ty) {
        return Ok((ParamKind::Passive, None, false));
    }
    // `&G` of a type parameter that is not a float type: passive, as `G` is.
    if let Type::Reference(r) = ty
        && let Type::Path(p) = &*r.elem
        && let Some(i) = p.path.get_ident()
        && type_params.contains(&i.to_string())
        && !float_types.contains(&i.to_string())
    {
        return Ok((ParamKind::Passive, None, false));
    }
    if let Type::ImplTrait(_) = ty {
        return Err(syn::Error::new(
            ty.span(),
            "`impl Trait` parameters are not supported by #[differentiate]: use a named type parameter",
        ));
    }
    if type_is_passive(ty) {
        return Ok((ParamKind::Passive, None, false));
    }
    if let Type::Path(p) = ty
        && let Some(i) = p.path.get_ident()
    {
        let s = i.to_string();
        if float_types.contains(&s) {
            return Ok((ParamKind::Value, None, true));
        }
        // A type parameter that is not a float type: passive.
        if type_params.contains(&s) {
            return Ok((ParamKind::Passive, None, false));
        }
    }
    let kind = shape_of(ty);
    let elem = match ty {
        Type::Reference(r) => slice_elem(&r.elem),
        _ => None,
    };
    Ok((kind, elem, false))
}

pub(crate) fn shape_of(ty: &Type) -> ParamKind {
    match ty {
        Type::Reference(r) if slice_elem(&r.elem).is_some() => ParamKind::Slice,
        Type::Reference(_) => ParamKind::Ref,
        _ => ParamKind::Value,
    }
}

pub(crate) fn slice_elem(ty: &Type) -> Option<Type> {
    match ty {
        Type::Slice(s) => Some((*s.elem).clone()),
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            if last.ident != "Vec" {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                    syn::GenericArgument::Type(t) => Some(t.clone()),
                    _ => None,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

pub(crate) fn tangent_type(p: &Param) -> TokenStream {
    match p.kind {
        ParamKind::Slice => {
            let e = &p.elem;
            q!(&[#e])
        }
        // A struct passed by value gets its tangent by reference (API.md's table).
        ParamKind::Value if !p.scalar && !matches!(p.ty, Type::Array(_)) => {
            let t = &p.ty;
            q!(&#t)
        }
        _ => {
            let t = &p.ty;
            q!(#t)
        }
    }
}

pub(crate) fn adjoint_type(p: &Param) -> TokenStream {
    match (&p.kind, &p.ty) {
        (ParamKind::Slice, _) => {
            let e = &p.elem;
            q!(::std::vec::Vec<#e>)
        }
        (ParamKind::Ref, Type::Reference(r)) => {
            let e = &r.elem;
            q!(#e)
        }
        (_, t) => q!(#t),
    }
}

/// The float type of the function.
pub(crate) fn scalar_type(
    float_params: &[Ident],
    params: &[Param],
    ret: &Type,
    core: &TokenStream,
) -> TokenStream {
    if let Some(f) = float_params.first() {
        return q!(#f);
    }
    let mentions = |t: &Type, what: &str| {
        q!(#t)
            .to_string()
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == what)
    };
    for what in ["f64", "f32"] {
        if params
            .iter()
            .any(|p| p.differentiable && mentions(&p.ty, what))
            || mentions(ret, what)
        {
            let i = Ident::new(what, Span::call_site());
            return q!(#i);
        }
    }
    match params.iter().find(|p| p.differentiable) {
        Some(p) => {
            let t = match &p.ty {
                Type::Reference(r) => (*r.elem).clone(),
                t => t.clone(),
            };
            q!(<#t as #core::Differentiable>::Scalar)
        }
        None => q!(f64),
    }
}
