//! Emitter: reverse mode (`NAME_vjp`, `NAME_grad`).
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
//! Which values are needed is computed first, on the IR ([`crate::analysis::needs`], from the
//! facts of the other analyses, which this driver computes and passes in); the emission then runs
//! once and checks, with what it records, that it read exactly what was predicted.
//!
//! Input: `let y = x.sin() * c;`  Output (forward): `let __t0 = x.sin(); let y = __t0 * c;`
//! (reverse): `__t0__bar += y__bar * c; x__bar += __t0__bar * x.cos();`

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};

use crate::analysis::liveness::{live_after, live_vars};
use crate::analysis::needs::{self, Needs};
pub use crate::analysis::recursion::SelfCalls;
use crate::analysis::regions::save_regions;
use crate::analysis::remat::{rematerializable, stable_tokens};
use crate::emit::codegen::Ctx;
use crate::ir::*;
use crate::names;

mod forward_sweep;
mod pullback;

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

/// The most rounds of emission before giving up, when the analysis' prediction was not what
/// the emission read (a fallback that the test suite and the fuzzer never reach).
const MAX_ROUNDS: usize = 12;

thread_local! {
    /// Emissions on this thread that read something the analysis did not predict and ran again
    /// (see [`emit`]).
    static FALLBACKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many emissions on this thread fell back to a second round (the snapshot test checks
/// that none does).
#[cfg(test)]
pub fn fallbacks() -> usize {
    FALLBACKS.with(|c| c.get())
}

/// A function that calls itself: how the reverse sweep handles those calls (see
/// [`crate::analysis::recursion`]).
pub struct Recursive {
    /// The recursive pullback (`NAME__rev`), which the reverse sweep calls at each call of
    /// the function to itself.
    pub helper: Ident,
    /// Those calls, and those to the functions named in `recursive(..)`, by statement.
    pub calls: SelfCalls,
    /// The calls to functions named in `recursive(..)`: the callee.
    pub callees: HashMap<usize, Ident>,
}

/// Which reverse function is emitted.
pub struct Options<'a> {
    /// Its cotangent is known before it starts (`_grad`, the recursive pullback): reduction
    /// loops run in one pass.
    pub fuse: bool,
    /// The function calls itself.
    pub recursive: Option<&'a Recursive>,
    /// The recursive pullback: the parameters' adjoints come in (`__adj_in`, a tuple of
    /// `Option`s, `None` for a zero) and are added to, never stored or made by their only
    /// contribution.
    pub accumulate: bool,
}

/// The pieces of a reverse function of the kind `opts` says (see [`Options`]).
///
/// What the pullback needs is computed first ([`crate::analysis::needs`]); then one round of
/// emission, whose recorded reads are checked against the prediction: the emission is kept only
/// if what it read, statement by statement, and the single contributions it made are exactly
/// what it was emitted with (the fixpoint the emitter iterated to before). Otherwise (never seen
/// in the test suite or the fuzzer, counted in [`FALLBACKS`]) emission runs again with what it
/// read, as before, and an error when that has not settled after [`MAX_ROUNDS`]: code emitted
/// from needs that are still growing could read a value that was overwritten.
pub fn emit(
    cx: &Ctx,
    body: &Block,
    flags: &[Ident],
    result_scalar: bool,
    opts: &Options,
) -> syn::Result<Reverse> {
    debug_assert!(ids_unique(body), "statement ids are unique");
    let facts = Facts::of(cx, body, result_scalar, opts);
    let mut needs = predict(cx, body, &facts);
    for round in 0.. {
        let r = Rev {
            cx,
            facts: &facts,
            needs: &needs,
            rec: Recorder::default(),
            mode: Mode::default(),
        };
        let out = r.run(body, flags);
        let rec = r.rec;
        let reads = rec.reads.into_inner();
        let stmt_reads = rec.stmt_reads.into_inner();
        let single: HashSet<VarId> = rec
            .contrib
            .into_inner()
            .into_iter()
            .filter(|&(v, n)| {
                n == 1
                    && !facts.assigned.contains(&v)
                    && needs::single_candidate(cx.f, v, body)
                    && !(facts.accumulate && cx.f.vars[v].param.is_some())
            })
            .map(|(v, _)| v)
            .collect();
        let needed: HashSet<VarId> = needs.needed.union(&reads).copied().collect();
        let next = Needs {
            needed,
            prev_reads: stmt_reads,
            single,
        };
        if next == needs {
            log_rounds(cx, round + 1);
            return Ok(out);
        }
        if round == 0 {
            FALLBACKS.with(|c| c.set(c.get() + 1));
        }
        if round + 1 == MAX_ROUNDS {
            break;
        }
        needs = next;
    }
    Err(syn::Error::new(
        proc_macro2::Span::call_site(),
        "#[differentiate] could not settle which values the reverse sweep needs (an internal limit); use `#[differentiate(forward)]` for this function, and please report it",
    ))
}

/// What the pullback needs, from the analysis, given the facts of the others.
fn predict(cx: &Ctx, body: &Block, facts: &Facts) -> Needs {
    let fused: HashMap<usize, Vec<VarId>> = facts
        .fused
        .iter()
        .map(|(i, o)| (*i, o.windows.iter().map(|(v, _)| *v).collect()))
        .collect();
    let replay = |b: &Block, needed: &HashSet<VarId>| {
        crate::analysis::replay::plan(b, needed, &facts.remat, &facts.by_name).stmts
    };
    needs::needs(
        cx.f,
        body,
        &needs::Facts {
            by_name: &facts.by_name,
            assigned: &facts.assigned,
            let_declared: &facts.let_declared,
            for_vars: &facts.for_vars,
            remat: &facts.remat,
            aliases: &facts.analysis.aliases,
            regions: &facts.regions,
            fused: &fused,
            fused_accs: &facts.fused_accs,
            live: &facts.live,
            live_after: &facts.live_after,
            invertible: &facts.invertible,
            has_return: facts.has_return,
            self_calls: &facts.self_calls,
            accumulate: facts.accumulate,
            replay: &replay,
        },
    )
}

/// With `AUTODIFF_NEEDS_LOG=<file>` set while compiling, one line per reverse-mode function:
/// its size and how many rounds of emission it took (1 unless the fallback ran). A measurement
/// aid: `grep -vc 'rounds=1$' <file>` counts the fallbacks of a test run or a fuzzer run.
fn log_rounds(cx: &Ctx, rounds: usize) {
    let Some(path) = std::env::var_os("AUTODIFF_NEEDS_LOG") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let line = format!(
            "vars={} stmts={} rounds={rounds}\n",
            cx.f.vars.len(),
            cx.f.num_stmts
        );
        let _ = std::io::Write::write_all(&mut file, line.as_bytes());
    }
}

