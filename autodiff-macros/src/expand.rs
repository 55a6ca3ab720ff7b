//! The driver: runs the stages in order (signature, front end, passes, analyses and emitters)
//! and assembles `NAME_jvp`, `NAME_vjp` and `NAME_grad` beside the user's function, or, when
//! anything is unsupported, the user's function unchanged beside `compile_error!`s so that
//! callers do not drown in follow-on errors.
//!
//! Input: the attribute's tokens and the function's.  Output: the function and its derivatives.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, ItemFn, Type};

use crate::core_path;
use crate::emit::codegen::Ctx;
use crate::emit::{forward, reverse};
use crate::front::signature::{
    self, Param, Signature, adjoint_type, is_scalar_type, mentions_lifetime, strip_ref,
    tangent_type,
};
use crate::ir::{Func, ParamKind};
use crate::names;

mod mut_params;
mod trait_impl;

pub fn differentiate(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Ok(imp) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return differentiate_impl(args, imp);
    }
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
    // A method of a trait impl, as far as the method shows it: the attribute goes on the block.
    if let Some(e) = trait_impl::lone_trait_method(&func) {
        let err = e.into_compile_error();
        return q!(#func #err);
    }
    differentiate_fn(args, func, None)
}

/// One function or method; `outer` holds the generics of the `impl` block around a method
/// when the attribute is on the block.
fn differentiate_fn(args: TokenStream, func: ItemFn, outer: Option<&syn::Generics>) -> TokenStream {
    // The subset asks for index loops over slices (iterator chains cannot be differentiated),
    // which clippy's `needless_range_loop` would flag in the user's function.
    let mut func = func;
    func.attrs
        .push(syn::parse_quote!(#[allow(clippy::needless_range_loop, clippy::manual_memcpy)]));
    match expand(args, &func, outer) {
        Ok(generated) => q!(#func #generated),
        Err(e) => {
            let err = e.into_compile_error();
            q!(#func #err)
        }
    }
}

/// `#[differentiate]` on an inherent `impl` block: each method marked `#[differentiate(..)]`
/// inside is expanded knowing the block's generics, which the attribute on a method alone
/// cannot see (`impl<F: Float> Lin<F>`: `F` is a float type, and the pullbacks capture it).
fn differentiate_impl(args: TokenStream, mut imp: syn::ItemImpl) -> TokenStream {
    let is_ours = |a: &syn::Attribute| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "differentiate")
    };
    // A trait impl: operators implement the runtime's derivative traits, other traits get
    // their derived methods as inherent ones (`trait_impl`).
    if imp.trait_.is_some() {
        return trait_impl::expand_trait_impl(args, imp);
    }
    let mut errors = TokenStream::new();
    if !args.is_empty() {
        errors.extend(syn::Error::new(first_span(&args), "the options of #[differentiate] on an `impl` block go on its methods: `#[differentiate(reverse, wrt(self))] fn loss(&self, ..)`").into_compile_error());
    }
    let outer = imp.generics.clone();
    let mut items = Vec::new();
    for it in std::mem::take(&mut imp.items) {
        match it {
            syn::ImplItem::Fn(mut m) if m.attrs.iter().any(is_ours) => {
                let k = m.attrs.iter().position(is_ours).expect("checked above");
                let attr = m.attrs.remove(k);
                let margs = match attr.meta {
                    syn::Meta::List(l) => l.tokens,
                    _ => TokenStream::new(),
                };
                let f = ItemFn {
                    attrs: m.attrs,
                    vis: m.vis,
                    sig: m.sig,
                    block: Box::new(m.block),
                };
                items.push(syn::ImplItem::Verbatim(differentiate_fn(
                    margs,
                    f,
                    Some(&outer),
                )));
            }
            other => items.push(other),
        }
    }
    imp.items = items;
    q!(#imp #errors)
}

/// `func` with the generics of the `impl` block around it added to its own (for reading the
/// signature: float types, captured parameters, where-clauses).
fn with_outer_generics(func: &ItemFn, outer: &syn::Generics) -> ItemFn {
    let mut f = func.clone();
    let own = std::mem::take(&mut f.sig.generics.params);
    let mut params: syn::punctuated::Punctuated<GenericParam, syn::Token![,]> =
        outer.params.clone();
    params.extend(own);
    f.sig.generics.params = params;
    if let Some(w) = &outer.where_clause {
        let wc = f.sig.generics.make_where_clause();
        let own: Vec<_> = std::mem::take(&mut wc.predicates).into_iter().collect();
        wc.predicates.extend(w.predicates.iter().cloned());
        wc.predicates.extend(own);
    }
    f
}

fn first_span(t: &TokenStream) -> Span {
    t.clone()
        .into_iter()
        .next()
        .map(|t| t.span())
        .unwrap_or_else(Span::call_site)
}

/// A method's receiver, made a parameter for the pipeline: `&self` is a parameter
/// `self_0: &Self` (a spelling no identifier of the user's has) and every `self` of the body
/// names it; the emitted methods take the receiver as the user wrote it and bind the parameter
/// to it first.
struct Receiver {
    /// The parameter standing for `self`.
    name: syn::Ident,
    /// `&self`, `&'a self` or `self`, for the emitted methods.
    tokens: TokenStream,
    /// `let self_0: &Self = self;` at the top of each emitted method.
    prologue: TokenStream,
}

/// The method `func` with its receiver made a parameter (see [`Receiver`]), or `func` itself
/// for a free function; a receiver that cannot be differentiated is a spanned error.
fn receiver_to_param(func: &ItemFn) -> syn::Result<(ItemFn, Option<Receiver>)> {
    let Some(syn::FnArg::Receiver(r)) = func.sig.inputs.first() else {
        return Ok((func.clone(), None));
    };
    // `&mut self` is a parameter `self_0: &mut Self`: an in/out value (`mut_params`).
    if !matches!(strip_ref(&r.ty), Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self")) {
        return Err(syn::Error::new(
            r.ty.span(),
            "#[differentiate] supports the receivers `&self` and `self`: take `&self` or `self` instead of this type",
        ));
    }
    let (name, _) = names::Fresh::new(q!(#func)).next("self_", 0);
    let name = syn::Ident::new(&name, r.self_token.span);
    let ty = &*r.ty;
    let self_tok = syn::Ident::new("self", r.self_token.span);
    let mutability = &r.mutability;
    let tokens = match (&r.reference, &r.colon_token) {
        (Some((and, lt)), _) => q!(#and #lt #mutability #self_tok),
        (None, Some(_)) => q!(#self_tok: #ty),
        (None, None) => q!(#self_tok),
    };
    let prologue = if r.reference.is_some() {
        q!(let #name: #ty = #self_tok;)
    } else {
        q!(let #mutability #name: #ty = #self_tok;)
    };
    let mut f = func.clone();
    let pat = if r.reference.is_some() {
        q!(#name)
    } else {
        q!(#mutability #name)
    };
    f.sig.inputs[0] = syn::parse_quote!(#pat: #ty);
    let block = f.block.clone();
    let body = rename_self(q!(#block), &name);
    f.block = Box::new(syn::parse2(body)?);
    Ok((
        f,
        Some(Receiver {
            name,
            tokens,
            prologue,
        }),
    ))
}

/// Every `self` of a method's body (macros' arguments and closures included) renamed to
/// `name`, keeping its span; `self::` paths are modules, not the receiver.
fn rename_self(tokens: TokenStream, name: &syn::Ident) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(toks.len());
    for (k, t) in toks.iter().enumerate() {
        match t {
            TokenTree::Ident(i) if i == "self" => {
                let path = matches!(toks.get(k + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                    && matches!(toks.get(k + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if path {
                    out.push(t.clone());
                } else {
                    out.push(TokenTree::Ident(syn::Ident::new(
                        &name.to_string(),
                        i.span(),
                    )));
                }
            }
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), rename_self(g.stream(), name));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            _ => out.push(t.clone()),
        }
    }
    out.into_iter().collect()
}

/// Parameters `f: impl Fn(..)` (passive functions passed as values) as named type parameters
/// of the derived functions (`<__Fn0: Fn(..)>`, a spelling no identifier of the user's has),
/// which the pullback's `use<..>` can name.
fn name_impl_fn_params(func: &ItemFn) -> ItemFn {
    struct Name {
        fresh: names::Fresh,
        n: usize,
        params: Vec<syn::GenericParam>,
    }
    impl syn::visit_mut::VisitMut for Name {
        fn visit_type_mut(&mut self, t: &mut Type) {
            if crate::front::syntax::is_fn_type(t)
                && let Type::ImplTrait(it) = t
            {
                let (name, k) = self.fresh.next("__Fn", self.n);
                self.n = k + 1;
                let id = syn::Ident::new(&name, it.impl_token.span);
                let bounds = &it.bounds;
                self.params.push(syn::parse_quote!(#id: #bounds));
                *t = syn::parse_quote!(#id);
                return;
            }
            syn::visit_mut::visit_type_mut(self, t);
        }
    }
    let mut f = func.clone();
    let mut v = Name {
        fresh: names::Fresh::new(q!(#func)),
        n: 0,
        params: Vec::new(),
    };
    for arg in f.sig.inputs.iter_mut() {
        if let syn::FnArg::Typed(pt) = arg {
            syn::visit_mut::VisitMut::visit_type_mut(&mut v, &mut pt.ty);
        }
    }
    f.sig.generics.params.extend(v.params);
    f
}

/// The pipeline: signature, front end, passes and emitters, one after the other.
fn expand(
    args: TokenStream,
    func: &ItemFn,
    outer: Option<&syn::Generics>,
) -> syn::Result<TokenStream> {
    let core = core_path::core_path();
    let func = &name_impl_fn_params(func);
    let own_generics = func.sig.generics.clone();
    let merged = outer.map(|g| with_outer_generics(func, g));
    let (func, receiver) = receiver_to_param(merged.as_ref().unwrap_or(func))?;
    let func = &func;
    if let Some((inner, muts, unit)) = mut_params::split(func)? {
        let m = mut_params::MutFn {
            inner: &inner,
            muts: &muts,
            unit,
            receiver: receiver.as_ref(),
            own_generics: &own_generics,
        };
        return mut_params::expand(args, func, &m, &core);
    }
    let sig = signature::read(args, func, &core, receiver.as_ref().map(|r| &r.name))?;
    let mut ir = crate::front::lower_function(func, &sig)?;
    let shell = Shell::new(func, &sig, &core, receiver.as_ref(), &own_generics);
    let mut out = TokenStream::new();
    if sig.opts.forward {
        out.extend(emit_jvp(&shell, &sig, &ir, &core));
    }
    if sig.opts.reverse {
        let flags = crate::passes::structure::structure(&mut ir);
        let rec = recursion(func, &ir, receiver.as_ref(), &sig.opts.recursive)?;
        out.extend(emit_reverse_rec(
            &shell,
            &sig,
            &ir,
            &flags,
            &core,
            rec.as_ref(),
        )?);
    }
    Ok(out)
}

/// A function that calls itself, or names in `recursive(..)` functions that call back into it:
/// those calls and the name of its recursive pullback (see [`crate::analysis::recursion`]); an
/// error where a call to itself passes a value that carries a derivative into a parameter left
/// out of `wrt(..)`, whose derivative would be lost.
fn recursion(
    func: &ItemFn,
    ir: &Func,
    receiver: Option<&Receiver>,
    others: &[syn::Ident],
) -> syn::Result<Option<reverse::Recursive>> {
    let recv = receiver.and_then(|r| {
        ir.params
            .iter()
            .copied()
            .find(|&p| ir.vars[p].name == r.name)
    });
    let name = &func.sig.ident;
    let (calls, callees) = crate::analysis::recursion::self_calls(ir, &ir.body, name, recv, others);
    if calls.is_empty() && others.is_empty() {
        return Ok(None);
    }
    let mut err: Option<syn::Error> = None;
    crate::ir::visit_stmts(&ir.body, &mut |s| {
        let crate::ir::Stmt::Let {
            id,
            rhs: crate::ir::Rhs::Call { args, .. },
            ..
        } = s
        else {
            return;
        };
        if !calls.contains_key(id) {
            return;
        }
        // The recursive pullback hands adjoints in and out by position, not the final states'
        // cotangents of what a call writes through `&mut` (`rt::pull`).
        if let Some(a) = args.iter().find(|a| a.by_mut) {
            let span = match &a.op {
                crate::ir::Operand::Place(p) => p.span,
                crate::ir::Operand::Const { .. } => proc_macro2::Span::call_site(),
            };
            let e = syn::Error::new(
                span,
                format!(
                    "a call of `{name}` to itself (or to a function named in `recursive(..)`) cannot pass a value by `&mut` (or call a method that may take `&mut self` on a `mut` binding) in reverse mode: pass the value and return the new one instead"
                ),
            );
            match &mut err {
                Some(all) => all.combine(e),
                None => err = Some(e),
            }
            return;
        }
        if callees.contains_key(id) {
            return;
        }
        for (a, p) in args.iter().zip(&ir.params) {
            if let Some(place) = a.op.active_place(ir)
                && !ir.signature.contains(p)
            {
                let msg = format!(
                    "this argument carries a derivative into the parameter `{}` of `{name}`, which `wrt(..)` leaves out: add it to `wrt(..)` (or pass `stop_gradient(..)` of the value)",
                    ir.vars[*p].name
                );
                let e = syn::Error::new(place.span, msg);
                match &mut err {
                    Some(all) => all.combine(e),
                    None => err = Some(e),
                }
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok(Some(reverse::Recursive {
        helper: names::recursive_pullback(name),
        calls,
        callees,
    }))
}

/// What the three derived functions share: visibility, name, generics and where-clause, the
/// user's parameters, the adjoints' type and the lints allowed in generated code.
struct Shell {
    vis: syn::Visibility,
    name: syn::Ident,
    gen_decl: TokenStream,
    where_tokens: TokenStream,
    capture: Vec<TokenStream>,
    user_params: Vec<TokenStream>,
    adj_ty: TokenStream,
    allow: TokenStream,
    result_scalar: bool,
    /// For a method: binds the parameter standing for `self` (see [`Receiver`]).
    prologue: TokenStream,
    /// What the docs link to: `NAME`, or `Self::NAME` for a method.
    doc_target: String,
}

impl Shell {
    /// `own` are the function's own generics (the ones the derived functions declare; `func`
    /// may also hold those of the `impl` block around it).
    fn new(
        func: &ItemFn,
        s: &Signature,
        core: &TokenStream,
        receiver: Option<&Receiver>,
        own: &syn::Generics,
    ) -> Shell {
        let Signature {
            params,
            float_types,
            float_params,
            ret_ty,
            ..
        } = s;
        let sig = &func.sig;
        let result_scalar = is_scalar_type(ret_ty, float_types);
        let vis = func.vis.clone();
        let name = sig.ident.clone();
        let (impl_generics, _, where_clause) = sig.generics.split_for_impl();
        let _ = impl_generics;
        let generics_params = &own.params;
        let gen_decl = if generics_params.is_empty() {
            q!()
        } else {
            q!(<#generics_params>)
        };
        let mut preds: Vec<TokenStream> = where_clause
            .map(|w| w.predicates.iter().map(|p| q!(#p)).collect())
            .unwrap_or_default();
        for f in float_params.iter() {
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
            .map(|p| match receiver {
                Some(r) if r.name == p.name => r.tokens.clone(),
                _ => {
                    let (pat, ty) = (&p.pat, &p.ty);
                    q!(#pat: #ty)
                }
            })
            .collect();
        let prologue = receiver.map_or_else(TokenStream::new, |r| r.prologue.clone());
        let doc_target = match receiver {
            Some(_) => format!("Self::{}", sig.ident),
            None => sig.ident.to_string(),
        };
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
        Shell {
            vis,
            name,
            gen_decl,
            where_tokens,
            capture,
            user_params,
            adj_ty,
            allow,
            result_scalar,
            prologue,
            doc_target,
        }
    }
}

/// `NAME_jvp`.
fn emit_jvp(shell: &Shell, s: &Signature, ir: &Func, core: &TokenStream) -> TokenStream {
    let Shell {
        vis,
        name,
        gen_decl,
        where_tokens,
        user_params,
        allow,
        result_scalar,
        prologue: self_prologue,
        doc_target,
        ..
    } = shell;
    let result_scalar = *result_scalar;
    let Signature {
        params,
        ret_ty,
        scalar,
        ..
    } = s;
    let active_params: Vec<&Param> = params
        .iter()
        .filter(|p| p.kind != ParamKind::Passive)
        .collect();
    let mut out = TokenStream::new();
    let cx = Ctx {
        f: ir,
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
    let owned = forward::owned_tangents(ir);
    let mut prologue = TokenStream::new();
    for (&id, p) in ir.params.iter().zip(params.iter()) {
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
    let body = q!(#self_prologue #prologue #(#length_checks)* #body);
    let jvp = format_ident!("{}_jvp", name);
    let tangents: Vec<TokenStream> = active_params
        .iter()
        .map(|p| {
            let by_ref_written = ir
                .params
                .iter()
                .zip(params.iter())
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
        "Forward mode of [`{doc_target}`]: its value and its directional derivative along the tangents of the active parameters (generated by `#[differentiate]`)."
    );
    out.extend(quote_spanned! {names::hygienic_span(name.span())=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #jvp #gen_decl (#(#user_params,)* #(#tangents),*) -> (#ret_ty, #ret_ty) #where_tokens {
                #body
            }
        });
    out
}

/// `NAME_vjp` and, for a scalar result, `NAME_grad`, from the structured IR (an error if the
/// reverse emitter cannot settle what its pullback needs).
fn emit_reverse(
    shell: &Shell,
    s: &Signature,
    ir: &Func,
    flags: &[syn::Ident],
    core: &TokenStream,
) -> syn::Result<TokenStream> {
    emit_reverse_rec(shell, s, ir, flags, core, None)
}

/// [`emit_reverse`] for a function that may call itself (`rec`), with its recursive pullback.
fn emit_reverse_rec(
    shell: &Shell,
    s: &Signature,
    ir: &Func,
    flags: &[syn::Ident],
    core: &TokenStream,
    rec: Option<&reverse::Recursive>,
) -> syn::Result<TokenStream> {
    let Shell {
        vis,
        name,
        gen_decl,
        where_tokens,
        capture,
        user_params,
        adj_ty,
        allow,
        result_scalar,
        prologue: self_prologue,
        doc_target,
    } = shell;
    let result_scalar = *result_scalar;
    let Signature {
        params,
        ret_ty,
        scalar,
        ..
    } = s;
    let mut out = TokenStream::new();
    let cx = Ctx {
        f: ir,
        core: core.clone(),
        scalar: scalar.clone(),
    };
    let opts = |fuse, accumulate| reverse::Options {
        fuse,
        recursive: rec,
        accumulate,
    };
    let r = reverse::emit(&cx, &ir.body, flags, result_scalar, &opts(false, false))?;
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
    let adjoint_lengths = adjoint_lengths(params, &r.needed_params);
    let vjp = format_ident!("{}_vjp", name);
    let doc = format!(
        "Reverse mode of [`{doc_target}`], as JAX's `vjp`: its value and the pullback, which maps a cotangent of the output to the adjoints of the active parameters (generated by `#[differentiate]`). The pullback owns what it needs."
    );
    out.extend(quote_spanned! {names::hygienic_span(name.span())=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #vjp #gen_decl (#(#user_params),*) -> (#ret_ty, impl ::core::ops::FnOnce(#ret_ty) -> #adj_ty + use<#(#capture),*>) #where_tokens {
                #self_prologue
                #inits
                #fwd
                #own
                (__y, move |ct: #ret_ty| -> #adj_ty { #rebind #(#adjoint_lengths)* #pullback })
            }
        });
    if result_scalar {
        // `grad` knows its cotangent up front: reduction loops run in one pass.
        let g = reverse::emit(&cx, &ir.body, flags, result_scalar, &opts(true, false))?;
        let (fwd, inits, pullback) = (&g.forward, &g.adjoint_inits, &g.pullback);
        let grad = format_ident!("{}_grad", name);
        let one = cx.one_scalar();
        let doc = format!(
            "The gradient of [`{doc_target}`] with respect to its active parameters, with its value (generated by `#[differentiate]`)."
        );
        out.extend(quote_spanned! {names::hygienic_span(name.span())=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #grad #gen_decl (#(#user_params),*) -> (#ret_ty, #adj_ty) #where_tokens {
                #self_prologue
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
    if let Some(rec) = rec {
        out.extend(emit_recursive_pullback(shell, s, ir, flags, core, rec)?);
    }
    Ok(out)
}

/// The adjoint of a slice was made with the slice's length; saying so lets the optimiser drop
/// the bounds checks on the adjoint where the slice's are known to pass.
fn adjoint_lengths(params: &[Param], needed: &[crate::ir::VarId]) -> Vec<TokenStream> {
    params
        .iter()
        .filter(|p| {
            p.kind == ParamKind::Slice && needed.iter().any(|&id| params[id].name == p.name)
        })
        .map(|p| {
            let (n, a) = (&p.name, names::adjoint(&p.name));
            q!(assert_eq!(#n.len(), #a.len());)
        })
        .collect()
}

/// The recursive pullback of a function that calls itself (see
/// [`crate::analysis::recursion`]): `NAME__rev(params.., ct, adjoints_in) -> adjoints`, the
/// forward sweep and the reverse in place, adding to the adjoints passed in (`None`: zero).
fn emit_recursive_pullback(
    shell: &Shell,
    s: &Signature,
    ir: &Func,
    flags: &[syn::Ident],
    core: &TokenStream,
    rec: &reverse::Recursive,
) -> syn::Result<TokenStream> {
    let Shell {
        name,
        gen_decl,
        where_tokens,
        user_params,
        adj_ty,
        allow,
        result_scalar,
        prologue: self_prologue,
        ..
    } = shell;
    let cx = Ctx {
        f: ir,
        core: core.clone(),
        scalar: s.scalar.clone(),
    };
    let opts = reverse::Options {
        fuse: true,
        recursive: Some(rec),
        accumulate: true,
    };
    let r = reverse::emit(&cx, &ir.body, flags, *result_scalar, &opts)?;
    let (fwd, inits, pullback) = (&r.forward, &r.adjoint_inits, &r.pullback);
    let ret_ty = &s.ret_ty;
    let ins = s
        .params
        .iter()
        .filter(|p| p.kind != ParamKind::Passive)
        .map(|p| {
            let t = adjoint_type(p);
            q!(::core::option::Option<#t>)
        });
    let helper = &rec.helper;
    let adjoint_lengths = adjoint_lengths(&s.params, &r.needed_params);
    Ok(quote_spanned! {names::hygienic_span(name.span())=>
        #[doc(hidden)]
        #allow
        fn #helper #gen_decl (#(#user_params,)* ct: #ret_ty, __adj_in: (#(#ins,)*)) -> #adj_ty #where_tokens {
            #self_prologue
            #inits
            #(#adjoint_lengths)*
            #fwd
            #pullback
        }
    })
}
