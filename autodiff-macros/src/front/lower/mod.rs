//! Step 2: lower the (renamed) function body into the IR, checking what is supported.
//!
//! Input: `let y = x1 * x2 + x1.sin();`
//! Output: `let __t0 = x1 * x2; let __t1 = x1.sin(); let y = __t0 + __t1;`
//!
//! Active expressions are taken apart into one operation a binding; passive expressions are kept
//! whole as the user's tokens. Every construct the transformation does not support on an active
//! value is reported as a spanned error that says what to write instead; lowering goes on after an
//! error so that all of them are reported at once.

use std::collections::{HashMap, HashSet};

use autodiff_core::rules::Rule;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{BinOp as SynBinOp, Expr, Ident, Pat, Stmt as SynStmt, Type, UnOp};

use crate::front::activity::{PREDICATES, is_active, mentions, strip_pat_type};
use crate::ir::*;
use crate::names::{self, MacroArgs};

pub struct Lowerer<'a> {
    pub vars: Vec<Var>,
    by_name: HashMap<String, VarId>,
    active: &'a HashSet<String>,
    /// Names of the float types: `f32`, `f64` and the function's `F: Float` parameters.
    float_types: &'a [String],
    pub errors: Vec<syn::Error>,
    block_depth: Vec<usize>,
    loop_depth: usize,
    block_stack: Vec<BlockId>,
    temps: usize,
    /// The parameters with tangents and adjoints in the signatures.
    signature: Vec<VarId>,
    /// The function's type parameters (those that are not floats are passive types).
    type_params: &'a [String],
    /// Spellings for temporaries that no binding of the function has.
    fresh: names::Fresh,
    /// Labels of the loops around the current point (`None` for unlabelled).
    loops: Vec<Option<String>>,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        active: &'a HashSet<String>,
        float_types: &'a [String],
        type_params: &'a [String],
        fresh: names::Fresh,
    ) -> Self {
        Lowerer {
            fresh,
            type_params,
            signature: Vec::new(),
            vars: Vec::new(),
            by_name: HashMap::new(),
            active,
            float_types,
            errors: Vec::new(),
            block_depth: Vec::new(),
            loop_depth: 0,
            block_stack: Vec::new(),
            temps: 0,
            loops: Vec::new(),
        }
    }

    fn error(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, msg));
    }

    /// Declares a function parameter.
    pub fn add_param(
        &mut self,
        name: &Ident,
        ty: &Type,
        kind: ParamKind,
        scalar: bool,
        array: bool,
    ) -> VarId {
        let id = self.vars.len();
        let value_kind = self.type_kind(ty);
        let written_active = value_kind.differentiable() && self.active.contains(&name.to_string());
        if kind != ParamKind::Passive {
            self.signature.push(id);
        }
        self.vars.push(Var {
            name: name.clone(),
            active: kind != ParamKind::Passive || written_active,
            scalar,
            float_kind: value_kind.differentiable(),
            kind: value_kind,
            array,
            scope: None,
            param: Some(kind),
        });
        self.by_name.insert(name.to_string(), id);
        id
    }

    fn declare(&mut self, name: &Ident, scalar: bool, kind: ValueKind) -> VarId {
        let id = self.vars.len();
        let active = self.active.contains(&name.to_string());
        let kind = if active && kind == ValueKind::Unknown {
            ValueKind::Differentiable
        } else {
            kind
        };
        self.vars.push(Var {
            name: name.clone(),
            active,
            scalar,
            float_kind: kind.differentiable() || (active && scalar),
            kind,
            array: false,
            scope: self.block_stack.last().copied(),
            param: None,
        });
        self.by_name.insert(name.to_string(), id);
        id
    }

    fn temp(&mut self, scalar: bool) -> VarId {
        let (name, n) = self.fresh.next("__t", self.temps);
        let name = Ident::new(&name, Span::call_site());
        self.temps = n + 1;
        let id = self.vars.len();
        self.vars.push(Var {
            name,
            active: true,
            scalar,
            float_kind: scalar,
            kind: if scalar {
                ValueKind::Floats
            } else {
                ValueKind::Differentiable
            },
            array: false,
            scope: self.block_stack.last().copied(),
            param: None,
        });
        id
    }

    fn lookup(&self, name: &str) -> Option<VarId> {
        self.by_name.get(name).copied()
    }

    fn is_active(&self, e: &Expr) -> bool {
        is_active(e, self.active)
    }

    fn is_float_type(&self, ty: &Type) -> bool {
        match ty {
            Type::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.float_types.contains(&i.to_string())),
            Type::Paren(p) => self.is_float_type(&p.elem),
            _ => false,
        }
    }

    /// Lowers the function body.
    pub fn lower_body(&mut self, body: &syn::Block) -> Block {
        // Closures are rejected wherever they are: a call of a local closure would look like a
        // call of a function without derivative.
        struct Closures(Vec<Span>);
        impl<'ast> syn::visit::Visit<'ast> for Closures {
            fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
                self.0.push(c.span());
            }
        }
        let mut found = Closures(Vec::new());
        syn::visit::Visit::visit_block(&mut found, body);
        for span in found.0 {
            self.error(
                span,
                "closures are not supported in a differentiated function: write a named function \
                 instead (with `#[differentiate]`, or with hand-written `_jvp` and `_vjp`), or a `for` loop",
            );
        }
        for (span, msg) in exits_from_floats(body, self.active) {
            self.error(span, msg);
        }
        self.lower_block(body)
    }

    pub fn finish(mut self, params: Vec<VarId>, body: Block) -> (Func, Vec<syn::Error>) {
        // A binding used as an operand of float arithmetic or of a float method is a float.
        let mut scalars = Vec::new();
        crate::ir::visit_stmts(&body, &mut |s| {
            let mut mark = |op: &Operand| {
                if let Operand::Place(p) = op
                    && p.proj.is_empty()
                {
                    scalars.push(p.var);
                }
            };
            match s {
                Stmt::Let {
                    rhs: Rhs::Bin(_, a, b),
                    ..
                } => {
                    mark(a);
                    mark(b);
                }
                Stmt::Let {
                    rhs: Rhs::Neg(a), ..
                } => mark(a),
                Stmt::Let {
                    rhs: Rhs::Rule(rule, args),
                    ..
                } => {
                    for (a, (_, k)) in args.iter().zip(rule.args) {
                        if *k == "F" {
                            mark(a);
                        }
                    }
                }
                Stmt::AddAssign { place, value, .. } if op_scalar(value, &self.vars) => {
                    mark(&Operand::Place(place.clone()));
                }
                _ => {}
            }
        });
        for v in scalars {
            self.vars[v].scalar = true;
        }
        let num_blocks = self.block_depth.len();
        (
            Func {
                vars: self.vars,
                params,
                signature: self.signature,
                body,
                num_blocks,
                block_depth: self.block_depth,
            },
            self.errors,
        )
    }

    fn new_block(&mut self) -> BlockId {
        let id = self.block_depth.len();
        self.block_depth.push(self.loop_depth);
        id
    }

    fn lower_block(&mut self, b: &syn::Block) -> Block {
        let id = self.new_block();
        self.block_stack.push(id);
        let mut stmts = Vec::new();
        let mut tail = None;
        let n = b.stmts.len();
        for (k, s) in b.stmts.iter().enumerate() {
            match s {
                SynStmt::Expr(e, None) if k + 1 == n && !is_statement_like(e) => {
                    tail = Some(self.lower_operand(e, &mut stmts));
                }
                _ => self.lower_stmt(s, &mut stmts),
            }
        }
        self.block_stack.pop();
        Block { id, stmts, tail }
    }

    fn lower_stmt(&mut self, s: &SynStmt, out: &mut Vec<Stmt>) {
        match s {
            SynStmt::Local(l) => self.lower_local(l, out),
            SynStmt::Item(item) => out.push(Stmt::Passive(item.to_token_stream())),
            SynStmt::Expr(e, _) => self.lower_expr_stmt(e, out),
            SynStmt::Macro(m) => {
                let e = Expr::Macro(syn::ExprMacro {
                    attrs: m.attrs.clone(),
                    mac: m.mac.clone(),
                });
                if self.is_active(&e) {
                    self.error(m.span(), "write the computation as plain Rust (of the macros, only `vec![e; n]` is understood)");
                }
                out.push(Stmt::Passive(s.to_token_stream()));
            }
        }
    }

    fn lower_local(&mut self, l: &syn::Local, out: &mut Vec<Stmt>) {
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
                    let toks = init.expr.to_token_stream();
                    let id = self.declare(name, ty_scalar || float_kind && is_literal(&init.expr), kind);
                    self.vars[id].array = is_array;
                    out.push(Stmt::Let {
                        var: id,
                        ty,
                        rhs: Rhs::Operand(Operand::Const { tokens: toks, float: float_kind }),
                        span,
                    });
                    return;
                }
                let rhs = self.lower_rhs(&init.expr, out);
                let scalar = ty_scalar || rhs_scalar(&rhs, &self.vars);
                let kind = if scalar { ValueKind::Floats } else { ValueKind::Differentiable };
                let id = self.declare(name, scalar, kind);
                self.vars[id].array = is_array;
                out.push(Stmt::Let { var: id, ty, rhs, span });
            }
            Pat::Wild(_) => {
                if self.is_active(&init.expr) {
                    let _ = self.lower_rhs(&init.expr, out);
                } else {
                    out.push(Stmt::Passive(l.to_token_stream()));
                }
            }
            Pat::Tuple(pt) => {
                if !self.is_active(&init.expr) && !pat_has_active(pat, self.active) {
                    // A passive destructuring: keep it, but know its bindings, and what each
                    // is where the pattern's type or the tuple written says so.
                    out.push(Stmt::Passive(l.to_token_stream()));
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
                        crate::front::activity::pat_bindings(p, &mut names);
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
                let parts: Vec<Operand> = match &*init.expr {
                    Expr::Tuple(et) if et.elems.len() == elems.len() => {
                        et.elems.iter().map(|e| self.lower_operand(e, out)).collect()
                    }
                    e => {
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
                            out.push(Stmt::Let { var: id, ty: None, rhs: Rhs::Operand(op), span });
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

    fn lower_expr_stmt(&mut self, e: &Expr, out: &mut Vec<Stmt>) {
        let span = e.span();
        match e {
            Expr::Assign(a) => {
                let Some(place) = self.lower_place(&a.left) else {
                    self.error(a.left.span(), "only a variable, an indexed element or a field can be assigned in a differentiated function");
                    return;
                };
                let value = self.lower_operand(&a.right, out);
                out.push(Stmt::Assign { place, value, span });
            }
            Expr::Binary(b)
                if matches!(
                    b.op,
                    SynBinOp::AddAssign(_)
                        | SynBinOp::SubAssign(_)
                        | SynBinOp::MulAssign(_)
                        | SynBinOp::DivAssign(_)
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
                            place,
                            value,
                            sub,
                            span,
                        });
                    }
                    _ => {
                        let op = if matches!(b.op, SynBinOp::MulAssign(_)) {
                            BinOp::Mul
                        } else {
                            BinOp::Div
                        };
                        if base_active {
                            let t = self.temp(true);
                            out.push(Stmt::Let {
                                var: t,
                                ty: None,
                                rhs: Rhs::Bin(op, Operand::Place(place.clone()), value),
                                span,
                            });
                            let tp = Place {
                                var: t,
                                proj: vec![],
                                span,
                                deref: false,
                            };
                            out.push(Stmt::Assign {
                                place,
                                value: Operand::Place(tp),
                                span,
                            });
                        } else {
                            let (l, r) = (&b.left, &b.right);
                            let tokens = if op == BinOp::Mul {
                                q!(#l * #r)
                            } else {
                                q!(#l / #r)
                            };
                            out.push(Stmt::Assign {
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
                out.push(Stmt::If { cond, then, els });
            }
            Expr::Match(m) => {
                let (scrutinee, arms) = self.lower_match_parts(m);
                out.push(Stmt::Match { scrutinee, arms });
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
                self.loops.push(label.as_ref().map(|l| l.ident.to_string()));
                self.loop_depth += 1;
                let body = self.lower_block(&w.body);
                self.loop_depth -= 1;
                self.loops.pop();
                self.no_tail(&body, w.body.span());
                out.push(Stmt::While {
                    cond,
                    body,
                    label,
                    exit: None,
                });
            }
            Expr::Loop(l) => {
                let label = l.label.as_ref().map(|l| l.name.clone());
                self.loops.push(label.as_ref().map(|l| l.ident.to_string()));
                self.loop_depth += 1;
                let body = self.lower_block(&l.body);
                self.loop_depth -= 1;
                self.loops.pop();
                self.no_tail(&body, l.body.span());
                out.push(Stmt::Loop {
                    body,
                    label,
                    exit: None,
                });
            }
            Expr::Break(b) => {
                if let Some(v) = &b.expr {
                    self.error(v.span(), "`break` with a value is not supported in a differentiated function: assign the value to a variable declared before the loop, then `break`");
                }
                if self.loops.is_empty() {
                    self.error(span, "`break` outside of a loop");
                }
                out.push(Stmt::Break {
                    label: b.label.clone(),
                    span,
                });
            }
            Expr::Continue(c) => out.push(Stmt::Continue {
                label: c.label.clone(),
                span,
            }),
            Expr::Return(r) => {
                let value = match &r.expr {
                    Some(v) => self.lower_operand(v, out),
                    None => {
                        self.error(
                            span,
                            "a differentiated function returns a value: write `return value;`",
                        );
                        return;
                    }
                };
                out.push(Stmt::Return { value, span });
            }
            Expr::Block(b) if b.label.is_none() => {
                let block = self.lower_block(&b.block);
                // A nested block is an `if true { .. }` without the branch: keep it a scope.
                out.push(Stmt::If {
                    cond: q!(true),
                    then: block,
                    els: self.empty_block(),
                });
            }
            // Reported by `exits_from_floats`.
            Expr::Unsafe(_) => {}
            _ => {
                if self.is_active(e) {
                    let what = describe(e);
                    self.error(span, format!("{what} is not supported as a statement of a differentiated function: bind its value with `let`, or assign it"));
                } else if mentions(e, self.active) && matches!(e, Expr::MethodCall(_)) {
                    self.error(span, "a method call that may change an active value is not supported in a differentiated function: write the update as an assignment (`x[i] = ..`)");
                } else {
                    out.push(Stmt::Passive(q!(#e;)));
                }
            }
        }
    }

    fn empty_block(&mut self) -> Block {
        Block {
            id: self.new_block(),
            stmts: Vec::new(),
            tail: None,
        }
    }

    fn no_tail(&mut self, b: &Block, span: Span) {
        if b.tail.is_some() {
            self.error(span, "a loop body cannot end in a value");
        }
    }

    fn lower_if_parts(&mut self, i: &syn::ExprIf) -> (TokenStream, Block, Block) {
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

    fn lower_match_parts(&mut self, m: &syn::ExprMatch) -> (TokenStream, Vec<Arm>) {
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
            crate::front::activity::pat_bindings(&arm.pat, &mut names);
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

    fn lower_for(&mut self, f: &syn::ExprForLoop, out: &mut Vec<Stmt>) {
        let label = f.label.as_ref().map(|l| l.name.clone());
        // Over active collections, and over passive ones with patterns a plain `for` of the
        // subset does not take (`&x`, `(i, x)`): the index loop.
        // Over active collections, over passive ones with patterns a plain `for` of the subset
        // does not take (`&x`, `(i, x)`), and over `xs.iter()`-like passive ones (a range loop
        // that the reverse sweep runs backwards, instead of taping the items): the index loop.
        if let Some(lp) = crate::front::activity::IterLoop::parse(&f.pat, &f.expr)
            && (lp.elems.iter().any(|(_, src, _)| self.is_active(src))
                || !matches!(strip_pat_type(&f.pat), Pat::Ident(_) | Pat::Wild(_))
                || lp
                    .elems
                    .iter()
                    .all(|(_, _, items)| *items != crate::front::activity::Items::Value))
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
        self.loops.push(label.as_ref().map(|l| l.ident.to_string()));
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
        self.finish_for(f, (var, iter, label), (id, stmts), out);
    }

    /// `for x in xs.iter()` and its kin (`activity::IterLoop`) over an active collection, as the
    /// index loop a hand rewrite gives.
    ///
    /// Input: `for (i, &x) in xs.iter().enumerate() { body }`
    /// Output: `for __i0 in 0..xs.len() { let i = __i0; let x = xs[__i0]; body }`
    fn lower_index_loop(
        &mut self,
        f: &syn::ExprForLoop,
        lp: &crate::front::activity::IterLoop,
        label: Option<syn::Lifetime>,
        out: &mut Vec<Stmt>,
    ) {
        let (k, _) = self.fresh.next("__i", 0);
        let k = Ident::new(&k, Span::call_site());
        let lens: Vec<TokenStream> = lp
            .elems
            .iter()
            .map(|(_, src, _)| {
                let src = strip_parens(src);
                q!(#src.len())
            })
            .collect();
        let len = match lens.as_slice() {
            [a] => a.clone(),
            [a, b] => q!(::core::cmp::min(#a, #b)),
            _ => unreachable!("one or two collections"),
        };
        let iter_tokens = q!(0..#len);
        let reads = self.mentioned_vars(&f.expr);
        let iter = ForIter {
            tokens: iter_tokens,
            reversible: true,
            reads,
        };
        self.loops.push(label.as_ref().map(|l| l.ident.to_string()));
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
                var: iv,
                ty: None,
                rhs: Rhs::Operand(Operand::Const {
                    tokens: q!(#k),
                    float: false,
                }),
                span,
            });
        }
        for (pat, src, items) in &lp.elems {
            let Some(Some(pi)) = crate::front::activity::element_pat(pat) else {
                continue;
            };
            // `&x` takes the item's value; a plain `x` keeps what the iterator yields.
            let by_ref_pat = matches!(strip_pat_type(pat), Pat::Reference(_));
            let src = strip_parens(src);
            if self.is_active(src) {
                let Some(mut place) = self.lower_place(src) else {
                    self.error(src.span(), "iterate over a variable, a field or an element (`xs.iter()`, `p.w.iter()`)");
                    continue;
                };
                place.deref = false;
                place.proj.push(Proj::Index(q!(#k)));
                let scalar = self.vars[place.var].scalar;
                let v = self.declare(&pi.ident, false, ValueKind::Differentiable);
                let _ = scalar;
                stmts.push(Stmt::Let {
                    var: v,
                    ty: None,
                    rhs: Rhs::Operand(Operand::Place(place)),
                    span,
                });
            } else {
                let kind = self.value_kind(src).element();
                let v = self.declare(&pi.ident, false, kind);
                let tokens = match (items, by_ref_pat) {
                    (crate::front::activity::Items::Ref, false) => q!(&#src[#k]),
                    (crate::front::activity::Items::Clone, _) => {
                        q!(::core::clone::Clone::clone(&#src[#k]))
                    }
                    _ => q!(#src[#k]),
                };
                stmts.push(Stmt::Let {
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
        self.finish_for(f, (var, iter, label), (id, stmts), out);
    }

    /// Lowers a `for` body after `stmts` (the statements binding its items), closes the loop's
    /// scope and pushes the loop.
    fn finish_for(
        &mut self,
        f: &syn::ExprForLoop,
        (var, iter, label): (VarId, ForIter, Option<syn::Lifetime>),
        (id, mut stmts): (BlockId, Vec<Stmt>),
        out: &mut Vec<Stmt>,
    ) {
        for s in &f.body.stmts {
            self.lower_stmt(s, &mut stmts);
        }
        self.block_stack.pop();
        self.loop_depth -= 1;
        self.loops.pop();
        out.push(Stmt::For {
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

    fn mentioned_vars(&self, e: &Expr) -> Vec<VarId> {
        struct V<'b> {
            by_name: &'b HashMap<String, VarId>,
            found: Vec<VarId>,
        }
        impl<'ast> syn::visit::Visit<'ast> for V<'_> {
            fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                if let Some(i) = p.path.get_ident()
                    && let Some(&id) = self.by_name.get(&i.to_string())
                {
                    self.found.push(id);
                }
            }
        }
        let mut v = V {
            by_name: &self.by_name,
            found: Vec::new(),
        };
        syn::visit::Visit::visit_expr(&mut v, e);
        v.found
    }

    /// Lowers a place expression (`x`, `x[i]`, `p.w[o][c]`).
    fn lower_place(&mut self, e: &Expr) -> Option<Place> {
        match e {
            Expr::Path(p) => {
                let id = p
                    .path
                    .get_ident()
                    .and_then(|i| self.lookup(&i.to_string()))?;
                Some(Place {
                    var: id,
                    proj: Vec::new(),
                    span: e.span(),
                    deref: false,
                })
            }
            Expr::Paren(p) => self.lower_place(&p.expr),
            Expr::Index(i) => {
                let mut base = self.lower_place(&i.expr)?;
                if self.is_active(&i.index) {
                    self.error(i.index.span(), "an index must be an integer");
                }
                base.proj.push(Proj::Index(i.index.to_token_stream()));
                base.span = e.span();
                Some(base)
            }
            Expr::Field(f) => {
                let mut base = self.lower_place(&f.base)?;
                base.proj.push(Proj::Field(f.member.clone()));
                base.span = e.span();
                Some(base)
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => {
                let mut p = self.lower_place(&u.expr)?;
                if p.proj.is_empty() && self.vars[p.var].param == Some(ParamKind::Ref) {
                    p.deref = true;
                }
                Some(p)
            }
            _ => None,
        }
    }

    /// Lowers an expression to an operand, binding its operations to temporaries in `out`.
    fn lower_operand(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
        if !self.is_active(e) {
            return Operand::Const {
                tokens: e.to_token_stream(),
                float: self.float_kind(e),
            };
        }
        match e {
            Expr::Paren(p) => return self.lower_operand(&p.expr, out),
            Expr::Group(g) => return self.lower_operand(&g.expr, out),
            Expr::Path(_) | Expr::Index(_) | Expr::Field(_) => {
                if let Some(p) = self.lower_place(e) {
                    return Operand::Place(p);
                }
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => {
                if let Some(p) = self.lower_place(e) {
                    return Operand::Place(p);
                }
            }
            _ => {}
        }
        let span = e.span();
        let rhs = self.lower_rhs(e, out);
        let scalar = rhs_scalar(&rhs, &self.vars);
        let t = self.temp(scalar);
        out.push(Stmt::Let {
            var: t,
            ty: None,
            rhs,
            span,
        });
        Operand::Place(Place {
            var: t,
            proj: Vec::new(),
            span,
            deref: false,
        })
    }

    /// Lowers an active expression to the right-hand side of a `let`.
    fn lower_rhs(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Rhs {
        if !self.is_active(e) {
            return Rhs::Operand(Operand::Const {
                tokens: e.to_token_stream(),
                float: self.float_kind(e),
            });
        }
        match e {
            Expr::Paren(p) => self.lower_rhs(&p.expr, out),
            Expr::Group(g) => self.lower_rhs(&g.expr, out),
            Expr::Path(_) | Expr::Index(_) | Expr::Field(_) => match self.lower_place(e) {
                Some(p) => Rhs::Operand(Operand::Place(p)),
                None => {
                    self.error(
                        e.span(),
                        format!(
                            "{} is not supported in a differentiated function",
                            describe(e)
                        ),
                    );
                    Rhs::Operand(Operand::Const {
                        tokens: e.to_token_stream(),
                        float: false,
                    })
                }
            },
            Expr::Binary(b) => {
                let op = match b.op {
                    SynBinOp::Add(_) => BinOp::Add,
                    SynBinOp::Sub(_) => BinOp::Sub,
                    SynBinOp::Mul(_) => BinOp::Mul,
                    SynBinOp::Div(_) => BinOp::Div,
                    _ => {
                        self.error(b.op.span(), "this operator has no derivative rule: the supported operators on active values are `+ - * /` and unary `-`");
                        return Rhs::Operand(Operand::Const {
                            tokens: e.to_token_stream(),
                            float: true,
                        });
                    }
                };
                let l = self.lower_operand(&b.left, out);
                let r = self.lower_operand(&b.right, out);
                Rhs::Bin(op, l, r)
            }
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => Rhs::Neg(self.lower_operand(&u.expr, out)),
                UnOp::Deref(_) => match self.lower_place(e) {
                    Some(p) => Rhs::Operand(Operand::Place(p)),
                    None => Rhs::Operand(self.lower_operand(&u.expr, out)),
                },
                _ => {
                    self.error(
                        u.span(),
                        "this operator is not supported on an active value",
                    );
                    Rhs::Operand(Operand::Const {
                        tokens: e.to_token_stream(),
                        float: false,
                    })
                }
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                const ITERATORS: &[&str] = &[
                    "iter",
                    "into_iter",
                    "iter_mut",
                    "map",
                    "sum",
                    "product",
                    "fold",
                    "zip",
                    "enumerate",
                    "filter",
                    "collect",
                    "for_each",
                    "reduce",
                    "copied",
                    "cloned",
                    "rev",
                    "skip",
                    "take",
                ];
                if ITERATORS.contains(&name.as_str()) {
                    self.error(
                        m.span(),
                        format!(
                            "iterator chains (`.{name}()`) are not supported on active values: write a `for` loop over \
                             indices, e.g. `let mut s = 0.0; for i in 0..x.len() {{ s += x[i] * x[i]; }}`"
                        ),
                    );
                    return Rhs::Operand(Operand::Const {
                        tokens: e.to_token_stream(),
                        float: true,
                    });
                }
                if name == "sin_cos" && m.args.is_empty() {
                    // `(x.sin(), x.cos())`: two rows of the table on one operand.
                    let x = self.lower_operand(&m.receiver, out);
                    let span = m.span();
                    let parts = ["sin", "cos"].map(|r| {
                        let rule = Rule::find(r).expect("sin and cos are rules");
                        let t = self.temp(true);
                        out.push(Stmt::Let {
                            var: t,
                            ty: None,
                            rhs: Rhs::Rule(rule, vec![x.clone()]),
                            span,
                        });
                        Operand::Place(Place {
                            var: t,
                            proj: Vec::new(),
                            span,
                            deref: false,
                        })
                    });
                    return Rhs::Tuple(parts.to_vec());
                }
                let Some(rule) = Rule::find(&name) else {
                    self.error(
                        m.method.span(),
                        format!(
                            "method `{name}` has no derivative rule: the float methods with rules are {}; \
                             for another function, call a function `g` for which you write `g_jvp` and `g_vjp` by hand",
                            rule_names()
                        ),
                    );
                    return Rhs::Operand(Operand::Const {
                        tokens: e.to_token_stream(),
                        float: true,
                    });
                };
                if m.turbofish.is_some() {
                    self.error(m.span(), "a turbofish on a float method is not supported");
                }
                let mut all: Vec<&Expr> = vec![&m.receiver];
                all.extend(m.args.iter());
                self.lower_rule(rule, &all, m.span(), out)
            }
            Expr::Call(c) => self.lower_call(c, out),
            Expr::Array(a) => {
                Rhs::Array(a.elems.iter().map(|e| self.lower_operand(e, out)).collect())
            }
            Expr::Repeat(r) => Rhs::Repeat {
                elem: self.lower_operand(&r.expr, out),
                len: r.len.to_token_stream(),
                vec: false,
            },
            Expr::Tuple(t) => {
                Rhs::Tuple(t.elems.iter().map(|e| self.lower_operand(e, out)).collect())
            }
            Expr::Struct(st) if st.qself.is_none() => {
                let fields: Vec<syn::Member> = st.fields.iter().map(|f| f.member.clone()).collect();
                let mut args: Vec<Operand> = st
                    .fields
                    .iter()
                    .map(|f| self.lower_operand(&f.expr, out))
                    .collect();
                if let Some(r) = &st.rest {
                    args.push(self.lower_operand(r, out));
                }
                Rhs::Struct {
                    path: st.path.to_token_stream(),
                    fields,
                    args,
                    rest: st.rest.is_some(),
                }
            }
            Expr::Macro(m) if m.mac.path.is_ident("vec") => match MacroArgs::parse(&m.mac.tokens) {
                Some(MacroArgs::Repeat(e, n)) => Rhs::Repeat {
                    elem: self.lower_operand(&e, out),
                    len: n.to_token_stream(),
                    vec: true,
                },
                _ => {
                    self.error(m.span(), "only `vec![value; n]` is supported for active values: build the vector with `vec![0.0; n]` and assign its elements");
                    Rhs::Operand(Operand::Const {
                        tokens: e.to_token_stream(),
                        float: false,
                    })
                }
            },
            Expr::If(i) => {
                let (cond, then, els) = self.lower_if_parts(i);
                if then.tail.is_none() || els.tail.is_none() {
                    self.error(
                        i.span(),
                        "an `if` used as a value needs an `else` and a value in both branches",
                    );
                }
                Rhs::If { cond, then, els }
            }
            Expr::Match(m) => {
                let (scrutinee, arms) = self.lower_match_parts(m);
                if arms.iter().any(|a| a.body.tail.is_none()) {
                    self.error(
                        m.span(),
                        "a `match` used as a value needs a value in every arm",
                    );
                }
                Rhs::Match { scrutinee, arms }
            }
            Expr::Block(b) if b.label.is_none() => {
                let block = self.lower_block(&b.block);
                Rhs::Block(block)
            }
            Expr::Closure(_) => Rhs::Operand(Operand::Const {
                tokens: e.to_token_stream(),
                float: false,
            }),
            // Reported by `exits_from_floats`.
            Expr::Unsafe(_) => Rhs::Operand(Operand::Const {
                tokens: e.to_token_stream(),
                float: false,
            }),
            other => {
                let what = describe(other);
                let hint = match other {
                    Expr::Closure(_) => {
                        "write a named function instead (with `#[differentiate]`, or with hand-written `_jvp` and `_vjp` for a custom derivative)"
                    }
                    Expr::Unsafe(_) => {
                        "move the unsafe code into a function with hand-written `_jvp` and `_vjp`"
                    }
                    Expr::Cast(_) => {
                        "casts are allowed on integers (constants); for a passive copy of a float, use `stop_gradient(x)`; a raw pointer cannot carry a derivative"
                    }
                    Expr::Reference(_) => {
                        "a reference to an active value can only be passed to a call (`g(&x)`)"
                    }
                    Expr::Macro(_) => {
                        "write the computation as plain Rust (of the macros, only `vec![e; n]` is understood)"
                    }
                    _ => {
                        "rewrite it with `let`, arithmetic, float methods, indexing and calls to differentiable functions"
                    }
                };
                self.error(other.span(), format!("{what} on an active value is not supported in a differentiated function: {hint}"));
                Rhs::Operand(Operand::Const {
                    tokens: e.to_token_stream(),
                    float: false,
                })
            }
        }
    }

    fn lower_rule(
        &mut self,
        rule: &'static Rule,
        args: &[&Expr],
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Rhs {
        if args.len() != rule.args.len() {
            self.error(
                span,
                format!(
                    "`{}` takes {} argument(s) besides the receiver",
                    rule.name,
                    rule.args.len() - 1
                ),
            );
            return Rhs::Operand(Operand::Const {
                tokens: q!(),
                float: true,
            });
        }
        let ops = args
            .iter()
            .zip(rule.args)
            .map(|(a, (_, kind))| {
                if *kind == "F" {
                    self.lower_operand(a, out)
                } else {
                    Operand::Const {
                        tokens: a.to_token_stream(),
                        float: false,
                    }
                }
            })
            .collect();
        Rhs::Rule(rule, ops)
    }

    fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Vec<Stmt>) -> Rhs {
        let Expr::Path(path) = &*c.func else {
            self.error(c.func.span(), "only calls of named functions are supported in a differentiated function (`g(x)` or `module::g(x)`)");
            return Rhs::Operand(Operand::Const {
                tokens: c.to_token_stream(),
                float: false,
            });
        };
        let segs: Vec<String> = path
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        // `f64::sin(x)`, `F::sin(x)`, `Float::sin(x)`: a method of the rule table.
        if segs.len() == 2 && (self.float_types.contains(&segs[0]) || segs[0] == "Float") {
            if let Some(rule) = Rule::find(&segs[1]) {
                let args: Vec<&Expr> = c.args.iter().collect();
                return self.lower_rule(rule, &args, c.span(), out);
            }
            self.error(
                path.span(),
                format!(
                    "`{}::{}` has no derivative rule: the float functions with rules are {}",
                    segs[0],
                    segs[1],
                    rule_names()
                ),
            );
        }
        if path.qself.is_some()
            && let Some(rule) = segs.last().and_then(|s| Rule::find(s))
        {
            let args: Vec<&Expr> = c.args.iter().collect();
            return self.lower_rule(rule, &args, c.span(), out);
        }
        let args = c
            .args
            .iter()
            .map(|a| match a {
                Expr::Reference(r) if r.mutability.is_none() => Arg { op: self.lower_operand(&r.expr, out), by_ref: true },
                Expr::Reference(r) => {
                    self.error(r.span(), "`&mut` arguments are not supported in a differentiated function: return the new value instead");
                    Arg { op: Operand::Const { tokens: q!(), float: false }, by_ref: false }
                }
                _ => Arg { op: self.lower_operand(a, out), by_ref: false },
            })
            .collect();
        for a in &c.args {
            let e = match a {
                Expr::Reference(r) => &*r.expr,
                e => e,
            };
            if !self.is_active(e) && self.value_kind(e) == ValueKind::Unknown {
                let callee = path.to_token_stream().to_string().replace(' ', "");
                self.error(
                    e.span(),
                    format!("cannot tell whether this argument of `{callee}` is a float (a call passes floats a zero tangent) or not (integers get none): bind it to a name with its type first (`let v: f64 = ..;` or `let n: usize = ..;`) and pass that"),
                );
            }
        }
        Rhs::Call {
            path: path.clone(),
            args,
        }
    }

    /// Is this passive expression a float (so that a call passes it a zero tangent)?
    fn float_kind(&self, e: &Expr) -> bool {
        self.value_kind(e).differentiable()
    }

    /// What a type is: floats, a `Differentiable` struct, or something without derivatives.
    pub fn type_kind(&self, ty: &Type) -> ValueKind {
        use ValueKind::*;
        match ty {
            _ if self.is_float_type(ty) => Floats,
            _ if crate::front::activity::is_passive_type(ty) => Other,
            Type::Reference(r) => self.type_kind(&r.elem),
            Type::Array(a) => self.type_kind(&a.elem),
            Type::Slice(a) => self.type_kind(&a.elem),
            Type::Paren(p) => self.type_kind(&p.elem),
            Type::Tuple(t) if t.elems.is_empty() => Other,
            Type::Tuple(t) => {
                let kinds: Vec<ValueKind> = t.elems.iter().map(|e| self.type_kind(e)).collect();
                if kinds.iter().all(|k| *k == Floats) {
                    Floats
                } else if kinds.iter().all(|k| *k == Other) {
                    Other
                } else {
                    Unknown
                }
            }
            Type::Path(p) => {
                let Some(last) = p.path.segments.last() else {
                    return Unknown;
                };
                if (last.ident == "Vec" || last.ident == "Box")
                    && let syn::PathArguments::AngleBracketed(a) = &last.arguments
                    && let Some(syn::GenericArgument::Type(t)) = a.args.first()
                {
                    return self.type_kind(t);
                }
                if p.path
                    .get_ident()
                    .is_some_and(|i| self.type_params.contains(&i.to_string()))
                {
                    // A type parameter that is not a float: passive.
                    return Other;
                }
                Differentiable
            }
            _ => Unknown,
        }
    }

    /// What a passive expression is, as far as the source shows.
    pub fn value_kind(&self, e: &Expr) -> ValueKind {
        use ValueKind::*;
        match e {
            Expr::Lit(l) => match &l.lit {
                syn::Lit::Float(_) => Floats,
                syn::Lit::Int(i) if i.suffix() == "f32" || i.suffix() == "f64" => Floats,
                _ => Other,
            },
            Expr::Cast(c) => self.type_kind(&c.ty),
            Expr::Paren(p) => self.value_kind(&p.expr),
            Expr::Group(g) => self.value_kind(&g.expr),
            Expr::Reference(r) => self.value_kind(&r.expr),
            Expr::Unary(u) => match u.op {
                UnOp::Not(_) => Other,
                _ => self.value_kind(&u.expr),
            },
            Expr::Binary(b) => match b.op {
                SynBinOp::Add(_)
                | SynBinOp::Sub(_)
                | SynBinOp::Mul(_)
                | SynBinOp::Div(_)
                | SynBinOp::Rem(_) => self.value_kind(&b.left).join(self.value_kind(&b.right)),
                // Comparisons, `&&`, `||`, bit operations (on integers).
                _ => Other,
            },
            Expr::Path(p) => {
                if let Some(i) = p.path.get_ident() {
                    return self
                        .lookup(&i.to_string())
                        .map_or(Unknown, |id| self.vars[id].kind);
                }
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                // `f64::consts::PI`, `core::f64::consts::E`, `f64::EPSILON`, `usize::MAX`, ...
                if segs.iter().any(|s| s == "consts") || self.float_types.contains(&segs[0]) {
                    return Floats;
                }
                let first: Type = match syn::parse_str(&segs[0]) {
                    Ok(t) => t,
                    Err(_) => return Unknown,
                };
                if crate::front::activity::is_passive_type(&first) {
                    Other
                } else {
                    Unknown
                }
            }
            Expr::Index(i) => self.value_kind(&i.expr).element(),
            Expr::Field(f) => match (self.value_kind(&f.base), &f.member) {
                // A tuple of floats.
                (Floats, syn::Member::Unnamed(_)) => Floats,
                // Every field of a `Differentiable` struct carries derivatives.
                (Differentiable, _) => Differentiable,
                _ if self.is_active(&f.base) => Differentiable,
                _ => Unknown,
            },
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs: Vec<String> = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect();
                    if segs.len() == 2 && self.float_types.contains(&segs[0]) {
                        Floats
                    } else if segs.last().is_some_and(|s| s == "stop_gradient") {
                        c.args.first().map_or(Unknown, |a| self.value_kind(a))
                    } else if c.args.iter().any(|a| self.is_active(a)) {
                        // A call of a differentiable function: its value carries derivatives.
                        Differentiable
                    } else if p.path.segments.last().is_some_and(|s| {
                        s.arguments.to_token_stream().into_iter().any(|t| {
                            matches!(&t, proc_macro2::TokenTree::Ident(i) if self.float_types.contains(&i.to_string()))
                        })
                    }) {
                        // `g::<F>(..)`, generic over the float type: a function of floats.
                        Differentiable
                    } else {
                        Unknown
                    }
                }
                _ => Unknown,
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                match name.as_str() {
                    "unwrap" | "expect" | "clone" | "to_owned" | "to_vec" => {
                        self.value_kind(&m.receiver)
                    }
                    "len" | "count" => Other,
                    // Methods of integers too: the receiver decides.
                    "abs" | "max" | "min" | "signum" | "clamp" | "pow" => {
                        self.value_kind(&m.receiver)
                    }
                    _ if PREDICATES.contains(&name.as_str()) => Other,
                    _ if Rule::find(&name).is_some() => Floats,
                    _ => Unknown,
                }
            }
            Expr::Array(a) => a
                .elems
                .iter()
                .map(|e| self.value_kind(e))
                .reduce(ValueKind::join)
                .unwrap_or(Unknown),
            Expr::Repeat(r) => self.value_kind(&r.expr),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                match crate::names::MacroArgs::parse(&m.mac.tokens) {
                    Some(crate::names::MacroArgs::Repeat(e, _)) => self.value_kind(&e),
                    Some(crate::names::MacroArgs::List(l)) => l
                        .iter()
                        .map(|e| self.value_kind(e))
                        .reduce(ValueKind::join)
                        .unwrap_or(Unknown),
                    None => Unknown,
                }
            }
            Expr::Tuple(t) if t.elems.is_empty() => Other,
            Expr::Tuple(t) => {
                let kinds: Vec<ValueKind> = t.elems.iter().map(|e| self.value_kind(e)).collect();
                if kinds.iter().all(|k| *k == Floats) {
                    Floats
                } else if kinds.iter().all(|k| *k == Other) {
                    Other
                } else {
                    Unknown
                }
            }
            Expr::If(i) => {
                let tail = |b: &syn::Block| match b.stmts.last() {
                    Some(syn::Stmt::Expr(e, None)) => self.value_kind(e),
                    _ => Unknown,
                };
                let same = |a: ValueKind, b: ValueKind| {
                    if a == b {
                        a
                    } else if a.differentiable() && b.differentiable() {
                        Differentiable
                    } else {
                        Unknown
                    }
                };
                match &i.else_branch {
                    Some((_, els)) => match &**els {
                        Expr::Block(b) => same(tail(&i.then_branch), tail(&b.block)),
                        other => same(tail(&i.then_branch), self.value_kind(other)),
                    },
                    None => Other,
                }
            }
            // The arms' values decide, as for `if`.
            Expr::Match(m) => m
                .arms
                .iter()
                .map(|a| self.value_kind(&a.body))
                .reduce(|a, b| {
                    if a == b {
                        a
                    } else if a.differentiable() && b.differentiable() {
                        Differentiable
                    } else {
                        Unknown
                    }
                })
                .unwrap_or(Unknown),
            Expr::Block(b) if b.label.is_none() => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => self.value_kind(e),
                _ => Unknown,
            },
            _ => Unknown,
        }
    }
}

/// Where the body takes an active value out of the floats, with the message for each: `unsafe`
/// blocks (anywhere: what they do to a float cannot be seen), casts of active values to
/// integers, `to_bits` and the like, and formatting macros reading active names (`{x}`).
fn exits_from_floats(body: &syn::Block, active: &HashSet<String>) -> Vec<(Span, String)> {
    struct V<'a> {
        active: &'a HashSet<String>,
        out: Vec<(Span, String)>,
    }
    impl<'ast> syn::visit::Visit<'ast> for V<'_> {
        fn visit_expr_unsafe(&mut self, u: &'ast syn::ExprUnsafe) {
            self.out.push((u.unsafe_token.span, "`unsafe` blocks are not supported in a differentiated function (what they do to a float cannot be differentiated): move the unsafe code into a function with hand-written `_jvp` and `_vjp`".into()));
            syn::visit::visit_expr_unsafe(self, u);
        }
        fn visit_expr_cast(&mut self, c: &'ast syn::ExprCast) {
            if crate::front::activity::is_passive_type(&c.ty) && is_active(&c.expr, self.active) {
                let ty = c.ty.to_token_stream().to_string();
                self.out.push((c.span(), format!("casting an active float to `{ty}` drops its derivative: if the integer is meant to carry none, say so with `stop_gradient(..) as {ty}`")));
            }
            syn::visit::visit_expr_cast(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            let name = m.method.to_string();
            if crate::front::activity::EXITS.contains(&name.as_str())
                && is_active(&m.receiver, self.active)
            {
                self.out.push((m.method.span(), format!("`{name}` takes an active float out of the floats, which drops its derivative: if that is meant, say so with `stop_gradient(..).{name}()`")));
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            if let Some(name) = crate::front::activity::format_captures(&m.tokens)
                .into_iter()
                .find(|n| self.active.contains(n))
            {
                self.out.push((m.span(), format!("this macro formats the active value `{name}`: a differentiated function cannot compute with its text; print it outside, or pass `stop_gradient({name})` as the macro's argument")));
            }
        }
    }
    let mut v = V {
        active,
        out: Vec::new(),
    };
    syn::visit::Visit::visit_block(&mut v, body);
    v.out
}

fn rule_names() -> String {
    autodiff_core::rules::RULES
        .iter()
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) => true,
        Expr::Unary(u) => is_literal(&u.expr),
        Expr::Paren(p) => is_literal(&p.expr),
        _ => false,
    }
}

fn pat_has_active(p: &Pat, active: &HashSet<String>) -> bool {
    let mut names = Vec::new();
    crate::front::activity::pat_bindings(p, &mut names);
    names.iter().any(|n| active.contains(n))
}

/// Control-flow expressions that are statements even without a trailing `;`.
fn is_statement_like(e: &Expr) -> bool {
    matches!(
        e,
        Expr::ForLoop(_)
            | Expr::While(_)
            | Expr::Loop(_)
            | Expr::Assign(_)
            | Expr::Return(_)
            | Expr::Break(_)
            | Expr::Continue(_)
    ) || matches!(e, Expr::Binary(b) if matches!(b.op, SynBinOp::AddAssign(_) | SynBinOp::SubAssign(_) | SynBinOp::MulAssign(_) | SynBinOp::DivAssign(_)))
        || matches!(e, Expr::If(i) if i.else_branch.is_none() || !block_has_value(&i.then_branch))
        || matches!(e, Expr::Match(m) if m.arms.iter().all(|a| !expr_has_value(&a.body)))
        || matches!(e, Expr::Block(b) if !block_has_value(&b.block))
}

/// Does a block end in a value (an expression without `;` that is not itself a statement)?
fn block_has_value(b: &syn::Block) -> bool {
    match b.stmts.last() {
        Some(SynStmt::Expr(e, None)) => expr_has_value(e),
        _ => false,
    }
}

fn expr_has_value(e: &Expr) -> bool {
    match e {
        Expr::Block(b) => block_has_value(&b.block),
        Expr::If(i) => i.else_branch.is_some() && block_has_value(&i.then_branch),
        Expr::Match(m) => m.arms.iter().any(|a| expr_has_value(&a.body)),
        Expr::Tuple(t) => !t.elems.is_empty(),
        e => !is_statement_like(e),
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        _ => e,
    }
}

fn is_range(e: &Expr) -> bool {
    match e {
        Expr::Range(_) => true,
        Expr::Paren(p) => is_range(&p.expr),
        Expr::MethodCall(m) if m.method == "rev" || m.method == "step_by" => is_range(&m.receiver),
        _ => false,
    }
}

/// `a..b`, `a..=b`, `(..).rev()`, `(a..b).step_by(k)`: ranges whose `.rev()` exists.
fn reversible_iter(e: &Expr) -> bool {
    fn go(e: &Expr, stepped: bool) -> bool {
        match e {
            Expr::Range(r) => {
                r.start.is_some()
                    && r.end.is_some()
                    && !(stepped && matches!(r.limits, syn::RangeLimits::Closed(_)))
            }
            Expr::Paren(p) => go(&p.expr, stepped),
            Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                go(&m.receiver, stepped)
            }
            Expr::MethodCall(m) if m.method == "step_by" => go(&m.receiver, true),
            _ => false,
        }
    }
    go(e, false)
}

/// Appends a projection to an operand (for `let (a, b) = g(..)`).
fn project(op: &Operand, p: Proj) -> Operand {
    match op {
        Operand::Place(pl) => {
            let mut pl = pl.clone();
            pl.proj.push(p);
            Operand::Place(pl)
        }
        Operand::Const { tokens, .. } => {
            let t = match p {
                Proj::Field(m) => q!((#tokens).#m),
                Proj::Index(i) => q!((#tokens)[#i]),
            };
            Operand::Const {
                tokens: t,
                float: false,
            }
        }
    }
}

fn rhs_scalar(rhs: &Rhs, vars: &[Var]) -> bool {
    match rhs {
        Rhs::Bin(..) | Rhs::Neg(_) | Rhs::Rule(..) => true,
        Rhs::Operand(o) => op_scalar(o, vars),
        Rhs::If { then, els, .. } => {
            then.tail.as_ref().is_some_and(|o| op_scalar(o, vars))
                && els.tail.as_ref().is_some_and(|o| op_scalar(o, vars))
        }
        Rhs::Block(b) => b.tail.as_ref().is_some_and(|o| op_scalar(o, vars)),
        Rhs::Match { arms, .. } => arms
            .iter()
            .all(|a| a.body.tail.as_ref().is_some_and(|o| op_scalar(o, vars))),
        _ => false,
    }
}

fn describe(e: &Expr) -> &'static str {
    match e {
        Expr::Closure(_) => "a closure",
        Expr::Unsafe(_) => "an `unsafe` block",
        Expr::Async(_) => "an `async` block",
        Expr::Await(_) => "`.await`",
        Expr::Cast(_) => "a cast",
        Expr::Reference(_) => "a reference",
        Expr::Macro(_) => "a macro",
        Expr::MethodCall(_) => "a method call",
        Expr::Call(_) => "a call",
        Expr::Struct(_) => "a struct literal",
        Expr::Range(_) => "a range",
        Expr::Try(_) => "the `?` operator",
        Expr::Let(_) => "a `let` expression",
        Expr::Loop(_) => "a `loop` used as a value",
        Expr::While(_) => "a `while` loop used as a value",
        Expr::ForLoop(_) => "a `for` loop used as a value",
        Expr::Index(_) => "this indexing expression",
        Expr::Field(_) => "this field access",
        Expr::Path(_) => "this path",
        _ => "this expression",
    }
}
