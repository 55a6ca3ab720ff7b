//! `&mut` parameters (docs/API.md, "`&mut` parameters"): in/out values.
//!
//! A function with parameters `p: &mut T` is differentiated as its by-value twin, the *inner*
//! function: `p` becomes a parameter `mut p: T` (a copy of the initial state) that the body
//! mutates, `*p` in the body reads it, and the final states are extra outputs (`(R, T1, ..)`;
//! `T1` or `(T1, ..)` when `R` is `()`). The whole pipeline runs on the inner function; its
//! derived functions are emitted as items nested inside the derived functions of the user's
//! (under a name no identifier of the user's has), which copy the initial states in,
//! write the final states (and tangents) back, and split the pullback's cotangent into the
//! output's and the final states'.
//!
//! Input: the user's function.  Output: the inner function and the `&mut` parameters, or
//! nothing when there is none; then the derived functions.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, FnArg, Ident, ItemFn, Pat, ReturnType, Stmt, Type};

use super::{Receiver, Shell, emit_jvp, emit_reverse};
use crate::emit::codegen::Ctx;
use crate::front::signature::{self, Signature, is_scalar_type, slice_elem, type_is_passive};
use crate::ir::ParamKind;
use crate::names;

/// An `&mut` parameter of the user's function.
pub(super) struct MutParam {
    name: Ident,
    /// The type it points to.
    ty: Type,
}