/// The reverse emitter of one round: the function's context, the facts of the analyses, what
/// the pullback needs (as predicted), what this round records, and the emission mode.
struct Rev<'a> {
    cx: &'a Ctx<'a>,
    facts: &'a Facts,
    needs: &'a Needs,
    rec: Recorder,
    mode: Mode,
}

/// What the analyses found about the body, computed once before emission.
struct Facts {
    by_name: HashMap<String, VarId>,
    let_declared: HashSet<VarId>,
    for_vars: HashSet<VarId>,
    body_id: BlockId,
    has_return: bool,
    result_scalar: bool,
    /// Scope-local bindings the reverse sweep recomputes instead of storing: cheap arithmetic
    /// on values that are never overwritten.
    remat: HashMap<VarId, Rhs>,
    /// Variables assigned anywhere.
    assigned: HashSet<VarId>,
    /// See [`save_regions`].
    regions: HashMap<usize, Vec<usize>>,
    /// Loops of the body run forward and reverse in one pass (`_grad` only).
    fused: crate::analysis::fuse::Fused,
    /// Their accumulators, never saved (nothing reads their earlier values).
    fused_accs: HashSet<VarId>,
    /// Parameter elements whose adjoint gets one contribution (stored, not added), loop
    /// bindings read back from memory (reading them does not make the array's old values
    /// needed), parameters' read counts: see [`crate::analysis::once`].
    analysis: crate::analysis::once::Analysis,
    /// The bindings whose values reach the result (see [`live_vars`]): the adjoint statements of
    /// the others are left out.
    live: HashSet<VarId>,
    /// By statement: the bindings live just after it (see [`live_after`]).
    live_after: HashMap<usize, HashSet<VarId>>,
    /// Statements whose overwrite is undone by its inverse (see [`Rev::inverse`]).
    invertible: HashSet<usize>,
    /// The calls of the function to itself (see [`Recursive`]).
    self_calls: SelfCalls,
    /// The recursive pullback, when the function calls itself.
    helper: Option<Ident>,
    /// Calls to the functions named in `recursive(..)`, by statement: the callee.
    callees: HashMap<usize, Ident>,
    /// See [`Options::accumulate`].
    accumulate: bool,
}

