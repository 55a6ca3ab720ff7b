//! Optimizers over any [`Differentiable`] parameter value: plain SGD, SGD with momentum
//! (PyTorch's form) and Adam (with bias correction).
//!
//! Each implements [`Optimizer<P>`]: `step(&mut params, &grad)` moves the parameters against
//! the gradient. The gradient has the type of the parameters, as the adjoint of a
//! `#[derive(Differentiable)]` struct is that struct. Per-parameter state (velocity, moments)
//! is created lazily from the first gradient, so an optimizer is built from its
//! hyper-parameters alone.
//!
//! ```
//! use autodiff_core::optim::{Momentum, Optimizer};
//!
//! // minimise f(p) = |p - (1, -2)|² / 2, whose gradient is p - (1, -2)
//! let mut p = [0.0_f64, 0.0];
//! let mut opt = Momentum::new(0.1, 0.9);
//! for _ in 0..500 {
//!     let grad = [p[0] - 1.0, p[1] + 2.0];
//!     opt.step(&mut p, &grad);
//! }
//! assert!((p[0] - 1.0).abs() < 1e-6 && (p[1] + 2.0).abs() < 1e-6);
//! ```

use num_traits::{Float, One, Zero};

use crate::Differentiable;

/// A rule that updates parameters `P` from a gradient of the same type.
pub trait Optimizer<P: Differentiable> {
    /// One update of `params` along `grad` (the gradient of the loss at `params`).
    fn step(&mut self, params: &mut P, grad: &P);
}

/// Stochastic gradient descent: `p -= lr * g`.
///
/// ```
/// use autodiff_core::optim::{Optimizer, Sgd};
/// let mut p = [1.0_f64, 2.0];
/// Sgd { lr: 0.5 }.step(&mut p, &[2.0, -2.0]);
/// assert_eq!(p, [0.0, 3.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<S> {
    /// The learning rate.
    pub lr: S,
}

impl<S> Sgd<S> {
    /// SGD with learning rate `lr`.
    pub fn new(lr: S) -> Self {
        Sgd { lr }
    }
}

impl<P: Differentiable> Optimizer<P> for Sgd<P::Scalar> {
    fn step(&mut self, params: &mut P, grad: &P) {
        params.axpy(-self.lr, grad);
    }
}

/// SGD with momentum, in PyTorch's form: `v = beta v + g; p -= lr v`, with `v` starting at
/// zero (so the first step is `p -= lr g`).
///
/// ```
/// use autodiff_core::optim::{Momentum, Optimizer};
/// let mut p = [0.0_f64];
/// let mut opt = Momentum::new(0.1, 0.9);
/// opt.step(&mut p, &[1.0]); // v = 1
/// opt.step(&mut p, &[1.0]); // v = 1.9
/// assert!((p[0] + 0.1 * (1.0 + 1.9)).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Momentum<P: Differentiable> {
    /// The learning rate.
    pub lr: P::Scalar,
    /// The momentum coefficient (`0.9` is the usual choice).
    pub beta: P::Scalar,
    velocity: Option<Box<P>>,
}

impl<P: Differentiable> Momentum<P> {
    /// Momentum SGD with learning rate `lr` and momentum `beta`.
    pub fn new(lr: P::Scalar, beta: P::Scalar) -> Self {
        Momentum {
            lr,
            beta,
            velocity: None,
        }
    }

    /// The velocity `v`, once a step has been taken.
    pub fn velocity(&self) -> Option<&P> {
        self.velocity.as_deref()
    }

    /// Forgets the velocity (the next step starts again from `v = 0`).
    pub fn reset(&mut self) {
        self.velocity = None;
    }
}

impl<P: Differentiable> Optimizer<P> for Momentum<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let v: &mut P = self.velocity.get_or_insert_with(|| grad.zero_like_boxed());
        v.scale(self.beta);
        v.accumulate(grad);
        params.axpy(-self.lr, v);
    }
}

/// Adam (Kingma and Ba), with bias correction: at step `t`,
/// `m = β₁ m + (1 - β₁) g`, `v = β₂ v + (1 - β₂) g²`,
/// `p -= lr (m / (1 - β₁ᵗ)) / (sqrt(v / (1 - β₂ᵗ)) + eps)`, leaf by leaf.
///
/// The moments are kept as flat vectors of leaves, filled in the fixed leaf order of
/// [`Differentiable::zip_map`].
///
/// # Panics
/// In `step`, if the gradient does not have as many leaves as the first gradient had.
///
/// ```
/// use autodiff_core::optim::{Adam, Optimizer};
/// let mut p = [0.0_f64, 0.0];
/// let mut opt = Adam::new(0.01);
/// opt.step(&mut p, &[3.0, -0.001]);
/// // the first step is lr * sign(g), whatever the gradient's scale
/// assert!((p[0] + 0.01).abs() < 1e-9 && (p[1] - 0.01).abs() < 1e-7);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<S> {
    /// The learning rate.
    pub lr: S,
    /// The decay of the first moment (default `0.9`).
    pub beta1: S,
    /// The decay of the second moment (default `0.999`).
    pub beta2: S,
    /// Added to the root of the second moment (default `1e-8`).
    pub eps: S,
    t: i32,
    m: Vec<S>,
    v: Vec<S>,
}

impl<S: Float> Adam<S> {
    /// Adam with learning rate `lr` and the usual `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`.
    pub fn new(lr: S) -> Self {
        let c = |x: f64| S::from(x).expect("a hyper-parameter as a float");
        Self::with(lr, c(0.9), c(0.999), c(1e-8))
    }

    /// Adam with all its hyper-parameters.
    pub fn with(lr: S, beta1: S, beta2: S, eps: S) -> Self {
        Adam {
            lr,
            beta1,
            beta2,
            eps,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// The number of steps taken.
    pub fn steps(&self) -> i32 {
        self.t
    }

    /// Forgets the moments and the step count.
    pub fn reset(&mut self) {
        self.t = 0;
        self.m.clear();
        self.v.clear();
    }
}

impl<P: Differentiable> Optimizer<P> for Adam<P::Scalar> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let one = P::Scalar::one();
        if self.t == 0 {
            let n = grad.num_leaves();
            self.m = vec![P::Scalar::zero(); n];
            self.v = vec![P::Scalar::zero(); n];
        }
        self.t += 1;
        let (b1, b2, eps, lr) = (self.beta1, self.beta2, self.eps, self.lr);
        let bc1 = one - b1.powi(self.t);
        let bc2 = one - b2.powi(self.t);
        let (m, v) = (&mut self.m, &mut self.v);
        let n = m.len();
        let mut i = 0;
        params.zip_map(grad, &mut |p, g| {
            assert!(
                i < n,
                "Adam::step: the gradient has more leaves than the optimizer's state ({n})"
            );
            let (mi, vi) = (&mut m[i], &mut v[i]);
            *mi = b1 * *mi + (one - b1) * g;
            *vi = b2 * *vi + (one - b2) * g * g;
            *p = *p - lr * (*mi / bc1) / ((*vi / bc2).sqrt() + eps);
            i += 1;
        });
        assert_eq!(
            i, n,
            "Adam::step: the gradient has {i} leaves, the optimizer's state {n}"
        );
    }
}
