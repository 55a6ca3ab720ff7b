//! `#[differentiate]` on a trait `impl` block (an attribute on a method alone sees neither the
//! trait nor the type).
//!
//! - An operator (`impl Add / Sub / Mul / Div / Rem<Rhs> for T`, `impl Neg for T`): its method is
//!   differentiated as a function of both operands, `fn mul(self_0: T, o: Rhs) -> Output`, and
//!   the derived pair implements the runtime's `MulJvp<Rhs>` and `MulVjp<Rhs>` for `T` (each
//!   trait method holds the derived function as an item of its own, whose generics are the
//!   block's). Inside differentiated bodies, `a * b` on a struct operand calls them
//!   (`front::lower`, operators), as `a * b` calls `Mul::mul`.
//! - Any other trait (`impl Model for S`): the derived methods of its methods marked
//!   `#[differentiate(..)]` are inherent methods of `S`, in an `impl S` block of their own with
//!   the trait impl's generics (`s.loss_vjp(x)`, and calls `s.loss(x)` in differentiated bodies).
//!
//! The trait's associated types the methods name (`Self::Output`) are replaced by their
//! definitions in the block, since the derived functions are not members of the trait.
//!
//! Input: the attribute's tokens and the `impl` block.  Output: the block (the attributes
//! removed) and what it derives, or the block beside spanned errors.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ImplItem, ItemFn, Type};

use super::{expand, receiver_to_param};
use crate::front::signature::{is_float_bound, where_bounds_float};
use crate::names;

/// The operator traits: the trait, its method, the runtime's forward and reverse traits and
/// their methods, and the operator's arity.
const OPERATORS: &[(&str, &str, usize)] = &[
    ("Add", "add", 2),
    ("Sub", "sub", 2),
    ("Mul", "mul", 2),
    ("Div", "div", 2),
    ("Rem", "rem", 2),
    ("Neg", "neg", 1),
];

fn is_ours(a: &syn::Attribute) -> bool {
    a.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "differentiate")
}

/// A method of a trait impl as the pipeline's function (attributes and visibility of a free
/// function).
fn as_fn(m: &syn::ImplItemFn) -> ItemFn {
    ItemFn {
        attrs: m.attrs.clone(),
        vis: syn::Visibility::Inherited,
        sig: m.sig.clone(),
        block: Box::new(m.block.clone()),
    }
}

pub(super) fn expand_trait_impl(args: TokenStream, mut imp: syn::ItemImpl) -> TokenStream {
    let core = crate::core_path::core_path();
    let Some((_, trait_path, _)) = imp.trait_.clone() else {
        return q!(#imp);
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    // The methods, their attributes taken off (their options kept).
    let mut marked: Vec<(usize, TokenStream)> = Vec::new();
    for (k, it) in imp.items.iter_mut().enumerate() {
        if let ImplItem::Fn(m) = it {
            if let Some(p) = m.attrs.iter().position(is_ours) {
                let attr = m.attrs.remove(p);
                let margs = match attr.meta {
                    syn::Meta::List(l) => l.tokens,
                    _ => TokenStream::new(),
                };
                marked.push((k, margs));
            }
            m.attrs.push(
                syn::parse_quote!(#[allow(clippy::needless_range_loop, clippy::manual_memcpy)]),
            );
        }
    }
    let assoc: Vec<(syn::Ident, Type)> = imp
        .items
        .iter()
        .filter_map(|it| match it {
            ImplItem::Type(t) => Some((t.ident.clone(), t.ty.clone())),
            _ => None,
        })
        .collect();
    let last = trait_path.segments.last().map(|s| s.ident.to_string());
    let op = OPERATORS
        .iter()
        .find(|(t, _, _)| Some(*t) == last.as_deref())
        .copied();
    let mut derived = TokenStream::new();
    if let Some((tr, method, arity)) = op {
        let found = imp.items.iter().find_map(|it| match it {
            ImplItem::Fn(m) if m.sig.ident == method => Some(m.clone()),
            _ => None,
        });
        match found {
            // rustc says what is missing in the trait impl.
            None => {}
            Some(m) => {
                let margs = marked
                    .iter()
                    .find(
                        |(k, _)| matches!(&imp.items[*k], ImplItem::Fn(f) if f.sig.ident == method),
                    )
                    .map(|(_, a)| a.clone())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| args.clone());
                let op = Operator {
                    tr,
                    method,
                    arity,
                    trait_path: &trait_path,
                };
                match operator(&imp, &m, &assoc, &op, margs, &core) {
                    Ok(t) => derived.extend(t),
                    Err(e) => push(e),
                }
            }
        }
    } else {
        if marked.is_empty() {
            push(syn::Error::new(
                trait_path.span(),
                "#[differentiate] on a trait impl differentiates the methods marked `#[differentiate]` inside it (its options on the method): mark the methods to differentiate",
            ));
        }
        match inherent_for(&imp, &marked, &assoc, &args) {
            Ok(t) => derived.extend(t),
            Err(e) => push(e),
        }
    }
    let errs = errors.map(|e| e.into_compile_error());
    q!(#imp #derived #errs)
}

/// `Self::Output` (and `<Self as Trait>::Output`) replaced by the block's definition, in a
/// method's signature and body.
fn resolve_assoc(f: &mut ItemFn, assoc: &[(syn::Ident, Type)]) {
    struct R<'a>(&'a [(syn::Ident, Type)]);
    impl VisitMut for R<'_> {
        fn visit_type_mut(&mut self, t: &mut Type) {
            if let Type::Path(p) = t {
                let self_first = p.qself.is_none()
                    && p.path.segments.len() == 2
                    && p.path.segments[0].ident == "Self";
                let qualified = p
                    .qself
                    .as_ref()
                    .is_some_and(|q| matches!(&*q.ty, Type::Path(s) if s.path.is_ident("Self")));
                if (self_first || qualified)
                    && let Some(last) = p.path.segments.last()
                    && let Some((_, def)) = self.0.iter().find(|(n, _)| *n == last.ident)
                {
                    *t = def.clone();
                    return;
                }
            }
            syn::visit_mut::visit_type_mut(self, t);
        }
    }
    R(assoc).visit_item_fn_mut(f);
}

/// `V3<F>` as it can be written in expressions and patterns too: `V3::<F>`.
fn turbofish(ty: &Type) -> Option<TokenStream> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let mut path = p.path.clone();
    for s in &mut path.segments {
        if let syn::PathArguments::AngleBracketed(a) = &mut s.arguments {
            a.colon2_token = Some(Default::default());
        }
    }
    Some(path.to_token_stream())
}