impl Facts {
    fn of(cx: &Ctx, body: &Block, result_scalar: bool, opts: &Options) -> Facts {
        let fuse = opts.fuse;
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
        let mut analysis = crate::analysis::once::analyse(cx.f, body, &by_name);
        if opts.accumulate {
            // The parameters' adjoints come in holding the caller's sums: every contribution
            // is added, none stored.
            analysis.once.clear();
            analysis.param_reads.clear();
        }
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
            // The recursive pullback's cotangent is its parameter `ct`.
            let ct = if opts.accumulate {
                q!(ct)
            } else {
                cx.one_scalar()
            };
            crate::analysis::fuse::plan(cx.f, body, &by_name, &ct, has_return)
        } else {
            crate::analysis::fuse::Fused::new()
        };
        let fused_accs: HashSet<VarId> = fused
            .values()
            .flat_map(|o| o.accs.iter().map(|(v, _)| *v))
            .collect();
        let mut invertible = HashSet::new();
        visit_stmts(body, &mut |s| {
            if let Stmt::AddAssign {
                id,
                place,
                value:
                    Operand::Const {
                        tokens,
                        float: false,
                    },
                ..
            } = s
            {
                let v = &cx.f.vars[place.var];
                if !(v.active || v.float_kind || v.scalar)
                    && stable_tokens(tokens, &by_name, &assigned)
                {
                    invertible.insert(*id);
                }
            }
        });
        Facts {
            by_name,
            let_declared,
            for_vars,
            body_id: body.id,
            has_return,
            result_scalar,
            remat,
            assigned,
            regions,
            fused,
            fused_accs,
            analysis,
            live,
            live_after,
            invertible,
            self_calls: opts.recursive.map(|r| r.calls.clone()).unwrap_or_default(),
            helper: opts.recursive.map(|r| r.helper.clone()),
            callees: opts
                .recursive
                .map(|r| r.callees.clone())
                .unwrap_or_default(),
            accumulate: opts.accumulate,
        }
    }
}

/// What a round of emission records while it runs.
#[derive(Default)]
struct Recorder {
    reads: RefCell<HashSet<VarId>>,
    tapes: RefCell<Vec<(Ident, bool)>>,
    tape_ids: RefCell<HashMap<(usize, usize, &'static str), Ident>>,
    /// What each statement's reverse reads, in this round.
    stmt_reads: RefCell<HashMap<usize, HashSet<VarId>>>,
    /// Contributions to each binding's adjoint, in this round.
    contrib: RefCell<HashMap<VarId, usize>>,
}

/// Where the emitter is: directly in the body, in a one-pass loop, and that loop's window.
struct Mode {
    /// Whether the statement being emitted is directly in the function's body.
    cur_top: std::cell::Cell<bool>,
    /// Whether a fused loop is being emitted.
    in_fused: std::cell::Cell<bool>,
    /// In a fused loop: its variable's name and the arrays whose adjoints ride in registers.
    window: RefCell<Option<(String, HashMap<VarId, usize>)>>,
}

impl Default for Mode {
    fn default() -> Self {
        Mode {
            cur_top: std::cell::Cell::new(true),
            in_fused: std::cell::Cell::new(false),
            window: RefCell::new(None),
        }
    }
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
        if let Some(id) = self.rec.tape_ids.borrow().get(&key) {
            return id.clone();
        }
        let n = self.rec.tapes.borrow().len();
        let id = names::generated("tape", n);
        self.rec.tapes.borrow_mut().push((id.clone(), depth > 0));
        self.rec.tape_ids.borrow_mut().insert(key, id.clone());
        id
    }

