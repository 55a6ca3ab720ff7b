//! Analysis: what the pullback needs, computed before the reverse emitter runs (read by it).
//!
//! The reverse sweep reads values of the forward sweep: operands of partials (`x.cos()` for
//! `x.sin()`), index expressions of adjoint places, conditions it evaluates again, shapes of
//! array adjoints. Those values must reach the pullback: kept by the closure, saved before an
//! overwrite, pushed at the end of a loop body, or recomputed (and what a recomputation reads is
//! needed in turn). Whether an overwrite must save depends on what the statements of its region
//! read, and what is recomputed depends on what is needed: a fixpoint over sets, run here on the
//! IR (no tokens are built), mirroring statement by statement what the reverse emitter reads.
//! The emitter then runs once with the result, and checks that it read exactly that.
//!
//! The facts of the other analyses (which bindings are recomputed, save regions, liveness,
//! one-pass loops, which blocks re-run which statements) come in as plain data from the driver.
//!
//! Input: `let mut s = 0.0; for i in 0..n { let t = x[i].sin(); s += t * t; }`
//! Output: `needed = {x, i, t, n}` (the partial of `sin` reads `x[i]`, the square reads `t`, the
//! loop runs backwards over `0..n`), per statement what its reverse reads, and the bindings
//! whose adjoint gets one contribution.

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;

use crate::ir::*;

/// Rounds of the fixpoint before giving up (the emitter's check then catches what is missing).
const MAX_ROUNDS: usize = 64;

/// What the pullback needs.
#[derive(Default, PartialEq, Debug)]
pub struct Needs {
    /// The values the pullback reads (it owns them, or they are saved before an overwrite).
    pub needed: HashSet<VarId>,
    /// What each statement's reverse reads (its nested statements' reads included).
    pub prev_reads: HashMap<usize, HashSet<VarId>>,
    /// Bindings whose adjoint is declared at its only contribution.
    pub single: HashSet<VarId>,
}

impl Needs {
    /// Must the old value be saved before the assignment `s` to `place`? Only if the variable's
    /// value is read by the reverse sweep of a statement that runs before the assignment (its
    /// save region, `regions`), and never for an accumulator of a one-pass loop being emitted
    /// (`fused_acc`). The emitter and this analysis both decide by it.
    pub fn must_save(
        &self,
        regions: &HashMap<usize, Vec<usize>>,
        fused_acc: bool,
        s: &Stmt,
        place: &Place,
    ) -> bool {
        if !self.needed.contains(&place.var) || fused_acc {
            return false;
        }
        match regions.get(&s.id()) {
            Some(region) => region.iter().any(|r| {
                *r == usize::MAX
                    || self
                        .prev_reads
                        .get(r)
                        .is_some_and(|reads| reads.contains(&place.var))
            }),
            None => true,
        }
    }
}

/// The facts of the other analyses that decide what the reverse sweep reads, as the driver
/// computed them.
pub struct Facts<'a> {
    pub by_name: &'a HashMap<String, VarId>,
    /// Variables assigned anywhere.
    pub assigned: &'a HashSet<VarId>,
    pub let_declared: &'a HashSet<VarId>,
    pub for_vars: &'a HashSet<VarId>,
    /// Bindings recomputed from cheap arithmetic in the reverse sweep.
    pub remat: &'a HashMap<VarId, Rhs>,
    /// Bindings read back from the place they were stored to.
    pub aliases: &'a HashMap<VarId, Place>,
    /// By assignment: the statements whose reverse may read the overwritten value.
    pub regions: &'a HashMap<usize, Vec<usize>>,
    /// One-pass loops, by index into the body's statements: their windowed arrays.
    pub fused: &'a HashMap<usize, Vec<VarId>>,
    /// The accumulators of one-pass loops (never saved inside them).
    pub fused_accs: &'a HashSet<VarId>,
    /// Bindings whose values reach the result, and by statement those live just after it.
    pub live: &'a HashSet<VarId>,
    pub live_after: &'a HashMap<usize, HashSet<VarId>>,
    /// Statements whose overwrite is undone by its inverse (`k -= n` for `k += n`).
    pub invertible: &'a HashSet<usize>,
    pub has_return: bool,
    /// The statements of a block re-run at the start of its reverse, given what is needed.
    pub replay: &'a dyn Fn(&Block, &HashSet<VarId>) -> Vec<usize>,
}

