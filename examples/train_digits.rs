//! The main job: a small ConvNet trained on real handwritten digits, with the gradient of its
//! loss derived at compile time by `#[differentiate]` (no tape, no hand-written backward).
//!
//! Model: conv3x3(1->8) ReLU conv3x3(8->16) ReLU dense(256->10), softmax cross-entropy, on the
//! 8x8 digits of `examples/data/digits.csv` (every fifth row is a test digit).
//!
//! ```text
//! cargo run --release --example train_digits -- [--epochs 60] [--lr 0.02] [--batch 32]
//!     [--seed 0] [--optimizer sgd|momentum|adam] [--out target/train_digits]
//! ```
//!
//! It prints a progress bar per epoch, a summary, `test accuracy: NN.N%`, and writes
//! `loss.png` (training loss and test accuracy per epoch) and `filters.png` (the learned
//! first-layer filters) into `--out`.

use std::path::PathBuf;
use std::time::Instant;

use autodiff::init::{Rng, he_normal};
use autodiff::nn::{self, Batch, Filters, Image, Mat, Tensor, Vector};
use autodiff::optim::{Adam, Momentum, Optimizer, Sgd};
use autodiff::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// The network's parameters; `#[derive(Differentiable)]` makes their gradient the same struct.
#[derive(Differentiable, Clone, Debug)]
struct Params {
    w1: Filters<f32, 8, 1, 3, 3>,
    b1: Vector<f32, 8>,
    w2: Filters<f32, 16, 8, 3, 3>,
    b2: Vector<f32, 16>,
    w3: Mat<f32, 10, 256>,
    b3: Vector<f32, 10>,
}

type Digit = Image<f32, 1, 8, 8>;
/// Labelled digits.
type Set = Vec<(Digit, usize)>;

/// The logits of one digit.
fn logits(p: &Params, x: &Digit) -> Vector<f32, 10> {
    let h1 = nn::relu(&nn::conv2d::<f32, 1, 8, 8, 8, 3, 3, 1, 0, 6, 6>(
        x, &p.w1, &p.b1,
    ));
    let h2 = nn::relu(&nn::conv2d::<f32, 8, 6, 6, 16, 3, 3, 1, 0, 4, 4>(
        &h1, &p.w2, &p.b2,
    ));
    nn::linear(&p.w3, &p.b3, &nn::flatten::<f32, 16, 4, 4, 256>(&h2))
}

/// The loss of one digit. `#[differentiate(reverse, wrt(p))]` writes `loss_vjp` and `loss_grad`
/// beside it: the forward sweep keeps each layer's pullback, the reverse sweep calls them.
/// Each call `nn::g(..)` uses `nn::g_vjp` at the same path.
#[differentiate(reverse, wrt(p))]
fn loss(p: &Params, x: &Digit, label: usize) -> f32 {
    let h1 = nn::conv2d::<f32, 1, 8, 8, 8, 3, 3, 1, 0, 6, 6>(x, &p.w1, &p.b1);
    let a1 = nn::relu(&h1);
    let h2 = nn::conv2d::<f32, 8, 6, 6, 16, 3, 3, 1, 0, 4, 4>(&a1, &p.w2, &p.b2);
    let a2 = nn::relu(&h2);
    let f = nn::flatten::<f32, 16, 4, 4, 256>(&a2);
    let z = nn::linear(&p.w3, &p.b3, &f);
    nn::softmax_cross_entropy(&z, label)
}

/// Samples go through the network sixteen at a time, through the batched layers.
const CHUNK: usize = 16;

