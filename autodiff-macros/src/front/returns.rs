//! Front end, before the iterator passes: the function's return type written on the
//! `collect()`s that make its value. Rust infers such a `collect`'s target from the return
//! type; written out (`collect::<Vec<f64>>()`), it is a `collect` the iterator passes turn into
//! a loop, as they do any `collect::<Vec<F>>()`.
//!
//! Input: `fn f(x: &[f64]) -> Vec<f64> { x.iter().map(|v| v * 2.0).collect() }`
//! Output: the body `{ { x.iter().map(|v| v * 2.0).collect::<Vec<f64>>() } }`

use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Type};

/// Writes `ret` on the `collect()`s without a turbofish that are `body`'s value: its tail (and
/// the tails of `if`, `match` and blocks there) and the values of its `return`s.
pub fn typed_collects(body: &mut syn::Block, ret: &Type) {
    if !is_vec(ret) {
        return;
    }
    tail(body, ret);
    Returns(ret).visit_block_mut(body);
}

fn is_vec(t: &Type) -> bool {
    matches!(t, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Vec"))
}

fn tail(b: &mut syn::Block, ret: &Type) {
    if let Some(syn::Stmt::Expr(e, None)) = b.stmts.last_mut() {
        value(e, ret);
    }
}

/// Types the `collect()` that `e` evaluates to.
fn value(e: &mut Expr, ret: &Type) {
    match e {
        Expr::Paren(p) => value(&mut p.expr, ret),
        Expr::Block(b) => tail(&mut b.block, ret),
        Expr::If(i) => {
            tail(&mut i.then_branch, ret);
            if let Some((_, e)) = &mut i.else_branch {
                value(e, ret);
            }
        }
        Expr::Match(m) => {
            for a in m.arms.iter_mut() {
                value(&mut a.body, ret);
            }
        }
        Expr::MethodCall(m)
            if m.method == "collect" && m.args.is_empty() && m.turbofish.is_none() =>
        {
            m.turbofish = Some(syn::parse_quote!(::<#ret>));
            // A block's tail, where the iterator passes take a `collect` (a `return`'s value
            // or a `match` arm's is not one).
            *e = syn::parse_quote!({ #e });
        }
        _ => {}
    }
}

struct Returns<'a>(&'a Type);

impl VisitMut for Returns<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            // A closure's `return` is the closure's.
            Expr::Closure(_) => {}
            Expr::Return(r) => {
                if let Some(v) = &mut r.expr {
                    value(v, self.0);
                    self.visit_expr_mut(v);
                }
            }
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
