//! The main job: LeNet-5 trained on 10,000 MNIST digits, with the gradient of its loss derived
//! at compile time by `#[differentiate]` (no tape, no hand-written backward of the network).
//!
//! Model: conv5x5(1->6) ReLU max-pool 2x2, conv5x5(6->16) ReLU max-pool 2x2, dense 256->120
//! ReLU, 120->84 ReLU, 84->10, softmax cross-entropy, in `f32`, on the 28x28 digits of
//! `examples/data/mnist10k/` (the first 8,000 train, the last 2,000 test), read with
//! `autodiff::idx`.
//!
//! ```text
//! cargo run --release --example train_mnist -- [--epochs 20] [--lr 0.02] [--batch 64]
//!     [--seed 0] [--optimizer sgd|momentum|adam] [--threads N] [--out target/train_mnist]
//!     [--data examples/data/mnist10k]
//! ```
//!
//! It prints a progress bar per epoch (loss and digits per second), a line per epoch with the
//! training loss and the test accuracy, `trained N epochs in X s`, `test accuracy: NN.NN%`, and
//! draws into `--out`: `loss.png` (training loss and test accuracy per epoch), `filters.png`
//! (the six first-layer filters), `activations.png` (the first layer's six maps for one test
//! digit), `confusion.png` (the test set's confusion matrix) and `misclassified.png`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use autodiff::init::{Rng, he_normal};
use autodiff::nn::{self, Batch, Filters, Mat, Tensor, Vector};
use autodiff::optim::{Adam, Momentum, Optimizer, Sgd};
use autodiff::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// LeNet-5's parameters; `#[derive(Differentiable)]` makes their gradient the same struct.
#[derive(Differentiable, Clone, Debug)]
struct Params {
    w1: Filters<f32, 6, 1, 5, 5>,
    b1: Vector<f32, 6>,
    w2: Filters<f32, 16, 6, 5, 5>,
    b2: Vector<f32, 16>,
    w3: Mat<f32, 120, 256>,
    b3: Vector<f32, 120>,
    w4: Mat<f32, 84, 120>,
    b4: Vector<f32, 84>,
    w5: Mat<f32, 10, 84>,
    b5: Vector<f32, 10>,
}

/// `N` digits, one channel of 28x28.
type Digits<const N: usize> = Batch<f32, N, 1, 28, 28>;

/// The first layer's maps of `N` digits, after its ReLU.
fn first_layer<const N: usize>(p: &Params, x: &Digits<N>) -> Batch<f32, N, 6, 24, 24> {
    nn::relu(&nn::conv2d_batch::<f32, N, 1, 28, 28, 6, 5, 5, 1, 0, 24, 24>(x, &p.w1, &p.b1))
}

/// The logits of `N` digits (the network of [`chunk_loss`]).
fn logits<const N: usize>(p: &Params, x: &Digits<N>) -> Mat<f32, N, 10> {
    let h1 = nn::conv2d_batch::<f32, N, 1, 28, 28, 6, 5, 5, 1, 0, 24, 24>(x, &p.w1, &p.b1);
    let m1 = nn::relu_max_pool2d_batch::<f32, N, 6, 24, 24, 2, 2, 12, 12>(&h1);
    let h2 = nn::conv2d_batch::<f32, N, 6, 12, 12, 16, 5, 5, 1, 0, 8, 8>(&m1, &p.w2, &p.b2);
    let m2 = nn::relu_max_pool2d_batch::<f32, N, 16, 8, 8, 2, 2, 4, 4>(&h2);
    let f = nn::flatten_batch::<f32, N, 16, 4, 4, 256>(&m2);
    let a3 = nn::relu(&nn::linear_batch(&p.w3, &p.b3, &f));
    let a4 = nn::relu(&nn::linear_batch(&p.w4, &p.b4, &a3));
    nn::linear_batch(&p.w5, &p.b5, &a4)
}

