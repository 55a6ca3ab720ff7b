//! Step 5: emit reverse mode (`NAME_vjp`, `NAME_grad`).
//!
//! The emitted code is a forward sweep, the original computation plus what the reverse sweep
//! will need, followed by a closure (the pullback) that runs the adjoint statements in reverse
//! order. No runtime tape of operations exists; what is stored is decided here, at compile time:
//!
//! - values the adjoint statements read are kept as they are (the closure owns them) unless they
//!   are overwritten later: then the old value is pushed before the overwrite and restored in
//!   the reverse sweep (Tapenade's store-on-overwrite), and values of bindings that go out of
//!   scope (loop bodies, branches) are pushed at the end of their scope;
//! - branch decisions and loop trip counts are recorded; loops over plain ranges are run
//!   backwards without recording anything;
//! - every save site has its own typed stack: a `Vec` inside loops, an allocation-free
//!   one-entry `Slot` elsewhere, so straight-line code never allocates.
//!
//! `break`, `continue` and `return` are first rewritten into flags and guards (`structure`), so
//! the reverse sweep only sees structured code.
//!
//! Which values are needed is found by a fixpoint: emit, collect what the reverse sweep reads,
//! and emit again with that set, until it no longer grows.
//!
//! Input: `let y = x.sin() * c;`  Output (forward): `let __t0 = x.sin(); let y = __t0 * c;`
//! (reverse): `__t0__bar += y__bar * c; x__bar += __t0__bar * x.cos();`

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};

use crate::codegen::Ctx;
use crate::ir::*;
use crate::names;

/// The pieces `expand` assembles into `NAME_vjp` and `NAME_grad`.
pub struct Reverse {
    /// Declarations and the forward sweep, ending with `let __y = <result>;`.
    pub forward: TokenStream,
    /// The parameters' adjoints, made before the forward sweep (and moved into the pullback).
    pub adjoint_inits: TokenStream,
    /// The parameters whose values the pullback reads (`vjp` owns copies of borrowed ones).
    pub needed_params: Vec<VarId>,
    /// The pullback's body: reads `ct`, ends with the tuple of the parameters' adjoints.
    pub pullback: TokenStream,
}

/// `fuse`: for `NAME_grad`, whose cotangent is known before it starts (see [`crate::fuse`]).
pub fn emit(cx: &Ctx, body: &Block, flags: &[Ident], result_scalar: bool, fuse: bool) -> Reverse {
    let has_return = contains_return(body);
    let mut let_declared = HashSet::new();
    let mut for_vars = HashSet::new();
    collect_decls(body, &mut let_declared, &mut for_vars);
    let by_name: HashMap<String, VarId> =
        cx.f.vars
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.to_string(), i))
            .collect();
    let mut assigned = HashSet::new();
    assigned_vars(body, &mut assigned);
    let analysis = crate::once::analyse(cx.f, body, &by_name);
    let live = live_vars(cx.f, body);
    let live_after = live_after(body);
    let mut remat = rematerializable(body, &assigned, &by_name);
    for (t, p) in &analysis.aliases {
        remat
            .entry(*t)
            .or_insert_with(|| Rhs::Operand(Operand::Place(p.clone())));
    }
    let regions = save_regions(body, &let_declared, &for_vars, cx.f);
    let fused = if fuse && result_scalar {
        crate::fuse::plan(cx.f, body, &by_name, &cx.one_scalar(), has_return)
    } else {
        crate::fuse::Fused::new()
    };
    let fused_accs: HashSet<VarId> = fused
        .values()
        .flat_map(|o| o.accs.iter().map(|(v, _)| *v))
        .collect();
    let mut needed: HashSet<VarId> = HashSet::new();
    let mut prev_reads: HashMap<usize, HashSet<VarId>> = HashMap::new();
    let mut single: HashSet<VarId> = HashSet::new();
    for round in 0.. {
        let r = Rev {
            cx,
            by_name: &by_name,
            needed: needed.clone(),
            reads: RefCell::new(HashSet::new()),
            tapes: RefCell::new(Vec::new()),
            tape_ids: RefCell::new(HashMap::new()),
            let_declared: &let_declared,
            for_vars: &for_vars,
            body_id: body.id,
            has_return,
            result_scalar,
            remat: &remat,
            assigned: &assigned,
            regions: &regions,
            prev_reads: prev_reads.clone(),
            stmt_reads: RefCell::new(HashMap::new()),
            single: single.clone(),
            contrib: RefCell::new(HashMap::new()),
            cur_top: std::cell::Cell::new(true),
            fused: &fused,
            fused_accs: &fused_accs,
            in_fused: std::cell::Cell::new(false),
            window: RefCell::new(None),
            analysis: &analysis,
            live: &live,
            live_after: &live_after,
        };
        let out = r.run(body, flags);
        let reads = r.reads.into_inner();
        let stmt_reads = r.stmt_reads.into_inner();
        let new_single: HashSet<VarId> = r
            .contrib
            .into_inner()
            .into_iter()
            .filter(|&(v, n)| n == 1 && !assigned.contains(&v) && single_candidate(cx.f, v, body))
            .map(|(v, _)| v)
            .collect();
        let grown: HashSet<VarId> = needed.union(&reads).copied().collect();
        let stable =
            grown.len() == needed.len() && stmt_reads == prev_reads && new_single == single;
        if stable || round >= 12 {
            return out;
        }
        needed = grown;
        prev_reads = stmt_reads;
        single = new_single;
    }
    unreachable!("the loop returns")
}

/// A binding of the function's body (not inside a loop or branch), or a parameter passed by
/// value or by reference (a slice's adjoint is checked against its length up front): its
/// adjoint may be declared where its only contribution is made (a call's adjoint moved in
/// instead of added to a zero).
fn single_candidate(f: &Func, v: VarId, body: &Block) -> bool {
    let var = &f.vars[v];
    match var.param {
        Some(kind) => matches!(kind, ParamKind::Value | ParamKind::Ref),
        None => body
            .stmts
            .iter()
            .any(|s| matches!(s, Stmt::Let { var, .. } if *var == v)),
    }
}

/// For every assignment, the statements whose reverse sweep runs after its own and could read
/// the value it overwrote: the statements of the block declaring the variable, from the
/// declaration to the one containing the assignment (whole, for the loops around it). If none
/// of them reads the variable, the old value need not be saved.
fn save_regions(
    body: &Block,
    let_declared: &HashSet<VarId>,
    for_vars: &HashSet<VarId>,
    f: &Func,
) -> HashMap<usize, Vec<usize>> {
    struct Walk<'f> {
        f: &'f Func,
        let_declared: &'f HashSet<VarId>,
        for_vars: &'f HashSet<VarId>,
        out: HashMap<usize, Vec<usize>>,
    }
    impl Walk<'_> {
        fn block<'b>(&mut self, b: &'b Block, chain: &mut Vec<(&'b Block, usize)>) {
            for (k, s) in b.stmts.iter().enumerate() {
                chain.push((b, k));
                if let Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } = s {
                    let v = place.var;
                    let var = &self.f.vars[v];
                    let mut region = None;
                    for (depth, &(blk, kk)) in chain.iter().enumerate().rev() {
                        let decl = blk
                            .stmts
                            .iter()
                            .position(|s| matches!(s, Stmt::Let { var, .. } if *var == v));
                        let pattern_here = !self.let_declared.contains(&v)
                            && !self.for_vars.contains(&v)
                            && var.scope == Some(blk.id);
                        let param_here = var.param.is_some() && depth == 0;
                        if decl.is_some() || pattern_here || param_here {
                            let from = decl.unwrap_or(0);
                            region = Some(
                                blk.stmts[from..=kk]
                                    .iter()
                                    .map(|s| s as *const Stmt as usize)
                                    .collect(),
                            );
                            break;
                        }
                    }
                    // Not found (a loop variable assigned in its body): always save.
                    self.out.insert(
                        s as *const Stmt as usize,
                        region.unwrap_or_else(|| vec![usize::MAX]),
                    );
                }
                for_each_child_block(s, &mut |child| self.block(child, chain));
                chain.pop();
            }
        }
    }
    let mut w = Walk {
        f,
        let_declared,
        for_vars,
        out: HashMap::new(),
    };
    w.block(body, &mut Vec::new());
    w.out
}

