//! Operators on values that may not be floats: which `a * b` is float arithmetic (a row of the
//! rule table) and which is a struct's operator (a call of its derivative).
//!
//! A macro sees no types, so an operand's class comes from what the source declares:
//!
//! - `Float`: a float literal, a binding known to be a float (a float parameter or typed `let`,
//!   the value of float arithmetic, of a float method), an element of a float array or slice;
//! - `Struct`: a value of a named non-float type: a parameter or typed `let` (`a: V3`,
//!   `let c: V3 = ..`, `self` in a method), an element of an array or slice of such (`vs[i]`),
//!   a struct literal, or the value of a struct operator (`a * b` with `a: V3`, whatever its
//!   `Output`), through untyped `let`s;
//! - `Unknown`: anything else (a field `s.vel`, a call's value).
//!
//! An operator with a `Struct` operand, or inside a value declared to be a struct (`let p: V3 =
//! s.pos + s.vel * dt`, the tail or `return` of a function returning one) is the operand types'
//! operator: `a * b` becomes the call `ops::mul(a, b)` of the runtime, whose `mul_jvp` /
//! `mul_vjp` reach `MulJvp` / `MulVjp` of the operands' types (implemented by `#[differentiate]
//! impl Mul for V3`, and for floats by the rule table), so rustc picks the derivative as it picks
//! the operator. A constant operand (`2.0 * v`) gets no tangent and no adjoint (`ops::mul_rhs`).
//!
//! Any other operator is float arithmetic. When an operand's class is not `Float`, the result is
//! declared with the function's float type (`let __t3: f64 = s.vel * dt;`), so that a struct
//! there is a type error at the operator rather than a float rule applied to a struct:
//! the macro never differentiates a struct's operator with a float's derivative.
//!
//! Input: an operator's syntax.  Output: the call of its derivative, or `None` (a float row).

use autodiff_core::rules::Rule;
use syn::{BinOp as SynBinOp, Expr, Type, UnOp};

use super::*;

/// What an operand is, as far as declarations show (see the module's documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Class {
    Float,
    Struct,
    /// A reference to a struct (`a` for `a: &V3`): its operator would be `&V3`'s.
    RefStruct,
    Unknown,
}

/// The operator's function in the runtime's `ops`.
fn op_name(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Binary(b) => match b.op {
            SynBinOp::Add(_) => Some("add"),
            SynBinOp::Sub(_) => Some("sub"),
            SynBinOp::Mul(_) => Some("mul"),
            SynBinOp::Div(_) => Some("div"),
            SynBinOp::Rem(_) => Some("rem"),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => Some("neg"),
        _ => None,
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        e => e,
    }
}

