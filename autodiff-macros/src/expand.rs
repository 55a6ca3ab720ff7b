//! Assembles the output.
use proc_macro2::TokenStream;
pub fn differentiate(_args: TokenStream, item: TokenStream) -> TokenStream { item }
