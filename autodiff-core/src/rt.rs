//! Helpers called by the code that `#[differentiate]` emits. Not a public API: names and
//! signatures here change with the macro.

use crate::Differentiable;

/// A tape of at most one entry, for values saved by code that runs at most once (outside any
/// loop): the same `push`/`pop` as `Vec`, without allocating.
#[derive(Debug, Clone)]
pub struct Slot<T>(Option<T>);

impl<T> Slot<T> {
    /// An empty slot.
    #[inline(always)]
    pub const fn new() -> Self {
        Slot(None)
    }
    /// Stores `v`, replacing nothing (the emitted code pushes once per slot).
    #[inline(always)]
    pub fn push(&mut self, v: T) {
        self.0 = Some(v);
    }
    /// Takes the stored value.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<T> {
        self.0.take()
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The value a `loop` or labelled block used as a value produces: a float (`f32`, `f64`, a
/// generic `F: Float`, [`Dual`](crate::Dual)), whose zero is [`placeholder`].
#[diagnostic::on_unimplemented(
    message = "the value of a `loop` or labelled block of a differentiated function is a `{Self}`, not a float",
    label = "this `loop` or block's value",
    note = "declare the variable before the loop (`let mut v = ..;`), assign it before `break`, and read it after the loop"
)]
pub trait BreakValue {
    /// A value that is never read (every way out of the loop assigns the slot first).
    fn placeholder() -> Self;
}

impl<T: num_traits::Float> BreakValue for T {
    #[inline(always)]
    fn placeholder() -> T {
        T::zero()
    }
}

/// The first value of the slot of a `loop` or labelled block used as a value (never read).
#[inline(always)]
pub fn placeholder<T: BreakValue>() -> T {
    T::placeholder()
}

/// A zero of the same shape as `x`.
#[inline(always)]
pub fn zero_of<T: Differentiable>(x: &T) -> T {
    x.zero_like()
}

/// The tangent of a field of a struct literal whose value carries no derivative: a zero of its
/// shape for a [`Differentiable`] value, the value itself for a static field (an integer,
/// `bool`, `char` or `String`, which `#[derive(Differentiable)]` carries along unchanged).
pub trait FieldZero {
    /// The field's tangent.
    fn field_zero(&self) -> Self;
}

impl<T: Differentiable> FieldZero for T {
    #[inline(always)]
    fn field_zero(&self) -> T {
        self.zero_like()
    }
}

macro_rules! static_field_zero {
    ($($t:ty),*) => {$(
        impl FieldZero for $t {
            #[inline(always)]
            fn field_zero(&self) -> $t {
                ::core::clone::Clone::clone(self)
            }
        }
    )*};
}
static_field_zero!(
    bool, char, String, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

/// [`FieldZero::field_zero`] of `x`.
#[inline(always)]
pub fn field_zero<T: FieldZero>(x: &T) -> T {
    x.field_zero()
}

/// `dst += src`.
#[inline(always)]
pub fn acc<T: Differentiable>(dst: &mut T, src: &T) {
    dst.accumulate(src)
}

/// A stack of saved values: a [`Vec`] for a save site that runs many times, a [`Slot`] for one
/// that runs at most once.
pub trait Tape<T> {
    /// Saves `x` on top.
    fn push_value(&mut self, x: T);
}

impl<T> Tape<T> for Slot<T> {
    #[inline(always)]
    fn push_value(&mut self, x: T) {
        self.push(x)
    }
}

/// The common case (room reserved: the reverse emitter reserves each loop's trip count) stays
/// inline and the growth is a cold call of its own, so that a loop pushing every iteration
/// keeps its values and the tape's length in registers. With `Vec::push` inline, the possible
/// growth call made the loop keep them in memory: 1.3x the time of a hand-written ODE adjoint,
/// against 1.07x this way.
impl<T> Tape<T> for Vec<T> {
    #[inline(always)]
    fn push_value(&mut self, x: T) {
        if self.len() < self.capacity() {
            self.push(x)
        } else {
            push_grow(self, x)
        }
    }
}

#[cold]
#[inline(never)]
fn push_grow<T>(tape: &mut Vec<T>, x: T) {
    tape.push(x)
}

/// Pushes `x` onto a tape (see [`Tape`]).
#[inline(always)]
pub fn push<T>(tape: &mut impl Tape<T>, x: T) {
    tape.push_value(x)
}

/// The owned zero tangent or adjoint of a borrowed parameter: `&[F; N]` gives `[F; N]`,
/// `&[F]` and `&Vec<F>` give `Vec<F>`, `&S` gives `S`.
pub trait ZeroOwned {
    /// The owned type.
    type Owned;
    /// A zero of the same shape.
    fn zero_owned(&self) -> Self::Owned;
}

impl<T: Differentiable> ZeroOwned for T {
    type Owned = T;
    #[inline(always)]
    fn zero_owned(&self) -> T {
        self.zero_like()
    }
}

impl<T: Differentiable> ZeroOwned for [T] {
    type Owned = Vec<T>;
    fn zero_owned(&self) -> Vec<T> {
        self.iter().map(Differentiable::zero_like).collect()
    }
}

/// See [`ZeroOwned`].
#[inline(always)]
pub fn zero_owned<T: ZeroOwned + ?Sized>(x: &T) -> T::Owned {
    x.zero_owned()
}

/// Accumulates an owned adjoint into the adjoint of a slice parameter (`Vec<F>`).
#[inline]
pub fn acc_slice<T: Differentiable>(dst: &mut [T], src: &[T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        d.accumulate(s);
    }
}

/// `dst -= src`.
#[inline(always)]
pub fn sub_acc<T: Differentiable>(dst: &mut T, src: &T) {
    dst.axpy(-<T::Scalar as num_traits::One>::one(), src)
}

/// Passes a tangent to a callee's `_jvp` in the form its signature asks for: by value for a
/// `Copy` tangent (floats, arrays), by reference otherwise (API.md: a struct passed by value
/// gets `&tangent`). The target type comes from the callee's parameter type.
pub trait IntoTangent<Out> {
    /// The tangent as the callee takes it.
    fn into_tangent(self) -> Out;
}

impl<'a, T: ?Sized> IntoTangent<&'a T> for &'a T {
    #[inline(always)]
    fn into_tangent(self) -> &'a T {
        self
    }
}