/// What the pullback of `body` needs: the least fixpoint of one emission round's reads, as the
/// emitter iterated to before, computed on the IR.
pub fn needs(f: &Func, body: &Block, facts: &Facts) -> Needs {
    let mut needs = Needs::default();
    for round in 0..MAX_ROUNDS {
        let mut w = Walk {
            f,
            facts,
            body,
            needs: &needs,
            reads: HashSet::new(),
            stmt_reads: HashMap::new(),
            // The contributions do not depend on what is needed: counted in the first round.
            contrib: (round == 0).then(HashMap::new),
            in_fused: false,
            cur_top: true,
        };
        w.run();
        let Walk {
            reads,
            stmt_reads,
            contrib,
            ..
        } = w;
        let single = match contrib {
            Some(contrib) => contrib
                .into_iter()
                .filter(|&(v, n)| {
                    n == 1 && !facts.assigned.contains(&v) && single_candidate(f, v, body)
                })
                .map(|(v, _)| v)
                .collect(),
            None => std::mem::take(&mut needs.single),
        };
        let next = Needs {
            needed: needs.needed.union(&reads).copied().collect(),
            prev_reads: stmt_reads,
            single,
        };
        if next.needed == needs.needed && next.prev_reads == needs.prev_reads {
            return next;
        }
        needs = next;
    }
    needs
}

/// A binding of the function's body (not inside a loop or branch), or a parameter passed by
/// value or by reference (a slice's adjoint is checked against its length up front): its
/// adjoint may be declared where its only contribution is made (a call's adjoint moved in
/// instead of added to a zero).
pub fn single_candidate(f: &Func, v: VarId, body: &Block) -> bool {
    let var = &f.vars[v];
    match var.param {
        Some(kind) => matches!(kind, ParamKind::Value | ParamKind::Ref),
        None => body
            .stmts
            .iter()
            .any(|s| matches!(s, Stmt::Let { var, .. } if *var == v)),
    }
}

/// Can the reverse sweep run this loop backwards by re-evaluating its iterator?
pub fn reversible(iter: &ForIter, body: &Block, exit: &Option<TokenStream>) -> bool {
    if !iter.reversible || exit.is_some() {
        return false;
    }
    let mut assigned = HashSet::new();
    assigned_vars(body, &mut assigned);
    !iter.reads.iter().any(|v| assigned.contains(v))
}

/// A branch condition the reverse sweep can evaluate again instead of storing: literals,
/// operators and loop variables or parameters that are never assigned (`k == 0`), no
/// calls, methods or other names (which could have effects or be out of scope).
pub fn recomputable_cond(
    f: &Func,
    cond: &TokenStream,
    by_name: &HashMap<String, VarId>,
    for_vars: &HashSet<VarId>,
    assigned: &HashSet<VarId>,
) -> bool {
    fn walk(t: &TokenStream, ok: &mut dyn FnMut(&proc_macro2::Ident) -> bool) -> bool {
        t.clone().into_iter().all(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) => ok(&i),
            proc_macro2::TokenTree::Group(g) => walk(&g.stream(), ok),
            proc_macro2::TokenTree::Punct(p) => p.as_char() != '.',
            proc_macro2::TokenTree::Literal(_) => true,
        })
    }
    walk(cond, &mut |i| {
        by_name.get(&i.to_string()).is_some_and(|&v| {
            (for_vars.contains(&v) || f.var(v).param.is_some()) && !assigned.contains(&v)
        })
    })
}

/// The bindings a block declares, in order (loop variables excluded).
pub fn scope_vars(
    f: &Func,
    b: &Block,
    let_declared: &HashSet<VarId>,
    for_vars: &HashSet<VarId>,
) -> Vec<VarId> {
    let mut out: Vec<VarId> = let_vars(&b.stmts).collect();
    for (i, v) in f.vars.iter().enumerate() {
        if v.scope == Some(b.id)
            && !let_declared.contains(&i)
            && !for_vars.contains(&i)
            && v.param.is_none()
        {
            out.insert(0, i);
        }
    }
    out
}

