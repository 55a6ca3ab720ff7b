//! Front end, before the desugarings: `[T; N]::map` on arrays as the element loop a hand rewrite
//! gives. The map's values fill an array of the function's float zero, element by element, the
//! closure's pattern bound to each element in turn (so destructuring patterns of rows and typed
//! parameters work as `let`s do); the block is a reduction block (`__acc`) that `front::hoist`
//! makes statements of the block computing it. `front::lower_function` hoists them at once when
//! any was made, so that a map used as a receiver (`x.map(|v| v * v).iter().sum::<f64>()`) is a
//! variable by the time the iterator passes look at the chain.
//!
//! Input: `let y = x.map(|v| v.tanh());` (`x: [f64; 3]`)
//! Output: `let y = { let mut __acc = [0.0f64; 3]; for __k in 0..3 { let v = x[__k];
//! __acc[__k] = (v.tanh()); } __acc };`
//!
//! Taken when the receiver is known to be an array, with its length: a parameter typed `[T; N]`
//! or `&[T; N]` (`&mut`), a local typed so or made by an array literal `[a, b, c]` / `[e; N]`,
//! the value of another such map, or an array literal itself; and when the closure computes
//! floats (a float literal or float method in it, arithmetic on the elements of a float array, a
//! `sum::<f64>()`): the array it fills holds the function's float. Also, whatever the receiver,
//! the value of a `let` typed as an array of floats (`let y: [f64; 3] = s.w.map(|v| ..);`: only
//! an array's `map` makes an array). So is `let y: [f64; 3] = std::array::from_fn(|i| ..);`,
//! the closure's parameter bound to each position. Other `map`s (an `Option`'s, an
//! iterator's, to other types) are left alone, and refused by the lowering on active values.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Pat, Type};

use crate::front::syntax::{pat_bindings, strip_paren, strip_pat_type};
use crate::names::hygienic;

/// An array's length, whether its elements are floats of the function, and whether they are
/// arrays of such floats (rows, which a pattern `[a, b]` takes apart into floats).
#[derive(Clone)]
struct Known {
    len: TokenStream,
    floats: bool,
    rows: bool,
}

/// Rewrites the array `map`s of `body` (see the module's documentation). `zero` is the
/// function's float zero, `floats` the names of its float types, `params` its parameters.
/// Returns whether it rewrote any.
pub fn maps(
    body: &mut syn::Block,
    zero: TokenStream,
    floats: &[String],
    params: &[(String, &Type)],
) -> bool {
    let mut m = Maps {
        zero,
        floats: floats.to_vec(),
        arrays: HashMap::new(),
        rewrote: false,
    };
    for (name, ty) in params {
        if let Some(k) = m.array_type(ty) {
            m.arrays.insert(name.clone(), k);
        }
    }
    // Locals, to a fixpoint (a map's value is known once its receiver is).
    loop {
        let before = m.arrays.len();
        let mut l = Locals {
            m: &mut m,
            found: Vec::new(),
        };
        syn::visit::Visit::visit_block(&mut l, body);
        let found = std::mem::take(&mut l.found);
        for (n, k) in found {
            m.arrays.entry(n).or_insert(k);
        }
        if m.arrays.len() == before {
            break;
        }
    }
    m.visit_block_mut(body);
    m.rewrote
}

struct Maps {
    zero: TokenStream,
    floats: Vec<String>,
    arrays: HashMap<String, Known>,
    rewrote: bool,
}

impl Maps {
    fn is_float_type(&self, t: &Type) -> bool {
        matches!(t, Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some_and(|i| {
            let i = i.to_string();
            i == "f64" || i == "f32" || self.floats.contains(&i)
        }))
    }