struct Rev<'a> {
    cx: &'a Ctx<'a>,
    by_name: &'a HashMap<String, VarId>,
    needed: HashSet<VarId>,
    reads: RefCell<HashSet<VarId>>,
    tapes: RefCell<Vec<(Ident, bool)>>,
    tape_ids: RefCell<HashMap<(usize, usize, &'static str), Ident>>,
    let_declared: &'a HashSet<VarId>,
    for_vars: &'a HashSet<VarId>,
    body_id: BlockId,
    has_return: bool,
    result_scalar: bool,
    /// Scope-local bindings the reverse sweep recomputes instead of storing: cheap arithmetic
    /// on values that are never overwritten.
    remat: &'a HashMap<VarId, Rhs>,
    /// Variables assigned anywhere.
    assigned: &'a HashSet<VarId>,
    /// See [`save_regions`].
    regions: &'a HashMap<usize, Vec<usize>>,
    /// What each statement's reverse read, in the previous round.
    prev_reads: HashMap<usize, HashSet<VarId>>,
    /// What each statement's reverse reads, in this round.
    stmt_reads: RefCell<HashMap<usize, HashSet<VarId>>>,
    /// Bindings whose adjoint is declared at its only contribution (from the previous round).
    single: HashSet<VarId>,
    /// Contributions to each binding's adjoint, in this round.
    contrib: RefCell<HashMap<VarId, usize>>,
    /// Whether the statement being emitted is directly in the function's body.
    cur_top: std::cell::Cell<bool>,
    /// Loops of the body run forward and reverse in one pass (`_grad` only).
    fused: &'a crate::fuse::Fused,
    /// Their accumulators, never saved (nothing reads their earlier values).
    fused_accs: &'a HashSet<VarId>,
    /// Whether a fused loop is being emitted.
    in_fused: std::cell::Cell<bool>,
    /// In a fused loop: its variable's name and the arrays whose adjoints ride in registers.
    window: RefCell<Option<(String, HashMap<VarId, usize>)>>,
    /// Parameter elements whose adjoint gets one contribution (stored, not added), loop
    /// bindings read back from memory (reading them does not make the array's old values
    /// needed), parameters' read counts: see [`crate::once`].
    analysis: &'a crate::once::Analysis,
    /// The bindings whose values reach the result (see [`live_vars`]): the adjoint statements of
    /// the others are left out.
    live: &'a HashSet<VarId>,
    /// By statement: the bindings live just after it (see [`live_after`]).
    live_after: &'a HashMap<usize, HashSet<VarId>>,
}

impl<'a> Rev<'a> {
    fn f(&self) -> &Func {
        self.cx.f
    }

    fn core(&self) -> &TokenStream {
        &self.cx.core
    }