impl<T: Copy> IntoTangent<T> for &T {
    #[inline(always)]
    fn into_tangent(self) -> T {
        *self
    }
}

/// A passive binding saved for the reverse sweep, owned: a binding that borrows (`r: &f64` from
/// `match s { Shape::Circle { r } => .. }`) is saved as a copy of what it points to, so that
/// the pullback captures no lifetime; [`Kept::back`] gives the binding back with its type.
pub struct Kept<T, M>(T, core::marker::PhantomData<M>);

/// Marks a [`Kept`] value that was a reference.
pub struct ByRef;
/// Marks a [`Kept`] value that was owned.
pub struct ByVal;

impl<T> Kept<T, ByRef> {
    /// The binding as it was: a reference (to the copy).
    #[inline(always)]
    pub fn back(&self) -> &T {
        &self.0
    }
}

impl<T> Kept<T, ByVal> {
    /// The binding as it was.
    #[inline(always)]
    pub fn back(self) -> T {
        self.0
    }
}

/// Wraps a binding for [`KeepRef::keep`] / [`KeepVal::keep`], which method resolution chooses
/// between by the binding's type (a reference is copied, anything else moved).
pub struct Keep<T>(core::cell::Cell<Option<T>>);

impl<T> Keep<T> {
    #[inline(always)]
    pub fn new(x: T) -> Self {
        Keep(core::cell::Cell::new(Some(x)))
    }
}

/// [`Keep`] of a reference: copies what it points to.
pub trait KeepRef {
    type Out;
    fn keep(self) -> Self::Out;
}

impl<T: Clone> KeepRef for Keep<&T> {
    type Out = Kept<T, ByRef>;
    #[inline(always)]
    fn keep(self) -> Kept<T, ByRef> {
        let r = self.0.into_inner().expect("kept once");
        Kept(r.clone(), core::marker::PhantomData)
    }
}

/// [`Keep`] of anything else: moves it (found one auto-reference later than [`KeepRef`]).
pub trait KeepVal {
    type Out;
    fn keep(self) -> Self::Out;
}

impl<T> KeepVal for &Keep<T> {
    type Out = Kept<T, ByVal>;
    #[inline(always)]
    fn keep(self) -> Kept<T, ByVal> {
        Kept(self.0.take().expect("kept once"), core::marker::PhantomData)
    }
}

/// The adjoint of a binding written by a call through `&mut` (see [`pull`]), handed to the
/// callee's pullback as its final state's cotangent: taken, a zero left in its place.
#[inline(always)]
fn take_adjoint<S: Differentiable>(s: &mut S) -> S {
    let z = s.zero_like();
    core::mem::replace(s, z)
}

/// Markers of the forms of a pullback of a call with `&mut` arguments (see [`PullMut`]).
pub mod pull_form {
    /// Every `&mut` argument is written; the callee has an output.
    pub struct AllMut;
    /// Every `&mut` argument is written; the callee returns `()` (its pullback takes no output
    /// cotangent).
    pub struct AllMutUnit;
    /// The first is only read (a method taking `&self` or `self`, called on a mutable
    /// receiver); the callee has an output.
    pub struct FirstRead;
    /// The first is only read; the callee returns `()`.
    pub struct FirstReadUnit;
}

