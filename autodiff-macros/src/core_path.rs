//! Where the runtime crate `autodiff-core` is, seen from the crate being compiled.
//!
//! Emitted code names the runtime by an absolute path so that it works both for users of the
//! facade `autodiff` (who may have renamed it in their `Cargo.toml`) and for crates that depend
//! on `autodiff-core` alone, such as `conv-kernels`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The path of `autodiff-core` in the crate being compiled:
///
/// | the crate depends on                 | path                       |
/// |--------------------------------------|----------------------------|
/// | `autodiff` (renamed `ad`: `::ad`)    | `::autodiff::__core`       |
/// | is the package `autodiff` itself     | `::autodiff::__core`       |
/// | `autodiff-core` only                 | `::autodiff_core`          |
/// | is the package `autodiff-core`       | `crate`                    |
///
/// The package `autodiff` declares `extern crate self as autodiff`, so `::autodiff` resolves in
/// its library as well as in its tests and examples. When neither crate can be found in the
/// manifest (a build outside Cargo), the facade's path is the best guess.
pub fn core_path() -> TokenStream {
    match crate_name("autodiff") {
        Ok(FoundCrate::Itself) => quote!(::autodiff::__core),
        Ok(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            quote!(::#name::__core)
        }
        Err(_) => match crate_name("autodiff-core") {
            Ok(FoundCrate::Itself) => quote!(crate),
            Ok(FoundCrate::Name(name)) => {
                let name = Ident::new(&name, Span::call_site());
                quote!(::#name)
            }
            Err(_) => quote!(::autodiff::__core),
        },
    }
}