/// One round: what the reverse emitter reads, given `needs` from the previous round.
struct Walk<'a> {
    f: &'a Func,
    facts: &'a Facts<'a>,
    body: &'a Block,
    needs: &'a Needs,
    /// What the statement being walked reads so far.
    reads: HashSet<VarId>,
    stmt_reads: HashMap<usize, HashSet<VarId>>,
    /// How many contributions each binding's adjoint gets (one that is not whole, made in a
    /// nested block or to a part, counts two), when counted.
    contrib: Option<HashMap<VarId, usize>>,
    in_fused: bool,
    cur_top: bool,
}

impl Walk<'_> {
    fn run(&mut self) {
        let body = self.body;
        // The forward sweep: one-pass loops run their reverse there.
        for (i, s) in body.stmts.iter().enumerate() {
            if let Some(windows) = self.facts.fused.get(&i) {
                self.fused_loop(s, windows);
            }
        }
        if !self.facts.has_return
            && let Some(t) = &body.tail
        {
            self.acc(t, true, false);
        }
        for (i, s) in body.stmts.iter().enumerate().rev() {
            if !self.facts.fused.contains_key(&i) {
                self.stmt(s);
            }
        }
    }

    fn fused_loop(&mut self, s: &Stmt, windows: &[VarId]) {
        let Stmt::For { body, .. } = s else {
            return;
        };
        if let Some(c) = &mut self.contrib {
            for &x in windows {
                *c.entry(x).or_insert(0) += 2;
            }
        }
        let was = std::mem::replace(&mut self.in_fused, true);
        let was_top = std::mem::replace(&mut self.cur_top, false);
        let vars = scope_vars(self.f, body, self.facts.let_declared, self.facts.for_vars);
        self.adjoint_inits(&vars);
        for s in body.stmts.iter().rev() {
            self.stmt(s);
        }
        self.cur_top = was_top;
        self.in_fused = was;
    }

    fn tokens(&mut self, t: &TokenStream) {
        mentions_tokens(t, self.facts.by_name, &mut self.reads);
    }

    fn proj(&mut self, p: &Place) {
        let reads = &mut self.reads;
        index_mentions(p, self.facts.by_name, &mut |v| {
            reads.insert(v);
        });
    }

    fn val(&mut self, op: &Operand) {
        let reads = &mut self.reads;
        operand_mentions(op, self.facts.by_name, &mut |v| {
            reads.insert(v);
        });
    }

    /// `adjoint(target) += src`: reads the target's indices, counts a contribution. `movable`:
    /// the source can be moved into a fresh adjoint (see the emitter's `acc_signed`).
    fn acc(&mut self, target: &Operand, movable: bool, sub: bool) {
        let Some(p) = target.active_place(self.f) else {
            return;
        };
        let whole = p.proj.is_empty() && self.cur_top && movable && !sub;
        if let Some(c) = &mut self.contrib {
            *c.entry(p.var).or_insert(0) += if whole { 1 } else { 2 };
        }
        self.proj(p);
    }

    fn must_save(&self, s: &Stmt, place: &Place) -> bool {
        let fused_acc =
            self.in_fused && place.proj.is_empty() && self.facts.fused_accs.contains(&place.var);
        self.needs
            .must_save(self.facts.regions, fused_acc, s, place)
    }

    fn restore(&mut self, s: &Stmt, place: &Place) {
        if !self.must_save(s, place) {
            return;
        }
        if self.facts.invertible.contains(&s.id())
            && let Stmt::AddAssign {
                value: Operand::Const { tokens, .. },
                ..
            } = s
        {
            self.tokens(tokens);
        }
        self.proj(place);
    }

    fn adjoint_inits(&mut self, vars: &[VarId]) {
        for &v in vars {
            let var = &self.f.vars[v];
            if var.active && !var.scalar {
                self.reads.insert(v);
            }
        }
    }

    fn replay_stmts(&self, b: &Block) -> Vec<usize> {
        if b.id == self.body.id || self.in_fused {
            return Vec::new();
        }
        (self.facts.replay)(b, &self.needs.needed)
    }

    /// A block's reverse: re-run statements, recomputed bindings, zero adjoints, the tail's
    /// seed, the statements.
    fn block(&mut self, b: &Block, seed: bool) {
        let was_top = std::mem::replace(&mut self.cur_top, false);
        let vars = scope_vars(self.f, b, self.facts.let_declared, self.facts.for_vars);
        let replayed: HashSet<usize> = self.replay_stmts(b).into_iter().collect();
        for (i, s) in b.stmts.iter().enumerate() {
            if replayed.contains(&i) {
                // What the re-run reads of its own bindings is not needed elsewhere.
                let outer = std::mem::take(&mut self.reads);
                self.replay(s);
                let mine = std::mem::replace(&mut self.reads, outer);
                let mut own = HashSet::new();
                declared(s, &mut own);
                for v in mine {
                    if !own.contains(&v) {
                        self.reads.insert(v);
                    }
                }
                continue;
            }
            let Stmt::Let { var: v, .. } = s else {
                continue;
            };
            let v = *v;
            if !self.needs.needed.contains(&v) {
                continue;
            }
            if let Some(p) = self.facts.aliases.get(&v) {
                if self.facts.remat.contains_key(&v) {
                    self.proj(p);
                }
                continue;
            }
            match self.facts.remat.get(&v) {
                Some(Rhs::Operand(a) | Rhs::Neg(a)) => self.val(a),
                Some(Rhs::Bin(_, a, c)) => {
                    self.val(a);
                    self.val(c);
                }
                _ => {}
            }
        }
        self.adjoint_inits(&vars);
        if let (true, Some(t)) = (seed, &b.tail) {
            self.acc(t, true, false);
        }
        for s in b.stmts.iter().rev() {
            self.stmt(s);
        }
        self.cur_top = was_top;
    }

    /// What re-running a statement of the forward sweep reads.
    fn replay(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { rhs, .. } => match rhs {
                Rhs::Operand(a) | Rhs::Neg(a) => self.val(a),
                Rhs::Bin(_, a, c) => {
                    self.val(a);
                    self.val(c);
                }
                Rhs::Rule(_, args) | Rhs::Array(args) | Rhs::Tuple(args) => {
                    args.iter().for_each(|a| self.val(a))
                }
                Rhs::Struct { args, .. } => args.iter().for_each(|a| self.val(a)),
                Rhs::Repeat { elem, len, .. } => {
                    self.val(elem);
                    self.tokens(len);
                }
                _ => {}
            },
            Stmt::Assign { place, value, .. } | Stmt::AddAssign { place, value, .. } => {
                self.reads.insert(place.var);
                self.proj(place);
                self.val(value);
            }
            Stmt::For { iter, body, .. } => {
                self.tokens(&iter.tokens);
                self.reads.extend(iter.reads.iter().copied());
                body.stmts.iter().for_each(|s| self.replay(s));
            }
            _ => {}
        }
    }

    /// A statement's reverse, its reads recorded under its id (and added to the enclosing
    /// statement's).
    fn stmt(&mut self, s: &Stmt) {
        let outer = std::mem::take(&mut self.reads);
        self.stmt_inner(s);
        let mine = std::mem::replace(&mut self.reads, outer);
        self.reads.extend(mine.iter().copied());
        self.stmt_reads.insert(s.id(), mine);
    }

    fn stmt_inner(&mut self, s: &Stmt) {
        let f = self.f;
        let dead = |v: VarId| {
            f.vars[v].active
                && (!self.facts.live.contains(&v)
                    || self
                        .facts
                        .live_after
                        .get(&s.id())
                        .is_some_and(|l| !l.contains(&v)))
        };
        match s {
            Stmt::Let { var, rhs, .. }
                if dead(*var)
                    && !matches!(rhs, Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_))
                    && rhs
                        .mut_places()
                        .iter()
                        .all(|p| dead(p.var) || !f.vars[p.var].active) =>
            {
                // A call through `&mut` still restores what it overwrote.
                for p in rhs.mut_places() {
                    self.restore(s, p);
                }
                return;
            }
            Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } if dead(place.var) => {
                return self.restore(s, place);
            }
            _ => {}
        }
        match s {
            Stmt::Let { var, rhs, .. } => {
                let v = &f.vars[*var];
                if !v.active {
                    return;
                }
                match rhs {
                    Rhs::Operand(op) => self.acc(op, true, false),
                    // As the emitter: every operator and rule through its row's partials.
                    rhs @ (Rhs::Bin(..) | Rhs::Neg(_) | Rhs::Rule(..)) => {
                        let Some((rule, args)) = rhs.arith() else {
                            return;
                        };
                        let active = active_floats(rule, &args, f);
                        for (k, _) in &active {
                            for name in crate::rules::partial_reads(rule, *k) {
                                if name == rule.result {
                                    self.reads.insert(*var);
                                } else if let Some(i) =
                                    rule.args.iter().position(|(x, _)| *x == name)
                                {
                                    self.val(args[i]);
                                }
                            }
                        }
                        for (_, a) in active {
                            self.acc(a, true, false);
                        }
                    }
                    Rhs::Call { args, .. } => {
                        // As the emitter: the adjoints of what it writes handed to the pullback,
                        // the overwritten values restored, then every argument's adjoint.
                        for p in rhs.mut_places() {
                            if f.vars[p.var].active {
                                self.proj(p);
                            } else {
                                self.val(&Operand::Place((*p).clone()));
                            }
                            self.restore(s, p);
                        }
                        for a in args {
                            self.acc(&a.op, true, false);
                        }
                    }
                    // `v__bar[k]`: an element, never moved into a fresh adjoint.
                    Rhs::Array(elems) => elems.iter().for_each(|e| self.acc(e, false, false)),
                    Rhs::Repeat { elem, .. } => {
                        let was_top = std::mem::replace(&mut self.cur_top, false);
                        self.acc(elem, true, false);
                        self.cur_top = was_top;
                    }
                    Rhs::Tuple(elems) => elems.iter().for_each(|e| self.acc(e, true, false)),
                    Rhs::Struct { args, .. } => args.iter().for_each(|e| self.acc(e, true, false)),
                    Rhs::If { cond, then, els } => {
                        self.block(then, true);
                        self.block(els, true);
                        self.branch(cond);
                    }
                    Rhs::Match { arms, .. } => arms.iter().for_each(|a| self.block(&a.body, true)),
                    Rhs::Block(b) => self.block(b, true),
                }
            }
            Stmt::Assign { place, value, .. } => {
                let active = f.vars[place.var].active;
                if active {
                    self.proj(place);
                }
                self.restore(s, place);
                if active {
                    self.acc(value, true, false);
                }
            }
            Stmt::AddAssign {
                place, value, sub, ..
            } => {
                if f.vars[place.var].active
                    && let Some(vp) = value.active_place(f)
                {
                    self.proj(place);
                    // The source is the adjoint of `place` (or a copy of it, `__s`).
                    let copy = vp.var == place.var;
                    let indexed = place.proj.iter().any(|p| matches!(p, Proj::Index(_)));
                    let movable = op_scalar(value, &f.vars) || copy || !indexed;
                    self.acc(value, movable, *sub);
                }
                self.restore(s, place);
            }
            Stmt::Passive(..) | Stmt::Break { .. } | Stmt::Continue { .. } => {}
            Stmt::If {
                cond, then, els, ..
            } => {
                self.block(then, false);
                self.block(els, false);
                self.branch(cond);
            }
            Stmt::Match { arms, .. } => arms.iter().for_each(|a| self.block(&a.body, false)),
            Stmt::For {
                iter, body, exit, ..
            } => {
                self.block(body, false);
                if reversible(iter, body, exit) {
                    self.reads.extend(iter.reads.iter().copied());
                }
            }
            Stmt::While { body, .. } | Stmt::Loop { body, .. } => self.block(body, false),
            Stmt::Return { value, .. } => self.acc(value, true, false),
        }
    }

    fn branch(&mut self, cond: &TokenStream) {
        let fx = self.facts;
        if recomputable_cond(self.f, cond, fx.by_name, fx.for_vars, fx.assigned) {
            self.tokens(cond);
        }
    }
}
