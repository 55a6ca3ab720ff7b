//! Helpers shared by the forward and the reverse emitters: how places, operands, zeros and
//! rule partials are spelled in the emitted code.

use proc_macro2::TokenStream;

use crate::ir::*;
use crate::names;
use crate::rules::{self, Subst};

/// What both emitters need to know about the function.
pub struct Ctx<'a> {
    pub f: &'a Func,
    /// Path of the runtime crate, e.g. `::autodiff::__core`.
    pub core: TokenStream,
    /// The float type of the function (`f64`, `f32`, `F`, or `<S as Differentiable>::Scalar`).
    pub scalar: TokenStream,
}

impl Ctx<'_> {
    pub fn name(&self, v: VarId) -> &syn::Ident {
        &self.f.vars[v].name
    }

    pub fn proj(p: &[Proj]) -> TokenStream {
        let mut t = TokenStream::new();
        for pr in p {
            match pr {
                Proj::Index(i) => t.extend(q!([#i])),
                Proj::Field(m) => t.extend(q!(.#m)),
            }
        }
        t
    }

    /// The value of a place: `x[i].w`.
    pub fn place(&self, p: &Place) -> TokenStream {
        let n = self.name(p.var);
        let pr = Self::proj(&p.proj);
        if p.deref { q!((*#n) #pr) } else { q!(#n #pr) }
    }

    /// The same place in the tangent (`x__dot[i]`) or adjoint (`x__bar[i]`) variable.
    pub fn shadow(&self, p: &Place, adjoint: bool) -> TokenStream {
        let n = self.name(p.var);
        let n = if adjoint {
            names::adjoint(n)
        } else {
            names::tangent(n)
        };
        let pr = Self::proj(&p.proj);
        if p.deref && !adjoint {
            q!((*#n) #pr)
        } else {
            q!(#n #pr)
        }
    }

    /// The value of an operand.
    pub fn value(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Place(p) => self.place(p),
            Operand::Const { tokens, .. } => q!((#tokens)),
        }
    }

    pub fn is_scalar_op(&self, op: &Operand) -> bool {
        crate::ir::op_scalar(op, &self.f.vars)
    }

    /// The float zero.
    pub fn zero_scalar(&self) -> TokenStream {
        match self.scalar.to_string().as_str() {
            "f64" => return q!(0.0f64),
            "f32" => return q!(0.0f32),
            _ => {}
        }
        let (s, c) = (&self.scalar, &self.core);
        q!(<#s as #c::num_traits::Zero>::zero())
    }

    /// The float `-0.0`, which the optimiser may drop from `-0.0 + x` (unlike `0.0`): the start
    /// of an adjoint that is only added to.
    pub fn neg_zero_scalar(&self) -> TokenStream {
        match self.scalar.to_string().as_str() {
            "f64" => return q!(-0.0f64),
            "f32" => return q!(-0.0f32),
            _ => {}
        }
        let (s, c) = (&self.scalar, &self.core);
        q!(-<#s as #c::num_traits::Zero>::zero())
    }

    /// The float one.
    pub fn one_scalar(&self) -> TokenStream {
        match self.scalar.to_string().as_str() {
            "f64" => return q!(1.0f64),
            "f32" => return q!(1.0f32),
            _ => {}
        }
        let (s, c) = (&self.scalar, &self.core);
        q!(<#s as #c::num_traits::One>::one())
    }

    /// A zero of the shape of `value` (a float zero when the operand is known to be a float).
    pub fn zero_like(&self, value: &TokenStream, scalar: bool) -> TokenStream {
        if scalar {
            self.zero_scalar()
        } else {
            let c = &self.core;
            q!(#c::rt::zero_of(&#value))
        }
    }

    /// The zero tangent passed for a passive differentiable argument of a call.
    pub fn zero_arg(&self, arg: &Arg) -> TokenStream {
        let c = &self.core;
        let v = self.value(&arg.op);
        if arg.by_ref {
            return q!(&#c::rt::zero_of(&#v));
        }
        if let Operand::Const { tokens, .. } = &arg.op
            && let Ok(id) = syn::parse2::<syn::Ident>(tokens.clone())
            && let Some(var) = self.f.vars.iter().find(|var| var.name == id)
        {
            match var.param {
                Some(ParamKind::Ref) => return q!(&#c::rt::zero_of(#id)),
                Some(ParamKind::Slice) => return q!(&#c::rt::zero_owned(#id)),
                _ => {}
            }
        }
        if self.is_scalar_op(&arg.op) {
            self.zero_scalar()
        } else {
            q!(#c::rt::IntoTangent::into_tangent(&#c::rt::zero_of(&#v)))
        }
    }

    /// The values passed to a call: `&v` for an argument written `&e`, `&mut v` for one written
    /// `&mut e`; a method's receiver as it is (auto-referencing takes it as the method's `self`
    /// says, `&mut self` included).
    pub fn call_values(&self, args: &[Arg], method: bool) -> Vec<TokenStream> {
        args.iter()
            .enumerate()
            .map(|(k, a)| {
                let v = self.value(&a.op);
                if method && k == 0 {
                    v
                } else if a.by_mut {
                    q!(&mut #v)
                } else if a.by_ref {
                    q!(&#v)
                } else {
                    v
                }
            })
            .collect()
    }

    /// Does this argument of a call get a tangent (and an adjoint)?
    pub fn differentiable_arg(&self, arg: &Arg) -> bool {
        match &arg.op {
            Operand::Place(p) => self.f.vars[p.var].active || self.f.vars[p.var].float_kind,
            Operand::Const { float, .. } => *float,
        }
    }

    /// The partials of a row of the rule table at `args` (result `result`), each a sign and a
    /// factor, and the divisor common to them when the row has one.
    pub fn terms(
        &self,
        rule: &autodiff_core::rules::Rule,
        args: &[&Operand],
        result: &TokenStream,
    ) -> (Vec<rules::Term>, Option<TokenStream>) {
        let vals: Vec<TokenStream> = args.iter().map(|a| self.value(a)).collect();
        let subst = Subst {
            args: &vals,
            result,
            scalar: &self.scalar,
            core: &self.core,
        };
        (rules::terms(rule, &subst), rules::divisor(rule, &subst))
    }

    /// The primal of a row of the rule table: `x.sin()`, `x + a`, `-x`, `x * x`.
    pub fn rule_primal(&self, rule: &autodiff_core::rules::Rule, args: &[&Operand]) -> TokenStream {
        let vals: Vec<TokenStream> = args.iter().map(|a| self.value(a)).collect();
        rules::primal(rule, &vals)
    }

    /// The call of `g_jvp` / `g_vjp` (`suffix`) on the arguments' tokens `vals` (values, then
    /// tangents): `path::g_vjp(vals)`, or for a method call `vals[0].g_vjp(vals[1..])`.
    pub fn derived_call(
        path: &syn::ExprPath,
        method: bool,
        suffix: &str,
        vals: Vec<TokenStream>,
    ) -> TokenStream {
        Self::path_call(&Self::derived_path(path, suffix), method, vals)
    }

    /// The call of `path` (the user's callee, or a function derived from it) on `vals`: a path
    /// call, or for a method call `vals[0].g(vals[1..])` with `g` the last segment.
    pub fn path_call(d: &syn::ExprPath, method: bool, vals: Vec<TokenStream>) -> TokenStream {
        match vals.split_first() {
            Some((recv, rest)) if method => {
                let seg = d.path.segments.last().map(|s| {
                    let (m, args) = (&s.ident, &s.arguments);
                    match args {
                        syn::PathArguments::AngleBracketed(a) => {
                            let mut a = a.clone();
                            a.colon2_token = Some(Default::default());
                            q!(#m #a)
                        }
                        _ => q!(#m),
                    }
                });
                q!(#recv.#seg(#(#rest),*))
            }
            _ => q!(#d(#(#vals),*)),
        }
    }

    /// `g` -> `g_jvp` / `g_vjp`, keeping the path and turbofish.
    pub fn derived_path(path: &syn::ExprPath, suffix: &str) -> syn::ExprPath {
        let mut p = path.clone();
        if let Some(last) = p.path.segments.last_mut() {
            last.ident = syn::Ident::new(
                &format!("{}_{suffix}", crate::names::raw_free(&last.ident)),
                last.ident.span(),
            );
        }
        p
    }
}

/// Gives every token the location of the user's statement, so that a type error in emitted code
/// (a missing `g_vjp`, a mismatched shape) points at the statement that caused it. Each token
/// keeps its own hygiene: generated names stay out of the user's reach.
pub fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut ng = Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(g.span().located_at(span));
                tt = TokenTree::Group(ng);
            } else {
                tt.set_span(tt.span().located_at(span));
            }
            tt
        })
        .collect()
}

/// The span of a statement, where it has one.
pub fn stmt_span(s: &Stmt) -> Option<proc_macro2::Span> {
    match s {
        Stmt::Let { span, .. }
        | Stmt::Assign { span, .. }
        | Stmt::AddAssign { span, .. }
        | Stmt::Push { span, .. }
        | Stmt::Break { span, .. }
        | Stmt::Continue { span, .. }
        | Stmt::Return { span, .. } => Some(*span),
        _ => None,
    }
}
