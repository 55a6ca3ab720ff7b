//! The IDX reader: the shipped MNIST files read back as their documented header and checksum
//! say, and every kind of bad input gives an error that names the file and what is wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use autodiff::idx::{IMAGES_MAGIC, IdxError, LABELS_MAGIC, Problem, read_idx, read_mnist};

const IMAGES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/mnist10k/mnist10k-images-idx3-ubyte.gz"
);
const LABELS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/mnist10k/mnist10k-labels-idx1-ubyte.gz"
);

/// A scratch directory of its own for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autodiff-idx-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An IDX file built byte by byte, independently of the reader.
fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[test]
fn reads_the_shipped_mnist_files() {
    let m = read_mnist(IMAGES, LABELS).unwrap();
    assert_eq!((m.len(), m.rows, m.cols), (10_000, 28, 28));
    assert_eq!(m.pixels.len(), 10_000 * 784);
    // Every class is there, and the images are grey levels with black borders and ink.
    for d in 0..10u8 {
        assert!(m.labels.contains(&d));
    }
    assert_eq!(m.image(0).len(), 784);
    assert_eq!(*m.pixels.iter().max().unwrap(), 255);
    let corner: u32 = (0..10_000).map(|i| u32::from(m.image(i)[0])).sum();
    assert_eq!(corner, 0);
    // The label file's bytes after its 8-byte header, decompressed by flate2 directly.
    let raw = std::fs::read(LABELS).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut plain).unwrap();
    assert_eq!(&plain[..8], &[0, 0, 8, 1, 0, 0, 0x27, 0x10]);
    assert_eq!(m.labels, plain[8..]);
}

#[test]
fn reads_plain_and_gzipped_files_alike() {
    let dir = scratch("plain");
    let data: Vec<u8> = (0..2 * 3 * 2).map(|i| i as u8 * 10).collect();
    let bytes = idx(IMAGES_MAGIC, &[2, 3, 2], &data);
    write(&dir.join("a"), &bytes);
    write(&dir.join("a.gz"), &gzip(&bytes));
    let plain = read_idx(dir.join("a"), IMAGES_MAGIC).unwrap();
    let zipped = read_idx(dir.join("a.gz"), IMAGES_MAGIC).unwrap();
    assert_eq!(plain.dims, vec![2, 3, 2]);
    assert_eq!(plain.data, data);
    assert_eq!(plain, zipped);
}

/// The error, its message, and a check that the message names the file.
fn error_of(r: Result<autodiff::idx::Mnist, IdxError>, file: &Path) -> (Problem, String) {
    let e = r.expect_err("bad input must be an error");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&file.display().to_string()),
        "{msg:?} names {file:?}"
    );
    assert!(!msg.contains('\n'), "one line: {msg:?}");
    (e.problem, msg)
}

#[test]
fn missing_file() {
    let dir = scratch("missing");
    let gone = dir.join("no-such-images.gz");
    let (p, msg) = error_of(read_mnist(&gone, LABELS), &gone);
    assert!(matches!(p, Problem::Io(_)), "{p:?}");
    assert!(msg.contains("cannot read the file"), "{msg}");
}

#[test]
fn wrong_magic_number() {
    let dir = scratch("magic");
    // A label file given as the image file.
    let (p, msg) = error_of(read_mnist(LABELS, LABELS), Path::new(LABELS));
    assert_eq!(
        p,
        Problem::WrongMagic {
            expected: IMAGES_MAGIC,
            found: LABELS_MAGIC
        }
    );
    assert!(msg.contains("wrong magic number 0x00000801"), "{msg}");
    assert!(msg.contains("expected 0x00000803"), "{msg}");
    // Little-endian sizes instead of big-endian ones.
    let bad = dir.join("le.gz");
    write(&bad, &gzip(&0x0000_0801u32.to_le_bytes()));
    let (p, _) = error_of(read_mnist(IMAGES, &bad), &bad);
    assert_eq!(
        p,
        Problem::WrongMagic {
            expected: LABELS_MAGIC,
            found: 0x0108_0000
        }
    );
}

#[test]
fn truncated_header_and_data() {
    let dir = scratch("truncated");
    let labels = dir.join("labels");
    write(&labels, &idx(LABELS_MAGIC, &[2], &[1, 2]));
    // Header cut inside the image sizes.
    let short = dir.join("short-header.gz");
    write(&short, &gzip(&idx(IMAGES_MAGIC, &[2, 3], &[])));
    let (p, msg) = error_of(read_mnist(&short, &labels), &short);
    assert_eq!(
        p,
        Problem::TruncatedHeader {
            needed: 16,
            found: 12
        }
    );
    assert!(msg.contains("truncated header"), "{msg}");
    // Two 2x2 images promised, seven bytes given.
    let cut = dir.join("cut.gz");
    write(&cut, &gzip(&idx(IMAGES_MAGIC, &[2, 2, 2], &[9; 7])));
    let (p, msg) = error_of(read_mnist(&cut, &labels), &cut);
    assert_eq!(
        p,
        Problem::TruncatedData {
            expected: 8,
            found: 7
        }
    );
    assert!(msg.contains("truncated data"), "{msg}");
    // The real image file with its gzip stream cut in half.
    let raw = std::fs::read(IMAGES).unwrap();
    let half = dir.join("half.gz");
    write(&half, &raw[..raw.len() / 2]);
    let (p, msg) = error_of(read_mnist(&half, LABELS), &half);
    assert!(matches!(p, Problem::Gzip(_)), "{p:?}");
    assert!(msg.contains("not a valid gzip file"), "{msg}");
    // Extra bytes after the values.
    let long = dir.join("long");
    write(&long, &idx(IMAGES_MAGIC, &[2, 1, 1], &[1, 2, 3]));
    let (p, _) = error_of(read_mnist(&long, &labels), &long);
    assert_eq!(p, Problem::TrailingData { expected: 2 });
}

#[test]
fn image_and_label_counts_differ() {
    let dir = scratch("counts");
    let images = dir.join("images");
    let labels = dir.join("labels");
    write(&images, &idx(IMAGES_MAGIC, &[3, 1, 2], &[0; 6]));
    write(&labels, &idx(LABELS_MAGIC, &[2], &[4, 5]));
    let (p, msg) = error_of(read_mnist(&images, &labels), &labels);
    assert_eq!(
        p,
        Problem::CountMismatch {
            images: 3,
            labels: 2
        }
    );
    assert!(
        msg.contains(&format!("2 labels, but {} has 3 images", images.display())),
        "{msg}"
    );
}

#[test]
fn labels_must_be_digits() {
    let dir = scratch("labels");
    let images = dir.join("images");
    let labels = dir.join("labels");
    write(&images, &idx(IMAGES_MAGIC, &[3, 1, 1], &[0; 3]));
    write(&labels, &idx(LABELS_MAGIC, &[3], &[4, 10, 5]));
    let (p, msg) = error_of(read_mnist(&images, &labels), &labels);
    assert_eq!(
        p,
        Problem::BadLabel {
            index: 1,
            value: 10
        }
    );
    assert!(msg.contains("label 1 is 10"), "{msg}");
}