/// The inner function of `func` and its `&mut` parameters, or `None` when it has none.
pub(super) fn split(func: &ItemFn) -> syn::Result<Option<(ItemFn, Vec<MutParam>, bool)>> {
    let mut muts = Vec::new();
    let mut inner = func.clone();
    let mut errors = signature::Errors::default();
    for arg in inner.sig.inputs.iter_mut() {
        let FnArg::Typed(pt) = arg else { continue };
        let Type::Reference(r) = &*pt.ty else {
            continue;
        };
        if r.mutability.is_none() {
            continue;
        }
        let name = match &*pt.pat {
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => pi.ident.clone(),
            other => {
                errors.push(syn::Error::new(other.span(), "a parameter of a differentiated function must be a plain name (`x: &mut f64`); destructure it in the body"));
                continue;
            }
        };
        let ty = (*r.elem).clone();
        if slice_elem(&ty).is_some() {
            errors.push(syn::Error::new(pt.ty.span(), format!("`&mut` slices and `Vec`s are not supported by #[differentiate]: take `{name}: &[..]` and return the new values (a `Vec` or an array), or use a fixed-size array `&mut [F; N]`")));
            continue;
        }
        if matches!(
            ty,
            Type::Reference(_) | Type::ImplTrait(_) | Type::TraitObject(_)
        ) || type_is_passive(&ty)
        {
            errors.push(syn::Error::new(pt.ty.span(), format!("`{name}` cannot be an in/out value of a differentiated function: `&mut` parameters must point to a float, an array of floats or a `Differentiable` struct; pass this value by value (or `&T`) and return what the function computes into it")));
            continue;
        }
        *pt.pat = Pat::Ident(syn::PatIdent {
            attrs: Vec::new(),
            by_ref: None,
            mutability: Some(syn::Token![mut](name.span())),
            ident: name.clone(),
            subpat: None,
        });
        *pt.ty = ty.clone();
        muts.push(MutParam { name, ty });
    }
    errors.finish()?;
    if muts.is_empty() {
        return Ok(None);
    }
    if let Some(span) = self_call(func) {
        return Err(syn::Error::new(
            span,
            format!(
                "`{}` has `&mut` parameters and calls itself, which #[differentiate] does not support (its derivatives are built around an inner function of the initial states): pass the state by value and return the new one (`fn {}(s: T, ..) -> (R, T)`), then call it from a function taking `&mut`",
                func.sig.ident, func.sig.ident
            ),
        ));
    }
    let unit = match &func.sig.output {
        ReturnType::Default => true,
        ReturnType::Type(_, t) => matches!(&**t, Type::Tuple(t) if t.elems.is_empty()),
    };
    let finals: Vec<&Ident> = muts.iter().map(|m| &m.name).collect();
    let tys: Vec<&Type> = muts.iter().map(|m| &m.ty).collect();
    inner.sig.output = if unit {
        if tys.len() == 1 {
            syn::parse_quote!(-> #(#tys)*)
        } else {
            syn::parse_quote!(-> (#(#tys),*))
        }
    } else {
        let ReturnType::Type(_, r) = &func.sig.output else {
            unreachable!("not unit")
        };
        syn::parse_quote!(-> (#r, #(#tys),*))
    };
    let with_finals = |e: Option<Expr>| -> Expr {
        match (e, unit, finals.len()) {
            (Some(e), false, _) => syn::parse_quote!((#e, #(#finals),*)),
            (_, true, 1) => syn::parse_quote!(#(#finals)*),
            _ => syn::parse_quote!((#(#finals),*)),
        }
    };
    let mut rw = Rewrite {
        names: finals.iter().map(|n| (*n).clone()).collect(),
        errors: signature::Errors::default(),
        with_finals: &with_finals,
        in_closure: 0,
    };
    let mut block = (*func.block).clone();
    rw.visit_block_mut(&mut block);
    let Rewrite { errors, .. } = rw;
    errors.finish()?;
    // The tail: the output with the final states.
    let tail = match block.stmts.last() {
        Some(Stmt::Expr(_, None)) => match block.stmts.pop() {
            Some(Stmt::Expr(e, None)) => Some(e),
            _ => unreachable!("matched above"),
        },
        _ => None,
    };
    match (tail, unit) {
        (Some(e), true) => {
            block.stmts.push(Stmt::Expr(e, Some(Default::default())));
            block.stmts.push(Stmt::Expr(with_finals(None), None));
        }
        (Some(e), false) => block.stmts.push(Stmt::Expr(with_finals(Some(e)), None)),
        (None, true) => block.stmts.push(Stmt::Expr(with_finals(None), None)),
        // A body without a tail diverges (it returns everywhere): nothing to add.
        (None, false) => {}
    }
    inner.block = Box::new(block);
    inner.vis = syn::Visibility::Inherited;
    // The inner function's derived functions are nested in the user's under names that no
    // identifier of the user's has (a parameter `step_vjp` would otherwise name them).
    let fresh = names::Fresh::new(q!(#func));
    let name = &func.sig.ident;
    let base = (0..)
        .map(|n| format!("{}__inner{n}", names::raw_free(name)))
        .find(|b| {
            ["", "_jvp", "_vjp", "_grad"]
                .iter()
                .all(|s| fresh.is_free(&format!("{b}{s}")))
        })
        .expect("a free name");
    inner.sig.ident = Ident::new(&base, name.span());
    Ok(Some((inner, muts, unit)))
}

/// The body of the inner function: `*p` is `p` (so `&*p` is `&p`), `return e` returns the final
/// states too; any other use of the reference itself (binding, returning, passing it on) is an
/// error.
struct Rewrite<'a> {
    names: Vec<Ident>,
    errors: signature::Errors,
    with_finals: &'a dyn Fn(Option<Expr>) -> Expr,
    in_closure: usize,
}

impl Rewrite<'_> {
    /// Runs `f` with the names that `pats` bind no longer standing for the parameters.
    fn shadowed(&mut self, pats: &[Pat], f: impl FnOnce(&mut Self)) {
        let mut bound = Vec::new();
        for p in pats {
            crate::front::syntax::pat_bindings(p, &mut bound);
        }
        let saved = self.names.clone();
        self.names.retain(|n| !bound.contains(&n.to_string()));
        f(self);
        self.names = saved;
    }

    /// An argument of a call: the parameter itself passed on (`g(p)`, a reborrow of the
    /// `&mut`) is `&mut p` of the by-value twin, which the call writes (as `g(&mut *p)` is).
    fn visit_arg_mut(&mut self, a: &mut Expr) {
        if let Some(n) = self.is_param(a) {
            *a = syn::parse_quote_spanned!(n.span()=> &mut #n);
        } else {
            self.visit_expr_mut(a);
        }
    }

    fn is_param(&self, e: &Expr) -> Option<Ident> {
        match e {
            Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .filter(|i| self.names.contains(i))
                .cloned(),
            Expr::Paren(p) => self.is_param(&p.expr),
            _ => None,
        }
    }
}

impl VisitMut for Rewrite<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                if let Some(n) = self.is_param(&u.expr) {
                    *e = syn::parse_quote_spanned!(n.span()=> #n);
                } else {
                    self.visit_expr_mut(&mut u.expr);
                }
            }
            Expr::Index(i) if self.is_param(&i.expr).is_some() => self.visit_expr_mut(&mut i.index),
            Expr::Field(f) if self.is_param(&f.base).is_some() => {}
            Expr::Reference(r) if r.mutability.is_none() && self.is_param(&r.expr).is_some() => {}
            Expr::MethodCall(m) => {
                if self.is_param(&m.receiver).is_none() {
                    self.visit_expr_mut(&mut m.receiver);
                }
                for a in m.args.iter_mut() {
                    self.visit_arg_mut(a);
                }
            }
            Expr::Call(c) => {
                self.visit_expr_mut(&mut c.func);
                for a in c.args.iter_mut() {
                    self.visit_arg_mut(a);
                }
            }
            // A closure's parameters, a `for` pattern or a `match` arm's pattern may reuse the
            // name of an `&mut` parameter: inside, the name is theirs (`xs.iter().map(|v| v * 2.0)`
            // in a function with `v: &mut [f64; 2]`).
            Expr::Closure(c) => {
                let pats: Vec<Pat> = c.inputs.iter().cloned().collect();
                self.in_closure += 1;
                self.shadowed(&pats, |me| me.visit_expr_mut(&mut c.body));
                self.in_closure -= 1;
            }
            Expr::ForLoop(f) => {
                self.visit_expr_mut(&mut f.expr);
                let pat = (*f.pat).clone();
                self.shadowed(&[pat], |me| me.visit_block_mut(&mut f.body));
            }
            Expr::Match(m) => {
                self.visit_expr_mut(&mut m.expr);
                for arm in m.arms.iter_mut() {
                    let pat = arm.pat.clone();
                    self.shadowed(&[pat], |me| {
                        if let Some((_, g)) = &mut arm.guard {
                            me.visit_expr_mut(g);
                        }
                        me.visit_expr_mut(&mut arm.body);
                    });
                }
            }
            Expr::Return(r) if self.in_closure == 0 => {
                if let Some(v) = &mut r.expr {
                    self.visit_expr_mut(v);
                }
                let v = r.expr.take().map(|b| *b);
                let v = match v {
                    Some(Expr::Tuple(t)) if t.elems.is_empty() => None,
                    v => v,
                };
                r.expr = Some(Box::new((self.with_finals)(v)));
            }
            Expr::Path(_) => {
                if let Some(n) = self.is_param(e) {
                    self.errors.push(syn::Error::new(n.span(), format!("`{n}` is an `&mut` parameter: in a differentiated function use its value `*{n}`, its elements `{n}[i]` or fields `{n}.f`, pass `&*{n}` to a function taking `&T`, or pass it on to a function taking `&mut` (`g({n})`, `g(&mut *{n})`); the reference itself cannot be bound or returned")));
                }
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        if self.names.contains(&p.ident) {
            self.errors.push(syn::Error::new(p.ident.span(), format!("`{}` rebinds the name of an `&mut` parameter of a differentiated function: give the new binding another name", p.ident)));
        }
        syn::visit_mut::visit_pat_ident_mut(self, p);
    }
    // Items nested in the body are not the function's.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    // A macro whose arguments are expressions (`assert!(*p > 0.0)`, `println!("{}", *p)`):
    // rewritten as the body is; other macros' tokens are left alone.
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        use syn::parse::Parser;
        use syn::punctuated::Punctuated;
        let parser = Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        if let Ok(mut args) = parser.parse2(m.tokens.clone()) {
            for a in args.iter_mut() {
                self.visit_expr_mut(a);
            }
            m.tokens = q!(#args);
        }
    }
}

/// A function with `&mut` parameters, split (see [`split`]).
pub(super) struct MutFn<'a> {
    pub inner: &'a ItemFn,
    pub muts: &'a [MutParam],
    /// The user's function returns `()`.
    pub unit: bool,
    /// For a method: the parameter standing for `self`.
    pub receiver: Option<&'a Receiver>,
    /// The function's own generics (not the `impl` block's).
    pub own_generics: &'a syn::Generics,
}

/// The derived functions of a function with `&mut` parameters (see the module's doc), from
/// its inner function. `user` is the user's function, its receiver made a parameter.
pub(super) fn expand(
    args: TokenStream,
    user: &ItemFn,
    m: &MutFn<'_>,
    core: &TokenStream,
) -> syn::Result<TokenStream> {
    let MutFn {
        inner,
        muts,
        unit,
        receiver,
        own_generics,
    } = *m;
    let sig = signature::read(args, inner, core, receiver.map(|r| &r.name))?;
    let mut ir = crate::front::lower_function(inner, &sig)?;
    let shell = Shell::new(inner, &sig, core, None, own_generics);
    let cx_ir_scalar = sig.scalar.clone();
    let Signature { params, .. } = &sig;
    let is_mut = |n: &Ident| muts.iter().any(|m| m.name == *n);
    let active = |n: &Ident| {
        params
            .iter()
            .any(|p| p.name == *n && p.kind != ParamKind::Passive)
    };
    let vis = &user.vis;
    let name = &user.sig.ident;
    let Shell {
        gen_decl,
        where_tokens,
        capture,
        allow,
        adj_ty,
        ..
    } = &shell;
    let user_ret: TokenStream = match &user.sig.output {
        ReturnType::Default => q!(()),
        ReturnType::Type(_, t) => q!(#t),
    };
    let user_params: Vec<TokenStream> = user
        .sig
        .inputs
        .iter()
        .map(|a| match a {
            FnArg::Typed(pt) => match receiver {
                Some(r) if matches!(&*pt.pat, Pat::Ident(pi) if pi.ident == r.name) => {
                    r.tokens.clone()
                }
                _ => {
                    let (p, t) = (&pt.pat, &pt.ty);
                    q!(#p: #t)
                }
            },
            FnArg::Receiver(r) => q!(#r),
        })
        .collect();
    let self_prologue = receiver.map(|r| r.prologue.clone());
    let doc_target = match receiver {
        Some(_) => format!("Self::{name}"),
        None => name.to_string(),
    };
    // A method's derived functions cannot hold items that name `Self`: the inner function's
    // derived functions are closures there (the same bodies, the enclosing generics). Their
    // pullbacks are then closures of known types, `FnMut` when they only copy what they capture
    // (a `Copy` struct's adjoint): they are called through `rt::call_once`, which needs no `mut`
    // binding.
    let nest = |items: TokenStream| -> syn::Result<TokenStream> {
        if receiver.is_none() {
            return Ok(items);
        }
        let file: syn::File = syn::parse2(items)?;
        let mut out = TokenStream::new();
        for it in file.items {
            if let syn::Item::Fn(f) = it {
                let n = &f.sig.ident;
                let ps = f.sig.inputs.iter();
                let b = &f.block;
                let n = Ident::new(&n.to_string(), Span::mixed_site());
                out.extend(q!(let #n = |#(#ps),*| #b;));
            }
        }
        Ok(out)
    };
    let turbofish = if capture.is_empty() || receiver.is_some() {
        q!()
    } else {
        q!(::<#(#capture),*>)
    };
    // The inner function's arguments: copies of the initial states, the other parameters.
    let args: Vec<TokenStream> = params
        .iter()
        .map(|p| {
            let n = &p.name;
            if is_mut(n) {
                q!(::core::clone::Clone::clone(&*#n))
            } else {
                q!(#n)
            }
        })
        .collect();
    let span = names::hygienic_span(name.span());
    let y0 = syn::Ident::new("__y0", Span::mixed_site());
    let finals: Vec<Ident> = (0..muts.len())
        .map(|k| format_ident!("__final{}", k, span = Span::mixed_site()))
        .collect();
    let dfinals: Vec<Ident> = (0..muts.len())
        .map(|k| format_ident!("__final_dot{}", k, span = Span::mixed_site()))
        .collect();
    // The pattern of the inner output.
    let out_pat = |head: &Ident, parts: &[Ident]| -> TokenStream {
        match (unit, parts.len()) {
            (false, _) => q!((#head, #(#parts),*)),
            (true, 1) => q!(#(#parts)*),
            _ => q!((#(#parts),*)),
        }
    };
    let y_head = if unit { q!(()) } else { q!(#y0) };
    let write_back: Vec<TokenStream> = muts
        .iter()
        .zip(&finals)
        .map(|(m, f)| {
            let n = &m.name;
            q!(*#n = #f;)
        })
        .collect();
    let mut out = TokenStream::new();
    let doc_note = "Its `&mut` parameters are in/out values (docs/API.md, \"`&mut` parameters\").";
    if sig.opts.forward {
        let nested = nest(emit_jvp(&shell, &sig, &ir, core))?;
        let tangents: Vec<TokenStream> = params
            .iter()
            .filter(|p| p.kind != ParamKind::Passive)
            .map(|p| {
                let t = names::tangent(&p.name);
                if is_mut(&p.name) {
                    let ty = &muts.iter().find(|m| m.name == p.name).expect("a mut").ty;
                    q!(#t: &mut #ty)
                } else {
                    let ty = signature::tangent_type(p);
                    q!(#t: #ty)
                }
            })
            .collect();
        let targs: Vec<TokenStream> = params
            .iter()
            .filter(|p| p.kind != ParamKind::Passive)
            .map(|p| {
                let t = names::tangent(&p.name);
                if !is_mut(&p.name) {
                    q!(#t)
                } else if signature::tangent_type(p).to_string().starts_with('&') {
                    q!(&*#t)
                } else {
                    q!(::core::clone::Clone::clone(&*#t))
                }
            })
            .collect();
        let t0 = syn::Ident::new("__t0", Span::mixed_site());
        let t_head = if unit { q!(()) } else { q!(#t0) };
        let (y_pat, t_pat) = (out_pat(&y0, &finals), out_pat(&t0, &dfinals));
        let t_back: Vec<TokenStream> = muts
            .iter()
            .zip(&dfinals)
            .filter(|(m, _)| active(&m.name))
            .map(|(m, d)| {
                let t = names::tangent(&m.name);
                q!(*#t = #d;)
            })
            .collect();
        let jvp = format_ident!("{}_jvp", name);
        let jvp_call = format_ident!("{}_jvp", inner.sig.ident, span = Span::mixed_site());
        let doc = format!(
            "Forward mode of [`{doc_target}`]: its value and its directional derivative along the tangents of the active parameters (generated by `#[differentiate]`). {doc_note}"
        );
        out.extend(quote::quote_spanned! {span=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #jvp #gen_decl (#(#user_params,)* #(#tangents),*) -> (#user_ret, #user_ret) #where_tokens {
                #self_prologue
                #nested
                let (#y_pat, #t_pat) = #jvp_call #turbofish (#(#args,)* #(#targs),*);
                #(#write_back)*
                #(#t_back)*
                (#y_head, #t_head)
            }
        });
    }
    if sig.opts.reverse {
        let flags = crate::passes::structure::structure(&mut ir);
        let nested = nest(emit_reverse(&shell, &sig, &ir, &flags, core)?)?;
        let vjp = format_ident!("{}_vjp", name);
        let vjp_call = format_ident!("{}_vjp", inner.sig.ident, span = Span::mixed_site());
        let pb = syn::Ident::new("__pb", Span::mixed_site());
        let y_pat = out_pat(&y0, &finals);
        let ct = syn::Ident::new("__ct", Span::mixed_site());
        // The pullback's parameters: the output's cotangent, then the active final states'.
        let mut ct_params = Vec::new();
        let mut ct_tys = Vec::new();
        if !unit {
            ct_params.push(q!(#ct: #user_ret));
            ct_tys.push(user_ret.clone());
        }
        let mut zeros = TokenStream::new();
        let mut inner_cts = Vec::new();
        let mut grad_cts = Vec::new();
        for (k, (m, f)) in muts.iter().zip(&finals).enumerate() {
            let c = format_ident!("__ct_final{}", k, span = Span::mixed_site());
            let z = format_ident!("__zero{}", k, span = Span::mixed_site());
            zeros.extend(q!(let #z = #core::rt::zero_of(&#f);));
            grad_cts.push(q!(#z));
            if active(&m.name) {
                let ty = &m.ty;
                ct_params.push(q!(#c: #ty));
                ct_tys.push(q!(#ty));
                inner_cts.push(q!(#c));
            } else {
                inner_cts.push(q!(#z));
            }
        }
        let inner_ct = |head: TokenStream, parts: &[TokenStream]| -> TokenStream {
            match (unit, parts.len()) {
                (false, _) => q!((#head, #(#parts),*)),
                (true, 1) => q!(#(#parts)*),
                _ => q!((#(#parts),*)),
            }
        };
        let vjp_ct = inner_ct(q!(#ct), &inner_cts);
        let doc = format!(
            "Reverse mode of [`{doc_target}`], as JAX's `vjp`: its value and the pullback, which maps the cotangents of the output and of the `&mut` parameters' final states to the adjoints of the active parameters' initial values (generated by `#[differentiate]`). {doc_note}"
        );
        out.extend(quote::quote_spanned! {span=>
            #[doc = #doc]
            #allow
            #[inline]
            #vis fn #vjp #gen_decl (#(#user_params),*) -> (#user_ret, impl ::core::ops::FnOnce(#(#ct_tys),*) -> #adj_ty + use<#(#capture),*>) #where_tokens {
                #self_prologue
                #nested
                let (#y_pat, #pb) = #vjp_call #turbofish (#(#args),*);
                #zeros
                #(#write_back)*
                (#y_head, move |#(#ct_params),*| -> #adj_ty { #core::rt::call_once(#pb, #vjp_ct) })
            }
        });
        if !unit && is_scalar_type(&syn::parse2(user_ret.clone())?, &sig.float_types) {
            let cx = Ctx {
                f: &ir,
                core: core.clone(),
                scalar: cx_ir_scalar,
            };
            let one = cx.one_scalar();
            let grad_ct = inner_ct(one, &grad_cts);
            let grad = format_ident!("{}_grad", name);
            let doc = format!(
                "The gradient of [`{doc_target}`] with respect to its active parameters (the `&mut` parameters' initial values), with its value (generated by `#[differentiate]`). {doc_note}"
            );
            out.extend(quote::quote_spanned! {span=>
                #[doc = #doc]
                #allow
                #[inline]
                #vis fn #grad #gen_decl (#(#user_params),*) -> (#user_ret, #adj_ty) #where_tokens {
                    #self_prologue
                    #nested
                    let (#y_pat, #pb) = #vjp_call #turbofish (#(#args),*);
                    #zeros
                    #(#write_back)*
                    (#y0, #core::rt::call_once(#pb, #grad_ct))
                }
            });
        }
    }
    Ok(out)
}

/// The span of a call of `func` to itself in its body (`name(..)`, `self::name(..)`,
/// `Self::name(..)`, `self.name(..)`), if any.
fn self_call(func: &ItemFn) -> Option<Span> {
    struct Find<'a>(&'a Ident, Option<Span>);
    impl<'ast> syn::visit::Visit<'ast> for Find<'_> {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let Expr::Path(p) = &*c.func
                && p.qself.is_none()
                && let Some(last) = p.path.segments.last()
                && last.ident == *self.0
                && (p.path.segments.len() == 1
                    || p.path.segments.len() == 2
                        && matches!(
                            p.path.segments[0].ident.to_string().as_str(),
                            "self" | "Self"
                        ))
            {
                self.1.get_or_insert(c.span());
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            if m.method == *self.0
                && matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"))
            {
                self.1.get_or_insert(m.span());
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut f = Find(&func.sig.ident, None);
    syn::visit::Visit::visit_block(&mut f, &func.block);
    f.1
}
