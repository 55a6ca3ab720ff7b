//! Resolves shadowing: every binding of the function gets a unique name, and every use is
//! rewritten to the name of the binding it refers to. The reverse sweep runs the statements
//! backwards, where `let x = ..; let x = f(x);` would otherwise be ambiguous.
//!
//! Input: `let x = a; let x = x * 2.0;`  Output: `let x = a; let x__1 = x * 2.0;`
//!
//! Also holds the names of generated identifiers (tangents, adjoints, tapes), and the two rules
//! that keep them apart from the user's:
//!
//! - every identifier the macro introduces (derived names such as `x__bar`, numbered ones such
//!   as `__tape3`, and every name written in an emitter's template: `ct`, `__y`, `__n`, ...) has
//!   mixed-site hygiene ([`hygienic`], [`q!`](crate::q)): user code cannot name it and it cannot
//!   capture a user's binding, whatever the user calls their variables;
//! - the bindings of the function (the user's, renamed ones and the lowering's temporaries) have
//!   distinct spellings, fresh ones avoiding every identifier the user wrote ([`Fresh`]), so that
//!   names derived from two different bindings can never coincide.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Ident, Pat, Token};

/// A span with mixed-site hygiene (as `macro_rules!` locals have) located at `at`, so that
/// errors still point at the user's code.
pub fn hygienic_span(at: Span) -> Span {
    Span::mixed_site().located_at(at)
}

/// An identifier the macro introduces: no user-written identifier can refer to it.
pub fn hygienic(name: &str, at: Span) -> Ident {
    Ident::new(name, hygienic_span(at))
}

/// The tangent of `x` in forward mode.
pub fn tangent(x: &Ident) -> Ident {
    hygienic(&format!("{}__dot", raw_free(x)), x.span())
}

/// The adjoint of `x` in reverse mode.
pub fn adjoint(x: &Ident) -> Ident {
    hygienic(&format!("{}__bar", raw_free(x)), x.span())
}

/// A name derived from `x` (`{prefix}{x}{suffix}`), with mixed-site hygiene.
pub fn derived(prefix: &str, x: &Ident, suffix: &str) -> Ident {
    hygienic(&format!("{prefix}{}{suffix}", raw_free(x)), x.span())
}

/// The recursive pullback of the function `f`, `f__rev`: an item beside `f_vjp`, called from
/// the reverse sweeps of `f` and of the functions that name `f` in `recursive(..)`, so its
/// spelling is fixed (as `f_vjp`'s is).
pub fn recursive_pullback(f: &Ident) -> Ident {
    Ident::new(&format!("{}__rev", raw_free(f)), f.span())
}

/// A numbered generated name.
pub fn generated(what: &str, n: usize) -> Ident {
    hygienic(&format!("__{what}{n}"), Span::call_site())
}

