//! Cooperative cancellation of embedding and training.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::TrainError;

/// A flag a UI (or another thread) sets to stop training; checked before every batch.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Asks the work to stop at its next batch.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears the flag for the next run.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// `Err(Cancelled)` once cancellation was asked for.
    pub(crate) fn check(&self) -> Result<(), TrainError> {
        if self.is_cancelled() {
            Err(TrainError::Cancelled)
        } else {
            Ok(())
        }
    }
}
