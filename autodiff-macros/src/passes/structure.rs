//! IR-to-IR pass: `break`, `continue` and `return` become flags and guards.
//!
//! Input: the lowered IR, with early exits.  Output: the same IR in structured form (every loop
//! runs to its guard, every exit is a flag test), and the flags to declare.

use std::collections::HashMap;

use proc_macro2::{Ident, Span, TokenStream};

use crate::ir::*;
use crate::names;

/// Rewrites `break`, `continue` and `return` into flags and guards, so that the reverse sweep
/// sees only structured control flow. Returns the flags to declare.
///
/// Input: `for i in 0..n { if c { break; } s += x[i]; }`
/// Output: `for i in 0..n { if __brk0 { break } if c { __brk0 = true; } if !(__brk0) { s += x[i]; } }`
/// (the loop's check at the top of each iteration is its `exit`).
pub fn structure(f: &mut Func) -> Vec<Ident> {
    let mut needs = false;
    visit_stmts(&f.body, &mut |s| {
        if matches!(
            s,
            Stmt::Break { .. } | Stmt::Continue { .. } | Stmt::Return { .. }
        ) {
            needs = true;
        }
    });
    if !needs {
        return Vec::new();
    }
    let by_name: HashMap<String, VarId> = f
        .vars
        .iter()
        .enumerate()
        .map(|(i, v)| (v.name.to_string(), i))
        .collect();
    let mut st = Structurer {
        by_name,
        rescoped: Vec::new(),
        flags: Vec::new(),
        f_blocks: f.num_blocks,
        f_stmts: f.num_stmts,
        depths: f.block_depth.clone(),
        loops: Vec::new(),
        cur_depth: 0,
        last_break: None,
    };
    let mut body = std::mem::replace(
        &mut f.body,
        Block {
            id: 0,
            stmts: Vec::new(),
            tail: None,
        },
    );
    if contains_return(&body) {
        // The function's value becomes one more `return`.
        if let Some(t) = body.tail.take() {
            body.stmts.push(Stmt::Return {
                id: st.sid(),
                value: t,
                span: Span::call_site(),
            });
        }
    }
    let (body, _) = st.block(body);
    for (v, b) in std::mem::take(&mut st.rescoped) {
        f.vars[v].scope = Some(b);
    }
    f.body = body;
    f.num_blocks = st.f_blocks;
    f.num_stmts = st.f_stmts;
    f.block_depth = st.depths;
    st.flags
}

pub(crate) struct LoopFlags {
    label: Option<String>,
    brk: Option<Ident>,
    cont: Option<Ident>,
}

pub(crate) struct Structurer {
    by_name: HashMap<String, VarId>,
    /// Bindings moved into a guard block, with that block: their scope is now the guard's.
    rescoped: Vec<(VarId, BlockId)>,
    flags: Vec<Ident>,
    f_blocks: usize,
    /// Statements numbered so far: new ones get the next ids.
    f_stmts: usize,
    depths: Vec<usize>,
    loops: Vec<LoopFlags>,
    /// Loop depth of the block being rewritten.
    cur_depth: usize,
    /// The break flag of the loop whose body was rewritten last (reset before that loop).
    last_break: Option<Ident>,
}

impl Structurer {
    /// A fresh statement id.
    fn sid(&mut self) -> StmtId {
        self.f_stmts += 1;
        self.f_stmts - 1
    }

    fn flag(&mut self, what: &str) -> Ident {
        // Flags stand in the IR's passive tokens, which the analyses scan by spelling: a flag
        // must not be spelled like a binding of the function (a parameter named `__brk0`).
        let mut n = self.flags.len();
        while self.by_name.contains_key(&format!("__{what}{n}"))
            || self.flags.iter().any(|f| *f == format!("__{what}{n}"))
        {
            n += 1;
        }
        let id = names::generated(what, n);
        self.flags.push(id.clone());
        id
    }

    fn done(&mut self) -> Ident {
        if let Some(d) = self
            .flags
            .iter()
            .find(|f| f.to_string().starts_with("__done"))
        {
            return d.clone();
        }
        self.flag("done")
    }

    fn target(&mut self, label: &Option<syn::Lifetime>) -> Option<usize> {
        match label {
            None => self.loops.len().checked_sub(1),
            Some(l) => {
                let name = l.ident.to_string();
                self.loops
                    .iter()
                    .rposition(|lf| lf.label.as_deref() == Some(name.as_str()))
            }
        }
    }

