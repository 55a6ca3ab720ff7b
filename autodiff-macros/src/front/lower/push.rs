//! Lowering `v.push(e)` on a `Vec` the function's body declares (`let mut v = Vec::new();`,
//! `Vec::with_capacity(n)`, `vec![]`), with active elements: the IR's `Push`, whose tangent and
//! adjoint grow alongside the `Vec` (see `ir::Stmt::Push`).
//!
//! Input: `cs.push(acc);`  Output: `Push { place: cs, value: acc }`

use syn::spanned::Spanned;

use super::*;

impl Lowerer<'_> {
    /// `recv.push(arg)` as a statement, when it may change an active value.
    pub(super) fn lower_push(&mut self, m: &syn::ExprMethodCall, out: &mut Vec<Stmt>) {
        let span = m.span();
        let recv = crate::front::syntax::strip_paren(&m.receiver);
        let local = match recv {
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .filter(|&v| self.vars[v].param.is_none()),
            _ => None,
        };
        let Some(var) = local else {
            self.error(
                recv.span(),
                "`push` of a value that carries a derivative is supported on a `Vec` declared in the differentiated function (`let mut v = Vec::new();`): push into such a local, or write the values into a `vec![0.0; n]` by index",
            );
            return;
        };
        let value = self.lower_operand(&m.args[0], out);
        out.push(Stmt::Push {
            id: self.sid(),
            place: Place {
                var,
                proj: Vec::new(),
                span: recv.span(),
                deref: false,
            },
            value,
            span,
        });
    }
}
