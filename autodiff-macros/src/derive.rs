//! `#[derive(Differentiable)]`: implements the trait field by field.
//!
//! Input:
//!
//! ```text
//! #[derive(Differentiable)]
//! struct Params<F: Float> { w: [[F; 3]; 2], b: F, inner: Inner<F> }
//! ```
//!
//! Output (`D` standing for the runtime's `Differentiable`, see [`crate::core_path`]):
//!
//! ```text
//! #[automatically_derived]
//! impl<F: Float> D for Params<F>
//! where [[F; 3]; 2]: D<Scalar = F>, F: D<Scalar = F>, Inner<F>: D<Scalar = F>
//! {
//!     type Scalar = F;
//!     fn zero_like(&self) -> Self {
//!         Self { w: D::zero_like(&self.w), b: D::zero_like(&self.b), inner: D::zero_like(&self.inner) }
//!     }
//!     fn accumulate(&mut self, other: &Self) { D::accumulate(&mut self.w, &other.w); /* ... */ }
//!     fn dot(&self, other: &Self) -> F { D::dot(&self.w, &other.w) + D::dot(&self.b, &other.b) + /* ... */ }
//!     // axpy, scale, zip_map, num_leaves alike
//! }
//! ```
//!
//! `Scalar` is, in this order: the type named by `#[differentiable(scalar = TYPE)]`; the first
//! type parameter bounded by `Float` (or `Real`); the float of the first field whose leaves are
//! written `f32`/`f64` (`[[f64; 2]; 3]`, `Box<[f32; 4]>`); the first `f32`/`f64` named in a
//! field's type (`Layer<f64>`); failing all, `<FirstField as Differentiable>::Scalar`. Fields whose type mentions a type parameter get a
//! `Differentiable<Scalar = ..>` bound; fields of concrete types are checked by the compiler in
//! the emitted body, with the field's span. `PhantomData` fields carry no leaves. Static fields
//! (integers, `bool`, `char`, `String`, and any field marked `#[differentiable(skip)]`) carry
//! none either: `zero_like` clones them, so a tangent or adjoint keeps the value (a layer's
//! `inputs: usize`), the other methods leave them alone.

use proc_macro2::{Span, TokenStream, TokenTree};
use std::collections::HashSet;

use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, Generics, Ident, Member, PathArguments, Type,
    TypeParamBound, WherePredicate, parse_quote, parse_quote_spanned,
};

use crate::core_path::core_path;

/// The `#[derive(Differentiable)]` expansion: the impl, or `compile_error!`s with the spans of
/// everything unsupported.
pub fn expand(item: TokenStream) -> TokenStream {
    let core = core_path();
    syn::parse2::<DeriveInput>(item)
        .and_then(|input| derive(&input, &core))
        .unwrap_or_else(syn::Error::into_compile_error)
}

/// One field of the struct.
struct Field<'a> {
    member: Member,
    ty: &'a Type,
    /// A `PhantomData`: no leaves, zero is `PhantomData`.
    phantom: bool,
    /// A static field (an integer, `bool`, `char`, `String`, or marked
    /// `#[differentiable(skip)]`): no leaves; its tangent and adjoint keep the value itself
    /// (`zero_like` clones it), as a static field of a JAX pytree is carried along unchanged.
    fixed: bool,
}