/// The summed loss of `N` digits, layer by layer through the library's batched layers (each
/// "ReLU, max-pool" pair is the one fused layer `relu_max_pool2d_batch`, equal to the two
/// bit for bit, values and derivatives). `#[differentiate(reverse, wrt(p))]` writes `chunk_loss_vjp`
/// beside it: the forward sweep keeps each layer's pullback, the reverse sweep chains them.
/// Only its `_vjp` is called (at `N = CHUNK`, and `N = 1` for what is left of a batch).
#[allow(dead_code)]
#[differentiate(reverse, wrt(p))]
fn chunk_loss<const N: usize>(p: &Params, x: &Digits<N>, labels: &[usize; N]) -> f32 {
    let h1 = nn::conv2d_batch::<f32, N, 1, 28, 28, 6, 5, 5, 1, 0, 24, 24>(x, &p.w1, &p.b1);
    let m1 = nn::relu_max_pool2d_batch::<f32, N, 6, 24, 24, 2, 2, 12, 12>(&h1);
    let h2 = nn::conv2d_batch::<f32, N, 6, 12, 12, 16, 5, 5, 1, 0, 8, 8>(&m1, &p.w2, &p.b2);
    let m2 = nn::relu_max_pool2d_batch::<f32, N, 16, 8, 8, 2, 2, 4, 4>(&h2);
    let f = nn::flatten_batch::<f32, N, 16, 4, 4, 256>(&m2);
    let z3 = nn::linear_batch(&p.w3, &p.b3, &f);
    let a3 = nn::relu(&z3);
    let z4 = nn::linear_batch(&p.w4, &p.b4, &a3);
    let a4 = nn::relu(&z4);
    let z5 = nn::linear_batch(&p.w5, &p.b5, &a4);
    nn::softmax_cross_entropy_batch(&z5, labels) * (N as f32)
}

/// Digits go through the network sixteen at a time; the threads share a batch's chunks.
const CHUNK: usize = 16;

/// Labelled digits: the pixels scaled to `0..1`, 784 a digit, and the labels.
struct Set {
    pixels: Vec<f32>,
    labels: Vec<usize>,
}

impl Set {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn digit(&self, i: usize) -> &[f32] {
        &self.pixels[i * 784..(i + 1) * 784]
    }

    /// The digits `indices` as a batch and their labels.
    fn gather<const N: usize>(&self, indices: &[usize]) -> (Digits<N>, [usize; N]) {
        let mut x: Digits<N> = Tensor::zeros();
        let mut labels = [0; N];
        for ((dst, &i), l) in x
            .as_flat_mut()
            .chunks_exact_mut(784)
            .zip(indices)
            .zip(&mut labels)
        {
            dst.copy_from_slice(self.digit(i));
            *l = self.labels[i];
        }
        (x, labels)
    }
}

/// The summed loss and gradient of the digits `indices`: whole chunks through
/// `chunk_loss_vjp::<CHUNK>`, the rest one by one through `chunk_loss_vjp::<1>`.
fn loss_and_grad(p: &Params, set: &Set, indices: &[usize]) -> (f32, Params) {
    let mut total = 0.0;
    let mut grad: Option<Params> = None;
    let mut add = |g: Params| match &mut grad {
        Some(sum) => sum.accumulate(&g),
        None => grad = Some(g),
    };
    let mut chunks = indices.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let (x, labels) = set.gather::<CHUNK>(chunk);
        let (l, pullback) = chunk_loss_vjp(p, &x, &labels);
        add(pullback(1.0));
        total += l;
    }
    for i in chunks.remainder() {
        let (x, labels) = set.gather::<1>(std::slice::from_ref(i));
        let (l, pullback) = chunk_loss_vjp(p, &x, &labels);
        add(pullback(1.0));
        total += l;
    }
    (total, grad.unwrap_or_else(|| p.zero_like()))
}

fn argmax(z: &[f32]) -> usize {
    (0..z.len()).fold(0, |best, k| if z[k] > z[best] { k } else { best })
}