/// The summed loss of a chunk of digits, through the batched layers (the same network as
/// [`loss`]; `softmax_cross_entropy_batch` is the chunk's mean). Only its `_vjp` is called.
#[allow(dead_code)]
#[differentiate(reverse, wrt(p))]
fn chunk_loss(p: &Params, x: &Batch<f32, CHUNK, 1, 8, 8>, labels: &[usize; CHUNK]) -> f32 {
    let h1 = nn::conv2d_batch::<f32, CHUNK, 1, 8, 8, 8, 3, 3, 1, 0, 6, 6>(x, &p.w1, &p.b1);
    let a1 = nn::relu(&h1);
    let h2 = nn::conv2d_batch::<f32, CHUNK, 8, 6, 6, 16, 3, 3, 1, 0, 4, 4>(&a1, &p.w2, &p.b2);
    let a2 = nn::relu(&h2);
    let f = nn::flatten_batch::<f32, CHUNK, 16, 4, 4, 256>(&a2);
    let z = nn::linear_batch(&p.w3, &p.b3, &f);
    nn::softmax_cross_entropy_batch(&z, labels) * (CHUNK as f32)
}

/// The summed loss and gradient of the samples `set[i]` for `i` in `indices`: whole chunks
/// through the batched network, the rest one by one.
fn loss_and_grad(p: &Params, set: &[(Digit, usize)], indices: &[usize]) -> (f32, Params) {
    let mut total = 0.0;
    let mut grad: Option<Params> = None;
    let mut add = |g: Params| match &mut grad {
        Some(sum) => sum.accumulate(&g),
        None => grad = Some(g),
    };
    let mut chunks = indices.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let (x, labels) = gather(chunk.iter().map(|&i| &set[i]));
        let (l, pullback) = chunk_loss_vjp(p, &x, &labels);
        add(pullback(1.0));
        total += l;
    }
    for &i in chunks.remainder() {
        let (x, label) = &set[i];
        let (l, pullback) = loss_vjp(p, x, *label);
        add(pullback(1.0));
        total += l;
    }
    (total, grad.unwrap_or_else(|| p.zero_like()))
}

/// The logits of a chunk of digits, through the batched layers.
fn chunk_logits(p: &Params, x: &Batch<f32, CHUNK, 1, 8, 8>) -> Mat<f32, CHUNK, 10> {
    let h1 =
        nn::relu(&nn::conv2d_batch::<f32, CHUNK, 1, 8, 8, 8, 3, 3, 1, 0, 6, 6>(x, &p.w1, &p.b1));
    let h2 =
        nn::relu(&nn::conv2d_batch::<f32, CHUNK, 8, 6, 6, 16, 3, 3, 1, 0, 4, 4>(&h1, &p.w2, &p.b2));
    nn::linear_batch(
        &p.w3,
        &p.b3,
        &nn::flatten_batch::<f32, CHUNK, 16, 4, 4, 256>(&h2),
    )
}

fn argmax(z: &[f32]) -> usize {
    (0..z.len()).fold(0, |best, k| if z[k] > z[best] { k } else { best })
}

/// A chunk of samples as a batch and its labels.
fn gather<'a>(
    chunk: impl Iterator<Item = &'a (Digit, usize)>,
) -> (Batch<f32, CHUNK, 1, 8, 8>, [usize; CHUNK]) {
    let mut x: Batch<f32, CHUNK, 1, 8, 8> = Tensor::zeros();
    let mut labels = [0; CHUNK];
    for (k, (digit, label)) in chunk.enumerate() {
        x[k] = **digit;
        labels[k] = *label;
    }
    (x, labels)
}

fn accuracy(p: &Params, set: &[(Digit, usize)]) -> f64 {
    let chunks = set.chunks_exact(CHUNK);
    let rest = chunks.remainder();
    let right: usize = chunks
        .collect::<Vec<_>>()
        .par_iter()
        .map(|chunk| {
            let (x, labels) = gather(chunk.iter());
            let z = chunk_logits(p, &x);
            (0..CHUNK).filter(|&k| argmax(&z[k]) == labels[k]).count()
        })
        .sum();
    let rest_right = rest
        .iter()
        .filter(|(x, label)| argmax(&logits(p, x)[..]) == *label)
        .count();
    (right + rest_right) as f64 / set.len() as f64
}

