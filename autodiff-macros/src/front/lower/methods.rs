//! Lowering the float methods of the rule table: rows (`x.sin()`, `F::powi(x, n)`), tuples of
//! rows (`x.sin_cos()`, `rules::TUPLES`), and the parts of values that are not places
//! (`x.sin_cos().0`, `g(x).1`).
//!
//! Input: `let (s, c) = x.sin_cos(); let t = x.sin_cos().1;`
//! Output: `let __t0 = x.sin(); let __t1 = x.cos(); let s = __t0; let c = __t1;
//! let __t2 = x.cos(); let t = __t2;`

use autodiff_core::rules::{Rule, Tuple};
use proc_macro2::Span;
use quote::ToTokens;
use syn::Expr;
use syn::spanned::Spanned;

use super::*;

impl Lowerer<'_> {
    /// A row of the rule table applied to `args` (the receiver first).
    pub(super) fn lower_rule(
        &mut self,
        rule: &'static Rule,
        args: &[&Expr],
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Rhs {
        match self.rule_operands(rule, args, span, out) {
            Some(ops) => Rhs::Rule(rule, ops),
            None => Rhs::Operand(Operand::Const {
                tokens: q!(),
                float: true,
            }),
        }
    }

    /// The operands of a row: its float arguments lowered in order, its integer arguments
    /// kept as written; `None` (reported) when the count is wrong.
    fn rule_operands(
        &mut self,
        rule: &'static Rule,
        args: &[&Expr],
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Option<Vec<Operand>> {
        if args.len() != rule.args.len() {
            self.error(
                span,
                format!(
                    "`{}` takes {} argument(s) besides the receiver",
                    rule.name,
                    rule.args.len() - 1
                ),
            );
            return None;
        }
        let floats: Vec<&Expr> = args
            .iter()
            .zip(rule.args)
            .filter(|(_, (_, kind))| *kind == "F")
            .map(|(a, _)| *a)
            .collect();
        let mut floats = self.lower_operands(&floats, out).into_iter();
        let ops = args
            .iter()
            .zip(rule.args)
            .map(|(a, (_, kind))| match *kind {
                "F" => floats.next().expect("one operand a float argument"),
                _ => Operand::Const {
                    tokens: a.to_token_stream(),
                    float: false,
                },
            })
            .collect();
        Some(ops)
    }

    /// A call of a tuple-valued float method, `x.sin_cos()`, `f64::sin_cos(x)`, `F::sin_cos(x)`
    /// or `<F as Float>::sin_cos(x)`: the tuple and its arguments (the receiver first).
    pub(super) fn tuple_call<'e>(&self, e: &'e Expr) -> Option<(&'static Tuple, Vec<&'e Expr>)> {
        match crate::front::syntax::strip_paren(e) {
            Expr::MethodCall(m) if m.turbofish.is_none() => {
                let tuple = Tuple::find(&m.method.to_string())?;
                let mut args = vec![&*m.receiver];
                args.extend(m.args.iter());
                Some((tuple, args))
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return None;
                };
                let segs = crate::front::syntax::segments(&p.path);
                let float_path = segs.len() == 2
                    && (self.float_types.contains(&segs[0]) || segs[0] == "Float")
                    || p.qself.is_some();
                if !float_path {
                    return None;
                }
                let tuple = Tuple::find(segs.last()?)?;
                Some((tuple, c.args.iter().collect()))
            }
            _ => None,
        }
    }

    /// The parts of a tuple-valued method (all of them, or only `which`): its arguments
    /// lowered once, then one row of the table a part.
    pub(super) fn lower_tuple(
        &mut self,
        tuple: &'static Tuple,
        args: &[&Expr],
        which: Option<usize>,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Vec<Operand> {
        let rules: Vec<&'static Rule> = tuple.rules().collect();
        let ops = match rules.first() {
            Some(first) => self.rule_operands(first, args, span, out),
            None => None,
        };
        let Some(ops) = ops else {
            let n = if which.is_some() { 1 } else { rules.len() };
            return vec![
                Operand::Const {
                    tokens: q!(),
                    float: true
                };
                n
            ];
        };
        let mut parts = Vec::new();
        for (k, rule) in rules.into_iter().enumerate() {
            if which.is_some_and(|w| w != k) {
                continue;
            }
            let t = self.temp(true);
            out.push(Stmt::Let {
                id: self.sid(),
                var: t,
                ty: None,
                rhs: Rhs::Rule(rule, ops.clone()),
                span,
            });
            parts.push(Operand::Place(Place {
                var: t,
                proj: Vec::new(),
                span,
                deref: false,
            }));
        }
        parts
    }

    /// A field or element of an active value that is not a place (`x.sin_cos().0`, `g(x).1`,
    /// `pair(a)[0]`): the part's row alone for a tuple method, else the value lowered to a
    /// temporary and projected.
    pub(super) fn lower_projection(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Option<Rhs> {
        match e {
            Expr::Field(f) => {
                if let syn::Member::Unnamed(k) = &f.member
                    && let Some((tuple, args)) = self.tuple_call(&f.base)
                    && (k.index as usize) < tuple.parts.len()
                {
                    let part =
                        self.lower_tuple(tuple, &args, Some(k.index as usize), f.span(), out);
                    return part.into_iter().next().map(Rhs::Operand);
                }
                let base = self.lower_operand(&f.base, out);
                Some(Rhs::Operand(project(&base, Proj::Field(f.member.clone()))))
            }
            Expr::Index(i) => {
                if self.is_active(&i.index) {
                    self.error(i.index.span(), "an index must be an integer");
                }
                let base = self.lower_operand(&i.expr, out);
                Some(Rhs::Operand(project(
                    &base,
                    Proj::Index(i.index.to_token_stream()),
                )))
            }
            _ => None,
        }
    }
}
