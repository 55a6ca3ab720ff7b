//! A small reader of the IDX format of the MNIST database, plain or gzipped.
//!
//! An IDX file is a big-endian header, `0x00 0x00 TYPE NDIMS`, then `NDIMS` sizes as `u32`,
//! then the values in row-major order. MNIST uses `TYPE = 0x08` (unsigned bytes): images are
//! `0x00000803` (three dimensions: count, rows, columns) and labels `0x00000801` (one: count).
//! A file whose first two bytes are gzip's magic number (`1f 8b`) is decompressed on the fly.
//!
//! Every failure is an [`IdxError`] that names the file and says what is wrong with it, so a
//! program can print it and exit without a backtrace:
//!
//! ```no_run
//! let data = autodiff::idx::read_mnist(
//!     "examples/data/mnist10k/mnist10k-images-idx3-ubyte.gz",
//!     "examples/data/mnist10k/mnist10k-labels-idx1-ubyte.gz",
//! );
//! match data {
//!     Ok(digits) => println!("{} digits of {}x{}", digits.len(), digits.rows, digits.cols),
//!     Err(e) => {
//!         eprintln!("{e}");
//!         std::process::exit(1)
//!     }
//! }
//! ```

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The magic number of an IDX file of unsigned bytes in three dimensions (MNIST images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned bytes in one dimension (MNIST labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// What is wrong with an IDX file (or a pair of them); [`IdxError`] adds the file's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file could not be opened or read (missing, unreadable, a directory, ...).
    Io(String),
    /// The file starts with gzip's magic number but is not a valid gzip stream.
    Gzip(String),
    /// The file ends before its 4-byte magic number and its sizes.
    TruncatedHeader {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes the file has.
        found: usize,
    },
    /// The magic number is not the one expected.
    WrongMagic {
        /// The magic number the caller asked for.
        expected: u32,
        /// The one in the file.
        found: u32,
    },
    /// The file holds fewer values than its header promises.
    TruncatedData {
        /// Bytes of values the header promises.
        expected: u64,
        /// Bytes of values the file has.
        found: u64,
    },
    /// The file holds more bytes after its values.
    TrailingData {
        /// Bytes of values the header promises.
        expected: u64,
    },
    /// The image file and the label file hold different numbers of items.
    CountMismatch {
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
    /// A label is not a digit `0..=9`.
    BadLabel {
        /// Its position in the file.
        index: usize,
        /// Its value.
        value: u8,
    },
    /// The image file's images are empty (zero rows or columns).
    EmptyImages,
}

/// An error reading an IDX file: the file's path and what is wrong with it. Its `Display` is
/// one line, `PATH: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxError {
    /// The file at fault (for a count mismatch between two files: the label file).
    pub path: PathBuf,
    /// What is wrong.
    pub problem: Problem,
    /// For a count mismatch: the image file.
    pub other: Option<PathBuf>,
}

impl IdxError {
    fn new(path: &Path, problem: Problem) -> Self {
        Self {
            path: path.to_path_buf(),
            problem,
            other: None,
        }
    }
}

fn magic_name(m: u32) -> String {
    let kind = match m {
        IMAGES_MAGIC => " (IDX images: unsigned bytes, 3 dimensions)",
        LABELS_MAGIC => " (IDX labels: unsigned bytes, 1 dimension)",
        _ => "",
    };
    format!("{m:#010x}{kind}")
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.problem {
            Problem::Io(e) => write!(f, "{path}: cannot read the file: {e}"),
            Problem::Gzip(e) => write!(f, "{path}: not a valid gzip file: {e}"),
            Problem::TruncatedHeader { needed, found } => write!(
                f,
                "{path}: truncated header: an IDX header of this kind has {needed} bytes, the file has {found}"
            ),
            Problem::WrongMagic { expected, found } => write!(
                f,
                "{path}: wrong magic number {}, expected {}",
                magic_name(*found),
                magic_name(*expected)
            ),
            Problem::TruncatedData { expected, found } => write!(
                f,
                "{path}: truncated data: the header promises {expected} bytes of values, the file has {found}"
            ),
            Problem::TrailingData { expected } => write!(
                f,
                "{path}: unexpected bytes after the {expected} bytes of values the header promises"
            ),
            Problem::CountMismatch { images, labels } => write!(
                f,
                "{path}: {labels} labels, but {} has {images} images",
                self.other
                    .as_deref()
                    .map_or_else(|| "the image file".to_string(), |p| p.display().to_string())
            ),
            Problem::BadLabel { index, value } => {
                write!(f, "{path}: label {index} is {value}, not a digit 0-9")
            }
            Problem::EmptyImages => write!(f, "{path}: the images have zero rows or columns"),
        }
    }
}

