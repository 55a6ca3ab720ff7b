//! Step 6: assemble `NAME_jvp`, `NAME_vjp` and `NAME_grad` beside the user's function, or, when
//! anything is unsupported, the user's function unchanged beside `compile_error!`s so that
//! callers do not drown in follow-on errors.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    FnArg, GenericParam, Ident, ItemFn, Pat, ReturnType, Type, TypeParamBound, WherePredicate,
};

use crate::core_path;
use crate::emit::codegen::Ctx;
use crate::emit::{forward, reverse};
use crate::front::activity::is_passive_type;
use crate::front::lower::Lowerer;
use crate::front::{activity, options};
use crate::ir::ParamKind;
use crate::names::{self, Renamer};

pub fn differentiate(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new(
                first_span(&item),
                "#[differentiate] applies to a function (`fn name(x: f64, ..) -> f64 { .. }`)",
            )
            .into_compile_error();
            return q!(#err #item);
        }
    };
    // The subset asks for index loops over slices (iterator chains cannot be differentiated),
    // which clippy's `needless_range_loop` would flag in the user's function.
    let mut func = func;
    func.attrs
        .push(syn::parse_quote!(#[allow(clippy::needless_range_loop, clippy::manual_memcpy)]));
    match expand(args, &func) {
        Ok(generated) => q!(#func #generated),
        Err(e) => {
            let err = e.into_compile_error();
            q!(#func #err)
        }
    }
}

fn first_span(t: &TokenStream) -> Span {
    t.clone()
        .into_iter()
        .next()
        .map(|t| t.span())
        .unwrap_or_else(Span::call_site)
}

/// Gathers spanned errors so that all of them are reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

struct Param {
    name: Ident,
    ty: Type,
    pat: Pat,
    kind: ParamKind,
    /// The element type of a slice parameter (`&[E]`, `&Vec<E>`).
    elem: Option<Type>,
    scalar: bool,
    differentiable: bool,
}

fn expand(args: TokenStream, func: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let opts = match options::parse(args) {
        Ok(o) => Some(o),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let sig = &func.sig;
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
    let passive_only = only_passive_uses(&scoped, &named);
    for p in &mut params {
        if passive_only.contains(&p.name.to_string()) {
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
            match params.iter().find(|p| p.name == *w) {
                None => errors.push(syn::Error::new(
                    w.span(),
                    format!(
                        "`{w}` is not a parameter of `{}`: `wrt(..)` names parameters ({})",
                        sig.ident,
                        params.iter().map(|p| p.name.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                )),
                Some(p) if !p.differentiable => errors.push(syn::Error::new(
                    w.span(),
                    format!("`{w}` cannot be differentiated: its type is not a float, an array of floats, a slice of floats or a `Differentiable` struct"),
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

    let core = core_path::core_path();
    let scalar = scalar_type(&float_params, &params, &ret_ty, &core);

    // Iterator reductions into loops, then resolve shadowing, then find the active bindings.
    let mut body = (*func.block).clone();
    let (zero, one) = match scalar.to_string().as_str() {
        "f64" => (q!(0.0f64), q!(1.0f64)),
        "f32" => (q!(0.0f32), q!(1.0f32)),
        _ => (
            q!(<#scalar as #core::num_traits::Zero>::zero()),
            q!(<#scalar as #core::num_traits::One>::one()),
        ),
    };
    crate::front::desugar::reductions(&mut body, zero, one);
    let mut renamer = Renamer::new(names::Fresh::new(q!(#func)));
    for p in &params {
        renamer.declare(&p.name);
    }
    renamer.visit_block_mut(&mut body);
    let seeds: HashSet<String> = params
        .iter()
        .filter(|p| p.kind != ParamKind::Passive)
        .map(|p| p.name.to_string())
        .collect();
    let active = activity::analyze(&body, seeds);

    let mut lowerer = Lowerer::new(&active, &float_types, &type_params, renamer.into_fresh());
    let param_ids: Vec<usize> = params
        .iter()
        .map(|p| {
            let shape_kind = p.kind;
            lowerer.add_param(
                &p.name,
                &p.ty,
                shape_kind,
                p.scalar,
                matches!(p.ty, Type::Array(_)),
            )
        })
        .collect();
    let ir_body = lowerer.lower_body(&body);
    let (mut ir, errs) = lowerer.finish(param_ids, ir_body);
    // Passive parameters that are differentiable still need their shape for zero tangents.
    for (p, &id) in params.iter().zip(&ir.params) {
        if p.kind == ParamKind::Passive && p.differentiable {
            ir.vars[id].param = Some(shape_of(&p.ty));
        }
    }
    let mut errors = Errors::default();
    for e in errs {
        errors.push(e);
    }
    errors.finish()?;

    let result_scalar = is_scalar_type(&ret_ty, &float_types);

    let vis = &func.vis;
    let name = &sig.ident;
    let (impl_generics, _, where_clause) = sig.generics.split_for_impl();
    let _ = impl_generics;
    let generics_params = &sig.generics.params;
    let gen_decl = if generics_params.is_empty() {
        q!()
    } else {
        q!(<#generics_params>)
    };
    let mut preds: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| q!(#p)).collect())
        .unwrap_or_default();
    for f in &float_params {
        preds.push(q!(#f: #core::Real));
    }
    // An active parameter of a named type carries a tangent and an adjoint of its own type: it
    // must be `Differentiable`. Saying so in the signature makes both modes report a type that is
    // not (an enum the body never uses, say) at the parameter, with the trait's message, rather
    // than as a missing argument in the caller (found by the fuzzer).
    for p in params.iter().filter(|p| {
        p.kind != ParamKind::Passive
            && !p.scalar
            && p.elem.is_none()
            && !mentions_lifetime(strip_ref(&p.ty))
    }) {
        let t = strip_ref(&p.ty);
        if let Type::Path(_) = t {
            preds.push(crate::emit::codegen::respan(
                q!(#t: #core::Differentiable),
                t.span(),
            ));
        }
    }
    let where_tokens = if preds.is_empty() {
        q!()
    } else {
        q!(where #(#preds),*)
    };
    let capture: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|g| match g {
            GenericParam::Type(t) => {
                let i = &t.ident;
                Some(q!(#i))
            }
            GenericParam::Const(c) => {
                let i = &c.ident;
                Some(q!(#i))
            }
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let user_params: Vec<TokenStream> = params
        .iter()
        .map(|p| {
            let (pat, ty) = (&p.pat, &p.ty);
            q!(#pat: #ty)
        })
        .collect();
    let active_params: Vec<&Param> = params
        .iter()
        .filter(|p| p.kind != ParamKind::Passive)
        .collect();
    let adjoint_tys: Vec<TokenStream> = active_params.iter().map(|p| adjoint_type(p)).collect();
    let adj_ty = if adjoint_tys.len() == 1 {
        q!(#(#adjoint_tys)*)
    } else {
        q!((#(#adjoint_tys),*))
    };
    let allow = q!(#[allow(
        dead_code,
        unused_mut,
        unused_variables,
        unused_assignments,
        unused_labels,
        unused_parens,
        unused_braces,
        non_snake_case,
        non_shorthand_field_patterns,
        unreachable_code,
        clippy::all,
        clippy::pedantic,
        clippy::nursery
    )]);

    let mut out = TokenStream::new();
    let fname = name.to_string();

    if opts.forward {
        let cx = Ctx {
            f: &ir,
            core: core.clone(),
            scalar: scalar.clone(),
        };
        let body = forward::emit_body(&cx, result_scalar);
        // A slice's tangent must have the slice's length; saying so also lets the optimiser drop
        // the bounds checks on the tangent where the slice's are known to pass.
        let length_checks = active_params
            .iter()
            .filter(|p| p.kind == ParamKind::Slice)
            .map(|p| {
                let (n, t) = (&p.name, names::tangent(&p.name));
                let msg = format!("the tangent of `{n}` must have the length of `{n}`");
                q!(assert_eq!(#n.len(), #t.len(), #msg);)
            });
        // A by-value struct parameter that the body writes: its tangent comes by reference (API.md's
        // table) and is copied into a tangent of its own. Parameters without a tangent in the
        // signature that the body writes with active values start from a zero tangent.
        let owned = forward::owned_tangents(&ir);
        let mut prologue = TokenStream::new();
        for (&id, p) in ir.params.iter().zip(&params) {
            let v = &ir.vars[id];
            let t = names::tangent(&p.name);
            if owned.contains(&id) {
                let incoming = names::derived("__in_", &p.name, "__dot");
                prologue.extend(q!(let mut #t = ::core::clone::Clone::clone(#incoming);));
            } else if v.active && !ir.signature.contains(&id) {
                let n = &p.name;
                let z = cx.zero_like(&q!(#n), v.scalar);
                prologue.extend(q!(let mut #t = #z;));
            }
        }
        let body = q!(#prologue #(#length_checks)* #body);
        let jvp = format_ident!("{}_jvp", name);
        let tangents: Vec<TokenStream> = active_params
            .iter()
            .map(|p| {
                let by_ref_written = ir
                    .params
                    .iter()
                    .zip(&params)
                    .any(|(id, q)| q.name == p.name && owned.contains(id));
                let t = if by_ref_written {
                    names::derived("__in_", &p.name, "__dot")
                } else {
                    names::tangent(&p.name)
                };
                let ty = tangent_type(p);
                q!(mut #t: #ty)
            })
            .collect();
        let doc = format!(
            "Forward mode of [`{fname}`]: its value and its directional derivative along the tangents of the active parameters (generated by `#[differentiate]`)."
        );
        out.extend(quote_spanned! {names::hygienic_span(name.span())=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #jvp #gen_decl (#(#user_params,)* #(#tangents),*) -> (#ret_ty, #ret_ty) #where_tokens {
                #body
            }
        });
    }

    if opts.reverse {
        let flags = crate::passes::structure::structure(&mut ir);
        let cx = Ctx {
            f: &ir,
            core: core.clone(),
            scalar: scalar.clone(),
        };
        let r = reverse::emit(&cx, &ir.body, &flags, result_scalar, false);
        let (fwd, inits, pullback) = (&r.forward, &r.adjoint_inits, &r.pullback);
        // `vjp`: the pullback owns copies of the borrowed parameters it reads.
        let mut own = TokenStream::new();
        let mut rebind = TokenStream::new();
        for &pid in &r.needed_params {
            let p = &params[pid];
            if let Type::Reference(_) = &p.ty {
                let n = &p.name;
                let o = names::derived("__own_", n, "");
                let ty = &p.ty;
                own.extend(q!(let #o = ::std::borrow::ToOwned::to_owned(#n);));
                rebind.extend(q!(let #n: #ty = ::std::borrow::Borrow::borrow(&#o);));
            }
        }
        // The adjoint of a slice was made with the slice's length; saying so lets the optimiser
        // drop the bounds checks on the adjoint where the slice's are known to pass.
        let adjoint_lengths: Vec<TokenStream> = active_params
            .iter()
            .filter(|p| {
                p.kind == ParamKind::Slice
                    && r.needed_params.iter().any(|&id| params[id].name == p.name)
            })
            .map(|p| {
                let (n, a) = (&p.name, names::adjoint(&p.name));
                q!(assert_eq!(#n.len(), #a.len());)
            })
            .collect();
        let vjp = format_ident!("{}_vjp", name);
        let doc = format!(
            "Reverse mode of [`{fname}`], as JAX's `vjp`: its value and the pullback, which maps a cotangent of the output to the adjoints of the active parameters (generated by `#[differentiate]`). The pullback owns what it needs."
        );
        out.extend(quote_spanned! {names::hygienic_span(name.span())=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #vjp #gen_decl (#(#user_params),*) -> (#ret_ty, impl ::core::ops::FnOnce(#ret_ty) -> #adj_ty + use<#(#capture),*>) #where_tokens {
                #inits
                #fwd
                #own
                (__y, move |ct: #ret_ty| -> #adj_ty { #rebind #(#adjoint_lengths)* #pullback })
            }
        });
        if result_scalar {
            // `grad` knows its cotangent up front: reduction loops run in one pass.
            let g = reverse::emit(&cx, &ir.body, &flags, result_scalar, true);
            let (fwd, inits, pullback) = (&g.forward, &g.adjoint_inits, &g.pullback);
            let grad = format_ident!("{}_grad", name);
            let one = cx.one_scalar();
            let doc = format!(
                "The gradient of [`{fname}`] with respect to its active parameters, with its value (generated by `#[differentiate]`)."
            );
            out.extend(quote_spanned! {names::hygienic_span(name.span())=>
                #[doc = #doc]
                #allow
                #[inline]
                #vis fn #grad #gen_decl (#(#user_params),*) -> (#ret_ty, #adj_ty) #where_tokens {
                    #inits
                    #(#adjoint_lengths)*
                    #fwd
                    // The pullback runs in place (no closure): its adjoints are built in the
                    // caller's return slot instead of being moved into and out of a closure.
                    let __adj: #adj_ty = {
                        let ct: #ret_ty = #one;
                        #pullback
                    };
                    (__y, __adj)
                }
            });
        }
    }
    Ok(out)
}

/// Whether a type names a lifetime (`Foo<'a>`, `Foo<'_>`): such a type cannot be bounded in a
/// where-clause without the function's lifetimes in scope.
fn mentions_lifetime(ty: &Type) -> bool {
    fn walk(ts: TokenStream) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '\'',
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(q!(#ty))
}

fn strip_ref(ty: &Type) -> &Type {
    match ty {
        Type::Reference(r) => strip_ref(&r.elem),
        Type::Paren(p) => strip_ref(&p.elem),
        _ => ty,
    }
}

/// The parameters used in the body, every use one that no derivative flows through: the
/// scrutinee of a `match`, `if let`, `while let` or `let else`, a side of `==` / `!=`, the
/// receiver of a method call (also as `*p` or `&p`). A parameter of a named type used only so
/// is an enum or another value without derivatives; one whose fields are read, or that is
/// passed to a call, bound, returned or built on, is taken to be a `Differentiable` struct, and
/// so is one the body does not use (API.md: its adjoint is zero).
fn only_passive_uses(body: &syn::Block, names: &[String]) -> HashSet<String> {
    use syn::visit::Visit;
    struct V<'a> {
        names: &'a [String],
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
            self.passive_use(&m.receiver);
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut v = V {
        names,
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

fn is_float_bound(b: &TypeParamBound) -> bool {
    match b {
        TypeParamBound::Trait(t) => t
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Float" || s.ident == "Real"),
        _ => false,
    }
}

fn where_bounds_float(g: &syn::Generics, id: &Ident) -> bool {
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

fn is_scalar_type(ty: &Type, float_types: &[String]) -> bool {
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
fn type_is_passive(ty: &Type) -> bool {
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
fn classify(
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

fn shape_of(ty: &Type) -> ParamKind {
    match ty {
        Type::Reference(r) if slice_elem(&r.elem).is_some() => ParamKind::Slice,
        Type::Reference(_) => ParamKind::Ref,
        _ => ParamKind::Value,
    }
}

fn slice_elem(ty: &Type) -> Option<Type> {
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

fn tangent_type(p: &Param) -> TokenStream {
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

fn adjoint_type(p: &Param) -> TokenStream {
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
fn scalar_type(
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
