//! The stable name of each kind of failure, which the JS API gives its errors (`error.name`),
//! so that a caller (the app's recovery, a user's script) decides from the name, never from a
//! message, which is for people and may change.

use std::error::Error;

use crate::readback::DeviceError;
use crate::training::TrainError;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorName {
    /// An argument, option, image, file or name the call cannot take.
    InvalidInput,
    /// The session is training or embedding: the call may be tried again when it is done.
    Busy,
    /// The backend asked for does not exist here (no WebGPU adapter).
    BackendUnavailable,
    /// The GPU device was lost: every later call on it fails too (go on with the CPU).
    DeviceLost,
    /// The compute device failed in another way.
    DeviceFailed,
    /// Stopped at the caller's request before there was a result.
    Cancelled,
}

impl ErrorName {
    /// The name as JavaScript sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "InvalidInput",
            Self::Busy => "Busy",
            Self::BackendUnavailable => "BackendUnavailable",
            Self::DeviceLost => "DeviceLost",
            Self::DeviceFailed => "DeviceFailed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// The name of a native error: that of the first typed cause in its chain (a device error
    /// inside a training error is still a lost device), else [`ErrorName::InvalidInput`].
    pub fn of(error: &(dyn Error + 'static)) -> Self {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if let Some(device) = error.downcast_ref::<DeviceError>() {
                return match device {
                    DeviceError::Unavailable(_) => Self::BackendUnavailable,
                    DeviceError::Lost(_) => Self::DeviceLost,
                    DeviceError::ReadBack(_) | DeviceError::UnexpectedData(_) => Self::DeviceFailed,
                };
            }
            if let Some(TrainError::Cancelled) = error.downcast_ref::<TrainError>() {
                return Self::Cancelled;
            }
            cause = error.source();
        }
        Self::InvalidInput
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::ClassifierError;

    #[test]
    fn a_lost_device_is_named_through_the_errors_around_it() {
        let lost = DeviceError::Lost("mapping failed".into());
        assert_eq!(ErrorName::of(&lost), ErrorName::DeviceLost);
        assert_eq!(
            ErrorName::of(&TrainError::Device(lost.clone())),
            ErrorName::DeviceLost
        );
        assert_eq!(
            ErrorName::of(&ClassifierError::Device(lost)),
            ErrorName::DeviceLost
        );
    }

    #[test]
    fn other_errors_get_their_own_names() {
        let missing = DeviceError::Unavailable("no adapter".into());
        assert_eq!(ErrorName::of(&missing), ErrorName::BackendUnavailable);
        assert_eq!(ErrorName::of(&TrainError::Cancelled), ErrorName::Cancelled);
        let settings = TrainError::Config("epochs must be at least 1".into());
        assert_eq!(ErrorName::of(&settings), ErrorName::InvalidInput);
        assert_eq!(
            ErrorName::of(&DeviceError::ReadBack("x".into())).as_str(),
            "DeviceFailed"
        );
    }
}
