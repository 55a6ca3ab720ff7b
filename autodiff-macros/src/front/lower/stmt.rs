//! Lowering statements: blocks, `let`, expression statements, `if` and `match`.
//!
//! Input: a syntax block.  Output: IR statements appended to the current block.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{BinOp as SynBinOp, Expr, Pat, Stmt as SynStmt, Type};

use super::*;

impl Lowerer<'_> {
    pub(super) fn lower_block(&mut self, b: &syn::Block) -> Block {
        let id = self.new_block();
        self.block_stack.push(id);
        let mut stmts = Vec::new();
        let mut tail = None;
        let n = b.stmts.len();
        for (k, s) in b.stmts.iter().enumerate() {
            match s {
                SynStmt::Expr(e, None) if k + 1 == n && !is_statement_like(e) => {
                    // The function's value, of a struct type: its operators are the struct's.
                    self.struct_ctx = self.block_stack.len() == 1
                        && self.ret_struct
                        && operators::is_arith(e)
                        && self.is_active(e);
                    tail = Some(self.lower_operand(e, &mut stmts));
                    self.struct_ctx = false;
                }
                _ => self.lower_stmt(s, &mut stmts),
            }
        }
        self.block_stack.pop();
        Block { id, stmts, tail }
    }

    pub(super) fn lower_stmt(&mut self, s: &SynStmt, out: &mut Vec<Stmt>) {
        match s {
            SynStmt::Local(l) => self.lower_local(l, out),
            SynStmt::Item(item) => out.push(Stmt::Passive(self.sid(), item.to_token_stream())),
            SynStmt::Expr(e, _) => self.lower_expr_stmt(e, out),
            SynStmt::Macro(m) => {
                let e = Expr::Macro(syn::ExprMacro {
                    attrs: m.attrs.clone(),
                    mac: m.mac.clone(),
                });
                if let Some((wspan, base)) = crate::front::syntax::written_bases(&e)
                    .into_iter()
                    .find(|(_, base)| self.active.contains(base))
                {
                    self.error(wspan, format!("`{base}` carries a derivative and is written inside a macro, which keeps it as written (the write would carry no derivative): write the assignment as a statement of its own"));
                } else if self.is_active(&e) {
                    self.error(m.span(), "write the computation as plain Rust (of the macros, only `vec![e; n]` is understood)");
                }
                out.push(Stmt::Passive(self.sid(), s.to_token_stream()));
            }
        }
    }

    pub(super) fn lower_local(&mut self, l: &syn::Local, out: &mut Vec<Stmt>) {
        let span = l.span();
        if let Some(init) = &l.init
            && let Some((_, div)) = &init.diverge
        {
            self.error(
                div.span(),
                "`let ... else` is not supported in a differentiated function: use `match` or `if`",
            );
        }
        let (pat, ty) = match &l.pat {
            Pat::Type(t) => (&*t.pat, Some(t.ty.clone())),
            p => (p, None),
        };
        let Some(init) = &l.init else {
            self.error(span, "a `let` without a value is not supported in a differentiated function: give it a value (`let mut x = 0.0;`)");
            return;
        };
        let is_array = matches!(&*init.expr, Expr::Array(_) | Expr::Repeat(_));
        match strip_pat_type(pat) {
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                let name = &pi.ident;
                let active = self.active.contains(&name.to_string());
                let ty_scalar = ty.as_ref().is_some_and(|t| self.is_float_type(t));
                if !active {
                    let kind = match &ty {
                        Some(t) => self.type_kind(t),
                        None => self.value_kind(&init.expr),
                    };
                    let float_kind = kind.differentiable();
                    let toks = if self.hoists_passive(&init.expr) {
                        match self.lower_passive_value(&init.expr, out) {
                            Operand::Const { tokens, .. } => tokens,
                            Operand::Place(_) => unreachable!("a passive slot"),
                        }
                    } else {
                        self.no_hidden_writes(&init.expr);
                        init.expr.to_token_stream()
                    };
                    let class = self.operand_class(&init.expr);
                    let id = self.declare(name, ty_scalar || float_kind && is_literal(&init.expr), kind);
                    self.vars[id].array = is_array;
                    self.note_type(id, ty.as_deref(), class);
                    out.push(Stmt::Let { id: self.sid(),
                        var: id,
                        ty,
                        rhs: Rhs::Operand(Operand::Const { tokens: toks, float: float_kind }),
                        span,
                    });
                    return;
                }
                // A value declared to be a struct: its operators are the struct's.
                self.struct_ctx = ty.as_ref().is_some_and(|t| self.class_of_type(t) == operators::Class::Struct)
                    && operators::is_arith(&init.expr);
                let rhs = self.lower_rhs(&init.expr, out);
                self.struct_ctx = false;
                let ty = ty.or_else(|| self.float_row_type(&init.expr, &rhs));
                let scalar = ty_scalar || rhs_scalar(&rhs, &self.vars);
                let kind = if scalar { ValueKind::Floats } else { ValueKind::Differentiable };
                // Classified after lowering: a block's bindings are known.
                let class = self.operand_class(&init.expr);
                let id = self.declare(name, scalar, kind);
                self.vars[id].array = is_array;
                self.note_type(id, ty.as_deref(), class);
                out.push(Stmt::Let { id: self.sid(), var: id, ty, rhs, span });
            }
            Pat::Wild(_) => {
                if self.is_active(&init.expr) || self.hoists_passive(&init.expr) {
                    let _ = self.lower_rhs(&init.expr, out);
                } else {
                    self.no_hidden_writes(&init.expr);
                    out.push(Stmt::Passive(self.sid(), l.to_token_stream()));
                }
            }
            Pat::Tuple(pt) => {
                if !self.is_active(&init.expr) && !pat_has_active(pat, self.active) {
                    self.no_hidden_writes(&init.expr);
                    // A passive destructuring: keep it, but know its bindings, and what each
                    // is where the pattern's type or the tuple written says so.
                    out.push(Stmt::Passive(self.sid(), l.to_token_stream()));
                    let elem_kinds: Vec<ValueKind> = match (&ty, &*init.expr) {
                        (Some(t), _) => match &**t {
                            Type::Tuple(tt) => tt.elems.iter().map(|e| self.type_kind(e)).collect(),
                            _ => Vec::new(),
                        },
                        (None, Expr::Tuple(et)) => et.elems.iter().map(|e| self.value_kind(e)).collect(),
                        _ => Vec::new(),
                    };
                    for (k, p) in pt.elems.iter().enumerate() {
                        let mut names = Vec::new();
                        crate::front::syntax::pat_bindings(p, &mut names);
                        let kind = match (strip_pat_type(p), elem_kinds.get(k)) {
                            (Pat::Ident(_), Some(kind)) => *kind,
                            _ => ValueKind::Unknown,
                        };
                        for n in names {
                            let id = names::ident(&n, Span::call_site());
                            self.declare(&id, false, kind);
                        }
                    }
                    return;
                }
                let elems: Vec<&Pat> = pt.elems.iter().collect();
                // `let (s, c) = x.sin_cos();`: one row a part.
                let tuple = self
                    .tuple_call(&init.expr)
                    .filter(|(t, _)| t.parts.len() == elems.len());
                let parts: Vec<Operand> = match (&*init.expr, tuple) {
                    (_, Some((t, args))) => self.lower_tuple(t, &args, None, init.expr.span(), out),
                    (Expr::Tuple(et), None) if et.elems.len() == elems.len() => {
                        let es: Vec<&Expr> = et.elems.iter().collect();
                        self.lower_operands(&es, out)
                    }
                    (e, None) => {
                        let whole = self.lower_operand(e, out);
                        (0..elems.len())
                            .map(|i| project(&whole, Proj::Field(syn::Member::Unnamed(syn::Index::from(i)))))
                            .collect()
                    }
                };
                for (p, op) in elems.into_iter().zip(parts) {
                    match strip_pat_type(p) {
                        Pat::Ident(pi) if pi.subpat.is_none() => {
                            let scalar = op_scalar(&op, &self.vars);
                            let kind = match &op {
                                Operand::Const { float: true, .. } => ValueKind::Floats,
                                Operand::Const { .. } => ValueKind::Unknown,
                                Operand::Place(p) => self.vars[p.var].kind.element(),
                            };
                            let id = self.declare(&pi.ident, scalar, kind);
                            out.push(Stmt::Let { id: self.sid(), var: id, ty: None, rhs: Rhs::Operand(op), span });
                        }
                        Pat::Wild(_) => {}
                        other => self.error(other.span(), "only names and `_` are supported inside a tuple pattern of a differentiated function"),
                    }
                }
            }
            other => self.error(
                other.span(),
                "this pattern is not supported in a differentiated function: bind a name (`let x = ..`) or a tuple of names (`let (a, b) = ..`)",
            ),
        }
    }

    pub(super) fn lower_expr_stmt(&mut self, e: &Expr, out: &mut Vec<Stmt>) {
        let span = e.span();
        match e {
            Expr::Assign(a) => {
                let Some(place) = self.lower_place(&a.left) else {
                    self.error(a.left.span(), "only a variable, an indexed element or a field can be assigned in a differentiated function");
                    return;
                };
                let value = self.lower_operand(&a.right, out);
                out.push(Stmt::Assign {
                    id: self.sid(),
                    place,
                    value,
                    span,
                });
            }
            Expr::Binary(b)
                if matches!(
                    b.op,
                    SynBinOp::AddAssign(_)
                        | SynBinOp::SubAssign(_)
                        | SynBinOp::MulAssign(_)
                        | SynBinOp::DivAssign(_)
                        | SynBinOp::RemAssign(_)
                ) =>
            {
                let Some(place) = self.lower_place(&b.left) else {
                    self.error(b.left.span(), "only a variable, an indexed element or a field can be assigned in a differentiated function");
                    return;
                };
                let base_active = self.vars[place.var].active;
                let value = self.lower_operand(&b.right, out);
                match b.op {
                    SynBinOp::AddAssign(_) | SynBinOp::SubAssign(_) => {
                        let sub = matches!(b.op, SynBinOp::SubAssign(_));
                        out.push(Stmt::AddAssign {
                            id: self.sid(),
                            place,
                            value,
                            sub,
                            span,
                        });
                    }
                    _ => {
                        let op = match b.op {
                            SynBinOp::MulAssign(_) => BinOp::Mul,
                            SynBinOp::DivAssign(_) => BinOp::Div,
                            _ => BinOp::Rem,
                        };
                        if base_active {
                            let (rhs, ty) =
                                self.compound(op, &b.left, &b.right, place.clone(), value);
                            let t = self.temp(matches!(rhs, Rhs::Bin(..)));
                            out.push(Stmt::Let {
                                id: self.sid(),
                                var: t,
                                ty,
                                rhs,
                                span,
                            });
                            let tp = Place {
                                var: t,
                                proj: vec![],
                                span,
                                deref: false,
                            };
                            out.push(Stmt::Assign {
                                id: self.sid(),
                                place,
                                value: Operand::Place(tp),
                                span,
                            });
                        } else {
                            let (l, r) = (&b.left, &b.right);
                            let op: TokenStream = op.symbol().parse().unwrap_or_default();
                            let tokens = q!(#l #op (#r));
                            out.push(Stmt::Assign {
                                id: self.sid(),
                                place,
                                value: Operand::Const {
                                    tokens,
                                    float: false,
                                },
                                span,
                            });
                        }
                    }
                }
            }
            Expr::If(i) => {
                let (cond, then, els) = self.lower_if_parts(i);
                out.push(Stmt::If {
                    id: self.sid(),
                    cond,
                    then,
                    els,
                });
            }
            Expr::Match(m) => {
                let (scrutinee, arms) = self.lower_match_parts(m);
                out.push(Stmt::Match {
                    id: self.sid(),
                    scrutinee,
                    arms,
                });
            }
            Expr::ForLoop(f) => self.lower_for(f, out),
            Expr::While(w) => {
                if let Expr::Let(l) = &*w.cond {
                    self.error(l.span(), "`while let` is not supported in a differentiated function: use `while` with a condition, or `loop` with `break`");
                    return;
                }
                if self.is_active(&w.cond) {
                    self.error(w.cond.span(), "a loop condition must be a bool");
                }
                let cond = w.cond.to_token_stream();
                let label = w.label.as_ref().map(|l| l.name.clone());
                self.enter_loop(&label);
                self.loop_depth += 1;
                let body = self.lower_block(&w.body);
                self.loop_depth -= 1;
                let label = self.exit_loop();
                self.no_tail(&body, w.body.span());
                out.push(Stmt::While {
                    id: self.sid(),
                    cond,
                    body,
                    label,
                    exit: None,
                });
            }
            Expr::Loop(l) => {
                let label = l.label.as_ref().map(|l| l.name.clone());
                self.enter_loop(&label);
                self.loop_depth += 1;
                let body = self.lower_block(&l.body);
                self.loop_depth -= 1;
                let label = self.exit_loop();
                self.no_tail(&body, l.body.span());
                out.push(Stmt::Loop {
                    id: self.sid(),
                    body,
                    label,
                    exit: None,
                });
            }
            Expr::Break(b) => self.lower_break(b, out),
            Expr::Continue(c) => self.lower_continue(c, out),
            Expr::Return(r) => {
                let value = match &r.expr {
                    Some(v) => {
                        // The function's value, of a struct type: its operators are the struct's.
                        self.struct_ctx =
                            self.ret_struct && operators::is_arith(v) && self.is_active(v);
                        let op = self.lower_operand(v, out);
                        self.struct_ctx = false;
                        op
                    }
                    None => {
                        self.error(
                            span,
                            "a differentiated function returns a value: write `return value;`",
                        );
                        return;
                    }
                };
                out.push(Stmt::Return {
                    id: self.sid(),
                    value,
                    span,
                });
            }
            Expr::Block(b) => {
                if b.label.is_some() && self.lower_labelled_block(b, false, true, out).is_some() {
                    return;
                }
                let block = self.lower_block(&b.block);
                // A nested block is an `if true { .. }` without the branch: keep it a scope.
                out.push(Stmt::If {
                    id: self.sid(),
                    cond: q!(true),
                    then: block,
                    els: self.empty_block(),
                });
            }
            Expr::MethodCall(m)
                if m.method == "push"
                    && m.args.len() == 1
                    && m.turbofish.is_none()
                    && mentions(e, self.active) =>
            {
                self.lower_push(m, out)
            }
            // Reported by `exits_from_floats`.
            Expr::Unsafe(_) => {}
            Expr::Paren(p) => self.lower_expr_stmt(&p.expr, out),
            // A call that writes through `&mut` (`step(&mut s, dt);`, `s.observe(z);`): its
            // output is bound to a temporary (it may be `()`) and the call assigns the rest.
            Expr::Call(_) | Expr::MethodCall(_)
                if self.is_active(e) && self.writes_through_mut(e) =>
            {
                let rhs = self.lower_rhs(e, out);
                let t = self.temp(false);
                out.push(Stmt::Let {
                    id: self.sid(),
                    var: t,
                    ty: None,
                    rhs,
                    span,
                });
            }
            _ => {
                // Kept as the user's tokens, a statement must not write an active value: the
                // write would carry no derivative.
                let own = crate::front::syntax::bound_in(e);
                let writes: Vec<_> = crate::front::syntax::written_bases(e)
                    .into_iter()
                    .filter(|(_, base)| self.active.contains(base) && !own.contains(base))
                    .collect();
                if let Some((wspan, base)) = writes.first() {
                    let what = describe(e);
                    self.error(*wspan, format!("`{base}` carries a derivative and is written inside {what}, which is not supported as a statement of a differentiated function: write the assignment as a statement of its own"));
                    return;
                }
                if self.is_active(e) {
                    let what = describe(e);
                    self.error(span, format!("{what} is not supported as a statement of a differentiated function: bind its value with `let`, or assign it"));
                } else if mentions(e, self.active) && matches!(e, Expr::MethodCall(_)) {
                    self.error(span, "a method call that may change an active value is not supported in a differentiated function: write the update as an assignment (`x[i] = ..`)");
                } else {
                    out.push(Stmt::Passive(self.sid(), q!(#e;)));
                }
            }
        }
    }

    pub(super) fn empty_block(&mut self) -> Block {
        Block {
            id: self.new_block(),
            stmts: Vec::new(),
            tail: None,
        }
    }

    pub(super) fn no_tail(&mut self, b: &Block, span: Span) {
        if b.tail.is_some() {
            self.error(span, "a loop body cannot end in a value");
        }
    }

    pub(super) fn lower_if_parts(&mut self, i: &syn::ExprIf) -> (TokenStream, Block, Block) {
        if let Expr::Let(l) = &*i.cond {
            self.error(
                l.span(),
                "`if let` is not supported in a differentiated function: use `match`",
            );
        }
        if self.is_active(&i.cond) {
            self.error(i.cond.span(), "a condition must be a bool");
        }
        let cond = i.cond.to_token_stream();
        let then = self.lower_block(&i.then_branch);
        let els = match &i.else_branch {
            None => self.empty_block(),
            Some((_, e)) => match &**e {
                Expr::Block(b) => self.lower_block(&b.block),
                Expr::If(inner) => {
                    // `else if`: a block holding one `if`.
                    let id = self.new_block();
                    self.block_stack.push(id);
                    let mut stmts = Vec::new();
                    let (c, t, e2) = self.lower_if_parts(inner);
                    let tail = if t.tail.is_some() {
                        // A value-producing `else if`: bind it and make it the tail.
                        let v =
                            self.temp(t.tail.as_ref().is_some_and(|o| op_scalar(o, &self.vars)));
                        stmts.push(Stmt::Let {
                            id: self.sid(),
                            var: v,
                            ty: None,
                            rhs: Rhs::If {
                                cond: c,
                                then: t,
                                els: e2,
                            },
                            span: inner.span(),
                        });
                        Some(Operand::Place(Place {
                            var: v,
                            proj: vec![],
                            span: inner.span(),
                            deref: false,
                        }))
                    } else {
                        stmts.push(Stmt::If {
                            id: self.sid(),
                            cond: c,
                            then: t,
                            els: e2,
                        });
                        None
                    };
                    self.block_stack.pop();
                    Block { id, stmts, tail }
                }
                other => {
                    self.error(other.span(), "unexpected `else` branch");
                    self.empty_block()
                }
            },
        };
        (cond, then, els)
    }

    pub(super) fn lower_match_parts(&mut self, m: &syn::ExprMatch) -> (TokenStream, Vec<Arm>) {
        if self.is_active(&m.expr) {
            self.error(m.expr.span(), "`match` on an active value is not supported: match on a passive value (an integer, a bool, an enum), or use `if` with comparisons");
        }
        let scrutinee = m.expr.to_token_stream();
        let mut arms = Vec::new();
        for arm in &m.arms {
            // The arm is its own scope: its pattern's bindings live in the arm's block.
            let id = self.new_block();
            self.block_stack.push(id);
            let mut names = Vec::new();
            crate::front::syntax::pat_bindings(&arm.pat, &mut names);
            for n in names {
                self.declare(&names::ident(&n, arm.pat.span()), false, ValueKind::Unknown);
            }
            let mut stmts = Vec::new();
            let tail = match &*arm.body {
                Expr::Block(b) if b.label.is_none() => {
                    let inner = self.lower_block(&b.block);
                    if inner.tail.is_some() {
                        let v = self.temp(
                            inner
                                .tail
                                .as_ref()
                                .is_some_and(|o| op_scalar(o, &self.vars)),
                        );
                        stmts.push(Stmt::Let {
                            id: self.sid(),
                            var: v,
                            ty: None,
                            rhs: Rhs::Block(inner),
                            span: b.span(),
                        });
                        Some(Operand::Place(Place {
                            var: v,
                            proj: vec![],
                            span: b.span(),
                            deref: false,
                        }))
                    } else {
                        stmts.push(Stmt::If {
                            id: self.sid(),
                            cond: q!(true),
                            then: inner,
                            els: self.empty_block(),
                        });
                        None
                    }
                }
                e if is_statement_like(e) => {
                    self.lower_expr_stmt(e, &mut stmts);
                    None
                }
                e => Some(self.lower_operand(e, &mut stmts)),
            };
            self.block_stack.pop();
            let pat = &arm.pat;
            let pat = match &arm.guard {
                Some((_, g)) => q!(#pat if #g),
                None => q!(#pat),
            };
            arms.push(Arm {
                pat,
                body: Block { id, stmts, tail },
            });
        }
        (scrutinee, arms)
    }
}