fn derive(input: &DeriveInput, core: &TokenStream) -> syn::Result<TokenStream> {
    let fields = struct_fields(input)?;
    let active: Vec<&Field> = fields.iter().filter(|f| !f.phantom && !f.fixed).collect();
    let Some(first) = active.first() else {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Differentiable)] needs at least one field with float leaves",
        ));
    };

    let trait_path = quote!(#core::Differentiable);
    let float_param = float_param(&input.generics);
    let scalar: Type = if let Some(explicit) = scalar_option(input)? {
        explicit
    } else if let Some(param) = float_param {
        parse_quote!(#param)
    } else if let Some(leaf) = active.iter().find_map(|f| float_leaf(f.ty)) {
        leaf
    } else if let Some(float) = active.iter().find_map(|f| float_mentioned(f.ty)) {
        // A field such as `Layer<f64>`: its leaves are almost surely of that float, and a wrong
        // guess is a type error at the field, never a silent one. Naming the float avoids
        // `<Layer<f64> as Differentiable>::Scalar`, which is a "private type in public
        // interface" error when `Layer` is private and the struct public.
        float
    } else {
        let ty = first.ty;
        parse_quote!(<#ty as #trait_path>::Scalar)
    };

    check_leaf_floats(&active, &scalar)?;

    // Bounds for the fields whose type depends on a type parameter.
    let type_params: Vec<&Ident> = input.generics.type_params().map(|p| &p.ident).collect();
    let mut generics = input.generics.clone();
    let where_clause = generics.make_where_clause();
    let scalar_of_first = matches!(&scalar, Type::Path(p) if p.qself.is_some());
    let first_ty = first.ty.to_token_stream().to_string();
    let mut bounded = HashSet::new();
    for field in &active {
        let ty = field.ty;
        let key = ty.to_token_stream().to_string();
        if !mentions_any(ty, &type_params) || !bounded.insert(key.clone()) {
            continue;
        }
        // With `Scalar = <First as Differentiable>::Scalar`, the first field's own type only
        // needs `Differentiable` (`First: Differentiable<Scalar = <First as ..>::Scalar>` would
        // send the trait solver into a cycle).
        let predicate: WherePredicate = if scalar_of_first && key == first_ty {
            parse_quote_spanned!(ty.span()=> #ty: #trait_path)
        } else {
            parse_quote_spanned!(ty.span()=> #ty: #trait_path<Scalar = #scalar>)
        };
        where_clause.predicates.push(predicate);
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;

    // Each method, field by field; the calls carry the field's span so that a type error names
    // the field.
    let per_field = |body: &dyn Fn(&Member, Span) -> TokenStream| -> Vec<TokenStream> {
        active
            .iter()
            .map(|f| body(&f.member, f.ty.span()))
            .collect()
    };
    let zero_fields = fields.iter().map(|f| {
        let member = &f.member;
        if f.phantom {
            quote!(#member: ::core::marker::PhantomData)
        } else if f.fixed {
            quote_spanned!(f.ty.span()=> #member: ::core::clone::Clone::clone(&self.#member))
        } else {
            quote_spanned!(f.ty.span()=> #member: #core::Differentiable::zero_like(&self.#member))
        }
    });
    let accumulate = per_field(
        &|m, span| quote_spanned!(span=> #core::Differentiable::accumulate(&mut self.#m, &other.#m);),
    );
    let axpy = per_field(
        &|m, span| quote_spanned!(span=> #core::Differentiable::axpy(&mut self.#m, a, &x.#m);),
    );
    let dot = per_field(
        &|m, span| quote_spanned!(span=> #core::Differentiable::dot(&self.#m, &other.#m)),
    );
    let scale =
        per_field(&|m, span| quote_spanned!(span=> #core::Differentiable::scale(&mut self.#m, a);));
    let zip_map = per_field(
        &|m, span| quote_spanned!(span=> #core::Differentiable::zip_map(&mut self.#m, &other.#m, f);),
    );
    let num_leaves =
        per_field(&|m, span| quote_spanned!(span=> #core::Differentiable::num_leaves(&self.#m)));
    let (dot_first, dot_rest) = (&dot[0], &dot[1..]);
    let (leaves_first, leaves_rest) = (&num_leaves[0], &num_leaves[1..]);

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #trait_path for #name #ty_generics #where_clause {
            type Scalar = #scalar;
            #[inline]
            fn zero_like(&self) -> Self {
                Self { #(#zero_fields,)* }
            }
            #[inline]
            fn accumulate(&mut self, other: &Self) {
                #(#accumulate)*
            }
            #[inline]
            fn axpy(&mut self, a: Self::Scalar, x: &Self) {
                #(#axpy)*
            }
            #[inline]
            fn dot(&self, other: &Self) -> Self::Scalar {
                #dot_first #(+ #dot_rest)*
            }
            #[inline]
            fn scale(&mut self, a: Self::Scalar) {
                #(#scale)*
            }
            #[inline]
            fn zip_map(
                &mut self,
                other: &Self,
                f: &mut dyn FnMut(&mut Self::Scalar, Self::Scalar),
            ) {
                #(#zip_map)*
            }
            #[inline]
            fn num_leaves(&self) -> usize {
                #leaves_first #(+ #leaves_rest)*
            }
        }
    })
}

/// The fields of a struct, with the type of each checked; every unsupported field is reported.
fn struct_fields(input: &DeriveInput) -> syn::Result<Vec<Field<'_>>> {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "#[derive(Differentiable)] supports structs only, not enums: \
                 a tangent or adjoint must have the same shape whatever the value",
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "#[derive(Differentiable)] supports structs only, not unions",
            ));
        }
    };
    if matches!(fields, Fields::Unit) {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Differentiable)] needs at least one field with float leaves",
        ));
    }
    let mut errors: Option<syn::Error> = None;
    let mut out = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index {
                index: i as u32,
                span: Span::call_site(),
            }),
        };
        let fixed = match skip_option(field) {
            Ok(skip) => skip || is_static_type(&field.ty),
            Err(e) => {
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
                true
            }
        };
        if !fixed && let Err(e) = check_type(&field.ty) {
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
        out.push(Field {
            member,
            ty: &field.ty,
            phantom: is_phantom(&field.ty),
            fixed,
        });
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Rejects the field types that are certainly not differentiable.
fn check_type(ty: &Type) -> syn::Result<()> {
    let unsupported = |what: &str| {
        Err(syn::Error::new(
            ty.span(),
            format!(
                "{what} is not differentiable: a field of a #[derive(Differentiable)] struct \
                 must be a float, a (nested, boxed) array or `Vec` of floats, or a type that \
                 implements `Differentiable`"
            ),
        ))
    };
    match ty {
        Type::Array(a) => check_type(&a.elem),
        Type::Paren(p) => check_type(&p.elem),
        Type::Group(g) => check_type(&g.elem),
        Type::Tuple(t) if t.elems.is_empty() => unsupported("`()`"),
        Type::Tuple(t) => t.elems.iter().try_for_each(check_type),
        Type::Reference(_) => unsupported("a reference (store the value itself)"),
        Type::Ptr(_) => unsupported("a raw pointer"),
        Type::BareFn(_) => unsupported("a function pointer"),
        Type::TraitObject(_) | Type::ImplTrait(_) => unsupported("a trait object"),
        Type::Slice(_) => unsupported("an unsized slice (use `Vec` or an array)"),
        Type::Never(_) => unsupported("`!`"),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return Ok(());
            };
            let name = last.ident.to_string();
            if name == "Option" {
                return unsupported("an `Option` (its shape would depend on its value)");
            }
            if matches!(name.as_str(), "Vec" | "Box")
                && let Some(inner) = single_type_arg(&last.arguments)
            {
                return check_type(inner);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Integers, `bool`, `char`, `String`: values that carry no derivative, static fields.
const STATIC: &[&str] = &[
    "bool", "char", "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
    "i64", "i128", "isize",
];

/// Whether `ty` is one of [`STATIC`] (written as a single name).
fn is_static_type(ty: &Type) -> bool {
    match ty {
        Type::Paren(p) => is_static_type(&p.elem),
        Type::Group(g) => is_static_type(&g.elem),
        Type::Path(p) => {
            p.qself.is_none()
                && p.path
                    .get_ident()
                    .is_some_and(|i| STATIC.contains(&i.to_string().as_str()))
        }
        _ => false,
    }
}

/// The field option `#[differentiable(skip)]`: a static field of any type that is `Clone`.
fn skip_option(field: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("differentiable"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown option of #[differentiable] on a field: the accepted form is \
                     #[differentiable(skip)] (a static field: its tangent and adjoint keep its \
                     value)",
                ))
            }
        })?;
    }
    Ok(skip)
}

/// With a scalar of `f32` or `f64`, every field whose leaves are written as the other float is
/// reported once, at the field (rather than as one type error per emitted method).
fn check_leaf_floats(active: &[&Field], scalar: &Type) -> syn::Result<()> {
    let Some(scalar) = float_leaf(scalar) else {
        return Ok(());
    };
    let scalar = scalar.to_token_stream().to_string();
    let mut errors: Option<syn::Error> = None;
    for field in active {
        if let Some(leaf) = float_leaf(field.ty) {
            let leaf = leaf.to_token_stream().to_string();
            if leaf != scalar {
                let e = syn::Error::new(
                    field.ty.span(),
                    format!(
                        "this field has `{leaf}` leaves but the struct's scalar is `{scalar}`: \
                         all the leaves of a #[derive(Differentiable)] struct have one float type"
                    ),
                );
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// `T` in `Name<T>`.
fn single_type_arg(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn is_phantom(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "PhantomData"))
}

/// `f32` or `f64` when `ty` is one of them, or a (nested) array, `Vec` or `Box` of one.
fn float_leaf(ty: &Type) -> Option<Type> {
    match ty {
        Type::Array(a) => float_leaf(&a.elem),
        Type::Paren(p) => float_leaf(&p.elem),
        Type::Group(g) => float_leaf(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if p.path.segments.len() == 1 && (last.ident == "f32" || last.ident == "f64") {
                Some(ty.clone())
            } else if last.ident == "Vec" || last.ident == "Box" {
                float_leaf(single_type_arg(&last.arguments)?)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The `f32` or `f64` named anywhere in `ty` (`Layer<f64>`, `(Inner<f32>, u8)`), the first one.
fn float_mentioned(ty: &Type) -> Option<Type> {
    fn walk(tokens: TokenStream) -> Option<Ident> {
        tokens.into_iter().find_map(|tt| match tt {
            TokenTree::Ident(i) if i == "f32" || i == "f64" => Some(i),
            TokenTree::Group(g) => walk(g.stream()),
            _ => None,
        })
    }
    walk(ty.to_token_stream()).map(|float| parse_quote!(#float))
}

/// The option `#[differentiable(scalar = TYPE)]`, which names the scalar type outright (needed
/// when the struct is public, has no float parameter and its first field is of a private type).
fn scalar_option(input: &DeriveInput) -> syn::Result<Option<Type>> {
    let mut scalar = None;
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("differentiable"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("scalar") {
                scalar = Some(meta.value()?.parse::<Type>()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown option of #[differentiable]: the accepted form is \
                     #[differentiable(scalar = f64)]",
                ))
            }
        })?;
    }
    Ok(scalar)
}

/// The first type parameter bounded by `Float` or `Real`, inline or in the where clause.
fn float_param(generics: &Generics) -> Option<&Ident> {
    let is_float = |b: &TypeParamBound| {
        matches!(b, TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| s.ident == "Float" || s.ident == "Real"))
    };
    generics.type_params().map(|p| &p.ident).find(|&ident| {
        let inline = generics
            .type_params()
            .any(|p| p.ident == *ident && p.bounds.iter().any(is_float));
        let in_where = generics.where_clause.as_ref().is_some_and(|w| {
            w.predicates.iter().any(|pred| match pred {
                WherePredicate::Type(t) => {
                    matches!(&t.bounded_ty, Type::Path(p) if p.path.is_ident(ident))
                        && t.bounds.iter().any(is_float)
                }
                _ => false,
            })
        });
        inline || in_where
    })
}

/// Whether one of `params` appears in `ty`.
fn mentions_any(ty: &Type, params: &[&Ident]) -> bool {
    fn walk(tokens: TokenStream, params: &[&Ident]) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => params.iter().any(|p| i == **p),
            TokenTree::Group(g) => walk(g.stream(), params),
            _ => false,
        })
    }
    !params.is_empty() && walk(quote!(#ty), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> String {
        expand(src.parse().unwrap()).to_string()
    }

    #[test]
    fn struct_with_float_param() {
        let out = expand_str("struct P<F: Float> { w: [F; 3], b: F }");
        assert!(out.contains("type Scalar = F"), "{out}");
        assert!(out.contains("[F ; 3] : :: autodiff_core :: Differentiable < Scalar = F >"));
    }

    #[test]
    fn concrete_struct_takes_the_leaf_float() {
        let out = expand_str("struct Q(Inner, [f32; 2]);");
        assert!(out.contains("type Scalar = f32"), "{out}");
        assert!(!out.contains("where Inner"), "{out}");
    }

    #[test]
    fn unknown_first_field_gives_its_scalar() {
        let out = expand_str("struct R<T> { inner: T, more: Vec<T> }");
        assert!(
            out.contains("type Scalar = < T as :: autodiff_core :: Differentiable > :: Scalar")
        );
    }

    #[test]
    fn scalar_from_a_mentioned_float_or_the_option() {
        let out = expand_str("pub struct N { a: Layer<f32>, b: Other }");
        assert!(out.contains("type Scalar = f32"), "{out}");
        let out = expand_str("#[differentiable(scalar = f64)] pub struct N { a: Layer }");
        assert!(out.contains("type Scalar = f64"), "{out}");
        let out = expand_str("#[differentiable(scalr = f64)] pub struct N { a: Layer }");
        assert!(out.contains("unknown option of #[differentiable]"), "{out}");
    }

    #[test]
    fn static_fields_are_kept() {
        let out = expand_str(
            "struct L { w: Vec<f64>, n: usize, on: bool, #[differentiable(skip)] kind: Kind }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("type Scalar = f64"), "{out}");
        assert!(
            out.contains("n : :: core :: clone :: Clone :: clone (& self . n)"),
            "{out}"
        );
        assert!(!out.contains("accumulate (& mut self . n"), "{out}");
        assert!(!out.contains("dot (& self . kind"), "{out}");
        let out = expand_str("struct L { n: usize }");
        assert!(
            out.contains("at least one field with float leaves"),
            "{out}"
        );
        let out = expand_str("struct L { w: f64, #[differentiable(skp)] n: usize }");
        assert!(
            out.contains("unknown option of #[differentiable] on a field"),
            "{out}"
        );
    }

    #[test]
    fn errors_are_collected() {
        let out = expand_str("struct S { a: Option<f64>, b: &'static f64, c: f64 }");
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(out.contains("an `Option`"));
        assert!(out.contains("a reference"));
        let out = expand_str("struct S { a: f64, b: [f32; 2], c: Option<f64> }");
        assert!(out.contains("an `Option`"), "{out}");
        let out = expand_str("struct S { a: f64, b: [f32; 2], c: Box<[f32; 3]> }");
        assert_eq!(
            out.matches("`f32` leaves but the struct's scalar is `f64`")
                .count(),
            2
        );
    }

    #[test]
    fn enums_and_unions_are_errors() {
        assert!(expand_str("enum E { A(f64) }").contains("structs only, not enums"));
        assert!(expand_str("union U { a: f64 }").contains("structs only, not unions"));
        assert!(expand_str("struct U;").contains("at least one field"));
    }
}