/// The spelling of `x` without its `r#` (a raw identifier `r#loop` is spelled `loop` inside
/// the names derived from it: `loop__bar`).
pub fn raw_free(x: &Ident) -> String {
    let s = x.to_string();
    match s.strip_prefix("r#") {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

/// An identifier spelled `name`, raw (`r#loop`) when the spelling says so.
pub fn ident(name: &str, span: Span) -> Ident {
    match name.strip_prefix("r#") {
        Some(rest) => Ident::new_raw(rest, span),
        None => Ident::new(name, span),
    }
}

/// Hands out spellings for new bindings (renamed shadowed bindings, temporaries) that no
/// identifier of the user's function has and that were not handed out before.
pub struct Fresh {
    taken: HashSet<String>,
}

impl Fresh {
    /// Every identifier written anywhere in `tokens` (the user's function) is taken.
    pub fn new(tokens: TokenStream) -> Self {
        let mut taken = HashSet::new();
        collect_idents(tokens, &mut taken);
        Fresh { taken }
    }

    /// Whether no identifier has the spelling `s`.
    pub fn is_free(&self, s: &str) -> bool {
        !self.taken.contains(s)
    }

    /// `{base}{n}` for the first `n >= from` whose spelling is free; marks it taken.
    pub fn next(&mut self, base: &str, from: usize) -> (String, usize) {
        let mut n = from;
        loop {
            let s = format!("{base}{n}");
            if self.taken.insert(s.clone()) {
                return (s, n);
            }
            n += 1;
        }
    }
}

fn collect_idents(tokens: TokenStream, out: &mut HashSet<String>) {
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(raw_free(&i));
            }
            proc_macro2::TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}

/// Renames bindings so that each is unique in the function.
pub struct Renamer {
    scopes: Vec<HashMap<String, Ident>>,
    counts: HashMap<String, usize>,
    fresh: Fresh,
}

impl Renamer {
    pub fn new(fresh: Fresh) -> Self {
        Renamer {
            scopes: vec![HashMap::new()],
            counts: HashMap::new(),
            fresh,
        }
    }

    /// The spellings handed out so far stay taken for the lowering's temporaries.
    pub fn into_fresh(self) -> Fresh {
        self.fresh
    }

    /// Declares a binding in the current scope and returns its unique name.
    pub fn declare(&mut self, id: &Ident) -> Ident {
        let name = id.to_string();
        let n = self.counts.entry(name.clone()).or_insert(0);
        let unique = if *n == 0 {
            id.clone()
        } else {
            // `x__1`, or the next number whose spelling the user's function does not use.
            let (s, used) = self.fresh.next(&format!("{}__", raw_free(id)), *n);
            *n = used;
            Ident::new(&s, id.span())
        };
        *n += 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name, unique.clone());
        }
        unique
    }

    fn lookup(&self, id: &Ident) -> Option<Ident> {
        let name = id.to_string();
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.get(&name))
            .map(|u| ident(&u.to_string(), id.span()))
    }

    fn push(&mut self) {
        self.scopes.push(HashMap::new());
    }

    fn pop(&mut self) {
        self.scopes.pop();
    }

    /// Declares every binding of a pattern, renaming it in place.
    pub fn declare_pat(&mut self, pat: &mut Pat) {
        match pat {
            Pat::Ident(p) => {
                // Upper-case identifiers in patterns are constants or enum variants, not bindings.
                if !p.ident.to_string().starts_with(|c: char| c.is_uppercase()) {
                    p.ident = self.declare(&p.ident);
                }
                if let Some((_, sub)) = &mut p.subpat {
                    self.declare_pat(sub);
                }
            }
            Pat::Tuple(t) => t.elems.iter_mut().for_each(|p| self.declare_pat(p)),
            Pat::TupleStruct(t) => t.elems.iter_mut().for_each(|p| self.declare_pat(p)),
            Pat::Struct(s) => {
                for f in s.fields.iter_mut() {
                    let shorthand = f.colon_token.is_none();
                    self.declare_pat(&mut f.pat);
                    // `S { x }` binds `x`: spell it `S { x: x__1 }` when renamed.
                    let renamed = match (&*f.pat, &f.member) {
                        (Pat::Ident(p), syn::Member::Named(m)) => p.ident != *m,
                        _ => true,
                    };
                    if shorthand && renamed {
                        f.colon_token = Some(Default::default());
                    }
                }
            }
            Pat::Reference(r) => self.declare_pat(&mut r.pat),
            Pat::Type(t) => self.declare_pat(&mut t.pat),
            Pat::Slice(s) => s.elems.iter_mut().for_each(|p| self.declare_pat(p)),
            Pat::Paren(p) => self.declare_pat(&mut p.pat),
            Pat::Or(o) => {
                // Every alternative binds the same names: declare them once, then rename all.
                let mut cases = o.cases.iter_mut();
                if let Some(first) = cases.next() {
                    self.declare_pat(first);
                }
                for case in cases {
                    self.rename_pat_uses(case);
                }
            }
            _ => {}
        }
    }

    fn rename_pat_uses(&mut self, pat: &mut Pat) {
        match pat {
            Pat::Ident(p) => {
                if let Some(u) = self.lookup(&p.ident) {
                    p.ident = u;
                }
            }
            Pat::Tuple(t) => t.elems.iter_mut().for_each(|p| self.rename_pat_uses(p)),
            Pat::TupleStruct(t) => t.elems.iter_mut().for_each(|p| self.rename_pat_uses(p)),
            Pat::Reference(r) => self.rename_pat_uses(&mut r.pat),
            Pat::Type(t) => self.rename_pat_uses(&mut t.pat),
            Pat::Paren(p) => self.rename_pat_uses(&mut p.pat),
            _ => {}
        }
    }
}

