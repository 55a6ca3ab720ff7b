//! The pullback of `NAME_vjp` / `NAME_grad`: the adjoint statements in reverse order, restoring
//! saved values, replaying recomputable loop bodies, and reading recorded decisions.
//!
//! Input: the structured IR and the analyses' facts.  Output: the pullback's tokens.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};

use super::*;

impl Rev<'_> {
    /// See [`needs::reversible`].
    pub(super) fn reversible(
        &self,
        iter: &ForIter,
        body: &Block,
        exit: &Option<TokenStream>,
    ) -> bool {
        needs::reversible(iter, body, exit)
    }

    // ---------------------------------------------------------------- reverse sweep

    /// A block in the reverse sweep: restore its bindings, zero their adjoints, seed the tail's
    /// adjoint, then the statements backwards.
    pub(super) fn rev_block(&self, b: &Block, seed: Option<(TokenStream, bool)>) -> TokenStream {
        let was_top = self.mode.cur_top.replace(false);
        let out = self.rev_block_inner(b, seed);
        self.mode.cur_top.set(was_top);
        out
    }

    pub(super) fn rev_block_inner(
        &self,
        b: &Block,
        seed: Option<(TokenStream, bool)>,
    ) -> TokenStream {
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
                let before = self.rec.reads.borrow().clone();
                out.extend(self.replay_stmt(s));
                let mut own = HashSet::new();
                crate::ir::declared(s, &mut own);
                self.rec
                    .reads
                    .borrow_mut()
                    .retain(|v| before.contains(v) || !own.contains(v));
                continue;
            }
            let Stmt::Let { var: v, .. } = s else {
                continue;
            };
            let v = *v;
            if let (true, Some(rhs)) = (self.needs.needed.contains(&v), self.facts.remat.get(&v)) {
                let n = cx.name(v);
                let e = match rhs {
                    _ if self.facts.analysis.aliases.contains_key(&v) => {
                        let p = &self.facts.analysis.aliases[&v];
                        self.read_proj(p);
                        cx.value(&Operand::Place(p.clone()))
                    }
                    Rhs::Operand(a) => self.val(a),
                    rhs @ (Rhs::Neg(_) | Rhs::Bin(..)) => self.arith_primal(rhs),
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

    /// The primal of an operator or rule of the table, recording what it reads.
    fn arith_primal(&self, rhs: &Rhs) -> TokenStream {
        let Some((rule, args)) = rhs.arith() else {
            unreachable!("called on operators and rules")
        };
        let vals: Vec<TokenStream> = args.iter().map(|a| self.val(a)).collect();
        crate::rules::primal(rule, &vals)
    }

    /// The stacks (already made) that every iteration of a loop with this body pushes exactly
    /// once: its scope saves and the saves, branch decisions, pullbacks and trip counts of the
    /// statements directly in it.
    pub(super) fn per_iteration_tapes(&self, body: &Block) -> Vec<Ident> {
        let direct: HashSet<usize> = body.stmts.iter().map(|s| s.id()).collect();
        let ids = self.rec.tape_ids.borrow();
        let vecs: HashSet<String> = self
            .rec
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

    /// See [`crate::analysis::replay`].
    pub(super) fn replay_plan(&self, b: &Block) -> crate::analysis::replay::Plan {
        // Inside a one-pass loop the stacks hold one iteration at a time and stay in cache:
        // storing is cheaper there than computing again.
        if b.id == self.facts.body_id || self.mode.in_fused.get() {
            return crate::analysis::replay::Plan {
                stmts: Vec::new(),
                covered: HashSet::new(),
            };
        }
        crate::analysis::replay::plan(
            b,
            &self.needs.needed,
            &self.facts.remat,
            &self.facts.by_name,
        )
    }

    /// A statement of the forward sweep run again at the start of its block's reverse: its
    /// primal only (no saves), recording what it reads.
    pub(super) fn replay_stmt(&self, s: &Stmt) -> TokenStream {
        let cx = self.cx;
        match s {
            Stmt::Let { var, ty, rhs, .. } => {
                let n = cx.name(*var);
                let ty = ty.as_ref().map(|t| q!(: #t));
                let e = match rhs {
                    Rhs::Operand(a) => self.copied_val(a),
                    rhs @ (Rhs::Neg(_) | Rhs::Bin(..) | Rhs::Rule(..)) => self.arith_primal(rhs),
                    Rhs::Array(elems) => {
                        let vals = elems.iter().map(|e| self.copied_val(e));
                        q!([#(#vals),*])
                    }
                    Rhs::Tuple(elems) => {
                        let vals = elems.iter().map(|e| self.copied_val(e));
                        q!((#(#vals),*,))
                    }
                    Rhs::Struct {
                        path,
                        fields,
                        args,
                        rest,
                    } => {
                        let vals: Vec<TokenStream> =
                            args.iter().map(|e| self.copied_val(e)).collect();
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
                self.rec.reads.borrow_mut().insert(place.var);
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
                    self.rec.reads.borrow_mut().insert(r);
                }
                let v = cx.name(*var);
                let it = &iter.tokens;
                let inner = body.stmts.iter().map(|s| self.replay_stmt(s));
                q!(for #v in #it { #(#inner)* })
            }
            _ => unreachable!("replay::plan re-runs no calls or branches"),
        }
    }

    /// The reverse of a call of the function to itself, or to one that calls back into it (see
    /// [`crate::analysis::recursion`]): the recursive pullback on the same arguments and the
    /// cotangent `vb`; the adjoints of the caller's parameters passed whole go in and come
    /// back, the others are added.
    fn rev_self_call(
        &self,
        path: &syn::ExprPath,
        args: &[Arg],
        method: bool,
        key: usize,
        vb: TokenStream,
    ) -> TokenStream {
        let cx = self.cx;
        let passed = &self.facts.self_calls[&key];
        let other = self.facts.callees.get(&key);
        let mut vals: Vec<TokenStream> = args
            .iter()
            .map(|a| {
                let v = self.val(&a.op);
                self.self_call_arg(a, v, true)
            })
            .collect();
        let mut ins = Vec::new();
        // The adjoints that came back replace the caller's first; then the others are added
        // (`g(z[0], z, ..)`: the adjoint of `z[0]` goes into the `z__bar` that came back).
        let mut outs = TokenStream::new();
        let mut adds = TokenStream::new();
        for (j, &(k, inout)) in passed.iter().enumerate() {
            let src = if passed.len() == 1 {
                q!(__adj)
            } else {
                let j = syn::Index::from(j);
                q!(__adj.#j)
            };
            match inout {
                Some(v) => {
                    // Never the adjoint's only contribution (it is read first).
                    *self.rec.contrib.borrow_mut().entry(v).or_insert(0) += 2;
                    let a = names::adjoint(cx.name(v));
                    ins.push(q!(::core::option::Option::Some(#a)));
                    outs.extend(q!(#a = #src;));
                }
                None => {
                    ins.push(q!(::core::option::Option::None));
                    adds.extend(self.acc(&args[k].op, src, false));
                }
            }
        }
        vals.push(vb);
        // Another function's pullback takes no adjoint in (all `None`).
        vals.push(match other {
            Some(_) => q!(::core::default::Default::default()),
            None => q!((#(#ins,)*)),
        });
        let helper_name = match other {
            Some(g) => Some(names::recursive_pullback(g)),
            None => self.facts.helper.clone(),
        };
        let mut helper = path.clone();
        if let (Some(last), Some(h)) = (helper.path.segments.last_mut(), helper_name) {
            last.ident = syn::Ident::new(&h.to_string(), last.ident.span());
        }
        let call = Ctx::path_call(&helper, method, vals);
        q!(let __adj = #call; #outs #adds)
    }

    /// An operand built into a re-run tuple, array or struct: a copy of a non-scalar binding
    /// (the aggregate would move it, and the reverse sweep still reads it: `(y, s)` with `s` an
    /// `&mut` struct parameter returned early, fuzzer seed 1:39).
    fn copied_val(&self, e: &Operand) -> TokenStream {
        let v = self.val(e);
        // (An indexed element cannot be moved out: it is `Copy` if it compiled.)
        if (matches!(e, Operand::Place(p) if !p.proj.iter().any(|x| matches!(x, Proj::Index(_))))
            && !self.cx.is_scalar_op(e))
            || self.whole_binding(e)
        {
            q!(::core::clone::Clone::clone(&#v))
        } else {
            v
        }
    }

    /// Zero adjoints for a block's active bindings, at the start of its reverse (`-0.0` for
    /// scalars; an array's zero is shaped like its value, which is therefore read).
    pub(super) fn adjoint_inits(&self, vars: &[VarId]) -> TokenStream {
        let mut out = TokenStream::new();
        for &v in vars {
            let var = &self.cx.f.vars[v];
            if var.active {
                let n = &var.name;
                let a = names::adjoint(n);
                if !var.scalar {
                    self.rec.reads.borrow_mut().insert(v);
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

    pub(super) fn restore(&self, s: &Stmt, place: &Place, depth: usize) -> TokenStream {
        self.restore_slot(s, place, depth, 0)
    }

    /// The restore of the `slot`th place a statement writes (see `save_slot`).
    pub(super) fn restore_slot(
        &self,
        s: &Stmt,
        place: &Place,
        depth: usize,
        slot: usize,
    ) -> TokenStream {
        if !self.must_save(s, place) {
            return q!();
        }
        if let Some(undo) = self.inverse(s) {
            return undo;
        }
        self.read_proj(place);
        let t = self.tape((s.id(), slot, "save"), depth);
        let p = self.cx.place(place);
        q!(#p = #t.pop().unwrap();)
    }

    pub(super) fn rev_stmt(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let outer = self.rec.reads.replace(HashSet::new());
        let out = self.rev_stmt_inner(s, depth, top);
        let mine = self.rec.reads.replace(outer);
        self.rec.reads.borrow_mut().extend(mine.iter().copied());
        self.rec.stmt_reads.borrow_mut().insert(s.id(), mine);
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

    pub(super) fn rev_stmt_inner(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let cx = self.cx;
        // A binding whose value never reaches the result has a zero adjoint: its statements'
        // adjoints are left out (also so that a zero adjoint never meets an infinite partial
        // of a value that overflowed but is not used: 0 * inf would be NaN).
        // The same, point by point: a binding not live after this statement (overwritten
        // before any use that reaches the result, `live_after`) has a zero adjoint here. The
        // old value is still restored: earlier statements may read it.
        let key_addr = s.id();
        let dead = |v: VarId| {
            cx.f.vars[v].active
                && (!self.facts.live.contains(&v)
                    || self
                        .facts
                        .live_after
                        .get(&key_addr)
                        .is_some_and(|l| !l.contains(&v)))
        };
        match s {
            Stmt::Let { var, rhs, .. }
                if dead(*var)
                    && !matches!(rhs, Rhs::If { .. } | Rhs::Match { .. } | Rhs::Block(_))
                    && rhs
                        .mut_places()
                        .iter()
                        .all(|p| dead(p.var) || !cx.f.vars[p.var].active) =>
            {
                // A call through `&mut` still restores what it overwrote.
                return rhs
                    .mut_places()
                    .into_iter()
                    .enumerate()
                    .map(|(k, p)| self.restore_slot(s, p, depth, k))
                    .collect();
            }
            Stmt::Assign { place, .. } | Stmt::AddAssign { place, .. } if dead(place.var) => {
                // Its old value may still be read: through passive tokens (`stop_gradient(v)`,
                // a condition) or by earlier statements.
                return self.restore(s, place, depth);
            }
            _ => {}
        }
        let c = self.core();
        let key = s.id();
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
                    rhs @ (Rhs::Bin(..) | Rhs::Neg(_) | Rhs::Rule(..)) => {
                        let Some((rule, args)) = rhs.arith() else {
                            unreachable!("operators and rules are rows of the table")
                        };
                        let active = active_floats(rule, &args, self.f());
                        // Record exactly what each needed partial reads.
                        for (k, _) in &active {
                            for name in crate::rules::partial_reads(rule, *k) {
                                if name == rule.result {
                                    self.rec.reads.borrow_mut().insert(*var);
                                } else if let Some(i) =
                                    rule.args.iter().position(|(x, _)| *x == name)
                                {
                                    let _ = self.val(args[i]);
                                }
                            }
                        }
                        let (terms, divisor) = cx.terms(rule, &args, &q!(#n));
                        // What each partial multiplies: the adjoint, or the adjoint over the
                        // row's divisor, divided once.
                        let mut out = TokenStream::new();
                        let src = match divisor {
                            None => q!(#vb),
                            Some(d) if active.len() == 1 => q!(#vb / #d),
                            Some(d) => {
                                out.extend(q!(let __g = #vb / #d;));
                                q!(__g)
                            }
                        };
                        for (k, a) in active {
                            out.extend(self.acc(a, terms[k].times(&src), true));
                        }
                        out
                    }
                    Rhs::Call {
                        path, args, method, ..
                    } if self.facts.self_calls.contains_key(&key) => {
                        self.rev_self_call(path, args, *method, key, q!(#vb))
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
                        let muts = rhs.mut_places();
                        let mut out = if muts.is_empty() {
                            q!(#take let __adj = #pb(#vb);)
                        } else {
                            // The adjoints of what the call wrote are its final states'
                            // cotangents (`rt::pull` takes them), then the overwritten values
                            // come back; the arguments' adjoints are added below.
                            let adjs = muts.iter().map(|p| {
                                if cx.f.vars[p.var].active {
                                    let a = self.adj(p);
                                    q!(&mut #a)
                                } else {
                                    let v = self.val(&Operand::Place((*p).clone()));
                                    q!(&mut #c::rt::zero_of(&#v))
                                }
                            });
                            let mut o = q!(#take let __adj = #c::rt::pull(#pb, #vb, (#(#adjs,)*)););
                            for (k, p) in muts.iter().enumerate() {
                                o.extend(self.restore_slot(s, p, depth, k));
                            }
                            o
                        };
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
                        let was_top = self.mode.cur_top.replace(false);
                        let body = self.acc(elem, q!(*__e), false);
                        self.mode.cur_top.set(was_top);
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
                        if *rest {
                            // `..r` gave the fields not written: its adjoint gets those. First,
                            // before the written fields' adjoints may be moved out of `vb`.
                            let c = self.core();
                            out.extend(q!(
                                let mut __r = ::core::clone::Clone::clone(&#vb);
                                #(__r.#fields = #c::rt::field_zero(&__r.#fields);)*
                            ));
                            out.extend(self.acc(&args[fields.len()], q!(__r), false));
                        }
                        for (m, e) in fields.iter().zip(args) {
                            out.extend(self.acc(e, q!(#vb.#m), false));
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
            // The pushed element's adjoint comes off the `Vec`'s adjoint, which so has the
            // `Vec`'s length at every point of the reverse sweep; the element comes off the `Vec`
            // when the reverse sweep reads it (so that it sees the `Vec` as it was there).
            Stmt::Push { place, value, .. } => {
                let mut out = TokenStream::new();
                if cx.f.vars[place.var].active {
                    let a = cx.shadow(place, true);
                    if !dead(place.var) && value.active_place(self.f()).is_some() {
                        out.extend(q!(let __b = #a.pop().unwrap();));
                        out.extend(self.acc(value, q!(__b), cx.is_scalar_op(value)));
                    } else {
                        out.extend(q!(#a.pop();));
                    }
                }
                if self.needs.needed.contains(&place.var) {
                    let p = cx.place(place);
                    out.extend(q!(#p.pop();));
                }
                out
            }
            Stmt::Passive(_, _) => q!(),
            Stmt::If {
                cond, then, els, ..
            } => {
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
                        self.rec.reads.borrow_mut().insert(r);
                    }
                    let it = &iter.tokens;
                    q!(for #v in (#it).rev() #b)
                } else {
                    let count = self.tape((key, 0, "count"), depth);
                    let pop_i = if self.needs.needed.contains(var) {
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
                let scalar = self.facts.result_scalar;
                self.acc(value, q!(ct), scalar)
            }
            Stmt::Break { .. } | Stmt::Continue { .. } => q!(),
        }
    }
}
