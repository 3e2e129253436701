//! Options objects of the JS API, read into Rust structs.

use wasm_bindgen::JsValue;

use super::error::EngineError;

/// Deserializes an options object; `undefined` or `null` give the defaults.
pub fn options<T: Default + serde::de::DeserializeOwned>(value: JsValue) -> Result<T, EngineError> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        serde_wasm_bindgen::from_value(value)
            .map_err(|e| EngineError::invalid(format!("bad options: {e}")))
    }
}
