//! Errors raised while reading weight files.

use std::fmt;

/// Why a weight file could not be turned into a backbone.
#[derive(Debug)]
pub enum WeightsError {
    /// The file could not be read.
    Io {
        /// The file.
        path: String,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file does not start with the format's signature.
    BadMagic {
        /// The expected format.
        format: &'static str,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// The file ends before a structure it declares.
    Truncated {
        /// The expected format.
        format: &'static str,
        /// What was being read.
        what: String,
    },
    /// The file is structurally invalid.
    Malformed {
        /// The expected format.
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A tensor the architecture needs is absent.
    MissingTensor {
        /// Its name in the file.
        name: String,
    },
    /// A tensor has the wrong shape for its place in the architecture.
    ShapeMismatch {
        /// Its name in the file (or the parameter it was meant for).
        name: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A tensor holds a data type this loader cannot dequantize.
    UnsupportedType {
        /// Its name in the file.
        name: String,
        /// The type found.
        dtype: String,
    },
    /// A tensor holds NaN or infinite values.
    NonFinite {
        /// Its name in the file.
        name: String,
    },
    /// The file holds a different number of layers than the architecture.
    LayerCount {
        /// What was counted.
        what: &'static str,
        /// Layers the architecture has.
        expected: usize,
        /// Layers the file has.
        found: usize,
    },
    /// A Burn record (Burnpack) could not be read or written.
    Record(String),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "cannot read '{path}': {source}"),
            Self::BadMagic { format, expected } => {
                write!(f, "not a {format} file: expected {expected}")
            }
            Self::Truncated { format, what } => {
                write!(f, "truncated {format} file: it ends inside {what}")
            }
            Self::Malformed { format, message } => write!(f, "malformed {format} file: {message}"),
            Self::MissingTensor { name } => write!(f, "missing tensor '{name}'"),
            Self::ShapeMismatch {
                name,
                expected,
                found,
            } => write!(
                f,
                "shape mismatch for '{name}': expected {expected:?}, found {found:?}"
            ),
            Self::UnsupportedType { name, dtype } => {
                write!(f, "tensor '{name}' has unsupported type {dtype}")
            }
            Self::NonFinite { name } => write!(f, "tensor '{name}' holds NaN or infinite values"),
            Self::LayerCount {
                what,
                expected,
                found,
            } => {
                write!(f, "expected {expected} {what}, found {found}")
            }
            Self::Record(message) => write!(f, "invalid weight record: {message}"),
        }
    }
}

impl std::error::Error for WeightsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
