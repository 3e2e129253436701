//! The error of parsing a named choice (a backend, a head, the features a head reads).

use std::fmt;

/// A name that is none of the choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was being named (`backend`, `head`, …).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The choices, as a phrase (`wgpu or cpu`).
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} '{}' (expected {})",
            self.what, self.name, self.expected
        )
    }
}

impl std::error::Error for UnknownName {}
