//! Front end: parse the attribute's options.
//!
//! Accepted forms: `#[differentiate]`, `#[differentiate(forward)]`, `#[differentiate(reverse)]`,
//! `#[differentiate(wrt(a, b))]`, `#[differentiate(recursive(g))]` (the differentiated functions
//! that call back into this one: mutual recursion), and combinations separated by commas such as
//! `#[differentiate(reverse, wrt(w))]`.
//!
//! Input: the attribute's tokens, `reverse, wrt(w)`.
//! Output: `Options { forward: false, reverse: true, wrt: Some([w]), recursive: [] }`.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

mod kw {
    syn::custom_keyword!(forward);
    syn::custom_keyword!(reverse);
    syn::custom_keyword!(wrt);
    syn::custom_keyword!(recursive);
}

const ACCEPTED: &str = "expected `forward`, `reverse`, `wrt(param, ...)` or `recursive(function, ...)`; \
     the accepted forms are #[differentiate], #[differentiate(forward)], \
     #[differentiate(reverse)], #[differentiate(wrt(a, b))], \
     #[differentiate(recursive(g))] and combinations such as \
     #[differentiate(reverse, wrt(w))]";

/// What the user asked for.
pub struct Options {
    pub forward: bool,
    pub reverse: bool,
    /// `wrt(..)`: the parameters to differentiate with respect to, if restricted.
    pub wrt: Option<Vec<Ident>>,
    /// `recursive(..)`: differentiated functions that call back into this one (mutual
    /// recursion); calls to them use their recursive pullbacks.
    pub recursive: Vec<Ident>,
}

enum Opt {
    Forward(Span),
    Reverse(Span),
    Wrt(Span, Vec<Ident>),
    Recursive(Span, Vec<Ident>),
}

impl Parse for Opt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let look = input.lookahead1();
        if look.peek(kw::forward) {
            let k: kw::forward = input.parse()?;
            Ok(Opt::Forward(k.span))
        } else if look.peek(kw::reverse) {
            let k: kw::reverse = input.parse()?;
            Ok(Opt::Reverse(k.span))
        } else if look.peek(kw::wrt) {
            let k: kw::wrt = input.parse()?;
            let content;
            syn::parenthesized!(content in input);
            // `Ident::parse_any`: `wrt(self, x)` names a method's receiver.
            let names =
                Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
            if names.is_empty() {
                return Err(syn::Error::new(
                    k.span,
                    "`wrt()` names no parameter: list the parameters to differentiate with \
                     respect to, as in `wrt(w, b)`, or leave `wrt` out to use all of them",
                ));
            }
            Ok(Opt::Wrt(k.span, names.into_iter().collect()))
        } else if look.peek(kw::recursive) {
            let k: kw::recursive = input.parse()?;
            let content;
            syn::parenthesized!(content in input);
            let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
            if names.is_empty() {
                return Err(syn::Error::new(
                    k.span,
                    "`recursive()` names no function: list the differentiated functions that \
                     call back into this one, as in `recursive(g)`",
                ));
            }
            Ok(Opt::Recursive(k.span, names.into_iter().collect()))
        } else {
            Err(syn::Error::new(input.span(), ACCEPTED))
        }
    }
}

/// Parses the attribute's arguments.
pub fn parse(args: TokenStream) -> syn::Result<Options> {
    let opts = Punctuated::<Opt, Token![,]>::parse_terminated.parse2(args)?;
    let (mut forward, mut reverse, mut wrt) = (false, false, None);
    let mut recursive: Option<Vec<Ident>> = None;
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for opt in opts {
        match opt {
            Opt::Forward(s) if forward => push(syn::Error::new(s, "`forward` is given twice")),
            Opt::Reverse(s) if reverse => push(syn::Error::new(s, "`reverse` is given twice")),
            Opt::Forward(_) => forward = true,
            Opt::Reverse(_) => reverse = true,
            Opt::Wrt(s, _) if wrt.is_some() => push(syn::Error::new(
                s,
                "`wrt(..)` is given twice: list all the parameters in one `wrt(..)`",
            )),
            Opt::Wrt(_, names) => wrt = Some(names),
            Opt::Recursive(s, _) if recursive.is_some() => push(syn::Error::new(
                s,
                "`recursive(..)` is given twice: list all the functions in one `recursive(..)`",
            )),
            Opt::Recursive(_, names) => recursive = Some(names),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    if !forward && !reverse {
        forward = true;
        reverse = true;
    }
    Ok(Options {
        forward,
        reverse,
        wrt,
        recursive: recursive.unwrap_or_default(),
    })
}