/// The predicted class of every digit of `set`, chunk by chunk across the threads.
fn predict(p: &Params, set: &Set) -> Vec<usize> {
    let indices: Vec<usize> = (0..set.len()).collect();
    indices
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let z: Vec<usize> = if chunk.len() == CHUNK {
                let (x, _) = set.gather::<CHUNK>(chunk);
                logits(p, &x).iter().map(|z| argmax(z)).collect()
            } else {
                chunk
                    .iter()
                    .map(|&i| argmax(&logits(p, &set.gather::<1>(&[i]).0)[0]))
                    .collect()
            };
            z
        })
        .collect()
}

fn accuracy(predictions: &[usize], set: &Set) -> f64 {
    let right = predictions
        .iter()
        .zip(&set.labels)
        .filter(|(p, l)| p == l)
        .count();
    right as f64 / set.len() as f64
}

/// Reads the digits with the library's IDX reader: the first 8,000 train, the last 2,000 test.
fn load(dir: &Path) -> Result<(Set, Set), autodiff::idx::IdxError> {
    let m = autodiff::idx::read_mnist(
        dir.join("mnist10k-images-idx3-ubyte.gz"),
        dir.join("mnist10k-labels-idx1-ubyte.gz"),
    )?;
    if (m.rows, m.cols) != (28, 28) || m.len() <= 8000 {
        eprintln!(
            "{}: expected more than 8,000 digits of 28x28, found {} of {}x{}",
            dir.display(),
            m.len(),
            m.rows,
            m.cols
        );
        std::process::exit(1)
    }
    let pixels: Vec<f32> = m.pixels.iter().map(|&v| f32::from(v) / 255.0).collect();
    let labels: Vec<usize> = m.labels.iter().map(|&l| usize::from(l)).collect();
    let cut = 8000;
    Ok((
        Set {
            pixels: pixels[..cut * 784].to_vec(),
            labels: labels[..cut].to_vec(),
        },
        Set {
            pixels: pixels[cut * 784..].to_vec(),
            labels: labels[cut..].to_vec(),
        },
    ))
}

fn init(seed: u64) -> Params {
    let mut rng = Rng::seed(seed);
    let mut p = Params {
        w1: Tensor::zeros(),
        b1: Tensor::zeros(),
        w2: Tensor::zeros(),
        b2: Tensor::zeros(),
        w3: Tensor::zeros(),
        b3: Tensor::zeros(),
        w4: Tensor::zeros(),
        b4: Tensor::zeros(),
        w5: Tensor::zeros(),
        b5: Tensor::zeros(),
    };
    // He normal initialisation as in the reference scripts (`benches/reference/`): normal
    // deviates of standard deviation sqrt(2 / fan_in) (PyTorch's `kaiming_normal_`); the
    // biases stay zero.
    he_normal(&mut p.w1, 25, &mut rng);
    he_normal(&mut p.w2, 150, &mut rng);
    he_normal(&mut p.w3, 256, &mut rng);
    he_normal(&mut p.w4, 120, &mut rng);
    he_normal(&mut p.w5, 84, &mut rng);
    p
}

struct Args {
    epochs: usize,
    lr: f32,
    batch: usize,
    seed: u64,
    optimizer: String,
    threads: usize,
    out: PathBuf,
    data: PathBuf,
}

const USAGE: &str = "usage: train_mnist [--epochs N] [--lr X] [--batch N] [--seed N] [--optimizer sgd|momentum|adam] [--threads N] [--out DIR] [--data DIR]";

