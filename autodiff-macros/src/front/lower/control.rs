//! Lowering the exits that carry values: `loop { .. break v; .. }` used as a value, labelled
//! blocks (`'b: { .. break 'b v; .. tail }`), and the `break`s and `continue`s that reach them.
//!
//! A loop used as a value becomes a slot declared before it, assigned where the loop breaks:
//!
//! Input: `let r = loop { s = s * 2.0; if s > 10.0 { break s - x; } };`
//! Output: `let __t0 = placeholder(); loop { s = s * 2.0; if s > 10.0 { let __t1 = s - x;
//! __t0 = __t1; break; } } let r = __t0;`
//!
//! A labelled block that a `break` leaves becomes a loop that runs once, its tail the last
//! assignment of its slot (a block nothing leaves is a plain block):
//!
//! Input: `let v = 'b: { if c { break 'b a * b; } x.sin() };`
//! Output: `let __t0 = placeholder(); 'b: loop { if c { let __t1 = a * b; __t0 = __t1;
//! break 'b; } let __t2 = x.sin(); __t0 = __t2; break 'b; } let v = __t0;`
//!
//! (An unlabelled `break` or `continue` cannot leave a labelled block: rustc's E0695.) The
//! slot's first value,
//! `rt::placeholder()`, is never read: every way out of the loop assigns the slot first. It is
//! a float's zero; a value of another type is a compile error saying what to write instead.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Lifetime};

use super::*;

/// A loop, or a labelled block, around the point being lowered.
pub(crate) struct LoopFrame {
    /// The user's label.
    label: Option<Lifetime>,
    /// A labelled block: only a `break` naming it leaves it (an unlabelled one goes to the loop
    /// around).
    block: bool,
    /// The slot a `break` with a value assigns, for a loop or block used as a value.
    slot: Option<VarId>,
    /// The operands the `break`s assigned to the slot.
    values: Vec<Operand>,
}

impl LoopFrame {
    fn new(label: Option<Lifetime>, block: bool, slot: Option<VarId>) -> Self {
        LoopFrame {
            label,
            block,
            slot,
            values: Vec::new(),
        }
    }
}