    /// The stack of one save site; `depth` > 0 means it may run many times.
    fn tape(&self, key: (usize, usize, &'static str), depth: usize) -> Ident {
        if let Some(id) = self.tape_ids.borrow().get(&key) {
            return id.clone();
        }
        let n = self.tapes.borrow().len();
        let id = names::generated("tape", n);
        self.tapes.borrow_mut().push((id.clone(), depth > 0));
        self.tape_ids.borrow_mut().insert(key, id.clone());
        id
    }

    /// `rt::push`: a tape push whose growth is out of line (see there).
    fn push(&self) -> TokenStream {
        let c = self.core();
        q!(#c::rt::push)
    }

    fn read_tokens(&self, t: &TokenStream) {
        crate::ir::mentions_tokens(t, self.by_name, &mut self.reads.borrow_mut());
    }

    fn read_proj(&self, p: &Place) {
        for pr in &p.proj {
            if let Proj::Index(i) = pr {
                self.read_tokens(i);
            }
        }
    }

    /// The value of an operand, as the reverse sweep reads it.
    fn val(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Place(p) => {
                self.reads.borrow_mut().insert(p.var);
                self.read_proj(p);
            }
            Operand::Const { tokens, .. } => self.read_tokens(tokens),
        }
        self.cx.value(op)
    }

    /// The adjoint of an active place.
    fn adj(&self, p: &Place) -> TokenStream {
        self.read_proj(p);
        self.cx.shadow(p, true)
    }

    /// The register holding the pending adjoint of `p` in a fused loop's window, if any.
    fn window_reg(&self, p: &Place) -> Option<Ident> {
        let w = self.window.borrow();
        let (name, arrays) = w.as_ref()?;
        arrays.get(&p.var)?;
        let [Proj::Index(t)] = p.proj.as_slice() else {
            return None;
        };
        let k = crate::fuse::offset(t, name)?;
        Some(names::derived(
            "__w_",
            self.cx.name(p.var),
            &format!("_{k}"),
        ))
    }

    /// `adjoint(target) += src`.
    fn acc(&self, target: &Operand, src: TokenStream, scalar: bool) -> TokenStream {
        self.acc_signed(target, src, scalar, false)
    }

    /// `adjoint(target) += src`, or `-= src` when `sub`. Every contribution to an adjoint goes
    /// through here, so that the count deciding whether an adjoint is made by its only
    /// contribution (`single`) sees all of them.
    fn acc_signed(
        &self,
        target: &Operand,
        src: TokenStream,
        scalar: bool,
        sub: bool,
    ) -> TokenStream {
        match target.active_place(self.f()) {
            Some(p) => {
                // Sources that can be moved into a fresh adjoint (not an element of an array).
                let movable = scalar || !src.to_string().contains('[');
                let whole = p.proj.is_empty() && self.cur_top.get() && movable && !sub;
                *self.contrib.borrow_mut().entry(p.var).or_insert(0) += if whole { 1 } else { 2 };
                let c = self.core();
                if let Some(w) = self.window_reg(p) {
                    self.read_proj(p);
                    return match (scalar, sub) {
                        (true, false) => q!(#w = #w + #src;),
                        (true, true) => q!(#w = #w - #src;),
                        (false, false) => q!(#c::rt::acc(&mut #w, &#src);),
                        (false, true) => q!(#c::rt::sub_acc(&mut #w, &#src);),
                    };
                }
                let a = self.adj(p);
                if whole && self.single.contains(&p.var) {
                    // The only contribution: the adjoint starts here, with no zero to add to.
                    return q!(let mut #a = #src;);
                }
                if scalar && self.analysis.once.contains(&(p.var, crate::ir::key(p))) {
                    // Still zero: this is the element's only contribution.
                    return if sub { q!(#a = -#src;) } else { q!(#a = #src;) };
                }
                // `a = a + s` rather than `+=`: `Float` does not require `AddAssign`.
                match (scalar, sub) {
                    (true, false) => q!(#a = #a + #src;),
                    (true, true) => q!(#a = #a - #src;),
                    (false, false) => q!(#c::rt::acc(&mut #a, &#src);),
                    (false, true) => q!(#c::rt::sub_acc(&mut #a, &#src);),
                }
            }
            None => q!(),
        }
    }

    /// Must the old value be saved before this assignment? Only if the variable's value is read
    /// by the reverse sweep of a statement that runs before the assignment (see
    /// [`save_regions`]).
    fn must_save(&self, s: &Stmt, place: &Place) -> bool {
        if !self.needed.contains(&place.var) {
            return false;
        }
        if self.in_fused.get() && place.proj.is_empty() && self.fused_accs.contains(&place.var) {
            return false;
        }
        match self.regions.get(&(s as *const Stmt as usize)) {
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

    /// `k += n` on an integer is undone by `k -= n` (exactly), where `n` does not change.
    fn inverse(&self, s: &Stmt) -> Option<TokenStream> {
        let Stmt::AddAssign {
            place,
            value:
                Operand::Const {
                    tokens,
                    float: false,
                },
            sub,
            ..
        } = s
        else {
            return None;
        };
        let v = &self.f().vars[place.var];
        if v.active || v.float_kind || v.scalar || !self.stable_tokens(tokens) {
            return None;
        }
        self.read_tokens(tokens);
        self.read_proj(place);
        let p = self.cx.place(place);
        Some(if *sub {
            q!(#p += #tokens;)
        } else {
            q!(#p -= #tokens;)
        })
    }

    fn stable_tokens(&self, t: &TokenStream) -> bool {
        stable_tokens(t, self.by_name, self.assigned)
    }

    /// The forward sweep's branch decision: the statements that record it and the condition
    /// to test (a recomputable condition is tested as written and recorded nowhere).
    fn fwd_branch(
        &self,
        cond: &TokenStream,
        key: usize,
        depth: usize,
    ) -> (TokenStream, TokenStream) {
        if self.recomputable_cond(cond) {
            return (q!(), cond.clone());
        }
        let t = self.tape((key, 0, "branch"), depth);
        let push = self.push();
        (q!(let __c = #cond; #push(&mut #t, __c);), q!(__c))
    }

    /// The reverse sweep's test of the same decision: the condition again, or the recorded one.
    fn rev_branch(&self, cond: &TokenStream, key: usize, depth: usize) -> TokenStream {
        if self.recomputable_cond(cond) {
            self.read_tokens(cond);
            return cond.clone();
        }
        let t = self.tape((key, 0, "branch"), depth);
        q!(#t.pop().unwrap())
    }

    /// A branch condition the reverse sweep can evaluate again instead of storing: literals,
    /// operators and loop variables or parameters that are never assigned (`k == 0`), no
    /// calls, methods or other names (which could have effects or be out of scope).
    fn recomputable_cond(&self, cond: &TokenStream) -> bool {
        fn walk(t: &TokenStream, ok: &mut dyn FnMut(&Ident) -> bool) -> bool {
            t.clone().into_iter().all(|tt| match tt {
                proc_macro2::TokenTree::Ident(i) => ok(&i),
                proc_macro2::TokenTree::Group(g) => walk(&g.stream(), ok),
                proc_macro2::TokenTree::Punct(p) => p.as_char() != '.',
                proc_macro2::TokenTree::Literal(_) => true,
            })
        }
        walk(cond, &mut |i| {
            self.by_name.get(&i.to_string()).is_some_and(|&v| {
                (self.for_vars.contains(&v) || self.f().var(v).param.is_some())
                    && !self.assigned.contains(&v)
            })
        })
    }

    /// The bindings a block declares, in order (loop variables excluded).
    fn scope_vars(&self, b: &Block) -> Vec<VarId> {
        let mut out: Vec<VarId> = b
            .stmts
            .iter()
            .filter_map(|s| match s {
                Stmt::Let { var, .. } => Some(*var),
                _ => None,
            })
            .collect();
        for (i, v) in self.f().vars.iter().enumerate() {
            if v.scope == Some(b.id)
                && !self.let_declared.contains(&i)
                && !self.for_vars.contains(&i)
                && v.param.is_none()
            {
                out.insert(0, i);
            }
        }
        out
    }

    fn depth(&self, b: &Block) -> usize {
        self.f().block_depth[b.id]
    }

    fn run(&self, body: &Block, flags: &[Ident]) -> Reverse {
        let cx = self.cx;
        let c = self.core();
        let fwd = self.fwd_stmts(body);
        let result = if self.has_return {
            q!(let __y = match __ret { ::core::option::Option::Some(v) => v, ::core::option::Option::None => unreachable!("every path of a differentiated function returns") };)
        } else {
            match &body.tail {
                Some(t) => {
                    let v = cx.value(t);
                    let needs_clone = matches!(t, Operand::Place(p) if self.needed.contains(&p.var) && !cx.is_scalar_op(t));
                    if needs_clone {
                        q!(let __y = ::core::clone::Clone::clone(&#v);)
                    } else {
                        q!(let __y = #v;)
                    }
                }
                None => q!(let __y = ();),
            }
        };
        // Adjoints of the parameters and of the body's bindings, made before the pullback so
        // that it need not keep values only for their shape.
        let mut inits = TokenStream::new();
        for &p in &cx.f.params {
            let v = &cx.f.vars[p];
            if !v.active || self.single.contains(&p) {
                continue;
            }
            let n = &v.name;
            let a = names::adjoint(n);
            let z = match v.param {
                Some(ParamKind::Ref) => q!(#c::rt::zero_of(#n)),
                Some(ParamKind::Slice) => q!(#c::rt::zero_owned(#n)),
                _ => cx.zero_like(&q!(#n), v.scalar),
            };
            inits.extend(q!(let mut #a = #z;));
        }
        // The reverse sweep.
        let mut rev = TokenStream::new();
        if !self.has_return
            && let Some(t) = &body.tail
        {
            rev.extend(self.acc(t, q!(ct), self.result_scalar));
        }
        for (i, s) in body.stmts.iter().enumerate().rev() {
            if !self.fused.contains_key(&i) {
                rev.extend(self.rev_stmt(s, self.depth(body), true));
            }
        }
        let adjoints: Vec<TokenStream> =
            cx.f.signature
                .iter()
                .map(|&p| {
                    let a = names::adjoint(&cx.f.vars[p].name);
                    q!(#a)
                })
                .collect();
        let ret = if adjoints.len() == 1 {
            q!(#(#adjoints)*)
        } else {
            q!((#(#adjoints),*))
        };
        let tapes = self
            .tapes
            .borrow()
            .iter()
            .map(|(id, vec)| {
                if *vec {
                    q!(let mut #id = ::std::vec::Vec::new();)
                } else {
                    q!(let mut #id = #c::rt::Slot::new();)
                }
            })
            .collect::<Vec<_>>();
        let flag_decls = flags.iter().map(|f| q!(let mut #f = false;));
        let ret_decl = self
            .has_return
            .then(|| q!(let mut __ret = ::core::option::Option::None;));
        let needed_params =
            cx.f.params
                .iter()
                .copied()
                .filter(|p| self.needed.contains(p))
                .collect();
        Reverse {
            forward: q!(#(#flag_decls)* #ret_decl #(#tapes)* #fwd #result),
            adjoint_inits: inits,
            needed_params,
            pullback: q!(#rev #ret),
        }
    }

    // ---------------------------------------------------------------- forward sweep

    /// The statements of a block in the forward sweep, with the saves at the end of its scope.
    fn fwd_stmts(&self, b: &Block) -> TokenStream {
        let depth = self.depth(b);
        let top = b.id == self.body_id;
        let mut out = TokenStream::new();
        for (i, s) in b.stmts.iter().enumerate() {
            match self.fused.get(&i) {
                Some(one) if top => out.extend(self.fused_loop(s, one)),
                _ => out.extend(self.fwd_stmt(s, depth, top)),
            }
        }
        out
    }

    /// A loop of the body whose reverse runs iteration by iteration right after it (see
    /// [`crate::fuse`]): the accumulators' adjoints are constants, shadowed inside.
    fn fused_loop(&self, s: &Stmt, one: &crate::fuse::OnePass) -> TokenStream {
        let Stmt::For {
            var,
            iter,
            body,
            label,
            ..
        } = s
        else {
            return self.fwd_stmt(s, 0, true);
        };
        let was = self.in_fused.replace(true);
        let v = self.cx.name(*var);
        let arrays: HashMap<VarId, usize> = one.windows.iter().copied().collect();
        *self.window.borrow_mut() = Some((v.to_string(), arrays));
        let reg = |x: VarId, k: usize| names::derived("__w_", self.cx.name(x), &format!("_{k}"));
        let nz = self.cx.neg_zero_scalar();
        let mut regs = TokenStream::new();
        let mut shift = TokenStream::new();
        let mut flush_end = TokenStream::new();
        // A parameter read nowhere else and never written gets each element's adjoint once,
        // from its window: stored, not added (see `crate::once`).
        let inner = crate::once::param_reads(self.f(), body, self.by_name);
        let range = crate::once::is_range(&iter.tokens);
        for &(x, kmax) in &one.windows {
            let xb = names::adjoint(self.cx.name(x));
            // The window is flushed into the adjoint whether or not the body adds to it: never
            // the adjoint's only contribution, so it is made before the loop (fuzzer 821:50).
            *self.contrib.borrow_mut().entry(x).or_insert(0) += 2;
            let only_here = range
                && !self.assigned.contains(&x)
                && inner
                    .get(&x)
                    .is_some_and(|n| self.analysis.param_reads.get(&x) == Some(n));
            let add = |r: &Ident| {
                if only_here { q!(#r) } else { q!(*__e + #r) }
            };
            for k in 0..=kmax {
                let r = reg(x, k);
                regs.extend(q!(let mut #r = #nz;));
            }
            let r0 = reg(x, 0);
            let flush0 = add(&r0);
            // `get_mut`: an iteration need not have touched `x[i]` (a branch), so `i` may be
            // past the end; nothing is pending then.
            shift.extend(q!(
                if let ::core::option::Option::Some(__e) = #xb.get_mut(#v) {
                    *__e = #flush0;
                }
            ));
            for k in 0..kmax {
                let (a, b) = (reg(x, k), reg(x, k + 1));
                shift.extend(q!(#a = #b;));
                let flush = add(&a);
                flush_end.extend(q!(
                    if let ::core::option::Option::Some(__e) = #xb.get_mut(__hi + #k) {
                        *__e = #flush;
                    }
                ));
            }
            let last = reg(x, kmax);
            shift.extend(q!(#last = #nz;));
        }
        let ranged = one.windows.iter().any(|&(_, k)| k > 0);
        let (it, ends) = match (&one.range, ranged) {
            (Some((a, b)), true) => (q!(__lo..__hi), q!(let __lo = #a; let __hi = #b;)),
            _ => (iter.tokens.clone(), q!()),
        };
        let after = if ranged {
            q!(if __lo < __hi { #flush_end })
        } else {
            q!()
        };
        let l = label.as_ref().map(|l| q!(#l:));
        let stmts = self.fwd_stmts(body);
        let was_top = self.cur_top.replace(false);
        let mut rev = self.adjoint_inits(&self.scope_vars(body));
        for s in body.stmts.iter().rev() {
            rev.extend(self.rev_stmt(s, self.depth(body), false));
        }
        self.cur_top.set(was_top);
        self.in_fused.set(was);
        *self.window.borrow_mut() = None;
        let shadows = one.accs.iter().map(|(a, coef)| {
            let n = names::adjoint(self.cx.name(*a));
            q!(let #n = #coef;)
        });
        q!({ #(#shadows)* #regs #ends #l for #v in #it { #stmts { #rev } #shift } #after })
    }

    fn scope_saves(&self, b: &Block) -> TokenStream {
        let push = self.push();
        let mut out = TokenStream::new();
        if b.id == self.body_id {
            return out;
        }
        let kept = self.kept_scope_vars(b);
        if kept.is_empty() {
            return out;
        }
        // One push per iteration: the block's kept bindings together. A passive binding may
        // borrow (a `match` arm's `r: &f64`): it is kept as an owned copy (`rt::Keep`).
        let t = self.tape((b.id, usize::MAX, "scope"), self.depth(b));
        let c = self.core();
        let names = kept.iter().map(|&v| {
            let n = self.cx.name(v);
            if self.f().vars[v].active {
                q!(#n)
            } else {
                q!({ use #c::rt::{KeepRef as _, KeepVal as _}; #c::rt::Keep::new(#n).keep() })
            }
        });
        if kept.len() == 1 {
            out.extend(q!(#push(&mut #t, #(#names)*);));
        } else {
            out.extend(q!(#push(&mut #t, (#(#names),*));));
        }
        out
    }

    /// The block's bindings the reverse sweep reads and can neither recompute nor rebuild:
    /// stored at the end of the block, in this order.
    fn kept_scope_vars(&self, b: &Block) -> Vec<VarId> {
        let plan = self.replay_plan(b);
        self.scope_vars(b)
            .into_iter()
            .filter(|v| {
                self.needed.contains(v) && !self.remat.contains_key(v) && !plan.covered.contains(v)
            })
            .collect()
    }

    /// A block in the forward sweep: `{ stmts; saves }` or `{ stmts; let v = tail; saves; v }`.
    fn fwd_block(&self, b: &Block) -> TokenStream {
        let stmts = self.fwd_stmts(b);
        let saves = self.scope_saves(b);
        match &b.tail {
            Some(t) => {
                let v = self.cx.value(t);
                if saves.is_empty() {
                    q!({ #stmts #v })
                } else {
                    q!({ #stmts let __v = #v; #saves __v })
                }
            }
            None => q!({ #stmts #saves }),
        }
    }

    fn save(&self, s: &Stmt, place: &Place, depth: usize) -> TokenStream {
        let push = self.push();
        if !self.must_save(s, place) || self.inverse_applies(s) {
            return q!();
        }
        let t = self.tape((s as *const Stmt as usize, 0, "save"), depth);
        let p = self.cx.place(place);
        q!(#push(&mut #t, #p);)
    }

    fn inverse_applies(&self, s: &Stmt) -> bool {
        let reads = self.reads.borrow().clone();
        let r = self.inverse(s).is_some();
        *self.reads.borrow_mut() = reads;
        r
    }

    fn fwd_stmt(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let out = self.fwd_stmt_inner(s, depth, top);
        match crate::codegen::stmt_span(s) {
            Some(span)
                if !matches!(
                    s,
                    Stmt::Let {
                        rhs: Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_),
                        ..
                    }
                ) =>
            {
                crate::codegen::respan(out, span)
            }
            _ => out,
        }
    }

    fn fwd_stmt_inner(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let mut out = self.fwd_stmt_primal(s, depth, top);
        // The adjoint of a binding of the function's body is made right after it, before the
        // value can be moved, so that the pullback need not keep the value for its shape.
        if let (true, Stmt::Let { var, .. }) = (top, s) {
            let v = &self.cx.f.vars[*var];
            if v.active && !self.single.contains(var) {
                let n = &v.name;
                let a = names::adjoint(n);
                let z = self.cx.zero_like(&q!(#n), v.scalar);
                out.extend(q!(let mut #a = #z;));
            }
        }
        out
    }

    fn fwd_stmt_primal(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let push = self.push();
        let cx = self.cx;
        let key = s as *const Stmt as usize;
        match s {
            Stmt::Let { var, ty, rhs, .. } => {
                let n = cx.name(*var);
                let ty = ty.as_ref().map(|t| q!(: #t));
                match rhs {
                    Rhs::Operand(op) => {
                        let v = cx.value(op);
                        q!(let mut #n #ty = #v;)
                    }
                    Rhs::Bin(op, a, b) => {
                        let (a, b) = (cx.value(a), cx.value(b));
                        let e = match op {
                            BinOp::Add => q!(#a + #b),
                            BinOp::Sub => q!(#a - #b),
                            BinOp::Mul => q!(#a * #b),
                            BinOp::Div => q!(#a / #b),
                        };
                        q!(let mut #n #ty = #e;)
                    }
                    Rhs::Neg(a) => {
                        let a = cx.value(a);
                        q!(let mut #n #ty = -#a;)
                    }
                    Rhs::Rule(rule, args) => {
                        let e = cx.rule_primal(rule, args);
                        q!(let mut #n #ty = #e;)
                    }
                    Rhs::Call { path, args } => {
                        let vjp = Ctx::derived_path(path, "vjp");
                        let vals = args.iter().map(|a| {
                            let v = cx.value(&a.op);
                            if a.by_ref { q!(&#v) } else { v }
                        });
                        let pb = names::derived("__pb_", n, "");
                        let store = if depth == 0 && top {
                            q!()
                        } else {
                            let t = self.tape((key, 0, "pullback"), depth);
                            q!(#push(&mut #t, #pb);)
                        };
                        q!(let (mut #n, #pb) = #vjp(#(#vals),*); #store)
                    }
                    Rhs::Array(elems) => {
                        let vals = elems.iter().map(|e| cx.value(e));
                        q!(let mut #n #ty = [#(#vals),*];)
                    }
                    Rhs::Repeat { elem, len, vec } => {
                        let v = cx.value(elem);
                        if *vec {
                            q!(let mut #n #ty = vec![#v; #len];)
                        } else {
                            q!(let mut #n #ty = [#v; #len];)
                        }
                    }
                    Rhs::Tuple(elems) => {
                        let vals = elems.iter().map(|e| cx.value(e));
                        q!(let mut #n #ty = (#(#vals),*,);)
                    }
                    Rhs::Struct {
                        path,
                        fields,
                        args,
                        rest,
                    } => {
                        let vals = args[..fields.len()].iter().map(|e| cx.value(e));
                        let rv = rest.then(|| {
                            let v = cx.value(&args[fields.len()]);
                            q!(..#v)
                        });
                        q!(let mut #n #ty = #path { #(#fields: #vals,)* #rv };)
                    }
                    Rhs::If { cond, then, els } => {
                        let (record, c) = self.fwd_branch(cond, key, depth);
                        let (tb, eb) = (self.fwd_block(then), self.fwd_block(els));
                        q!(#record let mut #n #ty = if #c #tb else #eb;)
                    }
                    Rhs::Match { scrutinee, arms } => {
                        let t = self.tape((key, 0, "arm"), depth);
                        let arms = arms.iter().enumerate().map(|(i, a)| {
                            let pat = &a.pat;
                            let body = self.fwd_block(&a.body);
                            q!(#pat => { #push(&mut #t, #i); #body })
                        });
                        q!(let mut #n #ty = match #scrutinee { #(#arms)* };)
                    }
                    Rhs::Block(b) => {
                        let body = self.fwd_block(b);
                        q!(let mut #n #ty = #body;)
                    }
                }
            }
            Stmt::Assign { place, value, .. } => {
                let save = self.save(s, place, depth);
                let p = cx.place(place);
                let v = cx.value(value);
                q!(#save #p = #v;)
            }
            Stmt::AddAssign {
                place, value, sub, ..
            } => {
                let save = self.save(s, place, depth);
                let p = cx.place(place);
                let v = cx.value(value);
                if *sub {
                    q!(#save #p -= #v;)
                } else {
                    q!(#save #p += #v;)
                }
            }
            Stmt::Passive(t) => t.clone(),
            Stmt::If { cond, then, els } => {
                let (record, c) = self.fwd_branch(cond, key, depth);
                let (tb, eb) = (self.fwd_block(then), self.fwd_block(els));
                q!({ #record if #c #tb else #eb })
            }
            Stmt::Match { scrutinee, arms } => {
                let t = self.tape((key, 0, "arm"), depth);
                let arms = arms.iter().enumerate().map(|(i, a)| {
                    let pat = &a.pat;
                    let body = self.fwd_block(&a.body);
                    q!(#pat => { #push(&mut #t, #i); #body })
                });
                q!(match #scrutinee { #(#arms)* })
            }
            Stmt::For {
                var,
                iter,
                body,
                label,
                exit,
            } => {
                let v = cx.name(*var);
                let it = &iter.tokens;
                let b = self.fwd_block(body);
                let l = label.as_ref().map(|l| q!(#l:));
                if self.reversible(iter, body, exit) {
                    // The stacks pushed once per iteration are sized for the trip count.
                    let once = self.per_iteration_tapes(body);
                    if once.is_empty() {
                        q!(#l for #v in #it #b)
                    } else {
                        q!({
                            let __trips = ::core::iter::Iterator::size_hint(&(#it)).0;
                            #(#once.reserve(__trips);)*
                            #l for #v in #it #b
                        })
                    }
                } else {
                    let count = self.tape((key, 0, "count"), depth);
                    let push_i = if self.needed.contains(var) {
                        let ti = self.tape((key, 0, "index"), depth + 1);
                        if self.f().vars[*var].kind == ValueKind::Other {
                            q!(#push(&mut #ti, #v);)
                        } else {
                            // The item may borrow (`for d in data`): kept as an owned copy.
                            let c = self.core();
                            q!(#push(&mut #ti, { use #c::rt::{KeepRef as _, KeepVal as _}; #c::rt::Keep::new(#v).keep() });)
                        }
                    } else {
                        q!()
                    };
                    let check = exit.as_ref().map(|e| q!(if #e { break; }));
                    q!({
                        let mut __n = 0usize;
                        #l for #v in #it { #check __n += 1; #push_i #b }
                        #push(&mut #count, __n);
                    })
                }
            }
            Stmt::While {
                cond,
                body,
                label,
                exit,
            } => {
                let count = self.tape((key, 0, "count"), depth);
                let b = self.fwd_block(body);
                let l = label.as_ref().map(|l| q!(#l:));
                let stop = match exit {
                    Some(e) => q!(#e || !(#cond)),
                    None => q!(!(#cond)),
                };
                q!({
                    let mut __n = 0usize;
                    #l loop { if #stop { break; } __n += 1; #b }
                    #push(&mut #count, __n);
                })
            }
            Stmt::Loop { body, label, exit } => {
                let count = self.tape((key, 0, "count"), depth);
                let b = self.fwd_block(body);
                let l = label.as_ref().map(|l| q!(#l:));
                let check = exit.as_ref().map(|e| q!(if #e { break; }));
                q!({
                    let mut __n = 0usize;
                    #l loop { #check __n += 1; #b }
                    #push(&mut #count, __n);
                })
            }
            Stmt::Return { value, .. } => {
                let v = cx.value(value);
                let v = if cx.is_scalar_op(value) {
                    v
                } else {
                    q!(::core::clone::Clone::clone(&#v))
                };
                q!(__ret = ::core::option::Option::Some(#v);)
            }
            Stmt::Break { .. } | Stmt::Continue { .. } => {
                q!(compile_error!("internal: unstructured control flow reached the reverse emitter");)
            }
        }
    }

    /// Can the reverse sweep run this loop backwards by re-evaluating its iterator?
    fn reversible(&self, iter: &ForIter, body: &Block, exit: &Option<TokenStream>) -> bool {
        if !iter.reversible || exit.is_some() {
            return false;
        }
        let mut assigned = HashSet::new();
        assigned_vars(body, &mut assigned);
        !iter.reads.iter().any(|v| assigned.contains(v))
    }

    // ---------------------------------------------------------------- reverse sweep

    /// A block in the reverse sweep: restore its bindings, zero their adjoints, seed the tail's
    /// adjoint, then the statements backwards.
    fn rev_block(&self, b: &Block, seed: Option<(TokenStream, bool)>) -> TokenStream {
        let was_top = self.cur_top.replace(false);
        let out = self.rev_block_inner(b, seed);
        self.cur_top.set(was_top);
        out
    }

    fn rev_block_inner(&self, b: &Block, seed: Option<(TokenStream, bool)>) -> TokenStream {
        let cx = self.cx;
        let mut out = TokenStream::new();
        let vars = self.scope_vars(b);
        let plan = self.replay_plan(b);
        let kept = self.kept_scope_vars(b);
        if !kept.is_empty() {
            let t = self.tape((b.id, usize::MAX, "scope"), self.depth(b));
            // Passive bindings come back through `Kept::back` (a reference to the copy when
            // they were references).
            let slot = |v: VarId| {
                let n = cx.name(v);
                if cx.f.vars[v].active {
                    n.clone()
                } else {
                    names::derived("__k_", n, "")
                }
            };
            let slots = kept.iter().map(|&v| slot(v));
            if kept.len() == 1 {
                out.extend(q!(let mut #(#slots)* = #t.pop().unwrap();));
            } else {
                out.extend(q!(let (#(mut #slots),*) = #t.pop().unwrap();));
            }
            for &v in kept.iter().filter(|&&v| !cx.f.vars[v].active) {
                let (n, k) = (cx.name(v), slot(v));
                out.extend(q!(let mut #n = #k.back();));
            }
        }
        // Recomputed bindings, in the block's order: cheap arithmetic and re-run statements.
        let replayed: HashSet<usize> = plan.stmts.iter().copied().collect();
        for (i, s) in b.stmts.iter().enumerate() {
            if replayed.contains(&i) {
                // What the re-run reads of its own bindings is not needed elsewhere.
                let before = self.reads.borrow().clone();
                out.extend(self.replay_stmt(s));
                let mut own = HashSet::new();
                crate::ir::declared(s, &mut own);
                self.reads
                    .borrow_mut()
                    .retain(|v| before.contains(v) || !own.contains(v));
                continue;
            }
            let Stmt::Let { var: v, .. } = s else {
                continue;
            };
            let v = *v;
            if let (true, Some(rhs)) = (self.needed.contains(&v), self.remat.get(&v)) {
                let n = cx.name(v);
                let e = match rhs {
                    _ if self.analysis.aliases.contains_key(&v) => {
                        let p = &self.analysis.aliases[&v];
                        self.read_proj(p);
                        cx.value(&Operand::Place(p.clone()))
                    }
                    Rhs::Operand(a) => self.val(a),
                    Rhs::Neg(a) => {
                        let a = self.val(a);
                        q!(-#a)
                    }
                    Rhs::Bin(op, a, b) => {
                        let (a, b) = (self.val(a), self.val(b));
                        match op {
                            BinOp::Add => q!(#a + #b),
                            BinOp::Sub => q!(#a - #b),
                            BinOp::Mul => q!(#a * #b),
                            BinOp::Div => q!(#a / #b),
                        }
                    }
                    _ => unreachable!("only cheap arithmetic is recomputed"),
                };
                out.extend(q!(let mut #n = #e;));
            }
        }
        out.extend(self.adjoint_inits(&vars));
        if let (Some((src, scalar)), Some(t)) = (seed, &b.tail) {
            out.extend(self.acc(t, src, scalar));
        }
        for s in b.stmts.iter().rev() {
            out.extend(self.rev_stmt(s, self.depth(b), false));
        }
        q!({ #out })
    }

    /// The stacks (already made) that every iteration of a loop with this body pushes exactly
    /// once: its scope saves and the saves, branch decisions, pullbacks and trip counts of the
    /// statements directly in it.
    fn per_iteration_tapes(&self, body: &Block) -> Vec<Ident> {
        let direct: HashSet<usize> = body
            .stmts
            .iter()
            .map(|s| s as *const Stmt as usize)
            .collect();
        let ids = self.tape_ids.borrow();
        let vecs: HashSet<String> = self
            .tapes
            .borrow()
            .iter()
            .filter(|(_, v)| *v)
            .map(|(id, _)| id.to_string())
            .collect();
        let mut out: Vec<Ident> = ids
            .iter()
            .filter(|((a, _, kind), _)| match *kind {
                "scope" => *a == body.id,
                "save" | "branch" | "arm" | "pullback" | "count" => direct.contains(a),
                _ => false,
            })
            .map(|(_, id)| id.clone())
            .filter(|id| vecs.contains(&id.to_string()))
            .collect();
        out.sort_by_key(|a| a.to_string());
        out
    }

    /// See [`crate::replay`].
    fn replay_plan(&self, b: &Block) -> crate::replay::Plan {
        // Inside a one-pass loop the stacks hold one iteration at a time and stay in cache:
        // storing is cheaper there than computing again.
        if b.id == self.body_id || self.in_fused.get() {
            return crate::replay::Plan {
                stmts: Vec::new(),
                covered: HashSet::new(),
            };
        }
        crate::replay::plan(b, &self.needed, self.remat, self.by_name)
    }

    /// A statement of the forward sweep run again at the start of its block's reverse: its
    /// primal only (no saves), recording what it reads.
    fn replay_stmt(&self, s: &Stmt) -> TokenStream {
        let cx = self.cx;
        match s {
            Stmt::Let { var, ty, rhs, .. } => {
                let n = cx.name(*var);
                let ty = ty.as_ref().map(|t| q!(: #t));
                let e = match rhs {
                    Rhs::Operand(a) => self.val(a),
                    Rhs::Neg(a) => {
                        let a = self.val(a);
                        q!(-#a)
                    }
                    Rhs::Bin(op, a, b) => {
                        let (a, b) = (self.val(a), self.val(b));
                        match op {
                            BinOp::Add => q!(#a + #b),
                            BinOp::Sub => q!(#a - #b),
                            BinOp::Mul => q!(#a * #b),
                            BinOp::Div => q!(#a / #b),
                        }
                    }
                    Rhs::Rule(rule, args) => {
                        args.iter().for_each(|a| {
                            let _ = self.val(a);
                        });
                        cx.rule_primal(rule, args)
                    }
                    Rhs::Array(elems) => {
                        let vals = elems.iter().map(|e| self.val(e));
                        q!([#(#vals),*])
                    }
                    Rhs::Tuple(elems) => {
                        let vals = elems.iter().map(|e| self.val(e));
                        q!((#(#vals),*,))
                    }
                    Rhs::Struct {
                        path,
                        fields,
                        args,
                        rest,
                    } => {
                        let vals: Vec<TokenStream> = args.iter().map(|e| self.val(e)).collect();
                        let (vals, rv) = vals.split_at(fields.len());
                        let rv = rest.then(|| {
                            let v = &rv[0];
                            q!(..#v)
                        });
                        q!(#path { #(#fields: #vals,)* #rv })
                    }
                    Rhs::Repeat { elem, len, vec } => {
                        let v = self.val(elem);
                        self.read_tokens(len);
                        if *vec {
                            q!(vec![#v; #len])
                        } else {
                            q!([#v; #len])
                        }
                    }
                    _ => unreachable!("replay::plan re-runs no calls or branches"),
                };
                q!(let mut #n #ty = #e;)
            }
            Stmt::Assign { place, value, .. } | Stmt::AddAssign { place, value, .. } => {
                self.reads.borrow_mut().insert(place.var);
                self.read_proj(place);
                let p = cx.place(place);
                let v = self.val(value);
                match s {
                    Stmt::AddAssign { sub: true, .. } => q!(#p -= #v;),
                    Stmt::AddAssign { .. } => q!(#p += #v;),
                    _ => q!(#p = #v;),
                }
            }
            Stmt::For {
                var, iter, body, ..
            } => {
                self.read_tokens(&iter.tokens);
                for &r in &iter.reads {
                    self.reads.borrow_mut().insert(r);
                }
                let v = cx.name(*var);
                let it = &iter.tokens;
                let inner = body.stmts.iter().map(|s| self.replay_stmt(s));
                q!(for #v in #it { #(#inner)* })
            }
            _ => unreachable!("replay::plan re-runs no calls or branches"),
        }
    }

    /// Zero adjoints for a block's active bindings, at the start of its reverse (`-0.0` for
    /// scalars; an array's zero is shaped like its value, which is therefore read).
    fn adjoint_inits(&self, vars: &[VarId]) -> TokenStream {
        let mut out = TokenStream::new();
        for &v in vars {
            let var = &self.cx.f.vars[v];
            if var.active {
                let n = &var.name;
                let a = names::adjoint(n);
                if !var.scalar {
                    self.reads.borrow_mut().insert(v);
                }
                let z = if var.scalar {
                    self.cx.neg_zero_scalar()
                } else {
                    self.cx.zero_like(&q!(#n), false)
                };
                out.extend(q!(let mut #a = #z;));
            }
        }
        out
    }

    fn restore(&self, s: &Stmt, place: &Place, depth: usize) -> TokenStream {
        if !self.must_save(s, place) {
            return q!();
        }
        if let Some(undo) = self.inverse(s) {
            return undo;
        }
        self.read_proj(place);
        let t = self.tape((s as *const Stmt as usize, 0, "save"), depth);
        let p = self.cx.place(place);
        q!(#p = #t.pop().unwrap();)
    }

    fn rev_stmt(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let outer = self.reads.replace(HashSet::new());
        let out = self.rev_stmt_inner(s, depth, top);
        let mine = self.reads.replace(outer);
        self.reads.borrow_mut().extend(mine.iter().copied());
        self.stmt_reads
            .borrow_mut()
            .insert(s as *const Stmt as usize, mine);
        match crate::codegen::stmt_span(s) {
            Some(span)
                if !matches!(
                    s,
                    Stmt::Let {
                        rhs: Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_),
                        ..
                    }
                ) =>
            {
                crate::codegen::respan(out, span)
            }
            _ => out,
        }
    }

    fn rev_stmt_inner(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let cx = self.cx;
        // A binding whose value never reaches the result has a zero adjoint: its statements'
        // adjoints are left out (also so that a zero adjoint never meets an infinite partial
        // of a value that overflowed but is not used: 0 * inf would be NaN).
        // The same, point by point: a binding not live after this statement (overwritten
        // before any use that reaches the result, `live_after`) has a zero adjoint here. The
        // old value is still restored: earlier statements may read it.
        let key_addr = s as *const Stmt as usize;
        let dead = |v: VarId| {
            cx.f.vars[v].active
                && (!self.live.contains(&v)
                    || self
                        .live_after
                        .get(&key_addr)
                        .is_some_and(|l| !l.contains(&v)))
        };
        match s {
            Stmt::Let { var, rhs, .. }
                if dead(*var)
                    && !matches!(rhs, Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_)) =>
            {
                return q!();
            }
            Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } if dead(place.var) => {
                // Its old value may still be read: through passive tokens (`stop_gradient(v)`,
                // a condition) or by earlier statements.
                return self.restore(s, place, depth);
            }
            _ => {}
        }
        let c = self.core();
        let key = s as *const Stmt as usize;
        match s {
            Stmt::Let { var, rhs, .. } => {
                let v = &cx.f.vars[*var];
                if !v.active {
                    return q!();
                }
                let n = &v.name;
                let vb = names::adjoint(n);
                match rhs {
                    Rhs::Operand(op) => self.acc(op, q!(#vb), v.scalar),
                    Rhs::Bin(op, a, b) => {
                        let mut out = TokenStream::new();
                        match op {
                            BinOp::Add => {
                                out.extend(self.acc(a, q!(#vb), true));
                                out.extend(self.acc(b, q!(#vb), true));
                            }
                            BinOp::Sub => {
                                out.extend(self.acc(a, q!(#vb), true));
                                out.extend(self.acc(b, q!(-#vb), true));
                            }
                            BinOp::Mul if a.same_place(b) && a.active_place(self.f()).is_some() => {
                                // A square: one contribution of `2 x x_bar`.
                                let av = self.val(a);
                                out.extend(self.acc(
                                    a,
                                    q!({ let __d = #vb * #av; __d + __d }),
                                    true,
                                ));
                            }
                            BinOp::Mul => {
                                if a.active_place(self.f()).is_some() {
                                    let bv = self.val(b);
                                    out.extend(self.acc(a, q!(#vb * #bv), true));
                                }
                                if b.active_place(self.f()).is_some() {
                                    let av = self.val(a);
                                    out.extend(self.acc(b, q!(#vb * #av), true));
                                }
                            }
                            BinOp::Div => {
                                let bv = self.val(b);
                                if a.active_place(self.f()).is_some() {
                                    out.extend(self.acc(a, q!(#vb / #bv), true));
                                }
                                if b.active_place(self.f()).is_some() {
                                    let av = self.val(a);
                                    out.extend(self.acc(b, q!(-(#vb * #av) / (#bv * #bv)), true));
                                }
                            }
                        }
                        out
                    }
                    Rhs::Neg(a) => self.acc(a, q!(-#vb), true),
                    Rhs::Rule(rule, args) => {
                        let floats: Vec<(usize, &Operand)> = args
                            .iter()
                            .zip(rule.args)
                            .enumerate()
                            .filter(|(_, (_, (_, k)))| *k == "F")
                            .map(|(i, (a, _))| (i, a))
                            .collect();
                        // Record exactly what each needed partial reads.
                        let vals: Vec<TokenStream> = args.iter().map(|a| cx.value(a)).collect();
                        let partials = cx.partials(rule, args, &q!(#n));
                        let mut out = TokenStream::new();
                        for (k, ((_, a), d)) in floats.iter().zip(&partials).enumerate() {
                            if a.active_place(self.f()).is_none() {
                                continue;
                            }
                            for name in crate::rules::partial_reads(rule, k) {
                                if name == rule.result {
                                    self.reads.borrow_mut().insert(*var);
                                } else if let Some(i) =
                                    rule.args.iter().position(|(x, _)| *x == name)
                                {
                                    let _ = self.val(&args[i]);
                                }
                            }
                            out.extend(self.acc(a, q!(#vb * #d), true));
                        }
                        let _ = vals;
                        out
                    }
                    Rhs::Call { args, .. } => {
                        let pb = names::derived("__pb_", n, "");
                        let take = if depth == 0 && top {
                            q!()
                        } else {
                            let t = self.tape((key, 0, "pullback"), depth);
                            q!(let #pb = #t.pop().unwrap();)
                        };
                        let diff: Vec<&Arg> =
                            args.iter().filter(|a| cx.differentiable_arg(a)).collect();
                        let mut out = q!(#take let __adj = #pb(#vb););
                        for (k, a) in diff.iter().enumerate() {
                            let src = if diff.len() == 1 {
                                q!(__adj)
                            } else {
                                let i = syn::Index::from(k);
                                q!(__adj.#i)
                            };
                            out.extend(self.acc(&a.op, src, false));
                        }
                        out
                    }
                    Rhs::Array(elems) => {
                        let mut out = TokenStream::new();
                        for (k, e) in elems.iter().enumerate() {
                            out.extend(self.acc(e, q!(#vb[#k]), false));
                        }
                        out
                    }
                    Rhs::Repeat { elem, .. } => {
                        if elem.active_place(self.f()).is_none() {
                            return q!();
                        }
                        // Inside the emitted loop: never the binding's only, whole contribution.
                        let was_top = self.cur_top.replace(false);
                        let body = self.acc(elem, q!(*__e), false);
                        self.cur_top.set(was_top);
                        q!(for __e in #vb.iter() { #body })
                    }
                    Rhs::Tuple(elems) => {
                        let mut out = TokenStream::new();
                        for (k, e) in elems.iter().enumerate() {
                            let i = syn::Index::from(k);
                            out.extend(self.acc(e, q!(#vb.#i), false));
                        }
                        out
                    }
                    Rhs::Struct {
                        fields, args, rest, ..
                    } => {
                        let mut out = TokenStream::new();
                        for (m, e) in fields.iter().zip(args) {
                            out.extend(self.acc(e, q!(#vb.#m), false));
                        }
                        if *rest {
                            // `..r` gave the fields not written: its adjoint gets those.
                            let c = self.core();
                            out.extend(q!(
                                let mut __r = ::core::clone::Clone::clone(&#vb);
                                #(__r.#fields = #c::rt::zero_of(&__r.#fields);)*
                            ));
                            out.extend(self.acc(&args[fields.len()], q!(__r), false));
                        }
                        out
                    }
                    Rhs::If { cond, then, els } => {
                        let seed = Some((q!(#vb), v.scalar));
                        let (tb, eb) = (
                            self.rev_block(then, seed.clone()),
                            self.rev_block(els, seed),
                        );
                        let c = self.rev_branch(cond, key, depth);
                        q!(if #c #tb else #eb)
                    }
                    Rhs::Match { arms, .. } => {
                        let t = self.tape((key, 0, "arm"), depth);
                        let seed = Some((q!(#vb), v.scalar));
                        let arms = arms.iter().enumerate().map(|(i, a)| {
                            let body = self.rev_block(&a.body, seed.clone());
                            q!(#i => #body)
                        });
                        q!(match #t.pop().unwrap() { #(#arms)* _ => unreachable!() })
                    }
                    Rhs::Block(b) => self.rev_block(b, Some((q!(#vb), v.scalar))),
                }
            }
            Stmt::Assign { place, value, .. } => {
                let mut out = TokenStream::new();
                let active = cx.f.vars[place.var].active;
                if active {
                    let a = self.adj(place);
                    if cx.is_scalar_op(value)
                        || place.proj.is_empty() && cx.f.vars[place.var].scalar
                    {
                        let z = cx.zero_scalar();
                        out.extend(q!(let __b = #a; #a = #z;));
                    } else {
                        out.extend(q!(let __z = #c::rt::zero_of(&#a); let __b = ::core::mem::replace(&mut #a, __z);));
                    }
                }
                out.extend(self.restore(s, place, depth));
                if active {
                    out.extend(self.acc(value, q!(__b), false));
                }
                out
            }
            Stmt::AddAssign {
                place, value, sub, ..
            } => {
                let mut out = TokenStream::new();
                if cx.f.vars[place.var].active && value.active_place(self.f()).is_some() {
                    let mut a = self.adj(place);
                    if value
                        .active_place(self.f())
                        .is_some_and(|v| v.var == place.var)
                    {
                        // `b[1] += b[0]`, `a -= a`: the adjoint read and the one added to are
                        // parts of one variable, so the read is copied out first.
                        out.extend(q!(let __s = ::core::clone::Clone::clone(&#a);));
                        a = q!(__s);
                    }
                    let scalar = cx.is_scalar_op(value);
                    out.extend(self.acc_signed(value, a, scalar, *sub));
                }
                out.extend(self.restore(s, place, depth));
                out
            }
            Stmt::Passive(_) => q!(),
            Stmt::If { cond, then, els } => {
                let (tb, eb) = (self.rev_block(then, None), self.rev_block(els, None));
                let c = self.rev_branch(cond, key, depth);
                q!(if #c #tb else #eb)
            }
            Stmt::Match { arms, .. } => {
                let t = self.tape((key, 0, "arm"), depth);
                let arms = arms.iter().enumerate().map(|(i, a)| {
                    let body = self.rev_block(&a.body, None);
                    q!(#i => #body)
                });
                q!(match #t.pop().unwrap() { #(#arms)* _ => unreachable!() })
            }
            Stmt::For {
                var,
                iter,
                body,
                exit,
                ..
            } => {
                let v = cx.name(*var);
                let b = self.rev_block(body, None);
                if self.reversible(iter, body, exit) {
                    for &r in &iter.reads {
                        self.reads.borrow_mut().insert(r);
                    }
                    let it = &iter.tokens;
                    q!(for #v in (#it).rev() #b)
                } else {
                    let count = self.tape((key, 0, "count"), depth);
                    let pop_i = if self.needed.contains(var) {
                        let ti = self.tape((key, 0, "index"), depth + 1);
                        if self.f().vars[*var].kind == ValueKind::Other {
                            q!(let #v = #ti.pop().unwrap();)
                        } else {
                            let k = names::derived("__k_", v, "");
                            q!(let #k = #ti.pop().unwrap(); let #v = #k.back();)
                        }
                    } else {
                        q!()
                    };
                    q!(for _ in 0..#count.pop().unwrap() { #pop_i #b })
                }
            }
            Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
                let count = self.tape((key, 0, "count"), depth);
                let b = self.rev_block(body, None);
                q!(for _ in 0..#count.pop().unwrap() #b)
            }
            Stmt::Return { value, .. } => {
                let scalar = self.result_scalar;
                self.acc(value, q!(ct), scalar)
            }
            Stmt::Break { .. } | Stmt::Continue { .. } => q!(),
        }
    }
}

/// Bindings whose value the reverse sweep can recompute: `+ - * /` and negation of places and
/// constants whose variables are never assigned after their declaration (so their values are
/// the same wherever the reverse sweep reads them), declared inside a loop or branch.
fn rematerializable(
    body: &Block,
    assigned: &HashSet<VarId>,
    by_name: &HashMap<String, VarId>,
) -> HashMap<VarId, Rhs> {
    let stable_tokens = |t: &TokenStream| stable_tokens(t, by_name, assigned);
    let stable = |op: &Operand| match op {
        Operand::Place(p) => {
            !assigned.contains(&p.var)
                && p.proj.iter().all(|pr| match pr {
                    Proj::Index(i) => stable_tokens(i),
                    Proj::Field(_) => true,
                })
        }
        Operand::Const { tokens, .. } => stable_tokens(tokens),
    };
    let mut out = HashMap::new();
    fn scan(
        b: &Block,
        top: bool,
        out: &mut HashMap<VarId, Rhs>,
        assigned: &HashSet<VarId>,
        stable: &dyn Fn(&Operand) -> bool,
    ) {
        for s in &b.stmts {
            if let Stmt::Let { var, rhs, .. } = s {
                let cheap = match rhs {
                    Rhs::Operand(a) | Rhs::Neg(a) => stable(a),
                    Rhs::Bin(_, a, b) => stable(a) && stable(b),
                    _ => false,
                };
                if cheap && !top && !assigned.contains(var) {
                    out.insert(*var, rhs.clone());
                }
            }
        }
    }
    scan(body, true, &mut out, assigned, &stable);
    visit_stmts(body, &mut |s| {
        let mut inner = |b: &Block| scan(b, false, &mut out, assigned, &stable);
        match s {
            Stmt::If { then, els, .. } => {
                inner(then);
                inner(els);
            }
            Stmt::Match { arms, .. } => arms.iter().for_each(|a| inner(&a.body)),
            Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
                inner(body)
            }
            Stmt::Let { rhs, .. } => match rhs {
                Rhs::If { then, els, .. } => {
                    inner(then);
                    inner(els);
                }
                Rhs::Match { arms, .. } => arms.iter().for_each(|a| inner(&a.body)),
                Rhs::Block(b) => inner(b),
                _ => {}
            },
            _ => {}
        }
    });
    out
}

/// Passive tokens that name no variable assigned anywhere: they evaluate to the same value
/// wherever the reverse sweep reads them.
fn stable_tokens(
    t: &TokenStream,
    by_name: &HashMap<String, VarId>,
    assigned: &HashSet<VarId>,
) -> bool {
    let mut named = HashSet::new();
    crate::ir::mentions_tokens(t, by_name, &mut named);
    named.iter().all(|v| !assigned.contains(v))
}

/// The active bindings whose values reach the function's result: those the result (or a
/// `return`) reads, and, to a fixpoint, those read by the definitions and assignments of live
/// bindings (flow-insensitive, so loops are covered; a value-producing `if`, `match` or block
/// passes its tails' bindings).
fn live_vars(f: &Func, body: &Block) -> HashSet<VarId> {
    let mut live: HashSet<VarId> = HashSet::new();
    let add = |op: &Operand, live: &mut HashSet<VarId>| -> bool {
        match op {
            Operand::Place(p) => live.insert(p.var),
            Operand::Const { .. } => false,
        }
    };
    if let Some(t) = &body.tail {
        add(t, &mut live);
    }
    visit_stmts(body, &mut |s| {
        if let Stmt::Return { value, .. } = s {
            add(value, &mut live);
        }
    });
    fn tails(b: &Block, out: &mut Vec<Operand>) {
        if let Some(t) = &b.tail {
            out.push(t.clone());
        }
    }
    loop {
        let mut grew = false;
        visit_stmts(body, &mut |s| {
            let mut reads: Vec<Operand> = Vec::new();
            match s {
                Stmt::Let { var, rhs, .. } if live.contains(var) => match rhs {
                    Rhs::Operand(a) | Rhs::Neg(a) => reads.push(a.clone()),
                    Rhs::Bin(_, a, b) => reads.extend([a.clone(), b.clone()]),
                    Rhs::Rule(_, args)
                    | Rhs::Array(args)
                    | Rhs::Tuple(args)
                    | Rhs::Struct { args, .. } => reads.extend(args.iter().cloned()),
                    Rhs::Repeat { elem, .. } => reads.push(elem.clone()),
                    Rhs::Call { args, .. } => reads.extend(args.iter().map(|a| a.op.clone())),
                    Rhs::If { then, els, .. } => {
                        tails(then, &mut reads);
                        tails(els, &mut reads);
                    }
                    Rhs::Match { arms, .. } => arms.iter().for_each(|a| tails(&a.body, &mut reads)),
                    Rhs::Block(b) => tails(b, &mut reads),
                },
                Stmt::Assign { place, value, .. } | Stmt::AddAssign { place, value, .. }
                    if live.contains(&place.var) =>
                {
                    reads.push(value.clone());
                }
                _ => {}
            }
            for r in &reads {
                grew |= add(r, &mut live);
            }
        });
        if !grew {
            break;
        }
    }
    let _ = f;
    live
}

/// For every statement (by address), the active bindings whose values just after it can still
/// reach the result: a backward liveness in which a binding's definition makes its operands
/// live only when the binding itself is ("strongly live"), a whole assignment `v = e` ends
/// `v`'s liveness before it, loops are run to a fixpoint and branches joined.
fn live_after(body: &Block) -> HashMap<usize, HashSet<VarId>> {
    let mut map = HashMap::new();
    let mut out = HashSet::new();
    if let Some(Operand::Place(p)) = &body.tail {
        out.insert(p.var);
    }
    live_block(body, out, &mut map);
    map
}

/// The bindings live before the block, given those live after it (its tail's included by the
/// caller when the block's value is used).
fn live_block(
    b: &Block,
    mut live: HashSet<VarId>,
    map: &mut HashMap<usize, HashSet<VarId>>,
) -> HashSet<VarId> {
    for s in b.stmts.iter().rev() {
        map.insert(s as *const Stmt as usize, live.clone());
        live = live_stmt(s, live, map);
    }
    live
}

fn live_stmt(
    s: &Stmt,
    out: HashSet<VarId>,
    map: &mut HashMap<usize, HashSet<VarId>>,
) -> HashSet<VarId> {
    let value_block = |blk: &Block,
                       rest: &HashSet<VarId>,
                       used: bool,
                       map: &mut HashMap<usize, HashSet<VarId>>| {
        let mut after = rest.clone();
        if used && let Some(t) = &blk.tail {
            op_var(t, &mut after);
        }
        live_block(blk, after, map)
    };
    match s {
        Stmt::Let { var, rhs, .. } => {
            let used = out.contains(var);
            let mut live = out.clone();
            live.remove(var);
            match rhs {
                Rhs::If { then, els, .. } => {
                    let a = value_block(then, &live, used, map);
                    let b = value_block(els, &live, used, map);
                    a.union(&b).copied().collect()
                }
                Rhs::Match { arms, .. } => {
                    let mut all = live.clone();
                    for a in arms {
                        all.extend(value_block(&a.body, &live, used, map));
                    }
                    all
                }
                Rhs::Block(blk) => value_block(blk, &live, used, map),
                _ => {
                    if used {
                        let mut reads = Vec::new();
                        match rhs {
                            Rhs::Operand(a) | Rhs::Neg(a) => reads.push(a),
                            Rhs::Bin(_, a, b) => reads.extend([a, b]),
                            Rhs::Rule(_, args)
                            | Rhs::Array(args)
                            | Rhs::Tuple(args)
                            | Rhs::Struct { args, .. } => reads.extend(args.iter()),
                            Rhs::Repeat { elem, .. } => reads.push(elem),
                            Rhs::Call { args, .. } => reads.extend(args.iter().map(|a| &a.op)),
                            _ => {}
                        }
                        for r in reads {
                            op_var(r, &mut live);
                        }
                    }
                    live
                }
            }
        }
        Stmt::Assign { place, value, .. } => {
            let used = out.contains(&place.var);
            let mut live = out.clone();
            if place.proj.is_empty() {
                live.remove(&place.var);
            }
            if used {
                op_var(value, &mut live);
            }
            live
        }
        Stmt::AddAssign { place, value, .. } => {
            let mut live = out.clone();
            if out.contains(&place.var) {
                op_var(value, &mut live);
            }
            live
        }
        Stmt::Return { value, .. } => {
            let mut live = out;
            op_var(value, &mut live);
            live
        }
        Stmt::If { then, els, .. } => {
            let a = live_block(then, out.clone(), map);
            let b = live_block(els, out, map);
            a.union(&b).copied().collect()
        }
        Stmt::Match { arms, .. } => {
            let mut all = out.clone();
            for a in arms {
                all.extend(live_block(&a.body, out.clone(), map));
            }
            all
        }
        Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
            // Live before the loop: after it, or before the body (which may run again).
            let mut live = out.clone();
            loop {
                let before_body = live_block(body, live.clone(), map);
                let next: HashSet<VarId> = out.union(&before_body).copied().collect();
                if next == live {
                    break;
                }
                live = next;
            }
            live
        }
        Stmt::Passive(_) | Stmt::Break { .. } | Stmt::Continue { .. } => out,
    }
}

// -------------------------------------------------------------------- structuring

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
    f.block_depth = st.depths;
    st.flags
}

struct LoopFlags {
    label: Option<String>,
    brk: Option<Ident>,
    cont: Option<Ident>,
}

struct Structurer {
    by_name: HashMap<String, VarId>,
    /// Bindings moved into a guard block, with that block: their scope is now the guard's.
    rescoped: Vec<(VarId, BlockId)>,
    flags: Vec<Ident>,
    f_blocks: usize,
    depths: Vec<usize>,
    loops: Vec<LoopFlags>,
    /// Loop depth of the block being rewritten.
    cur_depth: usize,
    /// The break flag of the loop whose body was rewritten last (reset before that loop).
    last_break: Option<Ident>,
}

impl Structurer {
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
                        Stmt::Passive(t) => {
                            for n in crate::activity::passive_bindings(t) {
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
        (reset.map(|b| Stmt::Passive(q!(#b = false;))), s, exits)
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
                    (Stmt::Passive(q!(#f = true;)), vec![f])
                }
                None => (Stmt::Passive(q!()), vec![]),
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
                    (Stmt::Passive(q!(#f = true;)), vec![f])
                }
                None => (Stmt::Passive(q!()), vec![]),
            },
            Stmt::Return { value, span } => {
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
                    stmts: vec![Stmt::Return { value, span }, Stmt::Passive(q!(#d = true;))],
                    tail: None,
                };
                (
                    Stmt::If {
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
            Stmt::If { cond, then, els } => {
                let (then, mut a) = self.block(then);
                let (els, b) = self.block(els);
                for e in b {
                    if !a.contains(&e) {
                        a.push(e);
                    }
                }
                (Stmt::If { cond, then, els }, a)
            }
            Stmt::Match { scrutinee, arms } => {
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
                (Stmt::Match { scrutinee, arms }, all)
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
                (Stmt::Loop { body, label, exit }, esc)
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
            body.stmts.insert(0, Stmt::Passive(q!(#c = false;)));
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
