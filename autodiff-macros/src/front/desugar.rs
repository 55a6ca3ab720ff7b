//! Front end, before renaming: iterator reductions become the `for` loops a hand rewrite gives
//! (which `lower` then turns into index loops over the collection).
//!
//! Input: `xs.iter().zip(ys).map(|(a, b)| a * b).sum::<f64>()`
//! Output: `{ let mut __acc = 0.0; for (a, b) in xs.iter().zip(ys) { __acc = __acc + a * b; } __acc }`
//!
//! Understood: a source `lower` can loop over (`xs.iter()`, `&xs`, `.copied()`, `.cloned()`,
//! `.enumerate()`, `.zip(..)`, position adapters, `.filter(..)`: `syntax::IterLoop`), then at
//! most one `.map(|p| e)` (a closure
//! of one parameter), then `.sum()`, `.product()` (turbofish allowed) or `.fold(init, |acc, p| e)`
//! / `.fold(init, f64::max)`. `__acc` is hygienic: the user's closure cannot name it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat};

use crate::front::syntax::IterLoop;

/// Rewrites every understood reduction in `body`. `zero` and `one` are the function's float
/// zero and one (`0.0`, `<F as Zero>::zero()`).
pub fn reductions(body: &mut syn::Block, zero: TokenStream, one: TokenStream) {
    Reductions { zero, one }.visit_block_mut(body);
}

struct Reductions {
    zero: TokenStream,
    one: TokenStream,
}

impl VisitMut for Reductions {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // Inner reductions first (a closure body may hold one).
        visit_mut::visit_expr_mut(self, e);
        if let Some(rewritten) = self.rewrite(e) {
            *e = rewritten;
        }
    }
}

impl Reductions {
    fn rewrite(&self, e: &Expr) -> Option<Expr> {
        let Expr::MethodCall(end) = e else {
            return None;
        };
        let acc = crate::names::hygienic("__acc", Span::call_site());
        // What is reduced: `src.map(|p| body)`, or the items of `src` themselves.
        let (src, pat, item): (&Expr, Pat, TokenStream) = match &*end.receiver {
            Expr::MethodCall(m) if m.method == "map" && m.args.len() == 1 => match &m.args[0] {
                Expr::Closure(c) if c.inputs.len() == 1 => {
                    let body = &c.body;
                    (&m.receiver, untyped(&c.inputs[0]), q!({ #body }))
                }
                _ => return None,
            },
            other => {
                let x = crate::names::hygienic("__x", Span::call_site());
                (other, syn::parse_quote!(#x), q!(#x))
            }
        };
        let mapped = matches!(&*end.receiver, Expr::MethodCall(m) if m.method == "map");
        let (pat, init, step) = match (end.method.to_string().as_str(), end.args.len()) {
            ("sum", 0) => (pat, self.zero.clone(), q!(#acc + #item)),
            ("product", 0) => (pat, self.one.clone(), q!(#acc * #item)),
            ("fold", 2) => {
                let init = end.args[0].to_token_stream();
                match &end.args[1] {
                    // `fold(init, |a, y| body)`: `a` is the accumulator, `y` the item.
                    Expr::Closure(c) if c.inputs.len() == 2 => {
                        let (a, y, body) = (&c.inputs[0], &c.inputs[1], &c.body);
                        if mapped {
                            (pat, init, q!({ let #a = #acc; let #y = #item; #body }))
                        } else {
                            (untyped(y), init, q!({ let #a = #acc; #body }))
                        }
                    }
                    // `fold(init, f64::max)`.
                    Expr::Path(p) => (pat, init, q!(#p(#acc, #item))),
                    _ => return None,
                }
            }
            _ => return None,
        };
        IterLoop::parse(&pat, src)?;
        syn::parse2(q!({
            let mut #acc = #init;
            for #pat in #src {
                #acc = #step;
            }
            #acc
        }))
        .ok()
    }
}

/// A closure parameter's pattern as a `for` pattern (which takes no type annotation).
fn untyped(p: &Pat) -> Pat {
    match p {
        Pat::Type(t) => (*t.pat).clone(),
        p => p.clone(),
    }
}
