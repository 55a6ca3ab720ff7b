//! Lowering calls: of named functions (`g(x)`, `module::g(x)`, the rule table's `f64::sin(x)`),
//! of methods (`x.sin()`, `self.predict(x)`), with their arguments in Rust's order of evaluation,
//! and calls that write through `&mut` (an assignment of what they are passed).
//!
//! Input: a syntax call.  Output: an IR right-hand side (a rule row, a call with its arguments),
//! with the temporaries it needs appended as statements.

use autodiff_core::rules::{Rule, Tuple};
use quote::ToTokens;
use syn::Expr;
use syn::spanned::Spanned;

use super::*;

impl Lowerer<'_> {
    pub(super) fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Vec<Stmt>) -> Rhs {
        let Expr::Path(path) = &*c.func else {
            self.error(c.func.span(), "only calls of named functions are supported in a differentiated function (`g(x)` or `module::g(x)`)");
            return Rhs::Operand(Operand::Const {
                tokens: c.to_token_stream(),
                float: false,
            });
        };
        let segs = crate::front::syntax::segments(&path.path);
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
        // report the missing derived function inside the emitted call), nor have the standard
        // containers' constructors (`Box::new([x, y])` in a struct literal's field: E0599 in
        // emitted code, fuzzer seed 6101:27; `Vec::from(a)`).
        if path.qself.is_none()
            && (matches!(segs[0].as_str(), "std" | "core" | "alloc")
                || segs.len() == 2 && matches!(segs[0].as_str(), "Box" | "Rc" | "Arc" | "Vec"))
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
    pub(super) fn lower_mut_arg(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
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