fn args() -> Args {
    let mut a = Args {
        epochs: 20,
        lr: 0.02,
        batch: 64,
        seed: 0,
        optimizer: "momentum".into(),
        threads: 0,
        out: PathBuf::from("target/train_mnist"),
        data: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/mnist10k"
        )),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        let bad = |what: &str| -> ! {
            eprintln!("{what}: bad value {value:?}\n{USAGE}");
            std::process::exit(2)
        };
        match argv[i].as_str() {
            "--epochs" => a.epochs = value.parse().unwrap_or_else(|_| bad("--epochs")),
            "--lr" => a.lr = value.parse().unwrap_or_else(|_| bad("--lr")),
            "--batch" => a.batch = value.parse().unwrap_or_else(|_| bad("--batch")),
            "--seed" => a.seed = value.parse().unwrap_or_else(|_| bad("--seed")),
            "--threads" => a.threads = value.parse().unwrap_or_else(|_| bad("--threads")),
            "--optimizer" if ["sgd", "momentum", "adam"].contains(&value.as_str()) => {
                a.optimizer = value
            }
            "--optimizer" => bad("--optimizer (sgd, momentum or adam)"),
            "--out" => a.out = PathBuf::from(value),
            "--data" => a.data = PathBuf::from(value),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    if a.batch == 0 || a.epochs == 0 {
        eprintln!("--batch and --epochs must be positive");
        std::process::exit(2)
    }
    a
}

