//! Front end: lower the (renamed) function body into the IR, checking what is supported.
//!
//! Input: `let y = x1 * x2 + x1.sin();`
//! Output: `let __t0 = x1 * x2; let __t1 = x1.sin(); let y = __t0 + __t1;`
//!
//! Active expressions are taken apart into one operation a binding; passive expressions are kept
//! whole as the user's tokens. Every construct the transformation does not support on an active
//! value is reported as a spanned error that says what to write instead; lowering goes on after an
//! error so that all of them are reported at once.

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{BinOp as SynBinOp, Expr, Ident, Pat, Stmt as SynStmt, Type};

use crate::front::activity::{PREDICATES, is_active, mentions};
use crate::front::syntax::strip_pat_type;
use crate::ir::*;
use crate::names::{self, MacroArgs};

mod calls;
mod control;
mod expr;
mod kinds;
mod loops;
mod methods;
mod operators;
mod push;
mod rows;
mod stmt;

use control::LoopFrame;

pub struct Lowerer<'a> {
    pub vars: Vec<Var>,
    by_name: HashMap<String, VarId>,
    active: &'a HashSet<String>,
    /// The bindings declared `mut` (see [`crate::front::activity::mut_receiver`]).
    mutable: &'a HashSet<String>,
    /// Names of the float types: `f32`, `f64` and the function's `F: Float` parameters.
    float_types: &'a [String],
    pub errors: Vec<syn::Error>,
    block_depth: Vec<usize>,
    loop_depth: usize,
    block_stack: Vec<BlockId>,
    temps: usize,
    /// Statements numbered so far (see [`StmtId`]).
    stmts: usize,
    /// The parameters with tangents and adjoints in the signatures.
    signature: Vec<VarId>,
    /// The function's type parameters (those that are not floats are passive types).
    type_params: &'a [String],
    /// Spellings for temporaries that no binding of the function has.
    fresh: names::Fresh,
    /// The loops (and labelled blocks) around the current point, innermost last.
    loops: Vec<LoopFrame>,
    /// The declared types of parameters and typed `let`s (`operators`).
    var_types: HashMap<VarId, Type>,
    /// Bindings known to hold a value of a named non-float type without a declared one: the
    /// value of a struct's operator, a struct literal (`operators`).
    struct_vars: HashSet<VarId>,
    /// Untyped bindings known to hold floats (a float, an array or `Vec` of floats) from their
    /// value (`operators`).
    float_vars: HashSet<VarId>,
    /// Path of the runtime crate (the operators' derivatives are in its `ops`).
    core: proc_macro2::TokenStream,
    /// The function's float type, as a type (float rows on operands not known to be floats
    /// are declared with it).
    scalar_ty: Option<Type>,
    /// The function returns a struct: operators in its value are the struct's.
    ret_struct: bool,
    /// The expression being lowered is an operator inside a value declared to be a struct.
    struct_ctx: bool,
    /// Collections whose elements are `Vec`s (which an element loop cannot copy: `rows.rs`).
    vec_rows: HashSet<String>,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        active: &'a HashSet<String>,
        mutable: &'a HashSet<String>,
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
            mutable,
            float_types,
            errors: Vec::new(),
            block_depth: Vec::new(),
            loop_depth: 0,
            block_stack: Vec::new(),
            temps: 0,
            stmts: 0,
            loops: Vec::new(),
            var_types: HashMap::new(),
            struct_vars: HashSet::new(),
            float_vars: HashSet::new(),
            core: crate::core_path::core_path(),
            scalar_ty: None,
            ret_struct: false,
            struct_ctx: false,
            vec_rows: HashSet::new(),
        }
    }

    /// What `operators` needs of the signature: the float type the function computes in and
    /// its result's type.
    pub fn set_types(&mut self, scalar: &proc_macro2::TokenStream, ret: &Type) {
        self.scalar_ty = syn::parse2(scalar.clone()).ok();
        self.ret_struct = self.class_of_type(ret) == operators::Class::Struct;
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
        self.var_types.insert(id, ty.clone());
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
        if rows::vec_elements(ty) {
            self.vec_rows.insert(name.to_string());
        }
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

    /// A fresh statement id.
    fn sid(&mut self) -> StmtId {
        self.stmts += 1;
        self.stmts - 1
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
        self.vec_rows.extend(rows::vec_row_locals(body));
        // Closures are rejected wherever they are (a call of a local closure would look like a
        // call of a function without derivative), except the predicates of `filter` in a loop
        // `lower` understands, and those of a chain ending in `count`, `all` or `any`: they only
        // decide, so they must not write anything.
        struct Closures<'ast, 'a> {
            found: Vec<Span>,
            writes: Vec<Span>,
            predicates: Vec<*const syn::ExprClosure>,
            active: &'a HashSet<String>,
            _ast: std::marker::PhantomData<&'ast ()>,
        }
        impl<'ast> syn::visit::Visit<'ast> for Closures<'ast, '_> {
            // A closure given to a function (`apply(|v| v * 2.0, 3.0)`): left as written when
            // the call carries no derivative; `lower` reports it when it does.
            fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
                for a in &c.args {
                    if let Expr::Closure(cl) = crate::front::syntax::strip_paren(a) {
                        self.predicates.push(cl as *const _);
                    }
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
                if let Some(lp) = crate::front::syntax::IterLoop::parse(&f.pat, &f.expr) {
                    for c in lp.filters {
                        self.predicates.push(c as *const _);
                        self.writes.extend(crate::front::syntax::writes_in(&c.body));
                    }
                }
                syn::visit::visit_expr_for_loop(self, f);
            }
            // `CHAIN.count()`, `.all(p)`, `.any(p)`: passive (a count, a truth), run by std on the
            // primal values, so the chain's closures only decide; they must not write either.
            fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
                if !is_active(&Expr::MethodCall(m.clone()), self.active) {
                    for a in &m.args {
                        if let Expr::Closure(cl) = crate::front::syntax::strip_paren(a) {
                            self.predicates.push(cl as *const _);
                        }
                    }
                }
                if crate::front::activity::counts_items(m) {
                    let mut e = m;
                    loop {
                        for a in &e.args {
                            if let Expr::Closure(c) = a {
                                self.predicates.push(c as *const _);
                                self.writes.extend(crate::front::syntax::writes_in(&c.body));
                            }
                        }
                        match crate::front::syntax::strip_paren(&e.receiver) {
                            Expr::MethodCall(r) => e = r,
                            _ => break,
                        }
                    }
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
                if self.predicates.contains(&(c as *const _)) {
                    return;
                }
                self.found.push(c.span());
            }
        }
        let mut found = Closures {
            found: Vec::new(),
            writes: Vec::new(),
            predicates: Vec::new(),
            active: self.active,
            _ast: std::marker::PhantomData,
        };
        syn::visit::Visit::visit_block(&mut found, body);
        for span in found.found {
            self.error(
                span,
                "this closure is not supported here: a differentiated function may call a closure \
                 bound by `let`, or give one to `map`, `filter` or `fold` of a loop or reduction the \
                 macro understands (docs/SUBSET.md); passed to a function (`impl Fn` parameters) or \
                 in another iterator chain, write a named function (with `#[differentiate]`, or with \
                 hand-written `_jvp` and `_vjp`) or a `for` loop",
            );
        }
        for span in found.writes {
            self.error(
                span,
                "a `filter` predicate (or a closure of a chain ending in `count`, `all` or `any`) \
                 of a differentiated function must not write anything (its writes would carry no \
                 derivative): move the write into a loop's body",
            );
        }
        for (span, msg) in exits_from_floats(body, self.active) {
            self.error(span, msg);
        }
        for (span, what) in crate::front::syntax::exits_from_values(body, &|e, named| {
            self.is_active(e) || named && self.hoists_passive(e)
        }) {
            self.error(span, format!("{what} out of a value (a block, `if` or `match` whose value is used, or a `loop` or labelled block inside a larger value) is not supported in a differentiated function: declare the variable with `let mut` before, assign it inside, and exit with a statement (a `loop` or labelled block may exit when it is a `let`'s whole value: `let v = loop {{ .. }};`)"));
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
                num_stmts: self.stmts,
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
            if crate::front::syntax::is_passive_type(&c.ty) && is_active(&c.expr, self.active) {
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
            if let Some(name) = crate::front::syntax::format_captures(&m.tokens)
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

/// The float methods of the rule table.
fn rule_names() -> String {
    autodiff_core::rules::RULES
        .iter()
        .filter(|r| r.form == autodiff_core::rules::Form::Method)
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
    crate::front::syntax::pat_bindings(p, &mut names);
    names.iter().any(|n| active.contains(n))
}

/// Control-flow expressions that are statements even without a trailing `;`.
fn is_statement_like(e: &Expr) -> bool {
    matches!(
        e,
        Expr::ForLoop(_)
            | Expr::While(_)
            | Expr::Assign(_)
            | Expr::Return(_)
            | Expr::Break(_)
            | Expr::Continue(_)
    ) || matches!(e, Expr::Loop(l) if !crate::front::syntax::loop_has_value(l))
        || matches!(e, Expr::Binary(b) if matches!(b.op, SynBinOp::AddAssign(_) | SynBinOp::SubAssign(_) | SynBinOp::MulAssign(_) | SynBinOp::DivAssign(_) | SynBinOp::RemAssign(_)))
        || matches!(e, Expr::If(i) if i.else_branch.is_none() || !block_has_value(&i.then_branch))
        || matches!(e, Expr::Match(m) if m.arms.iter().all(|a| !expr_has_value(&a.body)))
        || matches!(e, Expr::Block(b) if !block_has_value(&b.block) && !crate::front::syntax::block_breaks(b).iter().any(|x| x.expr.is_some()))
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
        Expr::Block(b) => {
            block_has_value(&b.block)
                || crate::front::syntax::block_breaks(b)
                    .iter()
                    .any(|x| x.expr.is_some())
        }
        Expr::If(i) => i.else_branch.is_some() && block_has_value(&i.then_branch),
        Expr::Match(m) => m.arms.iter().any(|a| expr_has_value(&a.body)),
        Expr::Tuple(t) => !t.elems.is_empty(),
        e => !is_statement_like(e),
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
