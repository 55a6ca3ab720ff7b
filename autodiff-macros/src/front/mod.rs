//! The front end: from the user's function to the IR.

pub mod activity;
pub mod arrays;
pub mod desugar;
pub mod flatten;
pub mod hoist;
pub mod inline;
pub mod iterators;
pub mod lower;
pub mod options;
pub mod returns;
pub mod signature;
pub mod slices;
pub mod syntax;

use std::collections::HashSet;

use syn::visit_mut::VisitMut;
use syn::{ItemFn, Type};

use crate::ir::{Func, ParamKind};
use crate::names::{self, Renamer};
use signature::{Errors, Signature, shape_of};

/// The front end after the signature: closures inlined (`inline`), patterns, destructuring,
/// iterator reductions and windows into plainer Rust (`desugar`, `iterators`), reductions'
/// loops into statements of their blocks (`hoist`), shadowing
/// resolved (`names::Renamer`), the active bindings found (`activity`), and the body lowered
/// into the IR (`lower`), with every unsupported construct reported at once.
///
/// Input: the user's function and its [`Signature`].  Output: the IR [`Func`].
pub fn lower_function(func: &ItemFn, sig: &Signature) -> syn::Result<Func> {
    let Signature {
        params,
        float_types,
        type_params,
        scalar,
        ..
    } = sig;
    let core = crate::core_path::core_path();
    reserved_params(params)?;
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
    // Names made unique, so that closures can be inlined where they are used; reductions into
    // loops; then names made unique again (each inlined body is a copy).
    let mut renamer = Renamer::new(names::Fresh::new(q!(#func)));
    for r in RESERVED {
        renamer.declare(&proc_macro2::Ident::new(r, proc_macro2::Span::call_site()));
    }
    for p in params.iter() {
        renamer.declare(&p.name);
    }
    renamer.visit_block_mut(&mut body);
    let mut errors = Errors::default();
    for e in inline::closures(&mut body) {
        errors.push(e);
    }
    errors.finish()?;
    slices::aliases(&mut body);
    let typed: Vec<(String, &Type)> = params.iter().map(|p| (p.name.to_string(), &p.ty)).collect();
    let compound = matches!(scalar.to_string().as_str(), "f64" | "f32");
    if arrays::maps(&mut body, zero.clone(), float_types, &typed) {
        hoist::reductions(&mut body, compound);
    }
    returns::typed_collects(&mut body, &sig.ret_ty);
    desugar::patterns(&mut body);
    desugar::destructuring(&mut body);
    desugar::mem_calls(&mut body);
    desugar::reductions(&mut body, zero.clone(), one.clone());
    iterators::chains(&mut body, zero, one, float_types, &typed);
    flatten::loops(&mut body);
    hoist::reductions(&mut body, compound);
    desugar::windows(&mut body);
    let mut renamer = Renamer::new(names::Fresh::new(q!(#func #body)));
    for p in params.iter() {
        renamer.declare(&p.name);
    }
    renamer.visit_block_mut(&mut body);
    let seeds: HashSet<String> = params
        .iter()
        .filter(|p| p.kind != ParamKind::Passive)
        .map(|p| p.name.to_string())
        .collect();
    // Bindings a call may write through `&mut self`: the `mut` ones, parameters included.
    let mut mutable = activity::mut_bindings(&body);
    for arg in &func.sig.inputs {
        if let syn::FnArg::Typed(pt) = arg
            && let syn::Pat::Ident(pi) = &*pt.pat
            && pi.mutability.is_some()
        {
            mutable.insert(pi.ident.to_string());
        }
    }
    let active = activity::analyze(&body, seeds, &mutable);

    let mut lowerer = lower::Lowerer::new(
        &active,
        &mutable,
        float_types,
        type_params,
        renamer.into_fresh(),
    );
    lowerer.set_types(scalar, &sig.ret_ty);
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
    Ok(ir)
}

/// The spellings the front end's passes give the bindings they write before names are made
/// unique the second time (`__acc` of a reduction, `__d` of a destructured value, ...). That
/// renaming is by spelling, so a user's binding spelled so would be confused with them (fuzzer
/// 9101:266: a parameter `__d` read as the default value of a `reduce(..).unwrap_or(..)`): the
/// first renaming gives the user's local bindings so spelled other spellings, and a parameter so
/// spelled (whose name the derived functions keep) is an error.
const RESERVED: &[&str] = &[
    "__acc", "__x", "__s", "__d", "__m", "__r", "__k", "__src", "__y", "__some",
];

/// A spanned error at the first parameter spelled as one of [`RESERVED`].
fn reserved_params(params: &[signature::Param]) -> syn::Result<()> {
    match params
        .iter()
        .find(|p| RESERVED.contains(&names::raw_free(&p.name).as_str()))
    {
        Some(p) => Err(syn::Error::new(
            p.name.span(),
            format!(
                "`{}` is a name #[differentiate] uses for the code it writes: rename this parameter (`{}`, for instance)",
                p.name,
                names::raw_free(&p.name).trim_start_matches('_')
            ),
        )),
        None => Ok(()),
    }
}