    /// Returns the rewritten block and the flags that may be set inside it and escape it.
    fn block(&mut self, b: Block) -> (Block, Vec<Ident>) {
        let Block { id, stmts, tail } = b;
        let saved_depth = self.cur_depth;
        self.cur_depth = self.depths[id];
        let r = self.block_inner(id, stmts, tail);
        self.cur_depth = saved_depth;
        r
    }

    fn block_inner(
        &mut self,
        id: BlockId,
        stmts: Vec<Stmt>,
        tail: Option<Operand>,
    ) -> (Block, Vec<Ident>) {
        let mut out = Vec::new();
        let mut escaping: Vec<Ident> = Vec::new();
        let mut rest = stmts.into_iter();
        while let Some(s) = rest.next() {
            let (pre, s, exits) = self.stmt(s);
            out.extend(pre);
            out.push(s);
            if !exits.is_empty() {
                for e in &exits {
                    if !escaping.contains(e) {
                        escaping.push(e.clone());
                    }
                }
                let remaining: Vec<Stmt> = rest.by_ref().collect();
                if remaining.is_empty() && tail.is_none() {
                    break;
                }
                let gid = self.f_blocks;
                self.f_blocks += 1;
                self.depths.push(self.depths[id]);
                for s in &remaining {
                    match s {
                        Stmt::Let { var, .. } => self.rescoped.push((*var, gid)),
                        Stmt::Passive(_, t) => {
                            for n in crate::front::syntax::passive_bindings(t) {
                                if let Some(&v) = self.by_name.get(&n) {
                                    self.rescoped.push((v, gid));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let (guarded, more) = self.block(Block {
                    id: gid,
                    stmts: remaining,
                    tail: None,
                });
                for e in more {
                    if !escaping.contains(&e) {
                        escaping.push(e);
                    }
                }
                let eid = self.f_blocks;
                self.f_blocks += 1;
                self.depths.push(self.depths[id]);
                out.push(Stmt::If {
                    id: self.sid(),
                    cond: q!(!(#(#exits)||*)),
                    then: guarded,
                    els: Block {
                        id: eid,
                        stmts: Vec::new(),
                        tail: None,
                    },
                });
                return (
                    Block {
                        id,
                        stmts: out,
                        tail,
                    },
                    escaping,
                );
            }
        }
        (
            Block {
                id,
                stmts: out,
                tail,
            },
            escaping,
        )
    }

    /// Returns the statements to run before the rewritten one (a loop's break flag reset: the
    /// loop may run again, inside an outer loop), the statement and the flags escaping it.
    fn stmt(&mut self, s: Stmt) -> (Option<Stmt>, Stmt, Vec<Ident>) {
        let (s, exits) = self.stmt_inner(s);
        let reset = match &s {
            Stmt::For { exit: Some(_), .. }
            | Stmt::While { exit: Some(_), .. }
            | Stmt::Loop { exit: Some(_), .. } => self.last_break.take(),
            _ => None,
        };
        (
            reset.map(|b| Stmt::Passive(self.sid(), q!(#b = false;))),
            s,
            exits,
        )
    }

    fn stmt_inner(&mut self, s: Stmt) -> (Stmt, Vec<Ident>) {
        match s {
            Stmt::Break { label, .. } => match self.target(&label) {
                Some(i) => {
                    let f = match &self.loops[i].brk {
                        Some(f) => f.clone(),
                        None => {
                            let f = self.flag("brk");
                            self.loops[i].brk = Some(f.clone());
                            f
                        }
                    };
                    (Stmt::Passive(self.sid(), q!(#f = true;)), vec![f])
                }
                None => (Stmt::Passive(self.sid(), q!()), vec![]),
            },
            Stmt::Continue { label, .. } => match self.target(&label) {
                Some(i) => {
                    let f = match &self.loops[i].cont {
                        Some(f) => f.clone(),
                        None => {
                            let f = self.flag("cont");
                            self.loops[i].cont = Some(f.clone());
                            f
                        }
                    };
                    (Stmt::Passive(self.sid(), q!(#f = true;)), vec![f])
                }
                None => (Stmt::Passive(self.sid(), q!()), vec![]),
            },
            Stmt::Return { value, span, .. } => {
                let d = self.done();
                let id = self.f_blocks;
                self.f_blocks += 1;
                self.depths.push(self.cur_depth);
                let eid = self.f_blocks;
                self.f_blocks += 1;
                self.depths.push(self.cur_depth);
                // `return v` -> `{ __ret = Some(v); __done = true; }`, as one statement.
                let block = Block {
                    id,
                    stmts: vec![
                        Stmt::Return {
                            id: self.sid(),
                            value,
                            span,
                        },
                        Stmt::Passive(self.sid(), q!(#d = true;)),
                    ],
                    tail: None,
                };
                (
                    Stmt::If {
                        id: self.sid(),
                        cond: q!(true),
                        then: block,
                        els: Block {
                            id: eid,
                            stmts: vec![],
                            tail: None,
                        },
                    },
                    vec![d],
                )
            }
            Stmt::If {
                cond, then, els, ..
            } => {
                let (then, mut a) = self.block(then);
                let (els, b) = self.block(els);
                for e in b {
                    if !a.contains(&e) {
                        a.push(e);
                    }
                }
                (
                    Stmt::If {
                        id: self.sid(),
                        cond,
                        then,
                        els,
                    },
                    a,
                )
            }
            Stmt::Match {
                scrutinee, arms, ..
            } => {
                let mut all = Vec::new();
                let arms = arms
                    .into_iter()
                    .map(|a| {
                        let (body, ex) = self.block(a.body);
                        for e in ex {
                            if !all.contains(&e) {
                                all.push(e);
                            }
                        }
                        Arm { pat: a.pat, body }
                    })
                    .collect();
                (
                    Stmt::Match {
                        id: self.sid(),
                        scrutinee,
                        arms,
                    },
                    all,
                )
            }
            Stmt::For {
                var,
                iter,
                body,
                label,
                ..
            } => {
                let (body, exit, esc) = self.loop_body(body, &label);
                (
                    Stmt::For {
                        id: self.sid(),
                        var,
                        iter,
                        body,
                        label,
                        exit,
                    },
                    esc,
                )
            }
            Stmt::While {
                cond, body, label, ..
            } => {
                let (body, exit, esc) = self.loop_body(body, &label);
                (
                    Stmt::While {
                        id: self.sid(),
                        cond,
                        body,
                        label,
                        exit,
                    },
                    esc,
                )
            }
            Stmt::Loop { body, label, .. } => {
                let (body, exit, esc) = self.loop_body(body, &label);
                (
                    Stmt::Loop {
                        id: self.sid(),
                        body,
                        label,
                        exit,
                    },
                    esc,
                )
            }
            // Blocks used as values: their own loops are structured like any; an exit out of
            // such a block (to a loop around it, or `return`) is not supported.
            Stmt::Let {
                id,
                var,
                ty,
                rhs,
                span,
            } => {
                let mut escaping = Vec::new();
                let mut block = |st: &mut Self, b: Block| {
                    let (b, ex) = st.block(b);
                    escaping.extend(ex);
                    b
                };
                let rhs = match rhs {
                    Rhs::Block(b) => Rhs::Block(block(self, b)),
                    Rhs::If { cond, then, els } => {
                        let then = block(self, then);
                        let els = block(self, els);
                        Rhs::If { cond, then, els }
                    }
                    Rhs::Match { scrutinee, arms } => Rhs::Match {
                        scrutinee,
                        arms: arms
                            .into_iter()
                            .map(|a| Arm {
                                pat: a.pat,
                                body: block(self, a.body),
                            })
                            .collect(),
                    },
                    other => other,
                };
                let stmt = Stmt::Let {
                    id,
                    var,
                    ty,
                    rhs,
                    span,
                };
                if escaping.is_empty() {
                    (stmt, vec![])
                } else {
                    let msg = "`break`, `continue` or `return` out of a block, `if` or `match` used as a value is not supported in a differentiated function: compute the value in a `let mut` before the block, assign it inside, and exit with a statement";
                    (
                        Stmt::Passive(
                            self.sid(),
                            quote::quote_spanned!(span=> ::core::compile_error!(#msg);),
                        ),
                        vec![],
                    )
                }
            }
            other => (other, vec![]),
        }
    }

    fn loop_body(
        &mut self,
        body: Block,
        label: &Option<syn::Lifetime>,
    ) -> (Block, Option<TokenStream>, Vec<Ident>) {
        self.loops.push(LoopFlags {
            label: label.as_ref().map(|l| l.ident.to_string()),
            brk: None,
            cont: None,
        });
        let (mut body, exits) = self.block(body);
        let lf = self.loops.pop().expect("pushed above");
        self.last_break = lf.brk.clone();
        if let Some(c) = &lf.cont {
            body.stmts
                .insert(0, Stmt::Passive(self.sid(), q!(#c = false;)));
        }
        let escaping: Vec<Ident> = exits
            .into_iter()
            .filter(|e| Some(e) != lf.brk.as_ref() && Some(e) != lf.cont.as_ref())
            .collect();
        let mut stop: Vec<Ident> = escaping.clone();
        if let Some(b) = &lf.brk {
            stop.push(b.clone());
        }
        let exit = (!stop.is_empty()).then(|| q!(#(#stop)||*));
        (body, exit, escaping)
    }
}
