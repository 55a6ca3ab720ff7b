//! Analysis: the calls a function makes to itself (read by the reverse emitter and, as data, by
//! `needs`).
//!
//! A pullback that held its own callee's pullback would have a type that contains itself (rustc
//! E0720), so the reverse mode of a function that calls itself does not keep pullbacks of those
//! calls: the forward sweep calls the function itself for the value, and the reverse sweep
//! calls a recursive pullback *function* (`NAME__rev`, emitted beside the others) with the same
//! arguments and the call's cotangent, which runs the callee's forward sweep again and its
//! reverse in place. Its adjoints come in and go out: an argument that is one of the caller's
//! active parameters, passed whole (`det(a, ..)` inside `det`), hands the caller's adjoint to the
//! callee, which adds into it (no zero adjoint per call, no sum of two); other arguments get a
//! fresh adjoint that the caller adds as for any call.
//!
//! A call is the function's own when it names it: `name(..)` (not in a method, where a plain
//! name is a free function), `self::name(..)`, `Self::name(..)`, or `self.name(..)` in a method.
//! Mutual recursion (`f` calls `g`, `g` calls `f`) is declared on both functions,
//! `#[differentiate(recursive(g))]` on `f` and `recursive(f)` on `g`: calls to the functions
//! named there use their recursive pullbacks (`g__rev`) the same way, with no adjoint passed
//! in (what `g` differentiates is not known while expanding `f`).
//!
//! Input: `fn p(x: f64, k: u32) -> f64 { if k == 0 { 1.0 } else { x * p(x, k - 1) + 2.0 } }`
//! Output: the statement binding `p(x, k - 1)`, with `[(0, Some(x))]`: `x`, the first active
//! parameter, is passed in and out.

use std::collections::HashMap;

use crate::ir::*;

/// By statement (a `let` of a call of the function to itself, or to a function that calls back
/// into it): the argument positions whose adjoints the callee returns, in order, each with the
/// caller's parameter whose adjoint is passed in and out there, if any.
pub type SelfCalls = HashMap<StmtId, Vec<(usize, Option<VarId>)>>;

/// The calls of `name` to itself in `body` (`receiver` is the parameter standing for `self` in
/// a method), and, in the second map, the calls to the functions of `others` (named by the
/// user's `recursive(..)`: they call back into this one) with the callee's name. Those pass no
/// adjoint in: their callee's active parameters are not known here, so the arguments that
/// carry derivatives are those a call passes tangents for (as for any call).
pub fn self_calls(
    f: &Func,
    body: &Block,
    name: &syn::Ident,
    receiver: Option<VarId>,
    others: &[syn::Ident],
) -> (SelfCalls, HashMap<StmtId, syn::Ident>) {
    let mut out = SelfCalls::new();
    let mut callees = HashMap::new();
    visit_stmts(body, &mut |s| {
        let Stmt::Let {
            id,
            rhs: Rhs::Call {
                path, args, method, ..
            },
            ..
        } = s
        else {
            return;
        };
        if is_self_call(f, name, receiver, path, args, *method) {
            out.insert(*id, inout(f, args));
        } else if let Some(last) = path.path.segments.last()
            && let Some(g) = others
                .iter()
                .find(|g| crate::names::raw_free(g) == crate::names::raw_free(&last.ident))
        {
            let passed = args
                .iter()
                .enumerate()
                .filter(|(_, a)| differentiable(f, a))
                .map(|(k, _)| (k, None))
                .collect();
            out.insert(*id, passed);
            callees.insert(*id, g.clone());
        }
    });
    (out, callees)
}

/// Does a call pass this argument a tangent (and get an adjoint for it)? As the emitters'
/// `Ctx::differentiable_arg`: active or float places, float constants.
fn differentiable(f: &Func, a: &Arg) -> bool {
    match &a.op {
        Operand::Place(p) => f.vars[p.var].active || f.vars[p.var].float_kind,
        Operand::Const { float, .. } => *float,
    }
}

/// Does this call name the function itself (see the module's documentation)?
pub fn is_self_call(
    f: &Func,
    name: &syn::Ident,
    receiver: Option<VarId>,
    path: &syn::ExprPath,
    args: &[Arg],
    method: bool,
) -> bool {
    if path.qself.is_some() || args.len() != f.params.len() {
        return false;
    }
    let segs = crate::front::syntax::segments(&path.path);
    let own = crate::names::raw_free(name);
    let last_is_own = path
        .path
        .segments
        .last()
        .is_some_and(|s| crate::names::raw_free(&s.ident) == own);
    if !last_is_own || path.path.leading_colon.is_some() {
        return false;
    }
    if method {
        // `self.name(..)`: the receiver is the parameter standing for `self`, whole.
        return segs.len() == 1
            && matches!((&args[0].op, receiver), (Operand::Place(p), Some(r))
                if p.var == r && p.proj.is_empty() && !p.deref);
    }
    match segs.as_slice() {
        [_] => receiver.is_none(),
        [m, _] if m == "self" => receiver.is_none(),
        [m, _] => m == "Self",
        _ => false,
    }
}

/// For each active parameter of the signature, its position among the arguments and the
/// caller's active parameter passed whole there, of the same kind (so that its adjoint has the
/// callee's adjoint type): that adjoint goes in and out. A parameter passed twice (`f(a, a)`)
/// goes in once; the other position's adjoint is added.
fn inout(f: &Func, args: &[Arg]) -> Vec<(usize, Option<VarId>)> {
    let mut used = Vec::new();
    f.signature
        .iter()
        .filter_map(|&pv| {
            let k = f.params.iter().position(|&q| q == pv)?;
            let passed = match &args[k].op {
                Operand::Place(p)
                    if p.proj.is_empty()
                        && !p.deref
                        && !args[k].by_ref
                        && f.signature.contains(&p.var)
                        && f.vars[p.var].param == f.vars[pv].param
                        && !used.contains(&p.var) =>
                {
                    used.push(p.var);
                    Some(p.var)
                }
                _ => None,
            };
            Some((k, passed))
        })
        .collect()
}