impl VisitMut for Renamer {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        self.push();
        visit_mut::visit_block_mut(self, b);
        self.pop();
    }

    fn visit_local_mut(&mut self, l: &mut syn::Local) {
        if let Some(init) = &mut l.init {
            self.visit_expr_mut(&mut init.expr);
            if let Some((_, e)) = &mut init.diverge {
                self.visit_expr_mut(e);
            }
        }
        self.declare_pat(&mut l.pat);
    }

    fn visit_expr_for_loop_mut(&mut self, f: &mut syn::ExprForLoop) {
        self.visit_expr_mut(&mut f.expr);
        self.push();
        self.declare_pat(&mut f.pat);
        self.visit_block_mut(&mut f.body);
        self.pop();
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        self.push();
        self.declare_pat(&mut arm.pat);
        if let Some((_, g)) = &mut arm.guard {
            self.visit_expr_mut(g);
        }
        self.visit_expr_mut(&mut arm.body);
        self.pop();
    }

    fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
        self.push();
        for p in c.inputs.iter_mut() {
            self.declare_pat(p);
        }
        self.visit_expr_mut(&mut c.body);
        self.pop();
    }

    fn visit_expr_if_mut(&mut self, e: &mut syn::ExprIf) {
        if let Expr::Let(l) = &mut *e.cond {
            self.visit_expr_mut(&mut l.expr);
            self.push();
            self.declare_pat(&mut l.pat);
            self.visit_block_mut(&mut e.then_branch);
            self.pop();
        } else {
            self.visit_expr_mut(&mut e.cond);
            self.visit_block_mut(&mut e.then_branch);
        }
        if let Some((_, els)) = &mut e.else_branch {
            self.visit_expr_mut(els);
        }
    }

    fn visit_expr_while_mut(&mut self, e: &mut syn::ExprWhile) {
        if let Expr::Let(l) = &mut *e.cond {
            self.visit_expr_mut(&mut l.expr);
            self.push();
            self.declare_pat(&mut l.pat);
            self.visit_block_mut(&mut e.body);
            self.pop();
        } else {
            self.visit_expr_mut(&mut e.cond);
            self.visit_block_mut(&mut e.body);
        }
    }

    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 {
            let seg = &mut p.path.segments[0];
            if seg.arguments.is_none()
                && let Some(u) = self.lookup(&seg.ident)
            {
                seg.ident = u;
            }
        }
    }

    fn visit_field_value_mut(&mut self, f: &mut syn::FieldValue) {
        if f.colon_token.is_none() {
            f.colon_token = Some(Default::default());
        }
        self.visit_expr_mut(&mut f.expr);
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        // Rename inside macros whose arguments are expressions (`vec![..]`, `assert!(..)`, ...).
        if let Some(args) = MacroArgs::parse(&m.tokens) {
            let mut args = args;
            for e in args.exprs_mut() {
                self.visit_expr_mut(e);
            }
            m.tokens = args.to_token_stream();
        }
    }
}

/// The arguments of an expression-like macro: `e; n` (as in `vec![0.0; n]`) or `a, b, c`.
pub enum MacroArgs {
    Repeat(Box<Expr>, Box<Expr>),
    List(Punctuated<Expr, Token![,]>),
}

impl MacroArgs {
    pub fn parse(tokens: &TokenStream) -> Option<MacroArgs> {
        use syn::parse::Parser;
        let repeat = |input: syn::parse::ParseStream| -> syn::Result<(Expr, Expr)> {
            let e: Expr = input.parse()?;
            let _: Token![;] = input.parse()?;
            let n: Expr = input.parse()?;
            Ok((e, n))
        };
        if let Ok((e, n)) = repeat.parse2(tokens.clone()) {
            return Some(MacroArgs::Repeat(Box::new(e), Box::new(n)));
        }
        Punctuated::<Expr, Token![,]>::parse_terminated
            .parse2(tokens.clone())
            .ok()
            .map(MacroArgs::List)
    }

    fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            MacroArgs::Repeat(e, n) => vec![&mut **e, &mut **n],
            MacroArgs::List(l) => l.iter_mut().collect(),
        }
    }
}

impl ToTokens for MacroArgs {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            MacroArgs::Repeat(e, n) => quote::quote!(#e; #n).to_tokens(tokens),
            MacroArgs::List(l) => l.to_tokens(tokens),
        }
    }
}
