//! `#[derive(Differentiable)]`.
use proc_macro2::TokenStream;

pub fn expand(item: TokenStream) -> TokenStream {
    let _ = item;
    TokenStream::new()
}