    /// `[T; N]`, `&[T; N]`, `&mut [T; N]`.
    fn array_type(&self, t: &Type) -> Option<Known> {
        match t {
            Type::Reference(r) => self.array_type(&r.elem),
            Type::Paren(p) => self.array_type(&p.elem),
            Type::Array(a) => {
                let len = &a.len;
                Some(Known {
                    len: q!(#len),
                    floats: self.is_float_type(&a.elem),
                    rows: matches!(&*a.elem, Type::Array(r) if self.is_float_type(&r.elem)),
                })
            }
            _ => None,
        }
    }

    /// What is known of the array `e` evaluates to.
    fn known(&self, e: &Expr) -> Option<Known> {
        match strip_paren(e) {
            Expr::Path(p) if p.qself.is_none() => {
                self.arrays.get(&p.path.get_ident()?.to_string()).cloned()
            }
            Expr::Array(a) => {
                let n = a.elems.len();
                Some(Known {
                    len: q!(#n),
                    floats: !a.elems.is_empty()
                        && a.elems
                            .iter()
                            .all(|e| crate::front::iterators::float_valued(e, &[], &self.floats)),
                    rows: false,
                })
            }
            Expr::Repeat(r) => {
                let len = &r.len;
                Some(Known {
                    len: q!(#len),
                    floats: crate::front::iterators::float_valued(&r.expr, &[], &self.floats),
                    rows: false,
                })
            }
            Expr::MethodCall(m) => {
                let (known, _) = self.map_call(m)?;
                Some(Known {
                    len: known.len,
                    floats: true,
                    rows: false,
                })
            }
            _ => None,
        }
    }

    /// `recv.map(|p| body)` on a known array whose closure computes floats: what is known of the
    /// receiver, and the closure.
    fn map_call<'a>(&self, m: &'a syn::ExprMethodCall) -> Option<(Known, &'a syn::ExprClosure)> {
        if m.method != "map" || m.args.len() != 1 || m.turbofish.is_some() {
            return None;
        }
        let Expr::Closure(c) = &m.args[0] else {
            return None;
        };
        if c.inputs.len() != 1 || c.asyncness.is_some() || c.capture.is_some() {
            return None;
        }
        let known = self.known(&m.receiver)?;
        let p = &c.inputs[0];
        let mut names = Vec::new();
        let typed = matches!(p, Pat::Type(t) if self.is_float_type(&t.ty));
        let row_pattern = known.rows && matches!(strip_pat_type(p), Pat::Slice(_));
        if known.floats || typed || row_pattern {
            pat_bindings(strip_pat_type(p), &mut names);
        }
        crate::front::iterators::float_valued(&c.body, &names, &self.floats).then_some((known, c))
    }

    fn rewrite(&self, e: &Expr) -> Option<Expr> {
        let Expr::MethodCall(m) = e else {
            return None;
        };
        let (known, c) = self.map_call(m)?;
        self.filled(m, &known.len, c)
    }

    /// `recv.map(c)` that `let y: [F; N] = ..` declares an array of floats (only an array's
    /// `map` makes one): whatever the receiver, its length is `N`.
    fn declared(&self, ty: &Type, e: &Expr) -> Option<Expr> {
        if let Expr::Call(c) = strip_paren(e) {
            return self.filled_from_fn(ty, c);
        }
        let Expr::MethodCall(m) = strip_paren(e) else {
            return None;
        };
        let k = self.array_type(ty)?;
        if !k.floats || m.method != "map" || m.args.len() != 1 || m.turbofish.is_some() {
            return None;
        }
        match &m.args[0] {
            Expr::Closure(c)
                if c.inputs.len() == 1 && c.asyncness.is_none() && c.capture.is_none() =>
            {
                self.filled(m, &k.len, c)
            }
            _ => None,
        }
    }

    /// `std::array::from_fn(|i| ..)` (`core::array::from_fn`, `array::from_fn`) that `let y: [F;
    /// N] = ..` declares an array of floats: the same loop, the closure's parameter bound to
    /// each position.
    fn filled_from_fn(&self, ty: &Type, call: &syn::ExprCall) -> Option<Expr> {
        let k = self.array_type(ty)?;
        let Expr::Path(p) = &*call.func else {
            return None;
        };
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let named = segs.len() >= 2
            && segs[segs.len() - 1] == "from_fn"
            && segs[segs.len() - 2] == "array"
            && p.path.segments.iter().all(|s| s.arguments.is_none());
        if !k.floats || !named || call.args.len() != 1 {
            return None;
        }
        let Expr::Closure(c) = &call.args[0] else {
            return None;
        };
        if c.inputs.len() != 1 || c.asyncness.is_some() || c.capture.is_some() {
            return None;
        }
        let (acc, i) = (
            hygienic("__acc", Span::call_site()),
            hygienic("__k", Span::call_site()),
        );
        let (zero, len, pat) = (&self.zero, &k.len, &c.inputs[0]);
        let (pre, value) = crate::front::desugar::spliced(&c.body);
        syn::parse2(q!({
            let mut #acc = [#zero; #len];
            for #i in 0..#len {
                let #pat = #i;
                #pre
                #acc[#i] = #value;
            }
            #acc
        }))
        .ok()
    }

    /// The block filling an array of `len` floats with `c` of each element of `m`'s receiver.
    fn filled(
        &self,
        m: &syn::ExprMethodCall,
        len: &TokenStream,
        c: &syn::ExprClosure,
    ) -> Option<Expr> {
        let (acc, k, src) = (
            hygienic("__acc", Span::call_site()),
            hygienic("__k", Span::call_site()),
            hygienic("__src", Span::call_site()),
        );
        let zero = &self.zero;
        // A place is read where each element is needed; another receiver (an array literal) is
        // evaluated once, first, as the call evaluates it.
        let (bind, of) = match strip_paren(&m.receiver) {
            r @ Expr::Path(_) => (q!(), q!(#r)),
            r => (q!(let #src = #r;), q!(#src)),
        };
        let p = &c.inputs[0];
        let (pre, value) = crate::front::desugar::spliced(&c.body);
        syn::parse2(q!({
            let mut #acc = [#zero; #len];
            #bind
            for #k in 0..#len {
                let #p = #of[#k];
                #pre
                #acc[#k] = #value;
            }
            #acc
        }))
        .ok()
    }
}

impl VisitMut for Maps {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        if let Some(r) = self.rewrite(e) {
            *e = r;
            self.rewrote = true;
        }
    }

    fn visit_local_mut(&mut self, l: &mut syn::Local) {
        visit_mut::visit_local_mut(self, l);
        if let Pat::Type(t) = &l.pat
            && let Some(init) = &mut l.init
            && init.diverge.is_none()
            && let Some(r) = self.declared(&t.ty, &init.expr)
        {
            *init.expr = r;
            self.rewrote = true;
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// The locals known to be arrays: typed `[T; N]`, or made by an array literal, a repeat or a
/// map of a known array.
struct Locals<'a> {
    m: &'a mut Maps,
    found: Vec<(String, Known)>,
}

impl<'ast> syn::visit::Visit<'ast> for Locals<'_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        let (name, ty) = match &l.pat {
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(pi) => (Some(&pi.ident), self.m.array_type(&t.ty)),
                _ => (None, None),
            },
            Pat::Ident(pi) => (Some(&pi.ident), None),
            _ => (None, None),
        };
        if let Some(name) = name {
            let known = ty.or_else(|| {
                l.init
                    .as_ref()
                    .filter(|i| i.diverge.is_none())
                    .and_then(|i| self.m.known(&i.expr))
            });
            if let Some(k) = known {
                self.found.push((name.to_string(), k));
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
