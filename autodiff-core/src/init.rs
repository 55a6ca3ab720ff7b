//! Seeded random numbers and the usual weight initialisations (He, Xavier), filling any
//! [`Differentiable`] value leaf by leaf.
//!
//! The generator is xoshiro256** seeded through SplitMix64: small, fast, and the same seed gives
//! the same numbers on every machine and every run.
//!
//! ```
//! use autodiff_core::init::{Rng, he_normal};
//!
//! let mut rng = Rng::seed(42);
//! let mut w = [[0.0_f64; 9]; 8]; // eight 3x3 filters, fan-in 9
//! he_normal(&mut w, 9, &mut rng);
//! let n = 72.0;
//! let var = w.iter().flatten().map(|x| x * x).sum::<f64>() / n;
//! assert!(var > 0.1 && var < 0.4); // about 2 / 9
//!
//! // same seed, same numbers
//! let mut again = [[0.0_f64; 9]; 8];
//! he_normal(&mut again, 9, &mut Rng::seed(42));
//! assert_eq!(w, again);
//! ```

use num_traits::Float;

use crate::Differentiable;

/// A seeded pseudo-random generator (xoshiro256**, seeded with SplitMix64). Not for
/// cryptography.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
    /// The second normal deviate of the last Box-Muller pair, if not used yet.
    spare: Option<u64>,
}

/// One step of SplitMix64: advances `state` and returns the next output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The generator for `seed`: equal seeds give equal sequences.
    ///
    /// ```
    /// use autodiff_core::init::Rng;
    /// let (mut a, mut b) = (Rng::seed(7), Rng::seed(7));
    /// assert_eq!(a.next_u64(), b.next_u64());
    /// assert_ne!(Rng::seed(7).next_u64(), Rng::seed(8).next_u64());
    /// ```
    pub fn seed(seed: u64) -> Self {
        let mut st = seed;
        let s = [
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
        ];
        Rng { s, spare: None }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform number in `[0, 1)` with 53 random bits.
    ///
    /// ```
    /// use autodiff_core::init::Rng;
    /// let mut rng = Rng::seed(1);
    /// assert!((0..1000).map(|_| rng.uniform()).all(|u| (0.0..1.0).contains(&u)));
    /// ```
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform number in `[lo, hi)`.
    ///
    /// ```
    /// use autodiff_core::init::Rng;
    /// let u = Rng::seed(1).uniform_in(-2.0, 2.0);
    /// assert!((-2.0..2.0).contains(&u));
    /// ```
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// A standard normal deviate (mean 0, variance 1), by the Box-Muller transform; each pair of
    /// uniforms gives two deviates, the second kept for the next call.
    ///
    /// ```
    /// use autodiff_core::init::Rng;
    /// let mut rng = Rng::seed(3);
    /// let xs: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
    /// let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    /// let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
    /// assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05);
    /// ```
    pub fn normal(&mut self) -> f64 {
        if let Some(bits) = self.spare.take() {
            return f64::from_bits(bits);
        }
        // u1 in (0, 1] so that ln(u1) is finite
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * core::f64::consts::PI * u2;
        self.spare = Some((r * theta.sin()).to_bits());
        r * theta.cos()
    }

    /// A uniform index in `0..n`, without modulo bias (Lemire's method).
    ///
    /// # Panics
    /// If `n == 0`.
    ///
    /// ```
    /// use autodiff_core::init::Rng;
    /// let mut rng = Rng::seed(5);
    /// assert!((0..100).all(|_| rng.below(3) < 3));
    /// ```
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        let n = n as u64;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }

    /// Shuffles a slice in place (Fisher-Yates): a random permutation, the same for the same
    /// seed (for example the order of the training samples in each epoch).
    ///
    /// ```
    /// use autodiff_core::init::Rng;
    /// let mut v: Vec<u32> = (0..10).collect();
    /// Rng::seed(9).shuffle(&mut v);
    /// let mut sorted = v.clone();
    /// sorted.sort();
    /// assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Sets every leaf of `params` to `f()`, in the fixed leaf order of
/// [`Differentiable::zip_map`].
///
/// ```
/// use autodiff_core::init::fill_with;
/// let mut p = [[0.0_f64; 2]; 2];
/// let mut k = 0.0;
/// fill_with(&mut p, || { k += 1.0; k });
/// assert_eq!(p, [[1.0, 2.0], [3.0, 4.0]]);
/// ```
pub fn fill_with<P: Differentiable>(params: &mut P, mut f: impl FnMut() -> P::Scalar) {
    let zeros = params.zero_like_boxed();
    params.zip_map(&zeros, &mut |p, _| *p = f());
}

