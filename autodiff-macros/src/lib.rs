//! The macros of `autodiff`: `#[differentiate]` and `#[derive(Differentiable)]`.
//!
//! This file only parses and forwards. `#[differentiate]` is a compiler of one-way stages; each
//! module imports only from the stages before it (`ir` and `names` from none):
//!
//! 1. `front` (the user's syntax into the IR): `options` (the attribute) and `signature` (the
//!    parameters classified, the float types, `wrt`) -> `inline` (closures) -> `desugar`
//!    (`if let` / `while let` / `let else` into `match`es, destructuring, iterator reductions and
//!    windows into loops; `hoist`: a reduction's loop into statements of its block) ->
//!    `names::Renamer` (shadowing resolved; hygienic generated names) -> `activity`
//!    (which bindings carry derivatives) -> `lower` (one operation a binding, with spans;
//!    everything unsupported reported at once). `front::syntax` holds the syntax queries they
//!    share.
//! 2. `ir`: the IR types and the one traversal and queries over them.
//! 3. `passes`: IR-to-IR (`structure`: `break` / `continue` / `return` into flags and guards).
//! 4. `analysis`: facts about the structured IR (liveness, save regions, rematerialization,
//!    single contributions and aliases, replay, one-pass fusion), each from the IR alone;
//!    `needs` (what the pullback reads) from the IR and the others' facts, passed in as data.
//! 5. `emit`: `codegen` (shared), `forward` (`NAME_jvp`), `reverse` (`NAME_vjp`, `NAME_grad`),
//!    consuming the facts; `rules` instantiates the rule table's partials for them.
//! 6. `expand`: the driver, running the stages in order and assembling the derived functions
//!    beside the user's, or the user's function beside `compile_error!` when anything is
//!    unsupported.

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
