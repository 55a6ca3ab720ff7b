//! The [`Differentiable`] trait: what a value needs so that it can carry tangents and adjoints.

use num_traits::{Float, Zero};

use crate::ops::{
    AddJvp, AddVjp, DivJvp, DivVjp, MulJvp, MulVjp, NegJvp, NegVjp, RemJvp, RemVjp, SubJvp, SubVjp,
};

/// A value that has a tangent and an adjoint of its own type: floats, arrays of them, `Vec`s,
/// boxes, tuples, and parameter structs (`#[derive(Differentiable)]`).
///
/// The adjoint of a parameter struct is the same struct type, holding one adjoint per field.
///
/// ```
/// use autodiff_core::Differentiable;
/// let mut g = [1.0_f64, 2.0];
/// g.axpy(0.5, &[2.0, 2.0]);
/// assert_eq!(g, [2.0, 3.0]);
/// assert_eq!(g.dot(&g), 13.0);
/// assert_eq!(g.zero_like(), [0.0, 0.0]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Differentiable`: a parameter of this type cannot carry a derivative",
    note = "derive it (`#[derive(Differentiable)]` on a struct of floats, arrays and `Vec`s), or leave the parameter out of `#[differentiate(wrt(..))]` (a parameter the body only matches on, compares or calls methods of is passive without it)"
)]
pub trait Differentiable {
    /// The float type of the leaves.
    type Scalar: Float;
    /// A value of the same shape, all zeros.
    fn zero_like(&self) -> Self;
    /// `self += other`, leaf by leaf.
    fn accumulate(&mut self, other: &Self);
    /// `self += a * x`, leaf by leaf (an optimizer step).
    fn axpy(&mut self, a: Self::Scalar, x: &Self);
    /// The sum of the leaf-wise products.
    fn dot(&self, other: &Self) -> Self::Scalar;
    /// Multiplies every leaf by `a`.
    fn scale(&mut self, a: Self::Scalar);
    /// Calls `f` on every leaf, in a fixed order, with the matching leaf of `other`
    /// (used by optimizers with per-leaf state, such as Adam).
    fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut Self::Scalar, Self::Scalar));
    /// The number of leaves.
    fn num_leaves(&self) -> usize;
    /// [`zero_like`](Differentiable::zero_like), built directly on the heap where the type
    /// allows it (large arrays never pass through the stack).
    fn zero_like_boxed(&self) -> Box<Self>
    where
        Self: Sized,
    {
        Box::new(self.zero_like())
    }
}

/// The float types that `#[differentiate]` functions generic over `F: Float` are instantiated
/// with: a [`Float`] that is its own [`Differentiable`] scalar. Implemented for `f32`, `f64`
/// and [`Dual<F>`](crate::Dual) (so reverse mode runs on dual numbers, for Hessian-vector
/// products). The emitted `_jvp`/`_vjp`/`_grad` of a generic function carry the bound
/// `F: Real` in addition to the user's `F: Float`. It implements the derivatives of the
/// operators ([`ops`](crate::ops)), as the value of a struct's operator may be a float.
pub trait Real:
    Float
    + Differentiable<Scalar = Self>
    + AddJvp
    + AddVjp
    + SubJvp
    + SubVjp
    + MulJvp
    + MulVjp
    + DivJvp
    + DivVjp
    + RemJvp
    + RemVjp
    + NegJvp
    + NegVjp
{
}
impl<T> Real for T where
    T: Float
        + Differentiable<Scalar = T>
        + AddJvp
        + AddVjp
        + SubJvp
        + SubVjp
        + MulJvp
        + MulVjp
        + DivJvp
        + DivVjp
        + RemJvp
        + RemVjp
        + NegJvp
        + NegVjp
{
}

macro_rules! scalar_differentiable {
    ($($t:ty),*) => {$(
        impl Differentiable for $t {
            type Scalar = $t;
            #[inline(always)]
            fn zero_like(&self) -> Self { 0.0 }
            #[inline(always)]
            fn accumulate(&mut self, other: &Self) { *self += *other; }
            #[inline(always)]
            fn axpy(&mut self, a: $t, x: &Self) { *self += a * *x; }
            #[inline(always)]
            fn dot(&self, other: &Self) -> $t { *self * *other }
            #[inline(always)]
            fn scale(&mut self, a: $t) { *self *= a; }
            #[inline(always)]
            fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut $t, $t)) { f(self, *other) }
            #[inline(always)]
            fn num_leaves(&self) -> usize { 1 }
        }
    )*};
}
scalar_differentiable!(f32, f64);