impl Lowerer<'_> {
    /// Enters a `for`, `while` or `loop` (not used as a value) labelled `label`.
    pub(super) fn enter_loop(&mut self, label: &Option<Lifetime>) {
        self.loops.push(LoopFrame::new(label.clone(), false, None));
    }

    /// Leaves the loop entered last: the label the IR loop carries.
    pub(super) fn exit_loop(&mut self) -> Option<Lifetime> {
        self.loops.pop().expect("entered").label
    }

    /// The frame an exit goes to, and the label the IR exit names: `None` when it goes to the
    /// innermost IR loop. Reports exits that go nowhere.
    fn exit_target(
        &mut self,
        label: &Option<Lifetime>,
        what: &str,
        span: Span,
    ) -> Option<(usize, Option<Lifetime>)> {
        match label {
            Some(l) => {
                let name = l.ident.to_string();
                let Some(k) = self
                    .loops
                    .iter()
                    .rposition(|f| f.label.as_ref().is_some_and(|x| x.ident == name))
                else {
                    self.error(
                        span,
                        format!("`{what}` to a label that no loop or block around it has"),
                    );
                    return None;
                };
                if what == "continue" && self.loops[k].block {
                    self.error(span, "`continue` cannot name a labelled block");
                    return None;
                }
                Some((k, Some(l.clone())))
            }
            None => {
                let Some(k) = self.loops.iter().rposition(|f| !f.block) else {
                    self.error(span, format!("`{what}` outside of a loop"));
                    return None;
                };
                if k + 1 < self.loops.len() {
                    // Through a labelled block: rustc reports it (E0695).
                    return None;
                }
                Some((k, None))
            }
        }
    }

    pub(super) fn lower_break(&mut self, b: &syn::ExprBreak, out: &mut Vec<Stmt>) {
        let span = b.span();
        let target = self.exit_target(&b.label, "break", span);
        if let Some(v) = &b.expr {
            match target.as_ref().and_then(|(k, _)| self.loops[*k].slot.map(|s| (*k, s))) {
                Some((k, slot)) => {
                    if let Some(what) = not_a_float(v) {
                        self.error(v.span(), format!("the value of a `loop` or labelled block of a differentiated function must be a float, not {what}: declare the variable before the loop (`let mut v = ..;`), assign it before `break`, and read it after the loop"));
                    }
                    let value = self.lower_operand(v, out);
                    self.loops[k].values.push(value.clone());
                    let place = Place {
                        var: slot,
                        proj: Vec::new(),
                        span: v.span(),
                        deref: false,
                    };
                    out.push(Stmt::Assign {
                        id: self.sid(),
                        place,
                        value,
                        span,
                    });
                }
                None if target.is_some() => self.error(
                    v.span(),
                    "`break` with a value is supported in a differentiated function out of a `loop` or labelled block whose value is used (`let r = loop { .. break v; .. };`): assign the value to a variable declared before the loop, then `break`",
                ),
                None => {}
            }
        }
        let label = target.and_then(|(_, l)| l);
        out.push(Stmt::Break {
            id: self.sid(),
            label,
            span,
        });
    }

    pub(super) fn lower_continue(&mut self, c: &syn::ExprContinue, out: &mut Vec<Stmt>) {
        let span = c.span();
        let label = self
            .exit_target(&c.label, "continue", span)
            .and_then(|(_, l)| l);
        out.push(Stmt::Continue {
            id: self.sid(),
            label,
            span,
        });
    }

    /// A slot for the value of a loop or block: a temporary declared (in `out`) before it,
    /// passive for a value that carries no derivative.
    fn slot(&mut self, span: Span, active: bool, out: &mut Vec<Stmt>) -> VarId {
        let t = self.temp(false);
        if !active {
            self.vars[t].active = false;
            self.vars[t].float_kind = true;
            self.vars[t].kind = ValueKind::Floats;
        }
        let core = crate::core_path::core_path();
        let tokens = quote::quote_spanned!(span=> #core::rt::placeholder());
        out.push(Stmt::Let {
            id: self.sid(),
            var: t,
            ty: None,
            rhs: Rhs::Operand(Operand::Const {
                tokens,
                float: true,
            }),
            span,
        });
        t
    }

    /// The slot, after its loop: a float when every value assigned to it is known to be one.
    fn slot_value(&mut self, slot: VarId, values: &[Operand], span: Span) -> Rhs {
        if !self.vars[slot].active {
            let name = &self.vars[slot].name;
            return Rhs::Operand(Operand::Const {
                tokens: q!(#name),
                float: true,
            });
        }
        self.vars[slot].scalar =
            !values.is_empty() && values.iter().all(|v| op_scalar(v, &self.vars));
        Rhs::Operand(Operand::Place(Place {
            var: slot,
            proj: Vec::new(),
            span,
            deref: false,
        }))
    }

    /// `loop { .. break v; .. }` used as a value (`active`: one that carries a derivative).
    pub(super) fn lower_value_loop(
        &mut self,
        l: &syn::ExprLoop,
        active: bool,
        out: &mut Vec<Stmt>,
    ) -> Rhs {
        let span = l.span();
        let slot = self.slot(span, active, out);
        let label = l.label.as_ref().map(|l| l.name.clone());
        self.loops.push(LoopFrame::new(label, false, Some(slot)));
        self.loop_depth += 1;
        let body = self.lower_block(&l.body);
        self.loop_depth -= 1;
        let frame = self.loops.pop().expect("entered");
        self.no_tail(&body, l.body.span());
        out.push(Stmt::Loop {
            id: self.sid(),
            body,
            label: frame.label,
            exit: None,
        });
        self.slot_value(slot, &frame.values, span)
    }

    /// A labelled block that some `break` leaves, as a loop that runs once; `None` for one that
    /// nothing leaves (a plain block). With `value`, or when a `break` carries a value, the
    /// block's value is a slot, returned as the right-hand side reading it.
    pub(super) fn lower_labelled_block(
        &mut self,
        b: &syn::ExprBlock,
        value: bool,
        active: bool,
        out: &mut Vec<Stmt>,
    ) -> Option<Option<Rhs>> {
        let breaks = crate::front::syntax::block_breaks(b);
        if breaks.is_empty() {
            return None;
        }
        let span = b.span();
        let label = b.label.as_ref().map(|l| l.name.clone());
        let valued = value || breaks.iter().any(|x| x.expr.is_some());
        let slot = valued.then(|| self.slot(span, active, out));
        self.loops.push(LoopFrame::new(label.clone(), true, slot));
        self.loop_depth += 1;
        let mut body = self.lower_block(&b.block);
        self.loop_depth -= 1;
        let mut frame = self.loops.pop().expect("entered");
        if let Some(tail) = body.tail.take()
            && let Some(slot) = slot
        {
            frame.values.push(tail.clone());
            let place = Place {
                var: slot,
                proj: Vec::new(),
                span,
                deref: false,
            };
            body.stmts.push(Stmt::Assign {
                id: self.sid(),
                place,
                value: tail,
                span,
            });
        }
        body.stmts.push(Stmt::Break {
            id: self.sid(),
            label: label.clone(),
            span,
        });
        out.push(Stmt::Loop {
            id: self.sid(),
            body,
            label,
            exit: None,
        });
        Some(slot.map(|s| self.slot_value(s, &frame.values, span)))
    }
}

impl Lowerer<'_> {
    /// A passive `loop` used as a value, or labelled block, that is lowered all the same
    /// (kept as written, its exits to the loops around or its writes of active values would
    /// be lost): one with such an exit or write.
    pub(super) fn hoists_passive(&self, e: &Expr) -> bool {
        let whole = crate::front::syntax::strip_paren(e);
        let valued = match whole {
            Expr::Loop(l) => crate::front::syntax::loop_has_value(l),
            Expr::Block(b) => !crate::front::syntax::block_breaks(b).is_empty(),
            _ => false,
        };
        if !valued || self.is_active(whole) {
            return false;
        }
        let own = crate::front::syntax::bound_in(whole);
        crate::front::syntax::leaves(whole)
            || crate::front::syntax::written_bases(whole)
                .iter()
                .any(|(_, b)| self.active.contains(b) && !own.contains(b))
    }

    /// Lowers such a passive value ([`Self::hoists_passive`]) into statements: its value is a
    /// passive slot.
    pub(super) fn lower_passive_value(&mut self, e: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let rhs = match crate::front::syntax::strip_paren(e) {
            Expr::Loop(l) => Some(self.lower_value_loop(l, false, out)),
            Expr::Block(b) => self.lower_labelled_block(b, true, false, out).flatten(),
            _ => None,
        };
        match rhs {
            Some(Rhs::Operand(op)) => op,
            _ => unreachable!("a hoisted value is a loop or a block with a slot"),
        }
    }
}

/// What a `break` value is when it is visibly not a float (an array, a tuple, a struct, a
/// `vec!`).
fn not_a_float(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Paren(p) => not_a_float(&p.expr),
        Expr::Array(_) | Expr::Repeat(_) => Some("an array"),
        Expr::Tuple(_) => Some("a tuple"),
        Expr::Struct(_) => Some("a struct"),
        Expr::Macro(m) if m.mac.path.is_ident("vec") => Some("a `Vec`"),
        Expr::Reference(_) => Some("a reference"),
        _ => None,
    }
}