/// Reads the embedded digits: 64 grey levels 0..16 (scaled to 0..1) and a label per line.
fn load() -> (Set, Set) {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (row, line) in include_str!("data/digits.csv").lines().skip(1).enumerate() {
        let mut fields = line
            .split(',')
            .map(|v| v.trim().parse::<f32>().expect("a number"));
        let label = fields.next().expect("a label") as usize;
        let pixels: Vec<f32> = fields.map(|v| v / 16.0).collect();
        assert_eq!(pixels.len(), 64, "row {row} has 64 pixels");
        let x = Digit::from_flat(&pixels);
        if row % 5 == 4 {
            test.push((x, label))
        } else {
            train.push((x, label))
        }
    }
    (train, test)
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
    };
    // He initialisation as in the reference scripts (`benches/reference/`): normal deviates of
    // standard deviation sqrt(2 / fan_in), not truncated (`jax.random.normal(..) * sqrt(2 /
    // fan_in)` in JAX, `kaiming_normal_` in PyTorch); the biases stay zero.
    he_normal(&mut p.w1, 9, &mut rng);
    he_normal(&mut p.w2, 72, &mut rng);
    he_normal(&mut p.w3, 256, &mut rng);
    p
}

struct Args {
    epochs: usize,
    lr: f32,
    batch: usize,
    seed: u64,
    optimizer: String,
    out: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        epochs: 60,
        lr: 0.02,
        batch: 32,
        seed: 0,
        optimizer: "momentum".into(),
        out: PathBuf::from("target/train_digits"),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        let bad = |what: &str| -> ! {
            eprintln!("{what}: bad value {value:?}");
            std::process::exit(2)
        };
        match argv[i].as_str() {
            "--epochs" => a.epochs = value.parse().unwrap_or_else(|_| bad("--epochs")),
            "--lr" => a.lr = value.parse().unwrap_or_else(|_| bad("--lr")),
            "--batch" => a.batch = value.parse().unwrap_or_else(|_| bad("--batch")),
            "--seed" => a.seed = value.parse().unwrap_or_else(|_| bad("--seed")),
            "--optimizer" if ["sgd", "momentum", "adam"].contains(&value.as_str()) => {
                a.optimizer = value
            }
            "--optimizer" => bad("--optimizer (sgd, momentum or adam)"),
            "--out" => a.out = PathBuf::from(value),
            other => {
                eprintln!(
                    "unknown argument {other:?}\nusage: train_digits [--epochs N] [--lr X] [--batch N] [--seed N] [--optimizer sgd|momentum|adam] [--out DIR]"
                );
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
    let (train, test) = load();
    let mut params = init(args.seed);
    let mut opt: Box<dyn Optimizer<Params> + Send> = match args.optimizer.as_str() {
        "sgd" => Box::new(Sgd::new(args.lr)),
        "adam" => Box::new(Adam::new(args.lr)),
        _ => Box::new(Momentum::new(args.lr, 0.9)),
    };
    println!(
        "train_digits: {} training and {} test digits, {} parameters, {} epochs of batches of {} ({}, lr {})",
        train.len(),
        test.len(),
        params.num_leaves(),
        args.epochs,
        args.batch,
        args.optimizer,
        args.lr
    );
    let mut rng = Rng::seed(args.seed ^ 0x5EED);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    // The training loop runs inside the pool, so that the calling thread does its share of
    // each batch instead of waiting for the pool's threads to wake up, take and return the work.
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("a thread pool");
    let style = ProgressStyle::with_template("epoch {prefix:>3} [{bar:30}] {pos:>4}/{len} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let start = Instant::now();
    pool.install(|| {
        for epoch in 1..=args.epochs {
            rng.shuffle(&mut order);
            let bar = ProgressBar::new(train.len() as u64)
                .with_style(style.clone())
                .with_prefix(epoch.to_string());
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
                bar.set_message(format!("loss {:.4}", epoch_loss / bar.position() as f64));
            }
            let acc = accuracy(&params, &test);
            losses.push(epoch_loss / train.len() as f64);
            accuracies.push(acc);
            bar.finish_with_message(format!(
                "loss {:.4}  test accuracy {:.1}%",
                losses[epoch - 1],
                100.0 * acc
            ));
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let acc = accuracies.last().copied().unwrap_or(0.0);
    let test_loss = test
        .iter()
        .map(|(x, label)| f64::from(loss(&params, x, *label)))
        .sum::<f64>()
        / test.len() as f64;
    println!("test loss {test_loss:.4}");
    println!(
        "trained {} epochs in {seconds:.2} s ({:.0} samples/s); final training loss {:.4}",
        args.epochs,
        (args.epochs * train.len()) as f64 / seconds,
        losses.last().copied().unwrap_or(f64::NAN)
    );
    match pictures::draw(&args.out, &losses, &accuracies, &params.w1) {
        Ok(()) => println!(
            "wrote {} and {}",
            args.out.join("loss.png").display(),
            args.out.join("filters.png").display()
        ),
        Err(e) => eprintln!(
            "could not write the pictures into {}: {e}",
            args.out.display()
        ),
    }
    println!("test accuracy: {:.1}%", 100.0 * acc);
}

/// The two pictures, drawn with plotters and a font embedded in the build.
mod pictures {
    use std::error::Error;
    use std::path::Path;

    use autodiff::nn::Filters;
    use plotters::prelude::*;
    use plotters::style::{FontStyle, register_font};

    const FONT: &[u8] = include_bytes!("assets/DejaVuSans.ttf");

    pub fn draw(
        dir: &Path,
        losses: &[f64],
        accuracies: &[f64],
        w1: &Filters<f32, 8, 1, 3, 3>,
    ) -> Result<(), Box<dyn Error>> {
        std::fs::create_dir_all(dir)?;
        register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font is not a valid TrueType font")?;
        curves(&dir.join("loss.png"), losses, accuracies)?;
        filters(&dir.join("filters.png"), w1)?;
        Ok(())
    }

    fn curves(path: &Path, losses: &[f64], accuracies: &[f64]) -> Result<(), Box<dyn Error>> {
        let root = BitMapBackend::new(path, (900, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(450);
        let epochs = losses.len().max(1) as f64;
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
        let low = (accuracies.iter().copied().fold(1.0, f64::min) * 100.0 - 2.0)
            .floor()
            .clamp(0.0, 90.0);
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

    fn filters(path: &Path, w1: &Filters<f32, 8, 1, 3, 3>) -> Result<(), Box<dyn Error>> {
        const CELL: i32 = 40;
        const GAP: i32 = 16;
        let (width, height) = (8 * (3 * CELL + GAP) + GAP, 3 * CELL + 2 * GAP + 28);
        let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            "first-layer filters (3x3, dark = negative, light = positive)",
            (GAP, 6),
            ("sans-serif", 16),
        ))?;
        let scale = w1.as_flat().iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (k, filter) in w1.iter().enumerate() {
            let x0 = GAP + k as i32 * (3 * CELL + GAP);
            let y0 = GAP + 24;
            for (r, row) in filter[0].iter().enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    let grey = (127.5 + 127.5 * v / scale).round().clamp(0.0, 255.0) as u8;
                    let (x, y) = (x0 + c as i32 * CELL, y0 + r as i32 * CELL);
                    root.draw(&Rectangle::new(
                        [(x, y), (x + CELL, y + CELL)],
                        RGBColor(grey, grey, grey).filled(),
                    ))?;
                }
            }
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + 3 * CELL, y0 + 3 * CELL)],
                BLACK.stroke_width(1),
            ))?;
        }
        root.present()?;
        Ok(())
    }
}
