//! Project files from JavaScript: `projectFile`, `writeProject` and `readProject` wrap
//! [`crate::project`], so the page, the sessions and the tests share the Rust layout and
//! validation.

use js_sys::{Map, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::backbone::BackboneKind;
use crate::project::import::{Imported, import, import_files};
use crate::project::{ClassFiles, Manifest, Project, ProjectInfo, SampleFile};
use crate::web::error::EngineError;

/// What `projectFile` takes: a project's parts.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectParts {
    name: String,
    backbone: String,
    #[serde(default)]
    settings: serde_json::Map<String, serde_json::Value>,
    /// The trained model's record (`Uint8Array`), if any.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    model: JsValue,
    classes: Vec<ClassParts>,
}

/// A class of [`ProjectParts`].
#[derive(Deserialize)]
struct ClassParts {
    name: String,
    samples: Vec<SampleParts>,
}

/// A sample of [`ClassParts`]: its image file as a `Uint8Array` and its media type.
#[derive(Deserialize)]
struct SampleParts {
    id: String,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    image: JsValue,
    #[serde(rename = "type", default)]
    media_type: String,
}

/// The bytes of a `Uint8Array` named `what`.
fn bytes_of(value: JsValue, what: &str) -> Result<Vec<u8>, EngineError> {
    value
        .dyn_into::<Uint8Array>()
        .map(|bytes| bytes.to_vec())
        .map_err(|_| EngineError::invalid(format!("{what} must be a Uint8Array")))
}

/// Writes a project file from its parts: `{ name, backbone, settings?, model?, classes: [{
/// name, samples: [{ id, image: Uint8Array, type: "image/jpeg" | "image/png" }] }] }`, laid
/// out as every project file is (docs/project-format.md); validates first.
#[wasm_bindgen(js_name = projectFile)]
pub fn project_file(
    #[wasm_bindgen(unchecked_param_type = "ProjectParts")] parts: JsValue,
) -> Result<Vec<u8>, EngineError> {
    let parts: ProjectParts = serde_wasm_bindgen::from_value(parts)
        .map_err(|e| EngineError::invalid(format!("the project's parts are invalid: {e}")))?;
    let model = match parts.model.is_undefined() || parts.model.is_null() {
        true => None,
        false => Some(bytes_of(parts.model, "the model")?),
    };
    let mut classes = Vec::with_capacity(parts.classes.len());
    for class in parts.classes {
        let mut samples = Vec::with_capacity(class.samples.len());
        for sample in class.samples {
            samples.push(SampleFile {
                image: bytes_of(sample.image, &format!("sample {}'s image", sample.id))?,
                png: sample.media_type == "image/png",
                id: sample.id,
            });
        }
        classes.push(ClassFiles {
            name: class.name,
            samples,
        });
    }
    let info = ProjectInfo {
        name: parts.name,
        backbone: parts
            .backbone
            .parse::<BackboneKind>()
            .map_err(EngineError::from)?,
        settings: parts.settings,
        model,
    };
    Project::assemble(info, classes)
        .write()
        .map_err(EngineError::from)
}

/// Writes a project file from `manifest` (a `project.json` object) and `files` (a `Map` from
/// archive path to `Uint8Array`); validates first, so a bad project is refused, not written.
#[wasm_bindgen(js_name = writeProject)]
pub fn write_project(manifest: JsValue, files: &Map) -> Result<Vec<u8>, EngineError> {
    let manifest: Manifest = serde_wasm_bindgen::from_value(manifest)
        .map_err(|e| EngineError::invalid(format!("project.json is invalid: {e}")))?;
    let project = Project {
        manifest,
        files: files_of(files)?,
    };
    project.write().map_err(EngineError::from)
}

/// A `Map` from path to `Uint8Array`, read into Rust.
fn files_of(files: &Map) -> Result<std::collections::BTreeMap<String, Vec<u8>>, EngineError> {
    let mut read = std::collections::BTreeMap::new();
    for entry in files.entries() {
        let pair = js_sys::Array::from(&entry.map_err(|e| EngineError::invalid(format!("{e:?}")))?);
        let name = pair
            .get(0)
            .as_string()
            .ok_or_else(|| EngineError::invalid("file names must be strings"))?;
        let bytes = pair
            .get(1)
            .dyn_into::<Uint8Array>()
            .map_err(|_| EngineError::invalid(format!("{name}: bytes must be a Uint8Array")))?;
        read.insert(name, bytes.to_vec());
    }
    Ok(read)
}

/// Reads and validates a project file: `{ manifest, files }` (`files` a `Map` from archive
/// path to `Uint8Array`). Rejects with the reason if any part is bad.
#[wasm_bindgen(js_name = readProject)]
pub fn read_project(bytes: &[u8]) -> Result<JsValue, EngineError> {
    parts(&Project::read(bytes)?)
}

/// Opens an archive as a project, whatever made it (see `docs/project-format.md`, Import): a
/// magpie project file, a Teachable Machine project (`.tm`), one class's samples, or class
/// folders. `fileName` names the project (and the class of a samples zip). Resolves to
/// `{ manifest, files, source, skipped: { debris, notImages, otherFormats } }`, as
/// `readProject`'s with what the archive was (`source`: "magpie", "teachableMachine",
/// "samples" or "classFolders") and what was passed over; rejects, changing nothing, with why.
#[wasm_bindgen(js_name = importArchive, unchecked_return_type = "ImportedArchive")]
pub fn import_archive(bytes: &[u8], file_name: &str) -> Result<JsValue, EngineError> {
    imported(import(bytes, file_name, BackboneKind::default())?)
}

/// What `importArchive` and `importFiles` resolve to.
fn imported(imported: Imported) -> Result<JsValue, EngineError> {
    let result = parts(&imported.project)?;
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    set(&result, "source", &imported.source.serialize(&serializer)?)?;
    set(
        &result,
        "skipped",
        &imported.skipped.serialize(&serializer)?,
    )?;
    Ok(result)
}

/// Opens files as `importArchive` opens an archive's: `files` a `Map` from `/`-separated path to
/// `Uint8Array` (a dropped or picked folder's files by their relative paths), `name` the
/// project's name. Resolves to what `importArchive` does; rejects, changing nothing, with why.
#[wasm_bindgen(js_name = importFiles, unchecked_return_type = "ImportedArchive")]
pub fn import_files_js(files: &Map, name: &str) -> Result<JsValue, EngineError> {
    imported(import_files(
        files_of(files)?,
        name,
        BackboneKind::default(),
    )?)
}

/// `object[key] = value`.
pub(crate) fn set(object: &JsValue, key: &str, value: &JsValue) -> Result<(), EngineError> {
    js_sys::Reflect::set(object, &key.into(), value)
        .map(|_| ())
        .map_err(|e| EngineError::invalid(format!("{e:?}")))
}

/// `{ manifest, files }` of a project.
fn parts(project: &Project) -> Result<JsValue, EngineError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let manifest = project
        .manifest
        .serialize(&serializer)
        .map_err(EngineError::from)?;
    let files = Map::new();
    for (name, data) in &project.files {
        files.set(&JsValue::from_str(name), &Uint8Array::from(data.as_slice()));
    }
    let result: JsValue = js_sys::Object::new().into();
    set(&result, "manifest", &manifest)?;
    set(&result, "files", &files)?;
    Ok(result)
}

/// Folder names under `images/` for classes named `names`, in order (safe file names, unique).
#[wasm_bindgen(js_name = classFolders)]
pub fn class_folders(names: Vec<String>) -> Vec<String> {
    crate::project::class_folders(&names)
}
