//! The small IR that `lower` produces and `forward` / `reverse` consume.
//!
//! A function body becomes a tree of [`Block`]s of [`Stmt`]s in A-normal form: every active
//! arithmetic operation, rule application or call is bound to its own variable, and its operands
//! are [`Operand`]s (a place such as `x`, `x[i]` or `p.w[o][c]`, or a passive expression). Every
//! binding has a unique name (shadowing is resolved), so the reverse sweep can refer to any of
//! them. Passive code is kept as the user's tokens. Spans of the user's expressions are kept for
//! error messages and for `quote_spanned!`.

mod visit;

pub use visit::*;

use autodiff_core::rules::Rule;
use proc_macro2::{Span, TokenStream};
use syn::{Ident, Lifetime, Member};

/// Index into [`Func::vars`].
pub type VarId = usize;

/// Everything known about one binding.
#[derive(Clone)]
pub struct Var {
    /// The unique name used in emitted code.
    pub name: Ident,
    /// Whether derivatives flow through this binding.
    pub active: bool,
    /// Known to be a single float (so its zero is a literal and it never needs its value to
    /// make a zero of the right shape).
    pub scalar: bool,
    /// Known to be a passive float value (float literal, `as f64` cast, ...): a call passes it
    /// a zero tangent.
    pub float_kind: bool,
    /// What the source shows the value to be (for passive values: whether a call passes them a
    /// zero tangent).
    pub kind: ValueKind,
    /// Known to be an array (a `[F; N]` parameter, `[a, b]`, `[e; n]`): passed to a call by
    /// value, its tangent is passed by value too (a struct passed by value gets `&tangent`).
    pub array: bool,
    /// The block that declares it (`None`: the function's parameters).
    pub scope: Option<BlockId>,
    /// Set for function parameters.
    pub param: Option<ParamKind>,
}

/// What a value is, as far as the source shows (types are not known to a macro).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ValueKind {
    /// Floats all the way down: a float, an array, slice or `Vec` of floats (nested).
    Floats,
    /// Carries a derivative, but its parts are not known (a `Differentiable` struct).
    Differentiable,
    /// Carries no derivative: an integer, a bool, ...
    Other,
    /// Not known from the source.
    Unknown,
}

impl ValueKind {
    /// Carries a derivative (a call passes it a tangent).
    pub fn differentiable(self) -> bool {
        matches!(self, ValueKind::Floats | ValueKind::Differentiable)
    }

    /// The kind of `a op b` for an arithmetic operator.
    pub fn join(self, other: ValueKind) -> ValueKind {
        use ValueKind::*;
        match (self, other) {
            (Floats, _) | (_, Floats) => Floats,
            (Differentiable, _) | (_, Differentiable) => Differentiable,
            (Other, Other) => Other,
            _ => Unknown,
        }
    }

    /// The kind of an element (`v[i]`) of a value of this kind.
    pub fn element(self) -> ValueKind {
        self
    }
}

/// How an active parameter is passed, which decides its tangent and adjoint types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParamKind {
    /// By value (`F`, `[F; N]`, `S`): tangent and adjoint of the same type.
    Value,
    /// `&[F; N]`, `&S`: tangent `&T`, adjoint `T`.
    Ref,
    /// `&[F]`, `&Vec<F>`: tangent `&[F]`, adjoint `Vec<F>`.
    Slice,
    /// Not active (passive type, or left out of `wrt`).
    Passive,
}

/// Index of a block, for scoping.
pub type BlockId = usize;

/// A projection from a place: `[i]` or `.field`.
#[derive(Clone)]
pub enum Proj {
    /// Indexing by a passive expression.
    Index(TokenStream),
    /// A named or numbered field.
    Field(Member),
}

/// A readable, writable location: a variable followed by projections.
#[derive(Clone)]
pub struct Place {
    pub var: VarId,
    pub proj: Vec<Proj>,
    pub span: Span,
    /// Written `*x`: the value a reference parameter points to (a copy of the array or struct),
    /// where plain `x` is the reference. Adjoints are owned, so theirs is the same either way.
    pub deref: bool,
}

/// An operand of an operation.
#[derive(Clone)]
pub enum Operand {
    Place(Place),
    /// A passive expression, kept as (renamed) tokens; `float` when known to be a float.
    Const {
        tokens: TokenStream,
        float: bool,
    },
}

/// The arithmetic operators; their derivatives are rows of the rule table ([`BinOp::rule`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// The operator's row of the rule table (the table has a row for each: checked by the
    /// macro crate's tests).
    pub fn rule(self) -> &'static Rule {
        Rule::binary(self.symbol()).unwrap_or_else(Rule::square)
    }
}

/// Negation's row of the rule table.
pub fn neg_rule() -> &'static Rule {
    Rule::unary("-").unwrap_or_else(Rule::square)
}