/// The expressions whose value is the value of an `if`, a `match` or a block.
fn value_tails(e: &Expr) -> Vec<&Expr> {
    fn tail(b: &syn::Block) -> Option<&Expr> {
        match b.stmts.last() {
            Some(syn::Stmt::Expr(t, None)) => Some(t),
            _ => None,
        }
    }
    match e {
        Expr::If(i) => {
            let mut out: Vec<&Expr> = tail(&i.then_branch).into_iter().collect();
            match &i.else_branch {
                Some((_, els)) => out.push(els),
                None => return Vec::new(),
            }
            if out.len() == 2 { out } else { Vec::new() }
        }
        Expr::Match(m) => m.arms.iter().map(|a| &*a.body).collect(),
        Expr::Block(b) => tail(&b.block).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// An arithmetic operator (`+ - * / %`, unary `-`), parentheses aside.
pub(super) fn is_arith(e: &Expr) -> bool {
    op_name(strip(e)).is_some()
}

impl Lowerer<'_> {
    /// Records what a `let` declares: its type if written, or that its value is a struct's.
    pub(super) fn note_type(&mut self, id: VarId, ty: Option<&Type>, class: Class) {
        match ty {
            Some(t) => {
                self.var_types.insert(id, t.clone());
            }
            None if class == Class::Struct => {
                self.struct_vars.insert(id);
            }
            None if class == Class::Float => {
                self.float_vars.insert(id);
            }
            None => {}
        }
    }

    /// The class of a type.
    pub(super) fn class_of_type(&self, ty: &Type) -> Class {
        match ty {
            _ if self.is_float_type(ty) => Class::Float,
            Type::Paren(p) => self.class_of_type(&p.elem),
            // Floats all the way down: an element of it is a float.
            Type::Array(a) if self.class_of_type(&a.elem) == Class::Float => Class::Float,
            Type::Slice(a) if self.class_of_type(&a.elem) == Class::Float => Class::Float,
            Type::Group(g) => self.class_of_type(&g.elem),
            Type::Reference(r) => match self.class_of_type(&r.elem) {
                Class::Struct => Class::RefStruct,
                // `&[f64]`, `&f64`: what `x[i]` and `x * y` read are floats.
                Class::Float => Class::Float,
                _ => Class::Unknown,
            },
            Type::Path(p) if p.qself.is_none() => {
                let Some(last) = p.path.segments.last() else {
                    return Class::Unknown;
                };
                if matches!(
                    last.ident.to_string().as_str(),
                    "Vec" | "Box" | "Option" | "Rc" | "Arc"
                ) {
                    // `Vec<f64>`: its elements are floats.
                    return match self.type_kind(ty) {
                        ValueKind::Floats if last.ident == "Vec" => Class::Float,
                        _ => Class::Unknown,
                    };
                }
                match self.type_kind(ty) {
                    ValueKind::Differentiable => Class::Struct,
                    _ => Class::Unknown,
                }
            }
            _ => Class::Unknown,
        }
    }

    /// The declared type of a place: a parameter or typed `let` (`a`), an element of one
    /// (`vs[i]`, `m[i][j]`), what a reference points to (`*r`).
    fn declared_type(&self, e: &Expr) -> Option<Type> {
        match e {
            Expr::Paren(p) => self.declared_type(&p.expr),
            Expr::Group(g) => self.declared_type(&g.expr),
            Expr::Path(p) => {
                let id = self.lookup(&p.path.get_ident()?.to_string())?;
                self.var_types.get(&id).cloned()
            }
            Expr::Index(i) => {
                let mut t = self.declared_type(&i.expr)?;
                while let Type::Reference(r) = t {
                    t = *r.elem;
                }
                match t {
                    Type::Array(a) => Some(*a.elem),
                    Type::Slice(s) => Some(*s.elem),
                    Type::Path(p) => {
                        let last = p.path.segments.last()?;
                        if last.ident != "Vec" {
                            return None;
                        }
                        match &last.arguments {
                            syn::PathArguments::AngleBracketed(a) => {
                                a.args.iter().find_map(|g| match g {
                                    syn::GenericArgument::Type(t) => Some(t.clone()),
                                    _ => None,
                                })
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => {
                match self.declared_type(&u.expr)? {
                    Type::Reference(r) => Some(*r.elem),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The class of an operand (see the module's documentation).
    pub(super) fn operand_class(&self, e: &Expr) -> Class {
        let e = strip(e);
        if let Some(t) = self.declared_type(e) {
            return self.class_of_type(&t);
        }
        match e {
            Expr::Lit(l) if matches!(l.lit, syn::Lit::Float(_)) => Class::Float,
            Expr::Array(a)
                if !a.elems.is_empty()
                    && a.elems
                        .iter()
                        .all(|x| self.operand_class(x) == Class::Float) =>
            {
                Class::Float
            }
            Expr::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "vec") => {
                match crate::names::MacroArgs::parse(&m.mac.tokens) {
                    Some(crate::names::MacroArgs::Repeat(x, _))
                        if self.operand_class(&x) == Class::Float =>
                    {
                        Class::Float
                    }
                    Some(crate::names::MacroArgs::List(l))
                        if !l.is_empty()
                            && l.iter().all(|x| self.operand_class(x) == Class::Float) =>
                    {
                        Class::Float
                    }
                    _ => Class::Unknown,
                }
            }
            Expr::Repeat(r) => match self.operand_class(&r.expr) {
                Class::Float => Class::Float,
                _ => Class::Unknown,
            },
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let Some(id) = p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) else {
                    return Class::Unknown;
                };
                if self.struct_vars.contains(&id) {
                    Class::Struct
                } else if self.float_vars.contains(&id) || self.vars[id].scalar {
                    // (Not `kind == Floats`: a passive `let`'s kind joins `2.0 * v` to floats.)
                    Class::Float
                } else {
                    Class::Unknown
                }
            }
            // An element of floats is a float; of anything else, not known (a passive `let`'s
            // kind is not trusted: it joins `2.0 * v` to floats).
            Expr::Index(i) => match self.operand_class(&i.expr) {
                Class::Float => Class::Float,
                _ => Class::Unknown,
            },
            Expr::Field(f) => match (self.operand_class(&f.base), &f.member) {
                (Class::Float, syn::Member::Unnamed(_)) => Class::Float,
                _ => Class::Unknown,
            },
            // What a binding points to (a loop's element, held by value): its class.
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => match self.operand_class(&u.expr) {
                Class::RefStruct => Class::Struct,
                c => c,
            },
            Expr::Path(_) if self.value_kind(e) == ValueKind::Floats => Class::Float,
            Expr::Path(_) => Class::Unknown,
            // An active float row is declared with the float type (`float_row_type`): a float.
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match self.operand_class(&u.expr) {
                Class::Struct => Class::Struct,
                Class::Float => Class::Float,
                _ if self.is_active(e) => Class::Float,
                _ => Class::Unknown,
            },
            Expr::Binary(_) if is_arith(e) => {
                let Expr::Binary(b) = e else { unreachable!() };
                match (self.operand_class(&b.left), self.operand_class(&b.right)) {
                    (Class::Struct, _) | (_, Class::Struct) => Class::Struct,
                    (Class::Float, Class::Float) => Class::Float,
                    _ if self.is_active(e) => Class::Float,
                    _ => Class::Unknown,
                }
            }
            Expr::Struct(st) if st.qself.is_none() => {
                self.class_of_type(&Type::Path(syn::TypePath {
                    qself: None,
                    path: st.path.clone(),
                }))
            }
            Expr::MethodCall(m) => {
                if Rule::find(&m.method.to_string()).is_some()
                    && self.operand_class(&m.receiver) == Class::Float
                {
                    Class::Float
                } else {
                    Class::Unknown
                }
            }
            Expr::Call(c) => match &*c.func {
                Expr::Path(p)
                    if p.path
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "stop_gradient") =>
                {
                    c.args
                        .first()
                        .map_or(Class::Unknown, |a| self.operand_class(a))
                }
                _ if self.value_kind(e) == ValueKind::Floats => Class::Float,
                _ => Class::Unknown,
            },
            Expr::If(_) | Expr::Match(_) | Expr::Block(_) => {
                let tails = value_tails(e);
                let classes: Vec<Class> = tails.iter().map(|t| self.operand_class(t)).collect();
                match classes.first() {
                    Some(&c) if classes.iter().all(|&d| d == c) => c,
                    _ => Class::Unknown,
                }
            }
            _ if self.value_kind(e) == ValueKind::Floats => Class::Float,
            _ => Class::Unknown,
        }
    }

    /// The operator `e` (`op`, or unary `-` for `None`): the float row, or the call of the
    /// operand types' derivative when it is a struct's operator. `declared`: the value is
    /// declared to be a struct (every operator in it is then the operands' types').
    pub(super) fn lower_arith(
        &mut self,
        e: &Expr,
        op: Option<BinOp>,
        declared: bool,
        out: &mut Vec<Stmt>,
    ) -> Rhs {
        let operands: Vec<&Expr> = match e {
            Expr::Binary(b) => vec![&b.left, &b.right],
            Expr::Unary(u) => vec![&u.expr],
            _ => Vec::new(),
        };
        // In Rust's order of evaluation; inside a value declared to be a struct, its operators
        // are the structs' too.
        let mut ops = self.lower_operands_in(&operands, declared, out);
        // Classified after the operands are lowered: a block operand's bindings are known.
        let classes: Vec<Class> = operands.iter().map(|o| self.operand_class(o)).collect();
        for (o, c) in operands.iter().zip(&classes) {
            if *c == Class::RefStruct {
                self.error(
                    o.span(),
                    "this operand is a reference to a struct, whose operator would be the reference's: differentiated operators take values, write `*x`",
                );
            }
        }
        let name = op_name(e);
        if !declared && !classes.contains(&Class::Struct) || name.is_none() {
            return match (op, ops.len()) {
                (Some(op), 2) => {
                    let r = ops.pop().expect("two operands");
                    let l = ops.pop().expect("two operands");
                    Rhs::Bin(op, l, r)
                }
                (_, _) => Rhs::Neg(ops.pop().unwrap_or(Operand::Const {
                    tokens: e.to_token_stream(),
                    float: true,
                })),
            };
        }
        let name = name.unwrap_or("neg");
        let active: Vec<bool> = ops.iter().map(|o| matches!(o, Operand::Place(_))).collect();
        let suffix = match active.as_slice() {
            [true, false] => "_lhs",
            [false, true] => "_rhs",
            [false] | [false, false] => {
                self.error(
                    e.span(),
                    "internal: an active operator without an active operand",
                );
                return Rhs::Operand(Operand::Const {
                    tokens: e.to_token_stream(),
                    float: false,
                });
            }
            _ => "",
        };
        self.operator_call(name, suffix, ops, e.span())
    }

    /// The call `ops::NAME(a, b)` of the runtime (see the module's documentation); constant
    /// operands get no tangent and no adjoint.
    fn operator_call(&self, name: &str, suffix: &str, ops: Vec<Operand>, span: Span) -> Rhs {
        let core = &self.core;
        let f = syn::Ident::new(&format!("{name}{suffix}"), span);
        let path: syn::ExprPath = syn::parse_quote!(#core::ops::#f);
        let args = ops
            .into_iter()
            .map(|op| Arg {
                op: match op {
                    Operand::Const { tokens, .. } => Operand::Const {
                        tokens,
                        float: false,
                    },
                    p => p,
                },
                by_ref: false,
                by_mut: false,
            })
            .collect();
        Rhs::Call {
            path,
            args,
            method: false,
        }
    }

    /// The type to declare a float row's result with: the function's float type when an
    /// operand is not known to be a float (a struct there is then a type error at the
    /// operator, not a float rule applied to it).
    pub(super) fn float_row_type(&self, e: &Expr, rhs: &Rhs) -> Option<Box<Type>> {
        if !matches!(rhs, Rhs::Bin(..) | Rhs::Neg(_)) {
            return None;
        }
        let operands: Vec<&Expr> = match strip(e) {
            Expr::Binary(b) => vec![&b.left, &b.right],
            Expr::Unary(u) => vec![&u.expr],
            _ => return None,
        };
        if operands
            .iter()
            .all(|o| self.operand_class(o) == Class::Float)
        {
            return None;
        }
        self.scalar_ty.clone().map(Box::new)
    }

    /// `place op= value` for `*= /= %=`: the operand types' operator when either is a struct
    /// (`v *= 2.0` with `v: V3`), else the float row `place op value` (declared as
    /// [`float_row_type`](Self::float_row_type) says).
    pub(super) fn compound(
        &mut self,
        op: BinOp,
        left: &Expr,
        right: &Expr,
        place: Place,
        value: Operand,
    ) -> (Rhs, Option<Box<Type>>) {
        let classes = [self.operand_class(left), self.operand_class(right)];
        if classes.contains(&Class::Struct) {
            let name = match op {
                BinOp::Add => "add",
                BinOp::Sub => "sub",
                BinOp::Mul => "mul",
                BinOp::Div => "div",
                BinOp::Rem => "rem",
            };
            let suffix = if matches!(value, Operand::Place(_)) {
                ""
            } else {
                "_lhs"
            };
            let span = place.span;
            return (
                self.operator_call(name, suffix, vec![Operand::Place(place), value], span),
                None,
            );
        }
        let ty = if classes.iter().all(|c| *c == Class::Float) {
            None
        } else {
            self.scalar_ty.clone().map(Box::new)
        };
        (Rhs::Bin(op, Operand::Place(place), value), ty)
    }
}
