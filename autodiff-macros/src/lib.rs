//! The macros of `autodiff`: `#[differentiate]` and `#[derive(Differentiable)]`.
//!
//! This file only parses and forwards. The pipeline of `#[differentiate]`, one module a step:
//!
//! `options` (parse the attribute) -> `desugar` (iterator reductions into loops) -> `names`
//! (resolve shadowing; hygienic generated names) -> `activity` (which values carry
//! derivatives) -> `lower` (the function into a small IR that keeps spans, checking what is
//! supported) -> `forward`
//! (emit `NAME_jvp`) / `reverse` (emit `NAME_vjp`, `NAME_grad`) -> `expand` (assemble, or
//! fall back to the user's function beside `compile_error!`).

use proc_macro::TokenStream;

/// `quote!` with mixed-site hygiene on every token the template itself writes (`ct`, `__y`,
/// `__n`, ...): no name an emitter introduces can capture, or be captured by, a user's binding.
/// Interpolated tokens (`#x`) keep their own spans. See `names`.
macro_rules! q {
    ($($t:tt)*) => {
        ::quote::quote_spanned!(::proc_macro2::Span::mixed_site()=> $($t)*)
    };
}

mod analysis;
mod core_path;
mod derive;
mod emit;
mod expand;
mod front;
mod ir;
mod names;
#[cfg(test)]
mod no_panic;
mod passes;
mod rules;
#[cfg(test)]
mod snapshots;

/// Differentiates a function at compile time. See the crate `autodiff` for the contract.
#[proc_macro_attribute]
pub fn differentiate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::differentiate(args.into(), item.into()).into()
}

/// Implements `Differentiable` for a parameter struct whose fields are floats, (nested, boxed)
/// arrays of floats, `Vec`s of floats, or other `Differentiable` structs.
#[proc_macro_derive(Differentiable, attributes(differentiable))]
pub fn derive_differentiable(item: TokenStream) -> TokenStream {
    derive::expand(item.into()).into()
}