/// One argument of a call to a differentiable function.
#[derive(Clone)]
pub struct Arg {
    pub op: Operand,
    /// Written as `&e`: its tangent is passed as `&e_dot`.
    pub by_ref: bool,
    /// Passed by `&mut` (`g(&mut s)`, or the receiver of a method called on a mutable binding,
    /// which may take `&mut self`): `op` is a place the call may write, so the call is also an
    /// assignment to it (`let (y, s') = g(s); s = s';`, docs/API.md, "`&mut` parameters").
    /// Its tangent is passed by `&mut` and updated in place; the pullback takes its adjoint as
    /// the final state's cotangent and gives back the initial state's (`rt::pull`).
    pub by_mut: bool,
}

/// The right-hand side of a `let`.
#[derive(Clone)]
pub enum Rhs {
    Operand(Operand),
    Bin(BinOp, Operand, Operand),
    Neg(Operand),
    /// A method of the rule table; integer arguments are passive operands.
    Rule(&'static Rule, Vec<Operand>),
    /// A call to a differentiable function: `path` is the callee (turbofish included). When
    /// `method`, the call is `args[0].g(args[1..])` (a method of the receiver's type, `path`
    /// being `g` with its turbofish); the receiver always gets a tangent and an adjoint.
    Call {
        path: syn::ExprPath,
        args: Vec<Arg>,
        method: bool,
    },
    Array(Vec<Operand>),
    /// `[e; n]` or `vec![e; n]`.
    Repeat {
        elem: Operand,
        len: TokenStream,
        vec: bool,
    },
    Tuple(Vec<Operand>),
    /// A struct literal `path { f1: a1, f2: a2, ..rest }`: `args` holds one operand per field
    /// of `fields`, then the `..rest` operand when `rest`.
    Struct {
        path: TokenStream,
        fields: Vec<Member>,
        args: Vec<Operand>,
        rest: bool,
    },
    /// A value-producing `if`: the blocks end in tails.
    If {
        cond: TokenStream,
        then: Block,
        els: Block,
    },
    Match {
        scrutinee: TokenStream,
        arms: Vec<Arm>,
    },
    Block(Block),
}

/// One arm of a `match` on a passive value.
#[derive(Clone)]
pub struct Arm {
    /// The pattern (renamed), guard included: `pat if guard`.
    pub pat: TokenStream,
    pub body: Block,
}

/// A `for` loop's iterator, when the reverse sweep can run it backwards by re-evaluating it.
#[derive(Clone)]
pub struct ForIter {
    pub tokens: TokenStream,
    /// `rev` of the iterator exists and gives the same items backwards.
    pub reversible: bool,
    /// The variables the iterator expression reads.
    pub reads: Vec<VarId>,
}

/// A statement's identity: unique in its function, assigned by lowering (and by the passes that
/// add statements, from [`Func::num_stmts`] on).
pub type StmtId = usize;

/// A statement.
#[derive(Clone)]
pub enum Stmt {
    /// `let var: ty = rhs;`
    Let {
        id: StmtId,
        var: VarId,
        ty: Option<Box<syn::Type>>,
        rhs: Rhs,
        span: Span,
    },
    /// `place = value;`
    Assign {
        id: StmtId,
        place: Place,
        value: Operand,
        span: Span,
    },
    /// `place += value` (`sub`: `-=`), kept apart because its adjoint needs no values.
    AddAssign {
        id: StmtId,
        place: Place,
        value: Operand,
        sub: bool,
        span: Span,
    },
    /// `place.push(value);` on a `Vec` declared in the function's body: its tangent and
    /// adjoint grow alongside it, and the reverse sweep pops the adjoint of the pushed element
    /// (and the element itself, when the reverse sweep reads the `Vec`: it sees the `Vec` as
    /// it was at each point of the forward sweep).
    Push {
        id: StmtId,
        place: Place,
        value: Operand,
        span: Span,
    },
    /// A passive statement kept as tokens (assignments to passive variables and the like).
    Passive(StmtId, TokenStream),
    If {
        id: StmtId,
        cond: TokenStream,
        then: Block,
        els: Block,
    },
    Match {
        id: StmtId,
        scrutinee: TokenStream,
        arms: Vec<Arm>,
    },
    /// `exit`: set by the reverse emitter's structuring pass, a condition checked at the top
    /// of every iteration that ends the loop (replacing `break` and `return`).
    For {
        id: StmtId,
        var: VarId,
        iter: ForIter,
        body: Block,
        label: Option<Lifetime>,
        exit: Option<TokenStream>,
    },
    While {
        id: StmtId,
        cond: TokenStream,
        body: Block,
        label: Option<Lifetime>,
        exit: Option<TokenStream>,
    },
    Loop {
        id: StmtId,
        body: Block,
        label: Option<Lifetime>,
        exit: Option<TokenStream>,
    },
    Break {
        id: StmtId,
        label: Option<Lifetime>,
        span: Span,
    },
    Continue {
        id: StmtId,
        label: Option<Lifetime>,
        span: Span,
    },
    Return {
        id: StmtId,
        value: Operand,
        span: Span,
    },
}

/// The float arguments of a row of the rule table that are active places, each with its
/// position among the row's float arguments (the index of its partial).
pub fn active_floats<'a>(rule: &Rule, args: &[&'a Operand], f: &Func) -> Vec<(usize, &'a Operand)> {
    args.iter()
        .zip(rule.args)
        .filter(|(_, (_, k))| *k == "F")
        .map(|(a, _)| *a)
        .enumerate()
        .filter(|(_, a)| a.active_place(f).is_some())
        .collect()
}