    /// `rt::push`: a tape push whose growth is out of line (see there).
    fn push(&self) -> TokenStream {
        let c = self.core();
        q!(#c::rt::push)
    }

    fn read_tokens(&self, t: &TokenStream) {
        crate::ir::mentions_tokens(t, &self.facts.by_name, &mut self.rec.reads.borrow_mut());
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
                self.rec.reads.borrow_mut().insert(p.var);
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
        let w = self.mode.window.borrow();
        let (name, arrays) = w.as_ref()?;
        arrays.get(&p.var)?;
        let [Proj::Index(t)] = p.proj.as_slice() else {
            return None;
        };
        let k = crate::analysis::fuse::offset(t, name)?;
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
                let whole = p.proj.is_empty() && self.mode.cur_top.get() && movable && !sub;
                *self.rec.contrib.borrow_mut().entry(p.var).or_insert(0) +=
                    if whole { 1 } else { 2 };
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
                if whole && self.needs.single.contains(&p.var) {
                    // The only contribution: the adjoint starts here, with no zero to add to.
                    return q!(let mut #a = #src;);
                }
                if scalar
                    && self
                        .facts
                        .analysis
                        .once
                        .contains(&(p.var, crate::ir::key(p)))
                {
                    // Still zero: this is the element's only contribution.
                    return if sub { q!(#a = -#src;) } else { q!(#a = #src;) };
                }
                // A part of a slice (`&xs[lo..hi]` passed to a call) gets the callee's owned
                // adjoint of that part, element by element.
                let range = matches!(p.proj.last(), Some(Proj::Index(t))
                    if syn::parse2::<syn::ExprRange>(t.clone()).is_ok());
                if range && !scalar && !sub {
                    return q!(#c::rt::acc_slice(&mut #a, &#src););
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

    /// Must the old value be saved before this assignment? See [`Needs::must_save`] (regions:
    /// [`save_regions`]).
    fn must_save(&self, s: &Stmt, place: &Place) -> bool {
        let fused_acc = self.mode.in_fused.get()
            && place.proj.is_empty()
            && self.facts.fused_accs.contains(&place.var);
        self.needs
            .must_save(&self.facts.regions, fused_acc, s, place)
    }

    /// `k += n` on an integer is undone by `k -= n` (exactly), where `n` does not change.
    fn inverse(&self, s: &Stmt) -> Option<TokenStream> {
        let Stmt::AddAssign {
            place,
            value: Operand::Const { tokens, .. },
            sub,
            ..
        } = s
        else {
            return None;
        };
        if !self.facts.invertible.contains(&s.id()) {
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

    /// See [`needs::recomputable_cond`].
    fn recomputable_cond(&self, cond: &TokenStream) -> bool {
        let fx = self.facts;
        needs::recomputable_cond(self.f(), cond, &fx.by_name, &fx.for_vars, &fx.assigned)
    }

    /// See [`needs::scope_vars`].
    fn scope_vars(&self, b: &Block) -> Vec<VarId> {
        needs::scope_vars(self.f(), b, &self.facts.let_declared, &self.facts.for_vars)
    }

    fn depth(&self, b: &Block) -> usize {
        self.f().block_depth[b.id]
    }
}