impl<T: Differentiable, const N: usize> Differentiable for [T; N] {
    type Scalar = T::Scalar;
    #[inline]
    fn zero_like(&self) -> Self {
        core::array::from_fn(|i| self[i].zero_like())
    }
    #[inline]
    fn accumulate(&mut self, other: &Self) {
        for (a, b) in self.iter_mut().zip(other) {
            a.accumulate(b);
        }
    }
    #[inline]
    fn axpy(&mut self, a: Self::Scalar, x: &Self) {
        for (s, x) in self.iter_mut().zip(x) {
            s.axpy(a, x);
        }
    }
    #[inline]
    fn dot(&self, other: &Self) -> Self::Scalar {
        self.iter()
            .zip(other)
            .fold(Self::Scalar::zero(), |acc, (a, b)| acc + a.dot(b))
    }
    #[inline]
    fn scale(&mut self, a: Self::Scalar) {
        for s in self.iter_mut() {
            s.scale(a);
        }
    }
    fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut Self::Scalar, Self::Scalar)) {
        for (s, o) in self.iter_mut().zip(other) {
            s.zip_map(o, f);
        }
    }
    fn num_leaves(&self) -> usize {
        self.iter().map(Differentiable::num_leaves).sum()
    }
    fn zero_like_boxed(&self) -> Box<Self> {
        let v: Vec<T> = self.iter().map(Differentiable::zero_like).collect();
        match v.into_boxed_slice().try_into() {
            Ok(b) => b,
            Err(_) => unreachable!("a Vec of N elements converts to Box<[T; N]>"),
        }
    }
}

impl<T: Differentiable> Differentiable for Vec<T> {
    type Scalar = T::Scalar;
    fn zero_like(&self) -> Self {
        self.iter().map(Differentiable::zero_like).collect()
    }
    fn accumulate(&mut self, other: &Self) {
        assert_eq!(self.len(), other.len(), "accumulate: lengths differ");
        for (a, b) in self.iter_mut().zip(other) {
            a.accumulate(b);
        }
    }
    fn axpy(&mut self, a: Self::Scalar, x: &Self) {
        assert_eq!(self.len(), x.len(), "axpy: lengths differ");
        for (s, x) in self.iter_mut().zip(x) {
            s.axpy(a, x);
        }
    }
    fn dot(&self, other: &Self) -> Self::Scalar {
        assert_eq!(self.len(), other.len(), "dot: lengths differ");
        self.iter()
            .zip(other)
            .fold(Self::Scalar::zero(), |acc, (a, b)| acc + a.dot(b))
    }
    fn scale(&mut self, a: Self::Scalar) {
        for s in self.iter_mut() {
            s.scale(a);
        }
    }
    fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut Self::Scalar, Self::Scalar)) {
        for (s, o) in self.iter_mut().zip(other) {
            s.zip_map(o, f);
        }
    }
    fn num_leaves(&self) -> usize {
        self.iter().map(Differentiable::num_leaves).sum()
    }
}

impl<T: Differentiable> Differentiable for Box<T> {
    type Scalar = T::Scalar;
    fn zero_like(&self) -> Self {
        (**self).zero_like_boxed()
    }
    fn accumulate(&mut self, other: &Self) {
        (**self).accumulate(other)
    }
    fn axpy(&mut self, a: Self::Scalar, x: &Self) {
        (**self).axpy(a, x)
    }
    fn dot(&self, other: &Self) -> Self::Scalar {
        (**self).dot(other)
    }
    fn scale(&mut self, a: Self::Scalar) {
        (**self).scale(a)
    }
    fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut Self::Scalar, Self::Scalar)) {
        (**self).zip_map(other, f)
    }
    fn num_leaves(&self) -> usize {
        (**self).num_leaves()
    }
}

/// `()`, the output of a function that returns nothing: no leaves. A differentiated body that
/// calls a function with `&mut` parameters and no output (`normalise(&mut v, 2.0);`) binds that
/// output like any call's, so its tangent and adjoint are `()` too. The `Scalar` is `f64`, an
/// arbitrary choice (there is no leaf to have a type).
impl Differentiable for () {
    type Scalar = f64;
    #[inline(always)]
    fn zero_like(&self) -> Self {}
    #[inline(always)]
    fn accumulate(&mut self, _: &Self) {}
    #[inline(always)]
    fn axpy(&mut self, _: f64, _: &Self) {}
    #[inline(always)]
    fn dot(&self, _: &Self) -> f64 {
        0.0
    }
    #[inline(always)]
    fn scale(&mut self, _: f64) {}
    #[inline(always)]
    fn zip_map(&mut self, _: &Self, _: &mut dyn FnMut(&mut f64, f64)) {}
    #[inline(always)]
    fn num_leaves(&self) -> usize {
        0
    }
}

macro_rules! tuple_differentiable {
    ($(($($t:ident $i:tt),+)),*) => {$(
        impl<S: Float, $($t: Differentiable<Scalar = S>),+> Differentiable for ($($t,)+) {
            type Scalar = S;
            fn zero_like(&self) -> Self { ($(self.$i.zero_like(),)+) }
            fn accumulate(&mut self, other: &Self) { $(self.$i.accumulate(&other.$i);)+ }
            fn axpy(&mut self, a: S, x: &Self) { $(self.$i.axpy(a, &x.$i);)+ }
            fn dot(&self, other: &Self) -> S { S::zero() $(+ self.$i.dot(&other.$i))+ }
            fn scale(&mut self, a: S) { $(self.$i.scale(a);)+ }
            fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut S, S)) {
                $(self.$i.zip_map(&other.$i, f);)+
            }
            fn num_leaves(&self) -> usize { 0 $(+ self.$i.num_leaves())+ }
        }
    )*};
}
tuple_differentiable!((A 0), (A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3), (A 0, B 1, C 2, D 3, E 4));
