//! Front end: activity, which bindings carry derivatives.
//!
//! A binding is active when its value depends on an active parameter: it is initialised or
//! assigned (anywhere, also in a later loop iteration) from an expression that reads an active
//! binding. This is a flow-insensitive fixpoint over the renamed body, so a `let mut s = 0.0;`
//! that a loop later accumulates into is active from its declaration on. Reading through
//! `stop_gradient(..)`, `.len()`, comparisons, predicates and casts to integers is passive.
//!
//! Input: the renamed body and the active parameters' names.  Output: the active bindings' names.

use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{BinOp, Expr, Pat, Stmt, UnOp};

use crate::front::syntax::{IterLoop, is_passive_type, pat_bindings, place_base, strip_pat_type};
use crate::names::MacroArgs;

/// Returns the set of active binding names, starting from the active parameters. `mutable`:
/// the bindings declared `mut` (parameters included), which a method call may change through
/// `&mut self`.
pub fn analyze(
    body: &syn::Block,
    seeds: HashSet<String>,
    mutable: &HashSet<String>,
) -> HashSet<String> {
    let mut a = Analysis {
        active: seeds,
        changed: true,
        mutable,
    };
    while a.changed {
        a.changed = false;
        a.visit_block(body);
    }
    a.active
}

struct Analysis<'m> {
    active: HashSet<String>,
    changed: bool,
    mutable: &'m HashSet<String>,
}

impl Analysis<'_> {
    fn mark(&mut self, name: String) {
        if self.active.insert(name) {
            self.changed = true;
        }
    }

    fn mark_pat(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        pat_bindings(pat, &mut names);
        for n in names {
            self.mark(n);
        }
    }
}

impl<'ast> Visit<'ast> for Analysis<'_> {
    // A call writes what it is passed by `&mut` (`step(&mut s, dt)`), and a method called on a
    // mutable binding may write it (`s.observe(z)` with `&mut self`): from the call's active
    // values.
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let written: Vec<&Expr> = mut_args(c.args.iter()).collect();
        if !written.is_empty() && c.args.iter().any(|a| is_active(a, &self.active)) {
            for w in written {
                if let Some(base) = place_base(w) {
                    self.mark(base);
                }
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let mut written: Vec<&Expr> = mut_args(m.args.iter()).collect();
        if let Some(r) = mut_receiver(m, self.mutable) {
            written.push(r);
        }
        if !written.is_empty()
            && (is_active(&m.receiver, &self.active)
                || m.args.iter().any(|a| is_active(a, &self.active)))
        {
            for w in written {
                if let Some(base) = place_base(w) {
                    self.mark(base);
                }
            }
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        // `for x in xs.iter()`: `x` is active when `xs` is (the loop is lowered to an index loop).
        if let Some(lp) = IterLoop::parse(&f.pat, &f.expr) {
            for (pat, src, _) in &lp.elems {
                if is_active(src, &self.active) {
                    self.mark_pat(pat);
                }
            }
        }
        visit::visit_expr_for_loop(self, f);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            match (strip_pat_type(&l.pat), &*init.expr) {
                (Pat::Tuple(pt), Expr::Tuple(et)) if pt.elems.len() == et.elems.len() => {
                    for (p, e) in pt.elems.iter().zip(&et.elems) {
                        if is_active(e, &self.active) {
                            self.mark_pat(p);
                        }
                    }
                }
                _ => {
                    if is_active(&init.expr, &self.active) {
                        self.mark_pat(&l.pat);
                    }
                }
            }
        }
        visit::visit_local(self, l);
    }

    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        if is_active(&e.right, &self.active)
            && let Some(base) = place_base(&e.left)
        {
            self.mark(base);
        }
        visit::visit_expr_assign(self, e);
    }

    fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
        let compound = matches!(
            e.op,
            BinOp::AddAssign(_)
                | BinOp::SubAssign(_)
                | BinOp::MulAssign(_)
                | BinOp::DivAssign(_)
                | BinOp::RemAssign(_)
        );
        if compound
            && is_active(&e.right, &self.active)
            && let Some(base) = place_base(&e.left)
        {
            self.mark(base);
        }
        visit::visit_expr_binary(self, e);
    }
}

pub use autodiff_core::rules::PREDICATES;

/// The places a call's arguments pass by `&mut` (`&mut s`, `&mut s.x[i]`).
pub fn mut_args<'e>(args: impl Iterator<Item = &'e Expr>) -> impl Iterator<Item = &'e Expr> {
    args.filter_map(|a| match crate::front::syntax::strip_paren(a) {
        Expr::Reference(r) if r.mutability.is_some() => Some(&*r.expr),
        _ => None,
    })
}

/// The receiver of a method call that may write it through `&mut self`: a place rooted at a
/// binding declared `mut` (`s.observe(z)` after `let mut s = ..`, `self.f.step(dt)` in a
/// method taking `&mut self`), calling a method that is not one of the float methods of the
/// rule table or a predicate (those never write their receiver). Whether the method takes
/// `&mut self` is not visible to the macro: the call is differentiated as one that may write,
/// and its pullback's arity says (`rt::pull`).
pub fn mut_receiver<'e>(m: &'e syn::ExprMethodCall, mutable: &HashSet<String>) -> Option<&'e Expr> {
    let name = m.method.to_string();
    if autodiff_core::rules::Rule::find(&name).is_some()
        || PREDICATES.contains(&name.as_str())
        || EXITS.contains(&name.as_str())
        || counts_items(m)
    {
        return None;
    }
    let recv = crate::front::syntax::strip_paren(&m.receiver);
    if !matches!(recv, Expr::Path(_) | Expr::Field(_) | Expr::Index(_)) {
        return None;
    }
    place_base(recv)
        .filter(|b| mutable.contains(b))
        .map(|_| recv)
}