/// Converts an `f64` to the scalar type of the leaves.
fn scalar<S: Float>(x: f64) -> S {
    S::from(x).expect("an f64 converts to the leaf scalar")
}

/// Fills `params` with normal deviates of mean `mean` and standard deviation `std`.
///
/// ```
/// use autodiff_core::init::{Rng, fill_normal};
/// let mut p = [0.0_f32; 4];
/// fill_normal(&mut p, 10.0, 0.0, &mut Rng::seed(0));
/// assert_eq!(p, [10.0; 4]);
/// ```
pub fn fill_normal<P: Differentiable>(params: &mut P, mean: f64, std: f64, rng: &mut Rng) {
    fill_with(params, || scalar(mean + std * rng.normal()));
}

/// Fills `params` with uniform numbers in `[lo, hi)`.
///
/// ```
/// use autodiff_core::init::{Rng, fill_uniform};
/// let mut p = [0.0_f64; 100];
/// fill_uniform(&mut p, -1.0, 1.0, &mut Rng::seed(0));
/// assert!(p.iter().all(|x| (-1.0..1.0).contains(x)));
/// ```
pub fn fill_uniform<P: Differentiable>(params: &mut P, lo: f64, hi: f64, rng: &mut Rng) {
    fill_with(params, || scalar(rng.uniform_in(lo, hi)));
}

/// He (Kaiming) normal initialisation, for layers followed by a ReLU: normal deviates of mean
/// 0 and standard deviation `sqrt(2 / fan_in)`, where `fan_in` is the number of inputs of one
/// unit (`C * KH * KW` for a convolution, `I` for a linear layer).
///
/// # Panics
/// If `fan_in == 0`.
///
/// ```
/// use autodiff_core::init::{Rng, he_normal};
/// let mut w = [[0.0_f64; 256]; 10];
/// he_normal(&mut w, 256, &mut Rng::seed(1));
/// assert!(w.iter().flatten().all(|x| x.abs() < 6.0 * (2.0_f64 / 256.0).sqrt()));
/// ```
pub fn he_normal<P: Differentiable>(params: &mut P, fan_in: usize, rng: &mut Rng) {
    assert!(fan_in > 0, "he_normal: fan_in must be positive");
    fill_normal(params, 0.0, (2.0 / fan_in as f64).sqrt(), rng);
}

/// He initialisation as JAX's `jax.nn.initializers.he_normal` does it: a normal truncated to
/// two standard deviations, rescaled so that its standard deviation is `sqrt(2 / fan_in)`.
/// No weight starts far out in the tails, which makes small networks less sensitive to the seed.
///
/// # Panics
/// If `fan_in == 0`.
///
/// ```
/// use autodiff_core::init::{Rng, he_truncated_normal};
/// let mut w = [[0.0_f64; 256]; 10];
/// he_truncated_normal(&mut w, 256, &mut Rng::seed(1));
/// let bound = 2.0 * (2.0_f64 / 256.0).sqrt() / 0.879_625_661_034_239_8;
/// assert!(w.iter().flatten().all(|x| x.abs() <= bound));
/// ```
pub fn he_truncated_normal<P: Differentiable>(params: &mut P, fan_in: usize, rng: &mut Rng) {
    assert!(fan_in > 0, "he_truncated_normal: fan_in must be positive");
    // The standard deviation of a unit normal truncated to [-2, 2].
    const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;
    let std = (2.0 / fan_in as f64).sqrt() / TRUNCATED_STD;
    fill_with(params, || {
        let z = loop {
            let z = rng.normal();
            if z.abs() <= 2.0 {
                break z;
            }
        };
        scalar(std * z)
    });
}

/// Xavier (Glorot) uniform initialisation: uniform in `[-a, a)` with
/// `a = sqrt(6 / (fan_in + fan_out))`, which keeps the variance `2 / (fan_in + fan_out)`.
///
/// # Panics
/// If `fan_in + fan_out == 0`.
///
/// ```
/// use autodiff_core::init::{Rng, xavier_uniform};
/// let mut w = [[0.0_f64; 4]; 2];
/// xavier_uniform(&mut w, 4, 2, &mut Rng::seed(1));
/// assert!(w.iter().flatten().all(|x| x.abs() <= 1.0)); // a = sqrt(6 / 6) = 1
/// ```
pub fn xavier_uniform<P: Differentiable>(
    params: &mut P,
    fan_in: usize,
    fan_out: usize,
    rng: &mut Rng,
) {
    assert!(
        fan_in + fan_out > 0,
        "xavier_uniform: fan_in + fan_out must be positive"
    );
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
    fill_uniform(params, -a, a, rng);
}
