//! What the engine offers, as pickers show it: the backbones.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::error::EngineError;
use crate::backbone::BackboneKind;

/// A backbone as a picker offers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackboneChoice {
    id: &'static str,
    name: &'static str,
    note: Option<&'static str>,
    is_default: bool,
    opt_in: bool,
}

/// Every supported backbone, default first, as a picker offers it: `{ id, name, note,
/// isDefault, optIn }` (`optIn`: its weights are brought by the user, see the README).
#[wasm_bindgen(js_name = backboneChoices, unchecked_return_type = "BackboneChoice[]")]
pub fn backbone_choices() -> Result<JsValue, EngineError> {
    let choices: Vec<BackboneChoice> = BackboneKind::ALL
        .iter()
        .map(|&kind| BackboneChoice {
            id: kind.id(),
            name: kind.display_name(),
            note: kind.note(),
            is_default: kind == BackboneKind::default(),
            opt_in: kind.opt_in(),
        })
        .collect();
    Ok(serde_wasm_bindgen::to_value(&choices)?)
}

/// Identifiers of every supported backbone, default first.
#[wasm_bindgen(js_name = backbones)]
pub fn backbones() -> Vec<String> {
    BackboneKind::ALL
        .iter()
        .map(|k| k.id().to_string())
        .collect()
}
