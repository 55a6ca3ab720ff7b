//! Instantiates the rule table's partial derivatives (`autodiff_core::rules::RULES`) for the
//! emitter: the rule's source text is parsed once and its argument names, result name and `F`
//! are replaced by the operands, the result and the function's float type.
//!
//! Input: the rule `sin(x) -> y = [x.cos()]`, operand `x[i]`.  Output: `(x[i]).cos()`.

use autodiff_core::rules::Rule;
use proc_macro2::{Group, Ident, TokenStream, TokenTree};
use quote::quote;

/// What to substitute into a rule's partials.
pub struct Subst<'a> {
    /// One value per argument of the rule, in order (the receiver first).
    pub args: &'a [TokenStream],
    /// The result of the operation.
    pub result: &'a TokenStream,
    /// The float type.
    pub scalar: &'a TokenStream,
    /// The path of the runtime crate (`::autodiff::__core`).
    pub core: &'a TokenStream,
}

/// The partial derivatives of `rule`, one per float argument, with the operands substituted.
pub fn partials(rule: &Rule, s: &Subst) -> Vec<TokenStream> {
    rule.partials
        .iter()
        .map(|src| {
            let toks: TokenStream = src
                .parse()
                .unwrap_or_else(|_| quote!(compile_error!("bad rule")));
            substitute(toks, rule, s)
        })
        .collect()
}

/// Which names of the rule a partial reads: for deciding what the reverse sweep needs.
pub fn partial_reads(rule: &Rule, which: usize) -> Vec<&'static str> {
    let src = rule.partials[which];
    let toks: TokenStream = src.parse().unwrap_or_default();
    let mut names = Vec::new();
    collect_idents(toks, &mut names);
    let mut out = Vec::new();
    for (name, _) in rule.args {
        if names.iter().any(|n| n == name) {
            out.push(*name);
        }
    }
    if names.iter().any(|n| n == rule.result) {
        out.push(rule.result);
    }
    out
}

fn collect_idents(t: TokenStream, out: &mut Vec<String>) {
    for tt in t {
        match tt {
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}

fn substitute(t: TokenStream, rule: &Rule, s: &Subst) -> TokenStream {
    let core = s.core;
    let scalar = s.scalar;
    let tokens: Vec<TokenTree> = t.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < tokens.len() {
        let tt = &tokens[i];
        match tt {
            TokenTree::Ident(id) => {
                let name = id.to_string();
                let next_is_path =
                    matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                let prev_is_dot =
                    i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                if prev_is_dot {
                    out.extend([tt.clone()]);
                } else if name == "F" {
                    if next_is_path {
                        let method = match tokens.get(i + 3) {
                            Some(TokenTree::Ident(m)) => m.to_string(),
                            _ => String::new(),
                        };
                        out.extend(match method.as_str() {
                            "one" => quote!(<#scalar as #core::num_traits::One>),
                            "zero" => quote!(<#scalar as #core::num_traits::Zero>),
                            "from" => quote!(<#scalar as #core::num_traits::NumCast>),
                            _ => quote!(<#scalar as #core::Float>),
                        });
                    } else {
                        out.extend(scalar.clone());
                    }
                } else if name == "lit" {
                    out.extend(quote!(#core::rules::lit));
                } else if let Some(k) = rule.args.iter().position(|(a, _)| *a == name) {
                    let v = &s.args[k];
                    out.extend(quote!((#v)));
                } else if name == rule.result {
                    let r = s.result;
                    out.extend(quote!((#r)));
                } else {
                    out.extend([TokenTree::Ident(Ident::new(
                        &name,
                        crate::names::hygienic_span(id.span()),
                    ))]);
                }
            }
            TokenTree::Group(g) => {
                let inner = substitute(g.stream(), rule, s);
                let mut ng = Group::new(g.delimiter(), inner);
                ng.set_span(g.span());
                out.extend([TokenTree::Group(ng)]);
            }
            other => out.extend([other.clone()]),
        }
        i += 1;
    }
    out
}