fn main() {
    let args = args();
    let (train, test) = match load(&args.data) {
        Ok(sets) => sets,
        Err(e) => {
            eprintln!("train_mnist: {e}");
            std::process::exit(1)
        }
    };
    let mut params = init(args.seed);
    let mut opt: Box<dyn Optimizer<Params> + Send> = match args.optimizer.as_str() {
        "sgd" => Box::new(Sgd::new(args.lr)),
        "adam" => Box::new(Adam::new(args.lr)),
        _ => Box::new(Momentum::new(args.lr, 0.9)),
    };
    // The training loop runs inside the pool, so that the calling thread does its share of
    // each batch instead of waiting for the pool's threads.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .expect("a thread pool");
    println!(
        "train_mnist: {} training and {} test digits, LeNet-5 with {} parameters, {} epochs of batches of {} ({}, lr {}), {} threads",
        train.len(),
        test.len(),
        params.num_leaves(),
        args.epochs,
        args.batch,
        args.optimizer,
        args.lr,
        pool.current_num_threads()
    );
    let mut rng = Rng::seed(args.seed ^ 0x5EED);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    let style = ProgressStyle::with_template("epoch {prefix:>2} [{bar:30}] {pos:>4}/{len} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let mut predictions = Vec::new();
    let start = Instant::now();
    pool.install(|| {
        for epoch in 1..=args.epochs {
            rng.shuffle(&mut order);
            let bar = ProgressBar::new(train.len() as u64)
                .with_style(style.clone())
                .with_prefix(epoch.to_string());
            let epoch_start = Instant::now();
            let mut epoch_loss = 0.0f64;
            for batch in order.chunks(args.batch) {
                // The batch is cut into chunks (the same cut whatever the number of threads),
                // the threads share them out, and their parts are summed in order: the same
                // seed gives the same numbers on every run and every machine.
                let parts: Vec<(f32, Params)> = batch
                    .par_chunks(CHUNK)
                    .map(|indices| loss_and_grad(&params, &train, indices))
                    .collect();
                let mut parts = parts.into_iter();
                let (l, mut grad) = parts.next().expect("a batch is not empty");
                epoch_loss += f64::from(l);
                for (l, g) in parts {
                    epoch_loss += f64::from(l);
                    grad.accumulate(&g);
                }
                grad.scale(1.0 / batch.len() as f32);
                opt.step(&mut params, &grad);
                bar.inc(batch.len() as u64);
                let done = bar.position() as f64;
                bar.set_message(format!(
                    "loss {:.4}  {:.0} digits/s",
                    epoch_loss / done,
                    done / epoch_start.elapsed().as_secs_f64()
                ));
            }
            let rate = train.len() as f64 / epoch_start.elapsed().as_secs_f64();
            predictions = predict(&params, &test);
            let acc = accuracy(&predictions, &test);
            losses.push(epoch_loss / train.len() as f64);
            accuracies.push(acc);
            bar.finish_and_clear();
            println!(
                "epoch {epoch:>2}: training loss {:.4}, test accuracy {:.2}% ({rate:.0} digits/s)",
                losses[epoch - 1],
                100.0 * acc
            );
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let acc = accuracies.last().copied().unwrap_or(0.0);
    println!(
        "trained {} epochs in {seconds:.2} s ({:.0} digits/s, test set evaluated after each epoch); final training loss {:.4}",
        args.epochs,
        (args.epochs * train.len()) as f64 / seconds,
        losses.last().copied().unwrap_or(f64::NAN)
    );
    // The first layer's maps for the first test digit, through the same batched layer.
    let sample = 0;
    let (x, _) = test.gather::<1>(&[sample]);
    let maps = first_layer(&params, &x);
    let drawn = pictures::draw(
        &args.out,
        &pictures::Inputs {
            losses: &losses,
            accuracies: &accuracies,
            w1: &params.w1,
            digit: test.digit(sample),
            maps: maps.as_flat(),
            test_pixels: &test.pixels,
            test_labels: &test.labels,
            predictions: &predictions,
        },
    );
    match drawn {
        Ok(names) => println!("wrote {} into {}", names.join(", "), args.out.display()),
        Err(e) => eprintln!(
            "could not write the pictures into {}: {e}",
            args.out.display()
        ),
    }
    println!("test accuracy: {:.2}%", 100.0 * acc);
}

/// The pictures, drawn with plotters and a font embedded in the build.
mod pictures {
    use std::error::Error;
    use std::path::Path;

    use autodiff::nn::Filters;
    use plotters::prelude::*;
    use plotters::style::{FontStyle, register_font};

    const FONT: &[u8] = include_bytes!("assets/DejaVuSans.ttf");

    /// What the pictures show.
    pub struct Inputs<'a> {
        pub losses: &'a [f64],
        pub accuracies: &'a [f64],
        pub w1: &'a Filters<f32, 6, 1, 5, 5>,
        /// One test digit, 28x28 in `0..1`.
        pub digit: &'a [f32],
        /// Its six first-layer maps after the ReLU, 24x24 each.
        pub maps: &'a [f32],
        pub test_pixels: &'a [f32],
        pub test_labels: &'a [usize],
        pub predictions: &'a [usize],
    }

    /// Draws every picture into `dir`; returns their file names.
    pub fn draw(dir: &Path, i: &Inputs) -> Result<Vec<&'static str>, Box<dyn Error>> {
        std::fs::create_dir_all(dir)?;
        register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font is not a valid TrueType font")?;
        curves(&dir.join("loss.png"), i.losses, i.accuracies)?;
        filters(&dir.join("filters.png"), i.w1)?;
        activations(&dir.join("activations.png"), i.digit, i.maps)?;
        confusion(&dir.join("confusion.png"), i.test_labels, i.predictions)?;
        misclassified(&dir.join("misclassified.png"), i)?;
        Ok(vec![
            "loss.png",
            "filters.png",
            "activations.png",
            "confusion.png",
            "misclassified.png",
        ])
    }

    fn curves(path: &Path, losses: &[f64], accuracies: &[f64]) -> Result<(), Box<dyn Error>> {
        let root = BitMapBackend::new(path, (900, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(450);
        let epochs = (losses.len() as f64).max(2.0);
        let max_loss = losses.iter().copied().fold(0.0, f64::max).max(1e-3) * 1.05;
        let mut chart = ChartBuilder::on(&left)
            .caption("training loss", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(1.0..epochs, 0.0..max_loss)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("cross-entropy")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        chart.draw_series(LineSeries::new(
            losses.iter().enumerate().map(|(i, &l)| (i as f64 + 1.0, l)),
            &BLUE,
        ))?;
        let low = (accuracies.iter().copied().fold(1.0, f64::min) * 100.0 - 1.0)
            .floor()
            .clamp(0.0, 99.0);
        let mut chart = ChartBuilder::on(&right)
            .caption("test accuracy", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(1.0..epochs, low..100.0)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("% correct")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        chart.draw_series(LineSeries::new(
            accuracies
                .iter()
                .enumerate()
                .map(|(i, &a)| (i as f64 + 1.0, 100.0 * a)),
            &RED,
        ))?;
        root.present()?;
        Ok(())
    }

    /// A `rows x cols` grid of values (row-major) drawn as squares of `cell` pixels at
    /// `(x0, y0)`, grey levels from `lo` (black) to `hi` (white).
    #[allow(clippy::too_many_arguments)]
    fn grey_image<DB: DrawingBackend>(
        area: &DrawingArea<DB, plotters::coord::Shift>,
        values: &[f32],
        cols: usize,
        (x0, y0): (i32, i32),
        cell: i32,
        lo: f32,
        hi: f32,
    ) -> Result<(), Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let span = (hi - lo).max(1e-6);
        for (k, &v) in values.iter().enumerate() {
            let (r, c) = ((k / cols) as i32, (k % cols) as i32);
            let g = (255.0 * (v - lo) / span).round().clamp(0.0, 255.0) as u8;
            let (x, y) = (x0 + c * cell, y0 + r * cell);
            area.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                RGBColor(g, g, g).filled(),
            ))?;
        }
        let rows = (values.len() / cols) as i32;
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + cols as i32 * cell, y0 + rows * cell)],
            BLACK.stroke_width(1),
        ))?;
        Ok(())
    }

    fn filters(path: &Path, w1: &Filters<f32, 6, 1, 5, 5>) -> Result<(), Box<dyn Error>> {
        const CELL: i32 = 24;
        const GAP: i32 = 20;
        let (width, height) = (6 * (5 * CELL + GAP) + GAP, 5 * CELL + 2 * GAP + 52);
        let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            "first-layer filters (5x5; dark = negative, light = positive)",
            (GAP, 8),
            ("sans-serif", 17),
        ))?;
        let scale = w1.as_flat().iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (k, filter) in w1.as_flat().chunks_exact(25).enumerate() {
            let x0 = GAP + k as i32 * (5 * CELL + GAP);
            grey_image(&root, filter, 5, (x0, GAP + 30), CELL, -scale, scale)?;
            root.draw(&Text::new(
                format!("filter {}", k + 1),
                (x0 + 30, GAP + 36 + 5 * CELL),
                ("sans-serif", 14),
            ))?;
        }
        root.present()?;
        Ok(())
    }

    fn activations(path: &Path, digit: &[f32], maps: &[f32]) -> Result<(), Box<dyn Error>> {
        const CELL: i32 = 5;
        const GAP: i32 = 18;
        let width = (28 * CELL + GAP) + 6 * (24 * CELL + GAP) + GAP;
        let height = 28 * CELL + 2 * GAP + 56;
        let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            "a test digit and its six first-layer maps after the ReLU (black = 0, white = the map's maximum)",
            (GAP, 8),
            ("sans-serif", 16),
        ))?;
        let top = GAP + 26;
        grey_image(&root, digit, 28, (GAP, top), CELL, 0.0, 1.0)?;
        root.draw(&Text::new(
            "input",
            (GAP + 50, top + 28 * CELL + 6),
            ("sans-serif", 14),
        ))?;
        for (k, map) in maps.chunks_exact(576).enumerate() {
            let x0 = GAP + (28 * CELL + GAP) + k as i32 * (24 * CELL + GAP);
            let hi = map.iter().copied().fold(0.0, f32::max);
            grey_image(&root, map, 24, (x0, top + 2 * CELL), CELL, 0.0, hi)?;
            root.draw(&Text::new(
                format!("map {} (max {hi:.2})", k + 1),
                (x0 + 10, top + 28 * CELL + 6),
                ("sans-serif", 14),
            ))?;
        }
        root.present()?;
        Ok(())
    }

    fn confusion(
        path: &Path,
        labels: &[usize],
        predictions: &[usize],
    ) -> Result<(), Box<dyn Error>> {
        const CELL: i32 = 48;
        let (left, top) = (90, 90);
        let (width, height) = (left + 10 * CELL + 30, top + 10 * CELL + 30);
        let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut counts = [[0usize; 10]; 10];
        for (&l, &p) in labels.iter().zip(predictions) {
            counts[l][p] += 1;
        }
        let right: usize = (0..10).map(|d| counts[d][d]).sum();
        root.draw(&Text::new(
            format!(
                "confusion matrix of the {} test digits ({} right, {:.2}%)",
                labels.len(),
                right,
                100.0 * right as f64 / labels.len().max(1) as f64
            ),
            (12, 10),
            ("sans-serif", 18),
        ))?;
        root.draw(&Text::new(
            "predicted",
            (left + 5 * CELL - 36, top - 50),
            ("sans-serif", 16),
        ))?;
        root.draw(&Text::new(
            "true",
            (12, top + 5 * CELL - 8),
            ("sans-serif", 16),
        ))?;
        for d in 0..10i32 {
            root.draw(&Text::new(
                d.to_string(),
                (left + d * CELL + CELL / 2 - 5, top - 24),
                ("sans-serif", 16),
            ))?;
            root.draw(&Text::new(
                d.to_string(),
                (left - 22, top + d * CELL + CELL / 2 - 8),
                ("sans-serif", 16),
            ))?;
        }
        for (t, row) in counts.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            for (p, &n) in row.iter().enumerate() {
                let share = n as f64 / total;
                // The diagonal in blues, the errors in reds, by their share of the true class.
                let colour = if t == p {
                    let g = (255.0 * (1.0 - 0.75 * share)) as u8;
                    RGBColor(g, g, 255)
                } else {
                    let g = (255.0 * (1.0 - (20.0 * share).min(1.0) * 0.8)) as u8;
                    RGBColor(255, g, g)
                };
                let (x, y) = (left + p as i32 * CELL, top + t as i32 * CELL);
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    colour.filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    RGBColor(200, 200, 200).stroke_width(1),
                ))?;
                if n > 0 {
                    let text = n.to_string();
                    let dx = 4 * text.len() as i32;
                    root.draw(&Text::new(
                        text,
                        (x + CELL / 2 - dx, y + CELL / 2 - 8),
                        ("sans-serif", 15),
                    ))?;
                }
            }
        }
        root.present()?;
        Ok(())
    }

    fn misclassified(path: &Path, i: &Inputs) -> Result<(), Box<dyn Error>> {
        const CELL: i32 = 3;
        const COLS: usize = 10;
        const SHOWN: usize = 40;
        let wrong: Vec<usize> = (0..i.test_labels.len())
            .filter(|&k| i.predictions.get(k).is_some_and(|&p| p != i.test_labels[k]))
            .collect();
        let tile = (28 * CELL + 16, 28 * CELL + 28);
        let rows = wrong.len().min(SHOWN).div_ceil(COLS).max(1) as i32;
        let width = COLS as i32 * tile.0 + 16;
        let height = rows * tile.1 + 50;
        let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            format!(
                "misclassified test digits: the first {} of {} (true -> predicted)",
                wrong.len().min(SHOWN),
                wrong.len()
            ),
            (10, 10),
            ("sans-serif", 17),
        ))?;
        for (n, &k) in wrong.iter().take(SHOWN).enumerate() {
            let (r, c) = ((n / COLS) as i32, (n % COLS) as i32);
            let (x0, y0) = (8 + c * tile.0, 40 + r * tile.1);
            let digit = &i.test_pixels[k * 784..(k + 1) * 784];
            // Ink dark on white, as digits are written.
            let ink: Vec<f32> = digit.iter().map(|v| 1.0 - v).collect();
            grey_image(&root, &ink, 28, (x0, y0), CELL, 0.0, 1.0)?;
            root.draw(&Text::new(
                format!("{} -> {}", i.test_labels[k], i.predictions[k]),
                (x0 + 22, y0 + 28 * CELL + 4),
                ("sans-serif", 15),
            ))?;
        }
        root.present()?;
        Ok(())
    }
}
