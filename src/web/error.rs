//! The errors the engine's JS API throws: a JS `Error` whose `name` is an [`ErrorName`].

use std::error::Error;
use std::fmt;

use wasm_bindgen::JsValue;

pub use crate::error_name::ErrorName;

/// An error of the engine's JS API, thrown as a JS `Error` named by its [`ErrorName`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    name: ErrorName,
    message: String,
}

impl EngineError {
    /// An error named `name`.
    pub fn new(name: ErrorName, message: impl fmt::Display) -> Self {
        Self {
            name,
            message: message.to_string(),
        }
    }

    /// An argument, option, image or file the call cannot take.
    pub fn invalid(message: impl fmt::Display) -> Self {
        Self::new(ErrorName::InvalidInput, message)
    }
}

impl<E: Error + 'static> From<E> for EngineError {
    fn from(error: E) -> Self {
        Self::new(ErrorName::of(&error), &error)
    }
}

impl From<EngineError> for JsValue {
    fn from(error: EngineError) -> Self {
        let thrown = js_sys::Error::new(&error.message);
        thrown.set_name(error.name.as_str());
        thrown.into()
    }
}