/// The pullback of a call that passes bindings by `&mut` (`step(&mut s, dt)`, `s.observe(z)` on
/// a mutable `s`), called with the cotangent of the call's output and the adjoints of those
/// bindings: the pullback of `NAME_vjp` of a function with `&mut` parameters takes the output's
/// cotangent (none for `()`) and then the cotangent of each `&mut` parameter's final state, and
/// returns the adjoints of their initial states with the other parameters'. Each binding's
/// adjoint is its final state's cotangent: it is taken (a zero left in its place) and the
/// caller then adds the returned adjoint of the initial state. Which form the callee has (does
/// it return `()`, does a method called on a mutable receiver take `&mut self` or only `&self`)
/// is not visible to the macro: the pullback's arity says, and `M` is inferred from it.
#[diagnostic::on_unimplemented(
    message = "the pullback of this call does not take the cotangents of its `&mut` arguments",
    note = "a call passing bindings by `&mut` from a differentiated body calls `NAME_vjp`, whose pullback must take the output's cotangent (none when it returns `()`) and then one cotangent per `&mut` parameter, in order (docs/API.md, \"`&mut` parameters\"); a method called on a mutable receiver may instead take `&self`"
)]
pub trait PullMut<M, R, C, A> {
    /// Runs the pullback.
    fn pull(self, ct: R, adjoints: C) -> A;
}

macro_rules! pull_mut {
    ($($s:ident $a:ident),+) => {
        impl<'a, P, R, A, $($s: Differentiable),+> PullMut<pull_form::AllMut, R, ($(&'a mut $s,)+), A> for P
        where
            P: FnOnce(R, $($s),+) -> A,
        {
            #[inline(always)]
            fn pull(self, ct: R, ($($a,)+): ($(&'a mut $s,)+)) -> A {
                self(ct, $(take_adjoint($a)),+)
            }
        }
        impl<'a, P, A, $($s: Differentiable),+> PullMut<pull_form::AllMutUnit, (), ($(&'a mut $s,)+), A> for P
        where
            P: FnOnce($($s),+) -> A,
        {
            #[inline(always)]
            fn pull(self, _: (), ($($a,)+): ($(&'a mut $s,)+)) -> A {
                self($(take_adjoint($a)),+)
            }
        }
    };
}
pull_mut!(S1 a1);
pull_mut!(S1 a1, S2 a2);
pull_mut!(S1 a1, S2 a2, S3 a3);
pull_mut!(S1 a1, S2 a2, S3 a3, S4 a4);
pull_mut!(S1 a1, S2 a2, S3 a3, S4 a4, S5 a5);
pull_mut!(S1 a1, S2 a2, S3 a3, S4 a4, S5 a5, S6 a6);

macro_rules! pull_first_read {
    ($($s:ident $a:ident),*) => {
        impl<'a, P, R, A, S0, $($s: Differentiable),*> PullMut<pull_form::FirstRead, R, (&'a mut S0, $(&'a mut $s,)*), A> for P
        where
            P: FnOnce(R, $($s),*) -> A,
        {
            #[inline(always)]
            fn pull(self, ct: R, (_, $($a,)*): (&'a mut S0, $(&'a mut $s,)*)) -> A {
                self(ct, $(take_adjoint($a)),*)
            }
        }
        impl<'a, P, A, S0, $($s: Differentiable),*> PullMut<pull_form::FirstReadUnit, (), (&'a mut S0, $(&'a mut $s,)*), A> for P
        where
            P: FnOnce($($s),*) -> A,
        {
            #[inline(always)]
            fn pull(self, _: (), (_, $($a,)*): (&'a mut S0, $(&'a mut $s,)*)) -> A {
                self($(take_adjoint($a)),*)
            }
        }
    };
}
pull_first_read!();
pull_first_read!(S1 a1);
pull_first_read!(S1 a1, S2 a2);
pull_first_read!(S1 a1, S2 a2, S3 a3);
pull_first_read!(S1 a1, S2 a2, S3 a3, S4 a4);
pull_first_read!(S1 a1, S2 a2, S3 a3, S4 a4, S5 a5);

/// See [`PullMut`].
#[inline(always)]
pub fn pull<M, P: PullMut<M, R, C, A>, R, C, A>(pb: P, ct: R, adjoints: C) -> A {
    pb.pull(ct, adjoints)
}

/// Calls a pullback once, by value: a closure whose type is known may be `FnMut` (it copies
/// what it captures), and calling it directly would need a `mut` binding.
#[inline(always)]
pub fn call_once<A, R>(f: impl FnOnce(A) -> R, a: A) -> R {
    f(a)
}
