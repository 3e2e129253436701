//! Training settings from JavaScript: their defaults and limits (one definition, in
//! [`crate::train_config`] and [`crate::settings`]) for the page's form and the widgets.

use crate::web::error::EngineError;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::settings::Settings;
use crate::train_config::{LIMITS, Limits};

/// What [`training_settings`] returns.
#[derive(Serialize)]
struct Catalogue {
    defaults: Settings,
    limits: Limits,
}

fn to_js(value: &impl Serialize) -> Result<JsValue, EngineError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(EngineError::from)
}

fn from_js(settings: JsValue) -> Result<Settings, EngineError> {
    if settings.is_undefined() || settings.is_null() {
        return Ok(Settings::default());
    }
    let value: serde_json::Value = serde_wasm_bindgen::from_value(settings)
        .map_err(|e| EngineError::invalid(format!("bad settings: {e}")))?;
    Ok(Settings::clean(&value))
}

/// `{ defaults, limits }`: every setting's default (`head`, `features`, `epochs`, `batchSize`,
/// `learningRate`, `hidden`, `k`, `views`, `finetuneBlocks`) and the `{ min, max }` range of
/// each number, with `classes`, the range of a project's class count.
#[wasm_bindgen(js_name = trainingSettings)]
pub fn training_settings() -> Result<JsValue, EngineError> {
    to_js(&Catalogue {
        defaults: Settings::default(),
        limits: LIMITS,
    })
}

/// `settings` with unknown keys dropped, bad values replaced by defaults, numbers clamped.
#[wasm_bindgen(js_name = cleanSettings)]
pub fn clean_settings(settings: JsValue) -> Result<JsValue, EngineError> {
    to_js(&from_js(settings)?)
}

/// The options of `FewShotSession.train` for app `settings`.
#[wasm_bindgen(js_name = trainOptions)]
pub fn train_options(settings: JsValue) -> Result<JsValue, EngineError> {
    to_js(&from_js(settings)?.train_config())
}
