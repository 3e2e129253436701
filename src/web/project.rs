//! Project files from JavaScript: `writeProject` and `readProject` wrap [`crate::project`], so
//! the page and the tests share the Rust validation.

use js_sys::{Map, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::js_error;
use crate::project::{Manifest, Project};

/// Writes a project file from `manifest` (a `project.json` object) and `files` (a `Map` from
/// archive path to `Uint8Array`); validates first, so a bad project is refused, not written.
#[wasm_bindgen(js_name = writeProject)]
pub fn write_project(manifest: JsValue, files: &Map) -> Result<Vec<u8>, JsError> {
    let manifest: Manifest = serde_wasm_bindgen::from_value(manifest)
        .map_err(|e| js_error(format!("project.json is invalid: {e}")))?;
    let mut project = Project {
        manifest,
        files: Default::default(),
    };
    for entry in files.entries() {
        let pair = js_sys::Array::from(&entry.map_err(|e| js_error(format!("{e:?}")))?);
        let name = pair
            .get(0)
            .as_string()
            .ok_or_else(|| js_error("file names must be strings"))?;
        let bytes = pair
            .get(1)
            .dyn_into::<Uint8Array>()
            .map_err(|_| js_error(format!("{name}: bytes must be a Uint8Array")))?;
        project.files.insert(name, bytes.to_vec());
    }
    project.write().map_err(js_error)
}

/// Reads and validates a project file: `{ manifest, files }` (`files` a `Map` from archive
/// path to `Uint8Array`). Rejects with the reason if any part is bad.
#[wasm_bindgen(js_name = readProject)]
pub fn read_project(bytes: &[u8]) -> Result<JsValue, JsError> {
    let project = Project::read(bytes).map_err(js_error)?;
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let manifest = project.manifest.serialize(&serializer).map_err(js_error)?;
    let files = Map::new();
    for (name, data) in &project.files {
        files.set(&JsValue::from_str(name), &Uint8Array::from(data.as_slice()));
    }
    let result = js_sys::Object::new();
    js_sys::Reflect::set(&result, &"manifest".into(), &manifest)
        .map_err(|e| js_error(format!("{e:?}")))?;
    js_sys::Reflect::set(&result, &"files".into(), &files)
        .map_err(|e| js_error(format!("{e:?}")))?;
    Ok(result.into())
}

/// Folder names under `images/` for classes named `names`, in order (safe file names, unique).
#[wasm_bindgen(js_name = classFolders)]
pub fn class_folders(names: Vec<String>) -> Vec<String> {
    crate::project::class_folders(&names)
}
