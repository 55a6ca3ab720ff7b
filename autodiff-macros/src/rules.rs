//! Instantiates the rule table (`autodiff_core::rules::RULES`, operators included) for the
//! emitters: a row's primal in its source form, and its partials with the argument names,
//! result name and `F` replaced by the operands, the result and the function's float type,
//! each simplified into a sign and a factor (`F::one()` is no factor, a leading `-` a sign), so
//! that `x - a` has the tangent `x__dot - a__dot` and the adjoints `y__bar` and `-y__bar`.
//!
//! Input: the rule `sin(x) -> y = [x.cos()]`, operand `x[i]`.  Output: the term `x[i].cos()`.

use autodiff_core::rules::{Form, Rule};
use proc_macro2::{Delimiter, Group, Ident, Spacing, TokenStream, TokenTree};
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

/// One partial derivative of a row, as the emitters multiply by it: `sign * factor`.
pub struct Term {
    /// The partial is the negation of the factor.
    pub neg: bool,
    /// `None`: the factor is 1.
    pub factor: Option<TokenStream>,
}

impl Term {
    /// `src` times this partial: `src`, `-src`, `src * f` or `-(src * f)`.
    pub fn times(&self, src: &TokenStream) -> TokenStream {
        match (&self.factor, self.neg) {
            (None, false) => src.clone(),
            (None, true) => quote!(-#src),
            (Some(f), false) => quote!(#src * #f),
            (Some(f), true) => quote!(-(#src * #f)),
        }
    }

    /// `src` times this partial without its sign (the caller subtracts when [`Term::neg`]).
    pub fn times_unsigned(&self, src: &TokenStream) -> TokenStream {
        match &self.factor {
            None => src.clone(),
            Some(f) => quote!(#src * #f),
        }
    }
}

/// The partial derivatives of `rule`, one per float argument, with the operands substituted
/// and each split into a sign and a factor. A row with a divisor divides each of them by
/// [`divisor`].
pub fn terms(rule: &Rule, s: &Subst) -> Vec<Term> {
    rule.partials
        .iter()
        .map(|src| {
            let (neg, factor) = shape(src);
            Term {
                neg,
                factor: factor.map(|f| {
                    let toks: TokenStream = f
                        .parse()
                        .unwrap_or_else(|_| quote!(compile_error!("bad rule")));
                    operand(substitute(toks, rule, s))
                }),
            }
        })
        .collect()
}

/// A partial's sign and its factor's source (`None`: the factor 1), parsed once per process:
/// plain strings, since tokens do not outlive a macro invocation.
fn shape(src: &'static str) -> (bool, Option<String>) {
    thread_local! {
        static SHAPES: std::cell::RefCell<std::collections::HashMap<&'static str, (bool, Option<String>)>> =
            std::cell::RefCell::default();
    }
    if let Some(s) = SHAPES.with(|m| m.borrow().get(src).cloned()) {
        return s;
    }
    let s = match syn::parse_str::<syn::Expr>(src) {
        Ok(e) => split(&e, false),
        Err(_) => (false, Some("compile_error!(\"bad rule\")".to_string())),
    };
    SHAPES.with(|m| m.borrow_mut().insert(src, s.clone()));
    s
}

fn split(e: &syn::Expr, neg: bool) -> (bool, Option<String>) {
    match e {
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => split(&u.expr, !neg),
        syn::Expr::Paren(p) => split(&p.expr, neg),
        syn::Expr::Call(c) if c.args.is_empty() && is_f_one(&c.func) => (neg, None),
        e => (neg, Some(quote!(#e).to_string())),
    }
}

/// `F::one`.
fn is_f_one(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Path(p) if p.qself.is_none()
        && p.path.segments.len() == 2
        && p.path.segments[0].ident == "F"
        && p.path.segments[1].ident == "one")
}

/// The divisor of a row's partials, substituted, when it has one.
pub fn divisor(rule: &Rule, s: &Subst) -> Option<TokenStream> {
    let src = rule.divisor?;
    let toks: TokenStream = src
        .parse()
        .unwrap_or_else(|_| quote!(compile_error!("bad rule")));
    Some(operand(substitute(toks, rule, s)))
}

/// The primal of a row in its source form: `x.sin()`, `x + a`, `-x`, `x * x`.
pub fn primal(rule: &Rule, args: &[TokenStream]) -> TokenStream {
    let arg = |k: usize| args.get(k).cloned().unwrap_or_default();
    match rule.form {
        Form::Method => {
            let m = Ident::new(rule.name, proc_macro2::Span::call_site());
            let (recv, rest) = (arg(0), args.get(1..).unwrap_or_default());
            quote!(#recv.#m(#(#rest),*))
        }
        Form::Binary(op) => {
            let op: TokenStream = op.parse().unwrap_or_default();
            let (a, b) = (arg(0), arg(1));
            quote!(#a #op #b)
        }
        Form::Unary(op) => {
            let op: TokenStream = op.parse().unwrap_or_default();
            let a = arg(0);
            quote!(#op #a)
        }
        Form::Square => {
            let a = arg(0);
            quote!(#a * #a)
        }
    }
}

/// Which names of the rule a partial reads (its divisor's included): for deciding what the
/// reverse sweep needs.
pub fn partial_reads(rule: &Rule, which: usize) -> Vec<&'static str> {
    let src = rule.partials[which];
    let toks: TokenStream = src.parse().unwrap_or_default();
    let mut names = Vec::new();
    collect_idents(toks, &mut names);
    if let Some(d) = rule.divisor {
        collect_idents(d.parse().unwrap_or_default(), &mut names);
    }
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
                    out.extend(operand(s.args[k].clone()));
                } else if name == rule.result {
                    out.extend(operand(s.result.clone()));
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

/// `t` as an operand of any operator: itself when it is a postfix expression (a name, a place
/// `x[i].w`, a call, a literal, a parenthesised expression), else parenthesised.
pub fn operand(t: TokenStream) -> TokenStream {
    if is_postfix(&t) { t } else { quote!((#t)) }
}

fn is_postfix(t: &TokenStream) -> bool {
    let toks: Vec<TokenTree> = t.clone().into_iter().collect();
    let starts_well = matches!(
        toks.first(),
        Some(TokenTree::Ident(_) | TokenTree::Literal(_))
    ) || matches!(toks.first(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
    starts_well
        && toks.iter().enumerate().all(|(k, tt)| match tt {
            TokenTree::Ident(i) => i != "as",
            TokenTree::Literal(l) => !l.to_string().starts_with('-'),
            TokenTree::Group(g) => matches!(g.delimiter(), Delimiter::Parenthesis | Delimiter::Bracket),
            // `.` of a field or method, `::` of a path (a joint `:` and the one after it).
            TokenTree::Punct(p) => {
                p.as_char() == '.'
                    || (p.as_char() == ':'
                        && (p.spacing() == Spacing::Joint
                            || matches!(toks.get(k.wrapping_sub(1)), Some(TokenTree::Punct(q)) if q.as_char() == ':')))
            }
        })
}
