//! The course's numbers, computed from the library's own layer types: why convolutions share
//! weights, and what a convolution does to shapes.
//!
//! Run with `cargo run --example conv_shapes`.

use autodiff::nn::{
    Conv2dShape, Filters, Image, LinearShape, LocallyConnected2dShape, Tensor, Vector,
    conv_output_size,
};

/// Formats a count with thousands separators.
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    // A 200x200 grey image into 40,000 hidden units (a 200x200 map).
    const PIXELS: usize = 200 * 200;
    type FullyConnected = LinearShape<PIXELS, 40_000>;
    // Each hidden unit sees its own 10x10 field, with its own weights (stride 1, so a 191x191 map
    // of fields would fit; the course counts 40K units x 100 weights).
    type LocallyConnected = LocallyConnected2dShape<1, 1, 10, 10, 200, 200>;
    // 100 filters of 10x10, each shared by every position.
    type Convolutional = Conv2dShape<1, 100, 10, 10>;

    println!("A 200x200 image into 40K hidden units:");
    println!(
        "  fully connected:               {:>15} weights (~{:.1}B)",
        count(FullyConnected::WEIGHTS),
        FullyConnected::WEIGHTS as f64 / 1e9
    );
    println!(
        "  locally connected, 10x10:      {:>15} weights (~{:.0}M)",
        count(LocallyConnected::WEIGHTS),
        LocallyConnected::WEIGHTS as f64 / 1e6
    );
    println!(
        "  convolutional, 100 10x10:      {:>15} weights (~{:.0}K)",
        count(Convolutional::WEIGHTS),
        Convolutional::WEIGHTS as f64 / 1e3
    );

    // The course's layer: 3x32x32 through six 5x5x3 filters.
    const OUT: usize = conv_output_size(32, 5, 1, 0);
    let x: Image<f32, 3, 32, 32> = Tensor::from_flat_fn(|i| ((i * 7) % 11) as f32 / 11.0);
    let w: Filters<f32, 6, 3, 5, 5> = Tensor::from_flat_fn(|i| ((i % 5) as f32 - 2.0) / 10.0);
    let b: Vector<f32, 6> = Tensor::zeros();
    let y = autodiff::nn::conv2d::<f32, 3, 32, 32, 6, 5, 5, 1, 0, OUT, OUT>(&x, &w, &b);
    let shape = |t: &[f32], dims: &str| format!("{dims} ({} numbers)", t.len());
    println!("\nThe course's convolution (stride 1, no padding, output (32 - 5)/1 + 1 = {OUT}):");
    println!("  input    {}", shape(x.as_flat(), "3x32x32"));
    println!("  filters  {}", shape(w.as_flat(), "6x3x5x5"));
    println!(
        "  output   {}",
        shape(y.as_flat(), &format!("6x{OUT}x{OUT}"))
    );
    println!(
        "  parameters: {} ({} weights + {} biases)",
        Conv2dShape::<3, 6, 5, 5>::PARAMS,
        Conv2dShape::<3, 6, 5, 5>::WEIGHTS,
        Conv2dShape::<3, 6, 5, 5>::BIASES
    );
    println!(
        "  as im2col + GEMM: a 6x75 filter matrix times a 75x{} patch matrix",
        OUT * OUT
    );
}