impl std::error::Error for IdxError {}

/// The contents of an IDX file of unsigned bytes: its sizes and its values, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The sizes of the dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, `dims.iter().product()` of them.
    pub data: Vec<u8>,
}

/// The whole file, decompressed when it starts with gzip's magic number.
fn read_bytes(path: &Path) -> Result<Vec<u8>, IdxError> {
    let raw = std::fs::read(path).map_err(|e| IdxError::new(path, Problem::Io(e.to_string())))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e: io::Error| IdxError::new(path, Problem::Gzip(e.to_string())))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX file of unsigned bytes held in memory, checking its magic number against
/// `magic` (whose low byte is the number of dimensions) and its length against its header;
/// `path` names it in errors.
pub fn parse_idx(path: &Path, bytes: &[u8], magic: u32) -> Result<IdxArray, IdxError> {
    let err = |problem| IdxError::new(path, problem);
    let ndims = (magic & 0xff) as usize;
    let header = 4 + 4 * ndims;
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() < 4 {
        return Err(err(Problem::TruncatedHeader {
            needed: header,
            found: bytes.len(),
        }));
    }
    let found = word(0);
    if found != magic {
        return Err(err(Problem::WrongMagic {
            expected: magic,
            found,
        }));
    }
    if bytes.len() < header {
        return Err(err(Problem::TruncatedHeader {
            needed: header,
            found: bytes.len(),
        }));
    }
    let dims: Vec<usize> = (0..ndims).map(|d| word(4 + 4 * d) as usize).collect();
    let expected = dims.iter().map(|&d| d as u64).product::<u64>();
    let found = (bytes.len() - header) as u64;
    if found < expected {
        return Err(err(Problem::TruncatedData { expected, found }));
    }
    if found > expected {
        return Err(err(Problem::TrailingData { expected }));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file of unsigned bytes (gzipped or not) whose magic number must be `magic`.
pub fn read_idx(path: impl AsRef<Path>, magic: u32) -> Result<IdxArray, IdxError> {
    let path = path.as_ref();
    parse_idx(path, &read_bytes(path)?, magic)
}

/// Labelled images read from an MNIST image file and its label file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// Rows of an image.
    pub rows: usize,
    /// Columns of an image.
    pub cols: usize,
    /// The grey levels `0..=255`, image after image, each row-major (`rows * cols` bytes).
    pub pixels: Vec<u8>,
    /// One label `0..=9` per image.
    pub labels: Vec<u8>,
}

impl Mnist {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`, row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Reads an MNIST image file (`0x00000803`) and its label file (`0x00000801`), gzipped or
/// not, and checks that they hold the same number of items and that every label is a digit.
pub fn read_mnist(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Mnist, IdxError> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let im = read_idx(images, IMAGES_MAGIC)?;
    let lab = read_idx(labels, LABELS_MAGIC)?;
    let (count, rows, cols) = (im.dims[0], im.dims[1], im.dims[2]);
    if rows == 0 || cols == 0 {
        return Err(IdxError::new(images, Problem::EmptyImages));
    }
    if lab.dims[0] != count {
        return Err(IdxError {
            path: labels.to_path_buf(),
            problem: Problem::CountMismatch {
                images: count,
                labels: lab.dims[0],
            },
            other: Some(images.to_path_buf()),
        });
    }
    if let Some((index, &value)) = lab.data.iter().enumerate().find(|&(_, &v)| v > 9) {
        return Err(IdxError::new(labels, Problem::BadLabel { index, value }));
    }
    Ok(Mnist {
        rows,
        cols,
        pixels: im.data,
        labels: lab.data,
    })
}
