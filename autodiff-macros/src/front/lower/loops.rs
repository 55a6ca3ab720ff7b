//! Lowering `for` loops: ranges (with `.rev()`, `.step_by`) and element loops over collections,
//! which become index loops.
//!
//! Input: a syntax `for` loop.  Output: an IR `For` statement.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Ident, Pat};

use super::rows::deref_free;
use super::*;

impl Lowerer<'_> {
    pub(super) fn lower_for(&mut self, f: &syn::ExprForLoop, out: &mut Vec<Stmt>) {
        let label = f.label.as_ref().map(|l| l.name.clone());
        // Over active collections, and over passive ones with patterns a plain `for` of the
        // subset does not take (`&x`, `(i, x)`): the index loop.
        // Over active collections, over passive ones with patterns a plain `for` of the subset
        // does not take (`&x`, `(i, x)`), and over `xs.iter()`-like passive ones (a range loop
        // that the reverse sweep runs backwards, instead of taping the items): the index loop.
        if let Some(lp) = crate::front::syntax::IterLoop::parse(&f.pat, &f.expr)
            && (lp.elems.iter().any(|(_, src, _)| self.is_active(src))
                || !lp.filters.is_empty()
                || !matches!(strip_pat_type(&f.pat), Pat::Ident(_) | Pat::Wild(_))
                || lp
                    .elems
                    .iter()
                    .all(|(_, _, items)| *items != crate::front::syntax::Items::Value))
        {
            return self.lower_index_loop(f, &lp, label, out);
        }
        if self.is_active(&f.expr) || mentions(&f.expr, self.active) && !is_range(&f.expr) {
            self.error(
                f.expr.span(),
                "iterating over active values is not supported: loop over indices (`for i in 0..x.len()`) and read `x[i]`",
            );
        }
        let reversible = reversible_iter(&f.expr);
        let reads = self.mentioned_vars(&f.expr);
        let iter = ForIter {
            tokens: f.expr.to_token_stream(),
            reversible,
            reads,
        };
        self.enter_loop(&label);
        self.loop_depth += 1;
        // The loop variable belongs to the body's scope: declare it inside.
        let id = self.new_block();
        self.block_stack.push(id);
        // Ranges count integers (floats have no ranges to iterate).
        let loop_var_kind = if is_range(&f.expr) {
            ValueKind::Other
        } else {
            ValueKind::Unknown
        };
        let var = match strip_pat_type(&f.pat) {
            Pat::Ident(pi) if pi.subpat.is_none() => self.declare(&pi.ident, false, loop_var_kind),
            Pat::Wild(_) => self.declare(&Ident::new("_", f.pat.span()), false, ValueKind::Other),
            other => {
                self.error(other.span(), "only a name or `_` is supported as the variable of a `for` loop in a differentiated function");
                self.declare(&Ident::new("_", other.span()), false, ValueKind::Unknown)
            }
        };
        let stmts = Vec::new();
        self.finish_for(f, (var, iter), (id, stmts), out);
    }

    /// `for x in xs.iter()` and its kin (`syntax::IterLoop`) over an active collection, as the
    /// index loop a hand rewrite gives.
    ///
    /// Input: `for (i, &x) in xs.iter().enumerate() { body }`
    /// Output: `for __i0 in 0..xs.len() { let i = __i0; let x = xs[__i0]; body }`
    pub(super) fn lower_index_loop(
        &mut self,
        f: &syn::ExprForLoop,
        lp: &crate::front::syntax::IterLoop,
        label: Option<syn::Lifetime>,
        out: &mut Vec<Stmt>,
    ) {
        let (k, _) = self.fresh.next("__i", 0);
        let k = Ident::new(&k, Span::call_site());
        let Some(len) = lp.len() else {
            unreachable!("at least one collection")
        };
        let iter_tokens = lp.positions(&len);
        let reads = self.mentioned_vars(&f.expr);
        let iter = ForIter {
            tokens: iter_tokens,
            reversible: true,
            reads,
        };
        self.enter_loop(&label);
        self.loop_depth += 1;
        let id = self.new_block();
        self.block_stack.push(id);
        let var = self.declare(&k, false, ValueKind::Other);
        let span = f.pat.span();
        let mut stmts = Vec::new();
        if let Some(ip) = lp.index
            && let Pat::Ident(pi) = strip_pat_type(ip)
        {
            let iv = self.declare(&pi.ident, false, ValueKind::Other);
            stmts.push(Stmt::Let {
                id: self.sid(),
                var: iv,
                ty: None,
                rhs: Rhs::Operand(Operand::Const {
                    tokens: q!(#k),
                    float: false,
                }),
                span,
            });
        }
        // The body, with the rows it names through element bindings replaced by the rows
        // themselves (`rows.rs`).
        let mut body = f.body.clone();
        for (pat, src, items) in &lp.elems {
            let Some(Some(pi)) = crate::front::syntax::element_pat(pat) else {
                continue;
            };
            // `&x` takes the item's value; a plain `x` keeps what the iterator yields.
            let by_ref_pat = matches!(strip_pat_type(pat), Pat::Reference(_));
            let src = crate::front::syntax::strip_paren(src);
            if self.is_active(src)
                && pi.mutability.is_none()
                && let Some(b) = self.row_alias(
                    &body,
                    &pi.ident,
                    src,
                    &k,
                    !by_ref_pat && self.yields_refs(&f.expr, src, *items),
                )
            {
                body = b;
                continue;
            }
            // A `Vec` row the body uses otherwise than `rows.rs` replaces (writes it, formats
            // it) would be copied out of its collection, which a `Vec` cannot be.
            if self.is_active(src) && self.has_vec_rows(src) {
                self.error(
                    pat.span(),
                    "this row is a `Vec`, which the loop would have to copy: use it without `mut`, without assigning it and outside format strings (`row[j]`, `row.iter()`, `for v in row`, `g(row)`), or loop over indices (`for i in 0..m.len()`) and read `m[i][j]`",
                );
                // Still bound below (as a copy), so that its uses report nothing more.
            }
            // An active element is bound by value: where the loop yields a reference, `*x`
            // in the body is that value.
            if self.is_active(src) && !by_ref_pat && self.yields_refs(&f.expr, src, *items) {
                body = deref_free(&body, &pi.ident);
            }
            if self.is_active(src) {
                let Some(mut place) = self.lower_place(src) else {
                    self.error(src.span(), "iterate over a variable, a field or an element (`xs.iter()`, `p.w.iter()`)");
                    continue;
                };
                place.deref = false;
                place.proj.push(Proj::Index(q!(#k)));
                let scalar = self.vars[place.var].scalar;
                let elem: Expr = syn::parse_quote!(#src[#k]);
                let class = self.operand_class(&elem);
                let v = self.declare(&pi.ident, false, ValueKind::Differentiable);
                self.note_type(v, None, class);
                let _ = scalar;
                stmts.push(Stmt::Let {
                    id: self.sid(),
                    var: v,
                    ty: None,
                    rhs: Rhs::Operand(Operand::Place(place)),
                    span,
                });
            } else {
                let kind = self.value_kind(src).element();
                let elem: Expr = syn::parse_quote!(#src[#k]);
                let class = self.operand_class(&elem);
                let v = self.declare(&pi.ident, false, kind);
                if by_ref_pat || !matches!(items, crate::front::syntax::Items::Ref) {
                    self.note_type(v, None, class);
                }
                let tokens = match (items, by_ref_pat) {
                    (crate::front::syntax::Items::Ref, false) => q!(&#src[#k]),
                    (crate::front::syntax::Items::Clone, _) => {
                        q!(::core::clone::Clone::clone(&#src[#k]))
                    }
                    _ => q!(#src[#k]),
                };
                stmts.push(Stmt::Let {
                    id: self.sid(),
                    var: v,
                    ty: None,
                    rhs: Rhs::Operand(Operand::Const {
                        tokens,
                        float: kind.differentiable(),
                    }),
                    span,
                });
            }
        }
        let f = &syn::ExprForLoop { body, ..f.clone() };
        if lp.filters.is_empty() {
            self.finish_for(f, (var, iter), (id, stmts), out);
            return;
        }
        // `.filter(|q| pred)`: the body runs under `{ let q = &ITEM; pred }`, with `ITEM` what
        // the user's iterator yields at this position (so `pred` sees the types it was written
        // for), read from the collections as passive tokens.
        let item = lp.shape.item(&|i| {
            let (_, src, items) = &lp.elems[i];
            let src = crate::front::syntax::strip_paren(src);
            match items {
                crate::front::syntax::Items::Ref => q!(&#src[#k]),
                crate::front::syntax::Items::Value => q!(#src[#k]),
                crate::front::syntax::Items::Clone => {
                    q!(::core::clone::Clone::clone(&#src[#k]))
                }
            }
        });
        let item = if lp.index.is_some() {
            q!((#k, #item))
        } else {
            item
        };
        let conds = lp.filters.iter().map(|c| {
            let (q, pred) = (&c.inputs[0], &c.body);
            q!({ let #q = &#item; #pred })
        });
        let body = &f.body;
        let mut filtered = f.clone();
        match syn::parse2(q!({ if #(#conds)&&* #body })) {
            Ok(b) => filtered.body = b,
            Err(e) => {
                self.error(
                    e.span(),
                    "this `filter` could not be lowered: write the loop with an `if` inside",
                );
                return;
            }
        }
        self.finish_for(&filtered, (var, iter), (id, stmts), out);
    }

    /// Lowers a `for` body after `stmts` (the statements binding its items), closes the loop's
    /// scope and pushes the loop.
    pub(super) fn finish_for(
        &mut self,
        f: &syn::ExprForLoop,
        (var, iter): (VarId, ForIter),
        (id, mut stmts): (BlockId, Vec<Stmt>),
        out: &mut Vec<Stmt>,
    ) {
        for s in &f.body.stmts {
            self.lower_stmt(s, &mut stmts);
        }
        self.block_stack.pop();
        self.loop_depth -= 1;
        let label = self.exit_loop();
        out.push(Stmt::For {
            id: self.sid(),
            var,
            iter,
            body: Block {
                id,
                stmts,
                tail: None,
            },
            label,
            exit: None,
        });
    }
}
