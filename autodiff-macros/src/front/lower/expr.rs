//! Lowering expressions: places, operands, right-hand sides (operators, rule methods, calls).
//!
//! Input: a syntax expression.  Output: an IR operand or right-hand side, with the temporaries
//! it needs appended as statements.

use std::collections::{HashMap, HashSet};

use autodiff_core::rules::{Rule, Tuple};
use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{BinOp as SynBinOp, Expr, UnOp};

use super::*;

impl Lowerer<'_> {
    pub(super) fn mentioned_vars(&self, e: &Expr) -> Vec<VarId> {
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
    pub(super) fn lower_place(&mut self, e: &Expr) -> Option<Place> {
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

    /// Does `e` call a binding (a function value: `g(3)`)?
    fn calls_binding(&self, e: &Expr) -> bool {
        struct C<'b> {
            by_name: &'b HashMap<String, VarId>,
            found: bool,
        }
        impl<'ast> syn::visit::Visit<'ast> for C<'_> {
            fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
                if let Expr::Path(p) = &*c.func
                    && let Some(i) = p.path.get_ident()
                    && self.by_name.contains_key(&i.to_string())
                {
                    self.found = true;
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        }
        let mut c = C {
            by_name: &self.by_name,
            found: false,
        };
        syn::visit::Visit::visit_expr(&mut c, e);
        c.found
    }

    /// The bindings that calls inside `e` write through `&mut` (the roots of their `&mut`
    /// arguments, and mutable receivers).
    fn written_by_calls(&self, e: &Expr) -> HashSet<String> {
        struct W<'b> {
            mutable: &'b HashSet<String>,
            out: HashSet<String>,
        }
        impl<'ast> syn::visit::Visit<'ast> for W<'_> {
            fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
                for a in crate::front::activity::mut_args(c.args.iter()) {
                    self.out.extend(crate::front::syntax::place_base(a));
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
                for a in crate::front::activity::mut_args(m.args.iter()) {
                    self.out.extend(crate::front::syntax::place_base(a));
                }
                if let Some(r) = crate::front::activity::mut_receiver(m, self.mutable) {
                    self.out.extend(crate::front::syntax::place_base(r));
                }
                syn::visit::visit_expr_method_call(self, m);
            }
        }
        let mut w = W {
            mutable: self.mutable,
            out: HashSet::new(),
        };
        syn::visit::Visit::visit_expr(&mut w, e);
        w.out
    }

    /// For each of `es`, what the calls in the ones after it write through `&mut`.
    fn written_later(&self, es: &[&Expr]) -> Vec<HashSet<String>> {
        let mut later: Vec<HashSet<String>> = vec![HashSet::new(); es.len()];
        for k in (0..es.len().saturating_sub(1)).rev() {
            let mut w = later[k + 1].clone();
            w.extend(self.written_by_calls(es[k + 1]));
            later[k] = w;
        }
        later
    }

    /// `op` itself, or a binding of its value when it reads one of `written`.
    pub(super) fn snapshot(
        &mut self,
        op: Operand,
        written: &HashSet<String>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        if written.is_empty() {
            return op;
        }
        let reads = match &op {
            Operand::Place(p) => written.contains(&self.vars[p.var].name.to_string()),
            Operand::Const { tokens, .. } => {
                let mut m = HashSet::new();
                crate::ir::mentions_tokens(tokens, &self.by_name, &mut m);
                m.iter()
                    .any(|v| written.contains(&self.vars[*v].name.to_string()))
            }
        };
        if !reads {
            return op;
        }
        let scalar = op_scalar(&op, &self.vars);
        let t = self.temp(scalar);
        if let Operand::Const { float, .. } = &op {
            // A passive value stays passive.
            self.vars[t].active = false;
            self.vars[t].float_kind = *float;
            self.vars[t].kind = if *float {
                ValueKind::Floats
            } else {
                ValueKind::Unknown
            };
        }
        out.push(Stmt::Let {
            id: self.sid(),
            var: t,
            ty: None,
            rhs: Rhs::Operand(op),
            span,
        });
        Operand::Place(Place {
            var: t,
            proj: Vec::new(),
            span,
            deref: false,
        })
    }

    /// Lowers an expression to an operand, binding its operations to temporaries in `out`.
    pub(super) fn lower_operand(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
        if self.hoists_passive(e) {
            return self.lower_passive_value(e, out);
        }
        if !self.is_active(e) {
            self.no_hidden_writes(e);
            let c = Operand::Const {
                tokens: e.to_token_stream(),
                float: self.float_kind(e),
            };
            // A passive value computed by a function value (`g(3)`, `g` a parameter of type
            // `&dyn Fn(..)`): bound first, so that the reverse sweep reads the value, not the
            // function (which it could not own).
            if self.calls_binding(e) {
                let all: HashSet<String> = self.by_name.keys().cloned().collect();
                return self.snapshot(c, &all, e.span(), out);
            }
            return c;
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
        let ty = self.float_row_type(e, &rhs);
        let t = self.temp(scalar);
        out.push(Stmt::Let {
            id: self.sid(),
            var: t,
            ty,
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

    /// A passive expression is kept as the user's tokens: a write of an active value declared
    /// outside it (`let k = { s = s * x; 3 };`) would carry no derivative, so it is refused.
    /// Its own locals are its business (`stop_gradient(xs.iter().map(..).sum())`, whose
    /// accumulator is active by name).
    pub(super) fn no_hidden_writes(&mut self, e: &Expr) {
        let own = crate::front::syntax::bound_in(e);
        let writes: Vec<_> = crate::front::syntax::written_bases(e)
            .into_iter()
            .filter(|(_, base)| self.active.contains(base) && !own.contains(base))
            .collect();
        for (span, base) in writes {
            self.error(span, format!("`{base}` carries a derivative and is written inside an expression whose value carries none (kept as written, its writes would carry no derivative): write the assignment as a statement of its own"));
        }
    }

    /// Lowers operands in the order Rust evaluates them. An operand that the statements of a
    /// later one may write (`s + { s = 2.0 * s; s }`, a loop used as a value) is read into a
    /// temporary before they run: otherwise the operation would read it afterwards.
    pub(super) fn lower_operands(&mut self, es: &[&Expr], out: &mut Vec<Stmt>) -> Vec<Operand> {
        self.lower_operands_in(es, false, out)
    }

    /// [`lower_operands`](Self::lower_operands) for the operands of an operator; inside a
    /// value declared to be a struct (`declared`), an active arithmetic operand's operators are
    /// the structs' too (`operators`).
    pub(super) fn lower_operands_in(
        &mut self,
        es: &[&Expr],
        declared: bool,
        out: &mut Vec<Stmt>,
    ) -> Vec<Operand> {
        let es: Vec<(&Expr, bool)> = es.iter().map(|e| (*e, false)).collect();
        self.lower_operands_by(&es, declared, out)
    }

    /// [`lower_operands_in`](Self::lower_operands_in) for operands some of which (`true`) are
    /// passed by `&mut` (`lower_mut_arg`): those are the places the call writes, never read
    /// into a temporary.
    fn lower_operands_by(
        &mut self,
        es: &[(&Expr, bool)],
        declared: bool,
        out: &mut Vec<Stmt>,
    ) -> Vec<Operand> {
        // An operand that a call in a later one writes through `&mut` (`s.level +
        // s.observe(z)`, `x[0] * step(&mut x)`) is bound first, as Rust reads it before the call.
        let later = self.written_later(&es.iter().map(|(e, _)| *e).collect::<Vec<_>>());
        let mut ops = Vec::with_capacity(es.len());
        let mut ends = Vec::with_capacity(es.len());
        for (&(e, by_mut), later) in es.iter().zip(&later) {
            if by_mut {
                ops.push(self.lower_mut_arg(e, out));
                ends.push(out.len());
                continue;
            }
            if declared && super::operators::is_arith(e) && self.is_active(e) {
                self.struct_ctx = true;
            }
            let op = self.lower_operand(e, out);
            self.struct_ctx = false;
            ops.push(self.snapshot(op, later, e.span(), out));
            ends.push(out.len());
        }
        // From the last operand back: an insertion moves no position still to be used.
        for i in (0..ops.len().saturating_sub(1)).rev() {
            if es[i].1 {
                continue;
            }
            let mut reads = HashSet::new();
            crate::ir::operand_mentions(&ops[i], &self.by_name, &mut |v| {
                reads.insert(v);
            });
            if reads.is_empty() || !self.may_write(&out[ends[i]..], &reads) {
                continue;
            }
            let op = ops[i].clone();
            let span = match &op {
                Operand::Place(p) => p.span,
                Operand::Const { .. } => Span::call_site(),
            };
            let (t, read) = match &op {
                Operand::Place(_) => {
                    let t = self.temp(op_scalar(&op, &self.vars));
                    let read = Operand::Place(Place {
                        var: t,
                        proj: Vec::new(),
                        span,
                        deref: false,
                    });
                    (t, read)
                }
                Operand::Const { float, .. } => {
                    let t = self.temp(false);
                    self.vars[t].active = false;
                    self.vars[t].kind = if *float {
                        ValueKind::Floats
                    } else {
                        ValueKind::Unknown
                    };
                    self.vars[t].float_kind = *float;
                    let name = &self.vars[t].name;
                    let read = Operand::Const {
                        tokens: q!(#name),
                        float: *float,
                    };
                    (t, read)
                }
            };
            let stmt = Stmt::Let {
                id: self.sid(),
                var: t,
                ty: None,
                rhs: Rhs::Operand(op),
                span,
            };
            out.insert(ends[i], stmt);
            ops[i] = read;
        }
        ops
    }

    /// Whether `stmts` may write one of `vars`: an assignment, a call through `&mut`, or
    /// passive code mentioning it.
    fn may_write(&self, stmts: &[Stmt], vars: &HashSet<VarId>) -> bool {
        let mut hit = false;
        for s in stmts {
            crate::ir::visit_stmt(s, &mut |s| match s {
                Stmt::Passive(_, tokens) => {
                    crate::ir::token_mentions(tokens, &self.by_name, &mut |v| {
                        hit |= vars.contains(&v);
                    });
                }
                _ => {
                    hit |= s.written_places().iter().any(|p| vars.contains(&p.var));
                }
            });
        }
        hit
    }

    /// Lowers an active expression to the right-hand side of a `let`.
    pub(super) fn lower_rhs(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Rhs {
        // Set for an operator inside a value declared to be a struct (`operators`).
        let declared = std::mem::take(&mut self.struct_ctx);
        if self.hoists_passive(e) {
            return Rhs::Operand(self.lower_passive_value(e, out));
        }
        if !self.is_active(e) {
            self.no_hidden_writes(e);
            return Rhs::Operand(Operand::Const {
                tokens: e.to_token_stream(),
                float: self.float_kind(e),
            });
        }
        match e {
            Expr::Paren(p) => {
                self.struct_ctx = declared;
                self.lower_rhs(&p.expr, out)
            }
            Expr::Group(g) => {
                self.struct_ctx = declared;
                self.lower_rhs(&g.expr, out)
            }
            Expr::Path(_) | Expr::Index(_) | Expr::Field(_) => {
                if let Some(p) = self.lower_place(e) {
                    return Rhs::Operand(Operand::Place(p));
                }
                if let Some(rhs) = self.lower_projection(e, out) {
                    return rhs;
                }
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
            Expr::Binary(b) => {
                let op = match b.op {
                    SynBinOp::Add(_) => BinOp::Add,
                    SynBinOp::Sub(_) => BinOp::Sub,
                    SynBinOp::Mul(_) => BinOp::Mul,
                    SynBinOp::Div(_) => BinOp::Div,
                    SynBinOp::Rem(_) => BinOp::Rem,
                    _ => {
                        self.error(b.op.span(), "this operator has no derivative rule: the supported operators on active values are `+ - * / %` and unary `-`");
                        return Rhs::Operand(Operand::Const {
                            tokens: e.to_token_stream(),
                            float: true,
                        });
                    }
                };
                self.lower_arith(e, Some(op), declared, out)
            }
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => self.lower_arith(e, None, declared, out),
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
                if let Some(tuple) = Tuple::find(&name) {
                    let mut all: Vec<&Expr> = vec![&m.receiver];
                    all.extend(m.args.iter());
                    return Rhs::Tuple(self.lower_tuple(tuple, &all, None, m.span(), out));
                }
                const STD: &[&str] = &[
                    "clone", "to_owned", "to_vec", "into", "as_ref", "borrow", "as_slice",
                    "unwrap", "expect", "get", "first", "last",
                ];
                if STD.contains(&name.as_str()) {
                    self.error(
                        m.method.span(),
                        format!(
                            "`.{name}()` of an active value is not supported in a differentiated function: \
                             use the value itself (`x`, `x[i]`, `p.w`), or pass it to a call"
                        ),
                    );
                    return Rhs::Operand(Operand::Const {
                        tokens: e.to_token_stream(),
                        float: true,
                    });
                }
                if Rule::find(&name).is_none() && self.value_kind(&m.receiver) != ValueKind::Floats
                {
                    return self.lower_method_call(m, out);
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
                let elems: Vec<&Expr> = a.elems.iter().collect();
                Rhs::Array(self.lower_operands(&elems, out))
            }
            Expr::Repeat(r) => Rhs::Repeat {
                elem: self.lower_operand(&r.expr, out),
                len: r.len.to_token_stream(),
                vec: false,
            },
            Expr::Tuple(t) => {
                let elems: Vec<&Expr> = t.elems.iter().collect();
                Rhs::Tuple(self.lower_operands(&elems, out))
            }
            Expr::Struct(st) if st.qself.is_none() => {
                let fields: Vec<syn::Member> = st.fields.iter().map(|f| f.member.clone()).collect();
                let mut exprs: Vec<&Expr> = st.fields.iter().map(|f| &f.expr).collect();
                exprs.extend(st.rest.as_deref());
                let args = self.lower_operands(&exprs, out);
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
            Expr::Block(b) => {
                if b.label.is_some()
                    && let Some(rhs) = self.lower_labelled_block(b, true, true, out)
                {
                    return rhs.expect("a block lowered for its value has a slot");
                }
                let block = self.lower_block(&b.block);
                Rhs::Block(block)
            }
            Expr::Loop(l) if crate::front::syntax::loop_has_value(l) => {
                self.lower_value_loop(l, true, out)
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

    pub(super) fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Vec<Stmt>) -> Rhs {
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
            if let Some(tuple) = Tuple::find(&segs[1]) {
                let args: Vec<&Expr> = c.args.iter().collect();
                return Rhs::Tuple(self.lower_tuple(tuple, &args, None, c.span(), out));
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
        if path.qself.is_some()
            && let Some(tuple) = segs.last().and_then(|s| Tuple::find(s))
        {
            let args: Vec<&Expr> = c.args.iter().collect();
            return Rhs::Tuple(self.lower_tuple(tuple, &args, None, c.span(), out));
        }
        let callee = path.to_token_stream().to_string().replace(' ', "");
        // A function of the standard library has no `_jvp` / `_vjp` beside it (rustc would
        // report the missing derived function inside the emitted call), nor have the smart
        // pointers' constructors (`Box::new([x, y])` in a struct literal's field: E0599 in
        // emitted code, fuzzer seed 6101:27).
        if path.qself.is_none()
            && (matches!(segs[0].as_str(), "std" | "core" | "alloc")
                || segs.len() == 2 && matches!(segs[0].as_str(), "Box" | "Rc" | "Arc"))
        {
            self.error(
                path.span(),
                format!(
                    "`{callee}` is a standard library function without derivatives, called here on values that carry one: \
                     write what it computes with float methods and assignments (`std::mem::swap` and `std::mem::replace` of places are \
                     supported), or call a `#[differentiate]` function"
                ),
            );
            return Rhs::Operand(Operand::Const {
                tokens: c.to_token_stream(),
                float: false,
            });
        }
        if let Some(g) = path.path.get_ident()
            && path.qself.is_none()
            && self.lookup(&g.to_string()).is_some()
        {
            self.error(
                path.span(),
                format!(
                    "`{g}` is a function value (a parameter of type `impl Fn(..)`, `G: Fn(..)`, `&dyn Fn(..)` or `fn(..)`, or a binding holding one): \
                     #[differentiate] cannot see its derivative, so it may be called only on values that carry none (`{g}(2)`, `{g}(stop_gradient(x))`); \
                     to differentiate through it, call a named function instead: a `#[differentiate]` function, or one with hand-written `_jvp` and `_vjp`"
                ),
            );
            return Rhs::Operand(Operand::Const {
                tokens: c.to_token_stream(),
                float: true,
            });
        }
        let args = self.lower_args(None, c.args.iter(), &callee, out);
        Rhs::Call {
            path: path.clone(),
            args,
            method: false,
        }
    }

    /// A call `recv.g(args)` of a method that is not a float method: a call of the method
    /// `g_jvp` / `g_vjp` of the receiver's type (a `#[differentiate]` method or a hand-written
    /// pair). The receiver always passes a tangent (zero when it is passive) and gets an
    /// adjoint: the callee differentiates its `self`.
    pub(super) fn lower_method_call(
        &mut self,
        m: &syn::ExprMethodCall,
        out: &mut Vec<Stmt>,
    ) -> Rhs {
        let recv = match &*m.receiver {
            Expr::Paren(p) => &*p.expr,
            e => e,
        };
        if let Expr::Reference(r) = recv {
            self.error(r.span(), "the receiver of a differentiated method is written without `&` (`x.g(..)`): the method takes it as its `self` says");
        }
        let name = &m.method;
        if !self.is_active(recv) && self.value_kind(recv) == ValueKind::Unknown {
            self.error(
                m.method.span(),
                format!(
                    "method `{name}` is not a float method with a derivative rule, so this is a call of the methods \
                     `{name}_jvp` / `{name}_vjp` of the receiver's type (a `#[differentiate]` method, or a hand-written pair), \
                     which passes the receiver a zero tangent; the macro cannot tell the receiver's type: bind it with \
                     its type first (`let t: Model = ..;`) or pass it as a parameter"
                ),
            );
        }
        let callee = format!("{}", m.method);
        let mut args = self.lower_args(Some(recv), m.args.iter(), &callee, out);
        if let Operand::Const { float, .. } = &mut args[0].op {
            *float = true;
        }
        // A mutable receiver may be written (`&mut self`): the call is also an assignment.
        args[0].by_mut = matches!(args[0].op, Operand::Place(_))
            && crate::front::activity::mut_receiver(m, self.mutable).is_some();
        let mut seg = syn::PathSegment::from(m.method.clone());
        if let Some(t) = &m.turbofish {
            seg.arguments = syn::PathArguments::AngleBracketed(t.clone());
        }
        Rhs::Call {
            path: syn::ExprPath {
                attrs: Vec::new(),
                qself: None,
                path: seg.into(),
            },
            args,
            method: true,
        }
    }

    /// The place an argument `&mut e` passes: `e` itself when it is a place (`&mut s`,
    /// `&mut s.x[i]`), else a temporary holding its value (written by the call, then dropped).
    fn lower_mut_arg(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let span = e.span();
        let op = self.lower_operand(e, out);
        match op {
            Operand::Place(p) if p.deref => {
                self.error(span, "`&mut *x` of a reference parameter cannot be passed on: the parameter is borrowed immutably; copy it into a `let mut` binding and pass `&mut` of that");
                Operand::Place(p)
            }
            Operand::Place(p) => Operand::Place(p),
            c @ Operand::Const { .. } => {
                let t = self.temp(false);
                out.push(Stmt::Let {
                    id: self.sid(),
                    var: t,
                    ty: None,
                    rhs: Rhs::Operand(c),
                    span,
                });
                Operand::Place(Place {
                    var: t,
                    proj: Vec::new(),
                    span,
                    deref: false,
                })
            }
        }
    }

    /// Does this call (or method call) pass something by `&mut`, or call a method on a mutable
    /// binding (which may take `&mut self`)? Then it is an assignment too, and a statement of
    /// its own may consist of it.
    pub(super) fn writes_through_mut(&self, e: &Expr) -> bool {
        use crate::front::activity::{mut_args, mut_receiver};
        match crate::front::syntax::strip_paren(e) {
            Expr::Call(c) => mut_args(c.args.iter()).next().is_some(),
            Expr::MethodCall(m) => {
                mut_args(m.args.iter()).next().is_some()
                    || (mut_receiver(m, self.mutable).is_some()
                        && self.value_kind(&m.receiver) != ValueKind::Floats)
            }
            _ => false,
        }
    }

    /// The arguments of a call (after the receiver of a method call), lowered in Rust's order
    /// of evaluation; an argument that may or may not be a float is an error (the call must
    /// know whether to pass it a tangent).
    fn lower_args<'e>(
        &mut self,
        recv: Option<&'e Expr>,
        call_args: impl Iterator<Item = &'e Expr> + Clone,
        callee: &str,
        out: &mut Vec<Stmt>,
    ) -> Vec<Arg> {
        let all: Vec<&Expr> = call_args.clone().collect();
        // A closure given to a call that carries a derivative (`apply(|v| v * v, x)`, or a
        // `let`-bound closure passed by name, which `inline` has put here). A method's (an
        // iterator adapter's, most often) are reported by `lower_body`.
        for a in all.iter().filter(|_| recv.is_none()) {
            if let Expr::Closure(c) = crate::front::syntax::strip_paren(a) {
                self.error(
                    c.span(),
                    format!(
                        "a closure passed to `{callee}` (an `impl Fn` parameter) cannot be differentiated through: #[differentiate] sees the call, not what `{callee}` does with the closure. \
                         Write `{callee}` as a `#[differentiate]` function of the values the closure needs, or call the closure here instead (`let f = |v| ..; f(x)`); \
                         a call whose arguments carry no derivative may take a closure (it is left as written)"
                    ),
                );
            }
        }
        // `&x` passes `x` by reference, `&mut x` passes the place `x` the call writes.
        let mut exprs: Vec<(&Expr, bool)> = recv.map(|r| (r, false)).into_iter().collect();
        let mut kinds: Vec<(bool, bool)> = recv.map(|_| (false, false)).into_iter().collect();
        for a in all {
            match a {
                Expr::Reference(r) if r.mutability.is_none() => {
                    exprs.push((&r.expr, false));
                    kinds.push((true, false));
                }
                Expr::Reference(r) => {
                    exprs.push((&r.expr, true));
                    kinds.push((false, true));
                }
                _ => {
                    exprs.push((a, false));
                    kinds.push((false, false));
                }
            }
        }
        let ops = self.lower_operands_by(&exprs, false, out);
        let args = ops
            .into_iter()
            .zip(kinds)
            .map(|(op, (by_ref, by_mut))| Arg { op, by_ref, by_mut })
            .collect();
        for a in call_args {
            let e = match a {
                Expr::Reference(r) => &*r.expr,
                e => e,
            };
            if matches!(crate::front::syntax::strip_paren(e), Expr::Closure(_)) {
                continue;
            }
            if !self.is_active(e) && self.value_kind(e) == ValueKind::Unknown {
                // A name that is no binding and not a constant's (`sq_fn`): a function item.
                let function = matches!(e, Expr::Path(p) if p.path.segments.last().is_some_and(|s| {
                    let n = s.ident.to_string();
                    n.starts_with(|c: char| c.is_lowercase()) && self.lookup(&n).is_none()
                }));
                let hint = if function {
                    format!(
                        "; if it is a function passed as a value, #[differentiate] cannot differentiate through it: write `{callee}` as a `#[differentiate]` function that calls the function by name"
                    )
                } else {
                    String::new()
                };
                self.error(
                    e.span(),
                    format!("cannot tell whether this argument of `{callee}` is a float (a call passes floats a zero tangent) or not (integers get none): bind it to a name with its type first (`let v: f64 = ..;` or `let n: usize = ..;`) and pass that{hint}"),
                );
            }
        }
        args
    }
}