impl Rhs {
    /// An arithmetic right-hand side (an operator, a square `x * x`, a method of the rule
    /// table) as its row of the table and its operands, integer arguments included.
    pub fn arith(&self) -> Option<(&'static Rule, Vec<&Operand>)> {
        match self {
            Rhs::Bin(BinOp::Mul, a, b) if a.same_place(b) => Some((Rule::square(), vec![a])),
            Rhs::Bin(op, a, b) => Some((op.rule(), vec![a, b])),
            Rhs::Neg(a) => Some((neg_rule(), vec![a])),
            Rhs::Rule(rule, args) => Some((rule, args.iter().collect())),
            _ => None,
        }
    }
}

impl Rhs {
    /// The places a call writes through `&mut` (its [`Arg::by_mut`] arguments), in order.
    pub fn mut_places(&self) -> Vec<&Place> {
        match self {
            Rhs::Call { args, .. } => args
                .iter()
                .filter(|a| a.by_mut)
                .filter_map(|a| match &a.op {
                    Operand::Place(p) => Some(p),
                    Operand::Const { .. } => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Stmt {
    /// The places the statement itself writes (not its nested statements): an assignment's
    /// target, or the places a call passes by `&mut` (a `let` whose right-hand side is such a
    /// call also assigns them). A push overwrites nothing: it is not among them
    /// ([`changed_places`](Self::changed_places)).
    pub fn written_places(&self) -> Vec<&Place> {
        match self {
            Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } => vec![place],
            Stmt::Let { rhs, .. } => rhs.mut_places(),
            _ => Vec::new(),
        }
    }

    /// [`written_places`](Self::written_places), and the `Vec` a push grows: every place whose
    /// value the statement itself changes.
    pub fn changed_places(&self) -> Vec<&Place> {
        match self {
            Stmt::Push { place, .. } => vec![place],
            _ => self.written_places(),
        }
    }

    /// The statement's identity: what analyses and tapes key their facts by.
    pub fn id(&self) -> StmtId {
        match self {
            Stmt::Let { id, .. }
            | Stmt::Assign { id, .. }
            | Stmt::AddAssign { id, .. }
            | Stmt::Push { id, .. }
            | Stmt::Passive(id, _)
            | Stmt::If { id, .. }
            | Stmt::Match { id, .. }
            | Stmt::For { id, .. }
            | Stmt::While { id, .. }
            | Stmt::Loop { id, .. }
            | Stmt::Break { id, .. }
            | Stmt::Continue { id, .. }
            | Stmt::Return { id, .. } => *id,
        }
    }
}

/// A block: its own scope.
#[derive(Clone)]
pub struct Block {
    pub id: BlockId,
    pub stmts: Vec<Stmt>,
    pub tail: Option<Operand>,
}

/// A lowered function.
pub struct Func {
    pub vars: Vec<Var>,
    /// The parameters, in order, as variables.
    pub params: Vec<VarId>,
    /// The parameters with a tangent and an adjoint in the generated signatures. A parameter
    /// left out of `wrt(..)` (or of a passive type) that the body writes with active values is
    /// active too, with a zero tangent and an adjoint of its own that is not returned.
    pub signature: Vec<VarId>,
    pub body: Block,
    /// Number of blocks (ids are `0..num_blocks`).
    pub num_blocks: usize,
    /// Number of statements (ids are `0..num_stmts`).
    pub num_stmts: usize,
    /// Loop depth of every block.
    pub block_depth: Vec<usize>,
}

impl Func {
    pub fn var(&self, id: VarId) -> &Var {
        &self.vars[id]
    }
}

impl Operand {
    /// Both operands read the same place (`x * x`, `q[j] * q[j]`).
    pub fn same_place(&self, other: &Operand) -> bool {
        match (self, other) {
            (Operand::Place(a), Operand::Place(b)) => a.var == b.var && key(a) == key(b),
            _ => false,
        }
    }

    /// The place, if this operand is an active place.
    pub fn active_place<'a>(&'a self, f: &Func) -> Option<&'a Place> {
        match self {
            Operand::Place(p) if f.var(p.var).active => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autodiff_core::rules::Form;

    /// The fallbacks of [`BinOp::rule`] and [`neg_rule`] are never taken.
    #[test]
    fn every_operator_has_its_row() {
        for op in [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div, BinOp::Rem] {
            assert_eq!(op.rule().form, Form::Binary(op.symbol()));
        }
        assert_eq!(neg_rule().form, Form::Unary("-"));
        assert_eq!(Rule::square().form, Form::Square);
    }
}