/// The bindings a block declares `mut` (`let mut s`, `(mut a, b)`, `Some(mut x)`).
pub fn mut_bindings(body: &syn::Block) -> HashSet<String> {
    struct M(HashSet<String>);
    impl<'ast> Visit<'ast> for M {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            if p.mutability.is_some() {
                self.0.insert(p.ident.to_string());
            }
            visit::visit_pat_ident(self, p);
        }
    }
    let mut m = M(HashSet::new());
    m.visit_block(body);
    m.0
}

/// Iterator ends whose values are counts and truths (`usize`, `bool`): passive whatever they
/// iterate, so the chain before them stays the user's code (std runs it on the primal values):
/// `it.count()`, `it.all(|x| ..)`, `it.any(|x| ..)` with `it` an iterator chain of std's
/// adapters (a method of the user's named `count` is not one).
pub fn counts_items(m: &syn::ExprMethodCall) -> bool {
    const ITERS: &[&str] = &[
        "iter",
        "into_iter",
        "map",
        "filter",
        "zip",
        "enumerate",
        "chain",
        "copied",
        "cloned",
        "rev",
        "skip",
        "take",
        "step_by",
        "windows",
        "chunks",
        "chunks_exact",
    ];
    let arity_ok = match m.method.to_string().as_str() {
        "count" => m.args.is_empty(),
        "all" | "any" => m.args.len() == 1 && matches!(m.args[0], Expr::Closure(_)),
        _ => false,
    };
    arity_ok
        && m.turbofish.is_none()
        && matches!(crate::front::syntax::strip_paren(&m.receiver), Expr::MethodCall(r) if ITERS.contains(&r.method.to_string().as_str()))
}

/// Methods that take a float out of the floats (its derivative would silently be lost): passive
/// here, and each a spanned error of `lower` on an active receiver.
pub const EXITS: &[&str] = &[
    "to_bits",
    "to_ne_bytes",
    "to_le_bytes",
    "to_be_bytes",
    "to_int_unchecked",
    "to_string",
];

/// Does the value of `e` depend on an active binding?
pub fn is_active(e: &Expr, active: &HashSet<String>) -> bool {
    match e {
        Expr::Path(p) => {
            p.qself.is_none()
                && p.path.segments.len() == 1
                && active.contains(&p.path.segments[0].ident.to_string())
        }
        Expr::Lit(_) | Expr::Range(_) => false,
        Expr::Binary(b) => match b.op {
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) | BinOp::Rem(_) => {
                is_active(&b.left, active) || is_active(&b.right, active)
            }
            _ => false,
        },
        Expr::Unary(u) => match u.op {
            UnOp::Not(_) => false,
            _ => is_active(&u.expr, active),
        },
        Expr::Paren(p) => is_active(&p.expr, active),
        Expr::Group(g) => is_active(&g.expr, active),
        Expr::Index(i) => is_active(&i.expr, active),
        Expr::Field(f) => is_active(&f.base, active),
        Expr::Reference(r) => is_active(&r.expr, active),
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if PREDICATES.contains(&name.as_str())
                || EXITS.contains(&name.as_str())
                || counts_items(m)
            {
                false
            } else {
                is_active(&m.receiver, active) || m.args.iter().any(|a| is_active(a, active))
            }
        }
        Expr::Call(c) => {
            if let Expr::Path(p) = &*c.func
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "stop_gradient")
            {
                return false;
            }
            c.args.iter().any(|a| is_active(a, active))
        }
        Expr::Cast(c) => !is_passive_type(&c.ty) && is_active(&c.expr, active),
        Expr::If(i) => {
            block_active(&i.then_branch, active)
                || i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| is_active(e, active))
        }
        Expr::Match(m) => m.arms.iter().any(|a| is_active(&a.body, active)),
        Expr::Block(b) => block_active(&b.block, active),
        Expr::Unsafe(b) => block_active(&b.block, active),
        Expr::Array(a) => a.elems.iter().any(|e| is_active(e, active)),
        Expr::Tuple(t) => t.elems.iter().any(|e| is_active(e, active)),
        Expr::Repeat(r) => is_active(&r.expr, active),
        Expr::Macro(m) => match MacroArgs::parse(&m.mac.tokens) {
            Some(MacroArgs::Repeat(e, _)) => is_active(&e, active),
            Some(MacroArgs::List(l)) => l.iter().any(|e| is_active(e, active)),
            None => false,
        },
        // Anything else (closures, `loop` values, ...) is active when it mentions an active name.
        other => mentions(other, active),
    }
}

fn block_active(b: &syn::Block, active: &HashSet<String>) -> bool {
    match b.stmts.last() {
        Some(Stmt::Expr(e, None)) => is_active(e, active),
        _ => false,
    }
}

/// Does `e` mention an active name anywhere?
pub fn mentions(e: &Expr, active: &HashSet<String>) -> bool {
    struct M<'a> {
        active: &'a HashSet<String>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for M<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if p.path.segments.len() == 1
                && self.active.contains(&p.path.segments[0].ident.to_string())
            {
                self.found = true;
            }
        }
    }
    let mut m = M {
        active,
        found: false,
    };
    m.visit_expr(e);
    m.found
}