/// Every `Self` in `tokens` replaced by `with` (in an invisible group, so that it stays one
/// path wherever it lands).
fn replace_self(tokens: TokenStream, with: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) if i == "Self" => {
                let mut g = Group::new(Delimiter::None, with.clone());
                g.set_span(i.span());
                TokenTree::Group(g)
            }
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), replace_self(g.stream(), with));
                ng.set_span(g.span());
                TokenTree::Group(ng)
            }
            t => t,
        })
        .collect()
}

struct Operator<'a> {
    tr: &'static str,
    method: &'static str,
    arity: usize,
    trait_path: &'a syn::Path,
}

/// The derived pair of an operator's method, as implementations of the runtime's traits.
fn operator(
    imp: &syn::ItemImpl,
    m: &syn::ImplItemFn,
    assoc: &[(syn::Ident, Type)],
    op: &Operator,
    args: TokenStream,
    core: &TokenStream,
) -> syn::Result<TokenStream> {
    let opts = crate::front::options::parse(args.clone())?;
    if let Some(w) = opts.wrt.as_ref().and_then(|w| w.first()) {
        return Err(syn::Error::new(
            w.span(),
            format!(
                "the derivative of an operator is with respect to both operands: remove `wrt(..)` (a constant operand of `{}` is a constant at the call: `2.0 * v`)",
                op.tr
            ),
        ));
    }
    let self_ty = &*imp.self_ty;
    if let Type::Reference(r) = self_ty {
        return Err(syn::Error::new(
            r.span(),
            format!(
                "#[differentiate] differentiates operators on values: implement `{}` for the value type (`impl {} for T`, operands passed by value, as `Copy` vector types are)",
                op.tr, op.tr
            ),
        ));
    }
    let Some(self_path) = turbofish(self_ty) else {
        return Err(syn::Error::new(
            self_ty.span(),
            "#[differentiate] differentiates operators of named types (`impl Mul for V3`, `impl Mul<V3> for f64`)",
        ));
    };
    let mut f = as_fn(m);
    resolve_assoc(&mut f, assoc);
    let inputs: Vec<&syn::FnArg> = f.sig.inputs.iter().collect();
    let by_value = matches!(inputs.first(), Some(syn::FnArg::Receiver(r)) if r.reference.is_none() && r.colon_token.is_none());
    if !by_value || inputs.len() != op.arity {
        return Err(syn::Error::new(
            f.sig.span(),
            format!(
                "`{}::{}` takes `self`{} by value",
                op.tr,
                op.method,
                if op.arity == 2 {
                    " and the other operand"
                } else {
                    ""
                }
            ),
        ));
    }
    for input in inputs.iter().skip(1) {
        if let syn::FnArg::Typed(pt) = input
            && let Type::Reference(r) = &*pt.ty
        {
            return Err(syn::Error::new(
                r.span(),
                format!(
                    "#[differentiate] differentiates operators on values: implement `{}<T>` for the value type of the other operand",
                    op.tr
                ),
            ));
        }
    }
    // A free function of both operands: `fn mul(self_0: V3, o: V3) -> V3`, `Self` written out.
    let (f, _) = receiver_to_param(&f)?;
    let tokens = replace_self(q!(#f), &self_path);
    let mut f: ItemFn = syn::parse2(tokens)?;
    f.attrs.retain(|a| !is_ours(a));
    f.vis = syn::Visibility::Inherited;
    // The block's generics are the function's own.
    let mut generics = imp.generics.clone();
    if let Some(w) = &mut generics.where_clause {
        *w = syn::parse2(replace_self(q!(#w), &self_path))?;
    }
    let own = std::mem::take(&mut f.sig.generics);
    let mut merged = generics.clone();
    merged.params.extend(own.params);
    if let Some(w) = own.where_clause {
        merged.make_where_clause().predicates.extend(w.predicates);
    }
    f.sig.generics = merged;
    let names: Vec<syn::Ident> = f
        .sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => match &*pt.pat {
                syn::Pat::Ident(p) => Some(p.ident.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if names.len() != op.arity {
        return Err(syn::Error::new(
            f.sig.inputs.span(),
            "a parameter of a differentiated operator must be a plain name (`o: V3`)",
        ));
    }
    let ret = match &f.sig.output {
        syn::ReturnType::Type(_, t) => (**t).clone(),
        syn::ReturnType::Default => {
            return Err(syn::Error::new(
                f.sig.ident.span(),
                "an operator returns its `Output`",
            ));
        }
    };
    let rhs_ty: Option<Type> = match f.sig.inputs.iter().nth(1) {
        Some(syn::FnArg::Typed(pt)) => Some((*pt.ty).clone()),
        _ => None,
    };
    let wrt = q!(wrt(#(#names),*));
    // The impl's where-clause, and `F: Real` for its float type parameters (the derived
    // functions ask for it).
    let mut impl_generics = imp.generics.clone();
    let floats: Vec<syn::Ident> = imp
        .generics
        .type_params()
        .filter(|t| {
            t.bounds.iter().any(is_float_bound) || where_bounds_float(&imp.generics, &t.ident)
        })
        .map(|t| t.ident.clone())
        .collect();
    for fp in &floats {
        impl_generics
            .make_where_clause()
            .predicates
            .push(syn::parse_quote!(#fp: #core::Real));
    }
    let (ig, _, wc) = impl_generics.split_for_impl();
    let name = &f.sig.ident;
    let span = op.trait_path.span();
    let tr_jvp = format_ident!("{}Jvp", op.tr, span = span);
    let tr_vjp = format_ident!("{}Vjp", op.tr, span = span);
    let m_jvp = format_ident!("{}_jvp", op.method);
    let m_vjp = format_ident!("{}_vjp", op.method);
    let inner_jvp = names::derived("", name, "_jvp");
    let inner_vjp = names::derived("", name, "_vjp");
    let it = q!(#core::rt::IntoTangent::into_tangent);
    let allow = q!(#[allow(clippy::all, clippy::pedantic, clippy::nursery)]);
    let mut out = TokenStream::new();
    if opts.forward {
        let nested = expand(q!(forward, #wrt), &f, None)?;
        out.extend(match &rhs_ty {
            Some(r) => q!(
                #allow
                impl #ig #core::ops::#tr_jvp<#r> for #self_ty #wc {
                    #[inline]
                    fn #m_jvp(self, __rhs: #r, __t_self: &Self, __t_rhs: &#r) -> (#ret, #ret) {
                        #nested
                        #inner_jvp(self, __rhs, #it(__t_self), #it(__t_rhs))
                    }
                }
            ),
            None => q!(
                #allow
                impl #ig #core::ops::#tr_jvp for #self_ty #wc {
                    #[inline]
                    fn #m_jvp(self, __t_self: &Self) -> (#ret, #ret) {
                        #nested
                        #inner_jvp(self, #it(__t_self))
                    }
                }
            ),
        });
    }
    if opts.reverse {
        let nested = expand(q!(reverse, #wrt), &f, None)?;
        out.extend(match &rhs_ty {
            Some(r) => q!(
                #allow
                impl #ig #core::ops::#tr_vjp<#r> for #self_ty #wc {
                    #[inline]
                    fn #m_vjp(self, __rhs: #r) -> (#ret, impl ::core::ops::FnOnce(#ret) -> (Self, #r)) {
                        #nested
                        #inner_vjp(self, __rhs)
                    }
                }
            ),
            None => q!(
                #allow
                impl #ig #core::ops::#tr_vjp for #self_ty #wc {
                    #[inline]
                    fn #m_vjp(self) -> (#ret, impl ::core::ops::FnOnce(#ret) -> Self) {
                        #nested
                        #inner_vjp(self)
                    }
                }
            ),
        });
    }
    Ok(out)
}

/// The derived methods of a trait's methods marked `#[differentiate(..)]`, as inherent methods
/// of the type in a block of their own.
fn inherent_for(
    imp: &syn::ItemImpl,
    marked: &[(usize, TokenStream)],
    assoc: &[(syn::Ident, Type)],
    args: &TokenStream,
) -> syn::Result<TokenStream> {
    let self_ty = &*imp.self_ty;
    let named = match self_ty {
        Type::Path(p) => {
            p.qself.is_none()
                && !crate::front::syntax::is_passive_type(self_ty)
                && !p.path.get_ident().is_some_and(|i| {
                    i == "f32" || i == "f64" || imp.generics.type_params().any(|t| t.ident == *i)
                })
        }
        _ => false,
    };
    if !named {
        return Err(syn::Error::new(
            self_ty.span(),
            "the derived methods of a trait's method are inherent methods of the type (`NAME_jvp`, `NAME_vjp`): #[differentiate] on a trait impl needs a struct or enum of this crate, not this type",
        ));
    }
    let mut errors: Option<syn::Error> = None;
    let mut items = TokenStream::new();
    for (k, margs) in marked {
        let ImplItem::Fn(m) = &imp.items[*k] else {
            continue;
        };
        let margs = if margs.is_empty() {
            args.clone()
        } else {
            margs.clone()
        };
        let mut f = as_fn(m);
        f.attrs.retain(|a| !is_ours(a));
        resolve_assoc(&mut f, assoc);
        // Public as the trait's method is: `s.loss_vjp(..)` wherever `s.loss(..)` is callable.
        f.vis = syn::parse_quote!(pub);
        match expand(margs, &f, Some(&imp.generics)) {
            Ok(t) => items.extend(t),
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let (ig, _, wc) = imp.generics.split_for_impl();
    Ok(q!(impl #ig #self_ty #wc { #items }))
}

/// A `#[differentiate]` on a method that sits in a trait impl, as far as the method shows it:
/// its signature names an associated type of the trait (`-> Self::Output`), or it has the shape
/// of an operator's method (`fn mul(self, rhs: T)`, `fn neg(self)`, private as trait methods are).
/// The attribute must then be on the block (a spanned error says so), since a method-level
/// attribute cannot see the trait, and what it writes beside the method would not be members
/// of it.
pub(super) fn lone_trait_method(func: &ItemFn) -> Option<syn::Error> {
    struct AssocTy(bool);
    impl<'ast> syn::visit::Visit<'ast> for AssocTy {
        fn visit_type_path(&mut self, p: &'ast syn::TypePath) {
            let self_first = p.qself.is_none()
                && p.path.segments.len() >= 2
                && p.path.segments[0].ident == "Self";
            if self_first
                || p.qself
                    .as_ref()
                    .is_some_and(|q| matches!(&*q.ty, Type::Path(s) if s.path.is_ident("Self")))
            {
                self.0 = true;
            }
            syn::visit::visit_type_path(self, p);
        }
    }
    let sig = &func.sig;
    let mut v = AssocTy(false);
    syn::visit::Visit::visit_signature(&mut v, sig);
    let by_value_self =
        matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(r)) if r.reference.is_none());
    let operator = OPERATORS
        .iter()
        .find(|(_, m, n)| sig.ident == m && by_value_self && sig.inputs.len() == *n);
    let private = matches!(func.vis, syn::Visibility::Inherited);
    let at: Span = sig.ident.span();
    if let Some((tr, _, _)) = operator.filter(|_| private) {
        return Some(syn::Error::new(
            at,
            format!(
                "`{}` has the shape of `{tr}::{}`: #[differentiate] on an operator's method goes on its `impl` block, `#[differentiate] impl {tr} for T {{ .. }}` (a method's attribute cannot see the trait); an inherent method of this name and shape would be one `{tr}` has: implement `{tr}` instead",
                sig.ident, sig.ident
            ),
        ));
    }
    if v.0 {
        return Some(syn::Error::new(
            at,
            "this method names an associated type of a trait (`Self::..`): it is a method of a trait impl, where #[differentiate] goes on the `impl` block (`#[differentiate] impl Trait for T { #[differentiate] fn .. }`), since a method's attribute cannot see the trait",
        ));
    }
    None
}
