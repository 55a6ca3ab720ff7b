//! Emitter: forward mode (`NAME_jvp`).
//!
//! Every active binding `x` gets a tangent `x__dot` computed right after it, with the same
//! control flow as the original; nothing is stored and nothing is allocated beyond what the
//! original allocates.
//!
//! Input: `let y = x1 * x2;`  Output: `let y = x1 * x2; let y__dot = x1__dot * x2 + x1 * x2__dot;`

use proc_macro2::TokenStream;

use crate::emit::codegen::Ctx;
use crate::ir::*;
use crate::names;

/// The body of `NAME_jvp`: statements ending in the pair `(value, tangent)`.
pub fn emit_body(cx: &Ctx, result_scalar: bool) -> TokenStream {
    let b = &cx.f.body;
    let stmts = block_stmts(cx, b, result_scalar);
    let tail = match &b.tail {
        Some(t) => pair(cx, t, result_scalar),
        // Every path returns (checked by the lowering); the nested blocks it returns from are
        // `if true { .. }`, which rustc does not see through.
        None => q!(::core::unreachable!(
            "every path of a differentiated function returns"
        )),
    };
    q!(#stmts #tail)
}

/// The tangent of an operand; `None` when it is structurally zero.
fn tangent(cx: &Ctx, op: &Operand) -> Option<TokenStream> {
    op.active_place(cx.f).map(|p| cx.shadow(p, false))
}

/// The parameters passed by value whose tangent comes by reference (structs: API.md's table)
/// and that the body writes: `NAME_jvp` copies their tangent into a tangent of its own.
pub fn owned_tangents(f: &Func) -> std::collections::HashSet<VarId> {
    let mut written = std::collections::HashSet::new();
    crate::ir::visit_stmts(&f.body, &mut |s| {
        written.extend(s.written_places().iter().map(|p| p.var));
    });
    f.signature
        .iter()
        .copied()
        .filter(|&p| written.contains(&p) && tangent_by_ref(f, p))
        .collect()
}

/// A struct parameter passed by value: its tangent comes as `&S`.
fn tangent_by_ref(f: &Func, p: VarId) -> bool {
    let v = &f.vars[p];
    v.param == Some(ParamKind::Value) && !v.scalar && !v.array
}

/// The tangent of an operand as a value of its own. A struct parameter passed by value has its
/// tangent by reference (`&S`, API.md's table): where that tangent becomes a binding's, an
/// element's or the result's, it is copied.
fn owned_tangent(cx: &Ctx, op: &Operand) -> Option<TokenStream> {
    let t = tangent(cx, op)?;
    let by_ref = matches!(op, Operand::Place(p) if p.proj.is_empty()
        && cx.f.signature.contains(&p.var)
        && tangent_by_ref(cx.f, p.var)
        && !owned_tangents(cx.f).contains(&p.var));
    Some(if by_ref {
        q!(::core::clone::Clone::clone(#t))
    } else {
        t
    })
}

fn tangent_or_zero(cx: &Ctx, op: &Operand, scalar: bool) -> TokenStream {
    owned_tangent(cx, op)
        .unwrap_or_else(|| cx.zero_like(&cx.value(op), scalar || cx.is_scalar_op(op)))
}

/// `(value, tangent)` of an operand. A zero tangent made from the value (a passive struct
/// returned) is made first: the value may be moved into the pair.
fn pair(cx: &Ctx, op: &Operand, scalar: bool) -> TokenStream {
    let v = cx.value(op);
    let t = tangent_or_zero(cx, op, scalar);
    if tangent(cx, op).is_none() && !(scalar || cx.is_scalar_op(op)) {
        // The value is made once (a passive expression may move a binding: `(y, k)`).
        let z = cx.zero_like(&q!(__v), false);
        q!({ let __v = #v; let __z = #z; (__v, __z) })
    } else {
        q!((#v, #t))
    }
}

/// The binding of an aggregate and of its tangent. A part without a tangent whose zero is made
/// from its value (`zero_of(&k)`, a passive struct) is read before the aggregate moves it:
/// then the tangent comes first (fuzzer seed 1:62, an `&mut` parameter left out of `wrt`
/// returned with the output).
fn zeros_first(
    cx: &Ctx,
    parts: &[Operand],
    value: TokenStream,
    tangent_: TokenStream,
) -> TokenStream {
    let reads = parts
        .iter()
        .any(|e| tangent(cx, e).is_none() && !cx.is_scalar_op(e));
    if reads {
        q!(#tangent_ #value)
    } else {
        q!(#value #tangent_)
    }
}

fn block_stmts(cx: &Ctx, b: &Block, result_scalar: bool) -> TokenStream {
    let mut out = TokenStream::new();
    for s in &b.stmts {
        out.extend(stmt(cx, s, result_scalar));
    }
    out
}

/// A block used as a value: `{ stmts; (value, tangent) }`.
fn value_block(cx: &Ctx, b: &Block, scalar: bool, result_scalar: bool) -> TokenStream {
    let stmts = block_stmts(cx, b, result_scalar);
    let tail = b.tail.as_ref().map(|t| pair(cx, t, scalar));
    q!({ #stmts #tail })
}

fn stmt(cx: &Ctx, s: &Stmt, result_scalar: bool) -> TokenStream {
    let out = stmt_inner(cx, s, result_scalar);
    match crate::emit::codegen::stmt_span(s) {
        Some(span)
            if !matches!(
                s,
                Stmt::Let {
                    rhs: Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_),
                    ..
                }
            ) =>
        {
            crate::emit::codegen::respan(out, span)
        }
        _ => out,
    }
}

fn stmt_inner(cx: &Ctx, s: &Stmt, result_scalar: bool) -> TokenStream {
    match s {
        Stmt::Let { var, ty, rhs, .. } => let_stmt(cx, *var, ty.as_deref(), rhs, result_scalar),
        Stmt::Assign { place, value, .. } => {
            let p = cx.place(place);
            let v = cx.value(value);
            if cx.f.vars[place.var].active {
                let pt = cx.shadow(place, false);
                let t = tangent_or_zero(cx, value, false);
                q!(#p = #v; #pt = #t;)
            } else {
                q!(#p = #v;)
            }
        }
        Stmt::AddAssign {
            place, value, sub, ..
        } => {
            let p = cx.place(place);
            let v = cx.value(value);
            let op = if *sub { q!(-=) } else { q!(+=) };
            match (cx.f.vars[place.var].active, tangent(cx, value)) {
                (true, Some(t)) => {
                    let pt = cx.shadow(place, false);
                    q!(#p #op #v; #pt #op #t;)
                }
                _ => q!(#p #op #v;),
            }
        }
        // The tangent grows alongside (its element made first: the push may move the value).
        Stmt::Push { place, value, .. } => {
            let p = cx.place(place);
            let v = cx.value(value);
            if cx.f.vars[place.var].active {
                let pt = cx.shadow(place, false);
                let t = tangent_or_zero(cx, value, false);
                q!(#pt.push(#t); #p.push(#v);)
            } else {
                q!(#p.push(#v);)
            }
        }
        Stmt::Passive(_, t) => t.clone(),
        Stmt::If {
            cond, then, els, ..
        } => {
            let t = block_stmts(cx, then, result_scalar);
            let e = block_stmts(cx, els, result_scalar);
            q!(if #cond { #t } else { #e })
        }
        Stmt::Match {
            scrutinee, arms, ..
        } => {
            let arms = arms.iter().map(|a| {
                let pat = &a.pat;
                let body = block_stmts(cx, &a.body, result_scalar);
                q!(#pat => { #body })
            });
            q!(match #scrutinee { #(#arms)* })
        }
        Stmt::For {
            var,
            iter,
            body,
            label,
            ..
        } => {
            let v = cx.name(*var);
            let it = &iter.tokens;
            let b = block_stmts(cx, body, result_scalar);
            let l = label.as_ref().map(|l| q!(#l:));
            q!(#l for #v in #it { #b })
        }
        Stmt::While {
            cond, body, label, ..
        } => {
            let b = block_stmts(cx, body, result_scalar);
            let l = label.as_ref().map(|l| q!(#l:));
            q!(#l while #cond { #b })
        }
        Stmt::Loop { body, label, .. } => {
            let b = block_stmts(cx, body, result_scalar);
            let l = label.as_ref().map(|l| q!(#l:));
            q!(#l loop { #b })
        }
        Stmt::Break { label, .. } => q!(break #label;),
        Stmt::Continue { label, .. } => q!(continue #label;),
        Stmt::Return { value, .. } => {
            let p = pair(cx, value, result_scalar);
            q!(return #p;)
        }
    }
}

fn let_stmt(
    cx: &Ctx,
    var: VarId,
    ty: Option<&syn::Type>,
    rhs: &Rhs,
    result_scalar: bool,
) -> TokenStream {
    let v = &cx.f.vars[var];
    let name = &v.name;
    let ty_ann = ty.map(|t| q!(: #t));
    let dot = names::tangent(name);
    if !v.active {
        let value = match rhs {
            Rhs::Operand(op) => cx.value(op),
            _ => q!(compile_error!(
                "internal: passive binding with an active right-hand side"
            )),
        };
        return q!(let mut #name #ty_ann = #value;);
    }
    let zero = |cx: &Ctx| cx.zero_like(&q!(#name), v.scalar);
    match rhs {
        Rhs::Operand(op) => {
            let val = cx.value(op);
            let t = owned_tangent(cx, op).unwrap_or_else(|| zero(cx));
            q!(let mut #name #ty_ann = #val; let mut #dot = #t;)
        }
        rhs @ (Rhs::Bin(..) | Rhs::Neg(_) | Rhs::Rule(..)) => {
            let Some((rule, args)) = rhs.arith() else {
                unreachable!("operators and rules are rows of the table")
            };
            let primal = cx.rule_primal(rule, &args);
            let (terms, divisor) = cx.terms(rule, &args, &q!(#name));
            let floats = args
                .iter()
                .zip(rule.args)
                .filter(|(_, (_, k))| *k == "F")
                .map(|(a, _)| *a);
            // `sum_i t_i d_i`, the signs as `+` and `-`, divided once by a common divisor.
            let mut t: Option<TokenStream> = None;
            let mut parts = 0;
            for (a, d) in floats.zip(&terms) {
                let Some(ta) = tangent(cx, a) else { continue };
                parts += 1;
                t = Some(match (t, d.neg) {
                    (None, _) => d.times(&ta),
                    (Some(s), false) => {
                        let p = d.times_unsigned(&ta);
                        q!(#s + #p)
                    }
                    (Some(s), true) => {
                        let p = d.times_unsigned(&ta);
                        q!(#s - #p)
                    }
                });
            }
            let t = match (t, divisor) {
                (None, _) => zero(cx),
                (Some(t), None) => t,
                (Some(t), Some(d)) if parts == 1 => q!(#t / #d),
                (Some(t), Some(d)) => q!((#t) / #d),
            };
            q!(let mut #name #ty_ann = #primal; let mut #dot = #t;)
        }
        Rhs::Call { path, args, method } => {
            let vals = cx.call_values(args, *method).into_iter();
            let c = &cx.core;
            let tans: Vec<TokenStream> = args
                .iter()
                .filter(|a| cx.differentiable_arg(a))
                .map(|a| match tangent(cx, &a.op) {
                    // Written by the call through `&mut`: its tangent too, in place.
                    Some(t) if a.by_mut => q!(&mut #t),
                    None if a.by_mut => {
                        let v = cx.value(&a.op);
                        q!(&mut #c::rt::zero_of(&#v))
                    }
                    Some(t) if a.by_ref => q!(&#t),
                    Some(t) => q!(#c::rt::IntoTangent::into_tangent(&#t)),
                    None => cx.zero_arg(a),
                })
                .collect();
            if args.iter().any(|a| a.by_mut) {
                // A tangent passed `&mut` is borrowed for the whole call: the other tangents
                // are read first (`s.observe(s.level)` passes `&mut s__dot` and `s__dot.level`;
                // the receiver's two-phase borrow covers the values, not an explicit `&mut`).
                let mut first = TokenStream::new();
                let tans: Vec<TokenStream> = args
                    .iter()
                    .filter(|a| cx.differentiable_arg(a))
                    .zip(tans)
                    .enumerate()
                    .map(|(k, (a, t))| {
                        if a.by_mut {
                            return t;
                        }
                        let n = quote::format_ident!("__a{}", k);
                        first.extend(q!(let #n = #t;));
                        q!(#n)
                    })
                    .collect();
                let call = Ctx::derived_call(path, *method, "jvp", vals.chain(tans).collect());
                return q!(let (mut #name, mut #dot) = { #first #call };);
            }
            let call = Ctx::derived_call(path, *method, "jvp", vals.chain(tans).collect());
            q!(let (mut #name, mut #dot) = #call;)
        }
        Rhs::Array(elems) => {
            let vals = elems.iter().map(|e| cx.value(e));
            let tans = elems.iter().map(|e| tangent_or_zero(cx, e, false));
            zeros_first(
                cx,
                elems,
                q!(let mut #name #ty_ann = [#(#vals),*];),
                q!(let mut #dot = [#(#tans),*];),
            )
        }
        Rhs::Repeat { elem, len, vec } => {
            let val = cx.value(elem);
            let t = tangent_or_zero(cx, elem, false);
            if *vec {
                q!(let mut #name #ty_ann = vec![#val; #len]; let mut #dot = vec![#t; #len];)
            } else {
                q!(let mut #name #ty_ann = [#val; #len]; let mut #dot = [#t; #len];)
            }
        }
        Rhs::Tuple(elems) => {
            let vals = elems.iter().map(|e| cx.value(e));
            let tans = elems.iter().map(|e| tangent_or_zero(cx, e, false));
            zeros_first(
                cx,
                elems,
                q!(let mut #name #ty_ann = (#(#vals),*,);),
                q!(let mut #dot = (#(#tans),*,);),
            )
        }
        Rhs::Struct {
            path,
            fields,
            args,
            rest,
        } => {
            let n = fields.len();
            let vals = args[..n].iter().map(|e| cx.value(e));
            // A field without a tangent: a zero of its shape, or, for a static field (an
            // integer, `bool`, ..), its value (`rt::field_zero`).
            let core = &cx.core;
            let tans = args[..n].iter().map(|e| match owned_tangent(cx, e) {
                Some(t) => t,
                None if cx.is_scalar_op(e) => cx.zero_like(&cx.value(e), true),
                None => {
                    let v = cx.value(e);
                    q!(#core::rt::field_zero(&#v))
                }
            });
            let (rv, rt) = match rest {
                true => {
                    let (v, t) = (cx.value(&args[n]), tangent_or_zero(cx, &args[n], false));
                    (q!(..#v), q!(..#t))
                }
                false => (q!(), q!()),
            };
            zeros_first(
                cx,
                args,
                q!(let mut #name #ty_ann = #path { #(#fields: #vals,)* #rv };),
                q!(let mut #dot = #path { #(#fields: #tans,)* #rt };),
            )
        }
        Rhs::If { cond, then, els } => {
            let t = value_block(cx, then, v.scalar, result_scalar);
            let e = value_block(cx, els, v.scalar, result_scalar);
            q!(let (mut #name, mut #dot) = if #cond #t else #e;)
        }
        Rhs::Match { scrutinee, arms } => {
            let arms = arms.iter().map(|a| {
                let pat = &a.pat;
                let body = value_block(cx, &a.body, v.scalar, result_scalar);
                q!(#pat => #body)
            });
            q!(let (mut #name, mut #dot) = match #scrutinee { #(#arms)* };)
        }
        Rhs::Block(b) => {
            let body = value_block(cx, b, v.scalar, result_scalar);
            q!(let (mut #name, mut #dot) = #body;)
        }
    }
}
