//! What can go wrong with a trained classifier: its file, its backbone, its device.

use std::fmt;

use crate::backbone::BackboneKind;
use crate::readback::DeviceError;

/// Why a classifier could not be saved, loaded or run.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassifierError {
    /// The model file is not one this build reads, or is damaged (the message says what).
    ModelFile(String),
    /// The classifier was trained on another backbone.
    WrongBackbone {
        /// The backbone it was trained on.
        trained_on: BackboneKind,
        /// The backbone it was asked to run on.
        given: BackboneKind,
    },
    /// The compute device failed.
    Device(DeviceError),
}

impl fmt::Display for ClassifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ModelFile(message) => write!(f, "classifier record: {message}"),
            Self::WrongBackbone { trained_on, given } => {
                write!(
                    f,
                    "this classifier was trained on {trained_on}, not {given}"
                )
            }
            Self::Device(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClassifierError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Device(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DeviceError> for ClassifierError {
    fn from(e: DeviceError) -> Self {
        Self::Device(e)
    }
}
