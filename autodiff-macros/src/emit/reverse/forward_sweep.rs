//! The forward sweep of `NAME_vjp` / `NAME_grad`: the primal computation plus what the
//! pullback will need (saved overwritten values, branch decisions, trip counts), and the
//! one-pass loops of `_grad`.
//!
//! Input: the structured IR and the analyses' facts.  Output: the forward sweep's tokens.

use std::collections::HashMap;

use proc_macro2::{Ident, TokenStream};

use super::*;

impl Rev<'_> {
    /// An operand built into a tuple, array or struct: a copy of a non-scalar binding that the
    /// pullback still reads (the aggregate would move it: `(y, p)` with `p` a struct whose
    /// fields the reverse sweep reads; found with `&mut` parameters, whose final states are
    /// such a tuple's parts).
    fn kept_value(&self, e: &Operand) -> TokenStream {
        let v = self.cx.value(e);
        match e {
            // With early returns, code after a `return` still runs (guarded by flags: the
            // structuring pass) and names the binding: it is copied too (a `&mut` struct
            // parameter returned with the output, `return (y, s)`: E0382, fuzzer seed 1:39).
            Operand::Place(p)
                if (self.needs.needed.contains(&p.var)
                    || self.facts.has_return
                        && !p.proj.iter().any(|x| matches!(x, Proj::Index(_))))
                    && !self.cx.is_scalar_op(e) =>
            {
                q!(::core::clone::Clone::clone(&#v))
            }
            // A passive binding, whole (an `&mut` parameter left out of `wrt`, returned with
            // the output inside a loop: fuzzer seed 1:62).
            Operand::Const { .. } if self.facts.has_return && self.whole_binding(e) => {
                q!(::core::clone::Clone::clone(&#v))
            }
            _ => v,
        }
    }

    /// An argument `v` of a call to itself: `&v`, or a copy of a value that a call by value
    /// would move and that is still read later (`keep`; in the reverse sweep, always: a loop
    /// may run the call again). References are passed as they are.
    pub(super) fn self_call_arg(&self, a: &Arg, v: TokenStream, keep: bool) -> TokenStream {
        match &a.op {
            _ if a.by_ref => q!(&#v),
            Operand::Place(p)
                if keep
                    && !self.cx.is_scalar_op(&a.op)
                    && !(p.proj.is_empty()
                        && !p.deref
                        && matches!(
                            self.f().vars[p.var].param,
                            Some(ParamKind::Ref | ParamKind::Slice)
                        )) =>
            {
                q!(::core::clone::Clone::clone(&#v))
            }
            _ => v,
        }
    }

    /// The value of a `let` or an assignment: a copy of a binding the reverse sweep still reads
    /// when Rust would move it (a struct or `Vec`, not an array: `let m = a; a = b; b = m;`,
    /// `std::mem::swap` of two structs, moved `m` then pushed at the end of its block: E0382 in
    /// emitted code, fuzzer seed 6101:47).
    fn moved_value(&self, e: &Operand) -> TokenStream {
        let v = self.cx.value(e);
        match e {
            Operand::Place(p)
                if self.needs.needed.contains(&p.var)
                    && !self.cx.is_scalar_op(e)
                    && !self.cx.f.vars[p.var].array
                    && p.proj.is_empty()
                    && !p.deref =>
            {
                q!(::core::clone::Clone::clone(&#v))
            }
            _ => v,
        }
    }

    /// A passive expression with its whole non-scalar bindings copied, in tuples and arrays:
    /// `(a, k)` becomes `(a, Clone::clone(&k))`.
    fn copy_bindings(&self, tokens: &TokenStream) -> TokenStream {
        let Ok(e) = syn::parse2::<syn::Expr>(tokens.clone()) else {
            return q!(::core::clone::Clone::clone(&(#tokens)));
        };
        let part = |x: &syn::Expr| -> TokenStream {
            let t = quote::ToTokens::to_token_stream(x);
            let op = Operand::Const {
                tokens: t.clone(),
                float: false,
            };
            if self.whole_binding(&op) {
                q!(::core::clone::Clone::clone(&#t))
            } else {
                t
            }
        };
        match crate::front::syntax::strip_paren(&e) {
            syn::Expr::Tuple(t) => {
                let ps = t.elems.iter().map(part);
                q!((#(#ps,)*))
            }
            syn::Expr::Array(a) => {
                let ps = a.elems.iter().map(part);
                q!([#(#ps),*])
            }
            x => part(x),
        }
    }

    /// A passive operand that is a whole non-scalar binding (`s`, not `s.a` or `2.0 * k`).
    pub(super) fn whole_binding(&self, e: &Operand) -> bool {
        let Operand::Const { tokens, .. } = e else {
            return false;
        };
        let Ok(i) = syn::parse2::<syn::Ident>(tokens.clone()) else {
            return false;
        };
        self.facts.by_name.get(&i.to_string()).is_some_and(|&v| {
            !self.cx.f.vars[v].scalar && self.cx.f.vars[v].kind != ValueKind::Other
        })
    }

    pub(super) fn run(&self, body: &Block, flags: &[Ident]) -> Reverse {
        let cx = self.cx;
        let c = self.core();
        let fwd = self.fwd_stmts(body);
        let result = if self.facts.has_return {
            q!(let __y = match __ret { ::core::option::Option::Some(v) => v, ::core::option::Option::None => unreachable!("every path of a differentiated function returns") };)
        } else {
            match &body.tail {
                Some(t) => {
                    let v = cx.value(t);
                    let needs_clone = matches!(t, Operand::Place(p) if self.needs.needed.contains(&p.var) && !cx.is_scalar_op(t));
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
            if !v.active || self.needs.single.contains(&p) {
                continue;
            }
            let n = &v.name;
            let a = names::adjoint(n);
            let z = match v.param {
                Some(ParamKind::Ref) => q!(#c::rt::zero_of(#n)),
                Some(ParamKind::Slice) => q!(#c::rt::zero_owned(#n)),
                _ => cx.zero_like(&q!(#n), v.scalar),
            };
            // The recursive pullback adds to the adjoints its caller passes in.
            let j = cx.f.signature.iter().position(|&q| q == p);
            match j {
                Some(j) if self.facts.accumulate => {
                    let j = syn::Index::from(j);
                    inits.extend(q!(let mut #a = match __adj_in.#j {
                        ::core::option::Option::Some(__a) => __a,
                        ::core::option::Option::None => #z,
                    };));
                }
                _ => inits.extend(q!(let mut #a = #z;)),
            }
        }
        // The reverse sweep.
        let mut rev = TokenStream::new();
        if !self.facts.has_return
            && let Some(t) = &body.tail
        {
            rev.extend(self.acc(t, q!(ct), self.facts.result_scalar));
        }
        for (i, s) in body.stmts.iter().enumerate().rev() {
            if !self.facts.fused.contains_key(&i) {
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
            .rec
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
            .facts
            .has_return
            .then(|| q!(let mut __ret = ::core::option::Option::None;));
        let needed_params =
            cx.f.params
                .iter()
                .copied()
                .filter(|p| self.needs.needed.contains(p))
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
    pub(super) fn fwd_stmts(&self, b: &Block) -> TokenStream {
        let depth = self.depth(b);
        let top = b.id == self.facts.body_id;
        let mut out = TokenStream::new();
        for (i, s) in b.stmts.iter().enumerate() {
            match self.facts.fused.get(&i) {
                Some(one) if top => out.extend(self.fused_loop(s, one)),
                _ => out.extend(self.fwd_stmt(s, depth, top)),
            }
        }
        out
    }

    /// A loop of the body whose reverse runs iteration by iteration right after it (see
    /// [`crate::analysis::fuse`]): the accumulators' adjoints are constants, shadowed inside.
    pub(super) fn fused_loop(&self, s: &Stmt, one: &crate::analysis::fuse::OnePass) -> TokenStream {
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
        let was = self.mode.in_fused.replace(true);
        let v = self.cx.name(*var);
        let arrays: HashMap<VarId, usize> = one.windows.iter().copied().collect();
        *self.mode.window.borrow_mut() = Some((v.to_string(), arrays));
        let reg = |x: VarId, k: usize| names::derived("__w_", self.cx.name(x), &format!("_{k}"));
        let nz = self.cx.neg_zero_scalar();
        let mut regs = TokenStream::new();
        let mut shift = TokenStream::new();
        let mut flush_end = TokenStream::new();
        // A parameter read nowhere else and never written gets each element's adjoint once,
        // from its window: stored, not added (see `crate::analysis::once`).
        let inner = crate::analysis::once::param_reads(self.f(), body, &self.facts.by_name);
        let range = crate::analysis::once::is_range(&iter.tokens);
        for &(x, kmax) in &one.windows {
            let xb = names::adjoint(self.cx.name(x));
            // The window is flushed into the adjoint whether or not the body adds to it: never
            // the adjoint's only contribution, so it is made before the loop (fuzzer 821:50).
            *self.rec.contrib.borrow_mut().entry(x).or_insert(0) += 2;
            let only_here = range
                && !self.facts.assigned.contains(&x)
                && inner
                    .get(&x)
                    .is_some_and(|n| self.facts.analysis.param_reads.get(&x) == Some(n));
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
        let was_top = self.mode.cur_top.replace(false);
        let mut rev = self.adjoint_inits(&self.scope_vars(body));
        for s in body.stmts.iter().rev() {
            rev.extend(self.rev_stmt(s, self.depth(body), false));
        }
        self.mode.cur_top.set(was_top);
        self.mode.in_fused.set(was);
        *self.mode.window.borrow_mut() = None;
        let shadows = one.accs.iter().map(|(a, coef)| {
            let n = names::adjoint(self.cx.name(*a));
            q!(let #n = #coef;)
        });
        q!({ #(#shadows)* #regs #ends #l for #v in #it { #stmts { #rev } #shift } #after })
    }

    pub(super) fn scope_saves(&self, b: &Block) -> TokenStream {
        let push = self.push();
        let mut out = TokenStream::new();
        if b.id == self.facts.body_id {
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
    pub(super) fn kept_scope_vars(&self, b: &Block) -> Vec<VarId> {
        let plan = self.replay_plan(b);
        self.scope_vars(b)
            .into_iter()
            .filter(|v| {
                self.needs.needed.contains(v)
                    && !self.facts.remat.contains_key(v)
                    && !plan.covered.contains(v)
            })
            .collect()
    }

    /// A block in the forward sweep: `{ stmts; saves }` or `{ stmts; let v = tail; saves; v }`.
    pub(super) fn fwd_block(&self, b: &Block) -> TokenStream {
        let stmts = self.fwd_stmts(b);
        let saves = self.scope_saves(b);
        match &b.tail {
            Some(t) => {
                let v = self.cx.value(t);
                // A tail that is itself saved at the end of the block (a `Vec` local, say) is
                // copied out before the save takes it.
                let saved_tail = matches!(t, Operand::Place(p)
                    if !self.cx.f.vars[p.var].scalar && self.kept_scope_vars(b).contains(&p.var));
                if saves.is_empty() {
                    q!({ #stmts #v })
                } else if saved_tail {
                    q!({ #stmts let __v = ::core::clone::Clone::clone(&#v); #saves __v })
                } else {
                    q!({ #stmts let __v = #v; #saves __v })
                }
            }
            None => q!({ #stmts #saves }),
        }
    }

    pub(super) fn save(&self, s: &Stmt, place: &Place, depth: usize) -> TokenStream {
        self.save_slot(s, place, depth, 0)
    }

    /// The save of the `slot`th place a statement writes (a call through `&mut` writes several).
    pub(super) fn save_slot(
        &self,
        s: &Stmt,
        place: &Place,
        depth: usize,
        slot: usize,
    ) -> TokenStream {
        let push = self.push();
        if !self.must_save(s, place) || self.inverse_applies(s) {
            return q!();
        }
        let t = self.tape((s.id(), slot, "save"), depth);
        let p = self.cx.place(place);
        if matches!(s, Stmt::Let { .. }) {
            // A call through `&mut` reads the value after it is saved: a copy is saved.
            return q!(#push(&mut #t, ::core::clone::Clone::clone(&#p)););
        }
        q!(#push(&mut #t, #p);)
    }

    pub(super) fn inverse_applies(&self, s: &Stmt) -> bool {
        let reads = self.rec.reads.borrow().clone();
        let r = self.inverse(s).is_some();
        *self.rec.reads.borrow_mut() = reads;
        r
    }

    pub(super) fn fwd_stmt(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let out = self.fwd_stmt_inner(s, depth, top);
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

    pub(super) fn fwd_stmt_inner(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let mut out = self.fwd_stmt_primal(s, depth, top);
        // The adjoint of a binding of the function's body is made right after it, before the
        // value can be moved, so that the pullback need not keep the value for its shape.
        if let (true, Stmt::Let { var, .. }) = (top, s) {
            let v = &self.cx.f.vars[*var];
            if v.active && !self.needs.single.contains(var) {
                let n = &v.name;
                let a = names::adjoint(n);
                let z = self.cx.zero_like(&q!(#n), v.scalar);
                out.extend(q!(let mut #a = #z;));
            }
        }
        out
    }

    pub(super) fn fwd_stmt_primal(&self, s: &Stmt, depth: usize, top: bool) -> TokenStream {
        let push = self.push();
        let cx = self.cx;
        let key = s.id();
        match s {
            Stmt::Let { var, ty, rhs, .. } => {
                let n = cx.name(*var);
                let ty = ty.as_ref().map(|t| q!(: #t));
                match rhs {
                    Rhs::Operand(op) => {
                        let v = self.moved_value(op);
                        q!(let mut #n #ty = #v;)
                    }
                    rhs @ (Rhs::Bin(..) | Rhs::Neg(_) | Rhs::Rule(..)) => {
                        let Some((rule, args)) = rhs.arith() else {
                            unreachable!("operators and rules are rows of the table")
                        };
                        let e = cx.rule_primal(rule, &args);
                        q!(let mut #n #ty = #e;)
                    }
                    Rhs::Call {
                        path, args, method, ..
                    } if self.facts.self_calls.contains_key(&key) => {
                        // A call to itself: its value only; the reverse sweep calls the
                        // recursive pullback on the same arguments, so a value it still reads
                        // is passed as a copy.
                        let vals = args.iter().map(|a| {
                            let keep = matches!(&a.op, Operand::Place(p) if self.needs.needed.contains(&p.var));
                            self.self_call_arg(a, cx.value(&a.op), keep)
                        });
                        let call = Ctx::path_call(path, *method, vals.collect());
                        q!(let mut #n #ty = #call;)
                    }
                    Rhs::Call { path, args, method } => {
                        // A struct passed by value (or a receiver the method may take by
                        // value) that the pullback still reads is passed as a copy: the call
                        // would move it (a receiver written through `&mut` cannot be copied).
                        let vals: Vec<TokenStream> = cx
                            .call_values(args, *method)
                            .into_iter()
                            .zip(args)
                            .map(|(v, a)| match &a.op {
                                Operand::Place(p)
                                    if !a.by_ref
                                        && !a.by_mut
                                        && self.needs.needed.contains(&p.var)
                                        && !cx.is_scalar_op(&a.op)
                                        && !cx.f.vars[p.var].array =>
                                {
                                    q!(::core::clone::Clone::clone(&#v))
                                }
                                _ => v,
                            })
                            .collect();
                        // What the call writes through `&mut` is saved first, as before an
                        // assignment, where the reverse sweep reads its old value.
                        let saves: TokenStream = rhs
                            .mut_places()
                            .into_iter()
                            .enumerate()
                            .map(|(k, p)| self.save_slot(s, p, depth, k))
                            .collect();
                        let pb = names::derived("__pb_", n, "");
                        let store = if depth == 0 && top {
                            q!()
                        } else {
                            let t = self.tape((key, 0, "pullback"), depth);
                            q!(#push(&mut #t, #pb);)
                        };
                        let call = Ctx::derived_call(path, *method, "vjp", vals);
                        q!(#saves let (mut #n, #pb) = #call; #store)
                    }
                    Rhs::Array(elems) => {
                        let vals = elems.iter().map(|e| self.kept_value(e));
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
                        let vals = elems.iter().map(|e| self.kept_value(e));
                        q!(let mut #n #ty = (#(#vals),*,);)
                    }
                    Rhs::Struct {
                        path,
                        fields,
                        args,
                        rest,
                    } => {
                        let vals = args[..fields.len()].iter().map(|e| self.kept_value(e));
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
                let v = self.moved_value(value);
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
            // The adjoint of a `Vec` of the function's body is made at its `let` (above) and
            // grows alongside it; one declared in a nested block is made at the start of that
            // block's reverse, from the `Vec` as it ended.
            Stmt::Push { place, value, .. } => {
                let p = cx.place(place);
                let var = &cx.f.vars[place.var];
                let grow = (var.active
                    && var.scope == Some(self.facts.body_id)
                    && !self.needs.single.contains(&place.var))
                .then(|| {
                    let a = cx.shadow(place, true);
                    let z = cx.zero_like(&cx.value(value), cx.is_scalar_op(value));
                    q!(#a.push(#z);)
                });
                let v = self.kept_value(value);
                q!(#grow #p.push(#v);)
            }
            Stmt::Passive(_, t) => t.clone(),
            Stmt::If {
                cond, then, els, ..
            } => {
                let (record, c) = self.fwd_branch(cond, key, depth);
                let (tb, eb) = (self.fwd_block(then), self.fwd_block(els));
                q!({ #record if #c #tb else #eb })
            }
            Stmt::Match {
                scrutinee, arms, ..
            } => {
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
                ..
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
                    let push_i = if self.needs.needed.contains(var) {
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
                ..
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
            Stmt::Loop {
                body, label, exit, ..
            } => {
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
                let v = match value {
                    _ if cx.is_scalar_op(value) => v,
                    // A passive value built from bindings (`(stop_gradient(k.a), k)`, an `&mut`
                    // parameter left out of `wrt` returned with the output): the sweep runs on
                    // past a `return` (the structuring pass), so the bindings are copied, not
                    // moved (fuzzer seed 1:62).
                    Operand::Const { tokens, .. } => self.copy_bindings(tokens),
                    _ => q!(::core::clone::Clone::clone(&#v)),
                };
                q!(__ret = ::core::option::Option::Some(#v);)
            }
            Stmt::Break { .. } | Stmt::Continue { .. } => {
                q!(compile_error!("internal: unstructured control flow reached the reverse emitter");)
            }
        }
    }
}
