//! A session's whole project as one file (`saveProject` / `loadProject`): classes, every
//! example's image, and the trained model, in the project format of docs/project-format.md.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::image_files::{self, ImageFile};
use super::{FewShotSession, Samples, save_model};
use crate::classifier;
use crate::project::{Project, ProjectInfo, SampleFile};
use crate::training::EmbeddingCache;
use crate::web::codec::ImageFormat;
use crate::web::error::EngineError;
use crate::web::fetch;
use crate::web::options::options;

/// Options of [`FewShotSession::save_project`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SaveOptions {
    /// The project's name.
    name: String,
    /// Settings to keep with the project (an app's training settings).
    settings: serde_json::Map<String, serde_json::Value>,
    /// `"image/jpeg"` (default) or `"image/png"` (lossless); frames already in that format are
    /// saved as they are.
    image_type: String,
    /// JPEG quality, 0 to 1, of frames re-encoded as JPEG.
    quality: f64,
}

impl Default for SaveOptions {
    fn default() -> Self {
        Self {
            name: "untitled".into(),
            settings: Default::default(),
            image_type: "image/jpeg".into(),
            quality: 0.92,
        }
    }
}

/// What `loadProject` resolves to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Loaded {
    name: String,
    labels: Vec<String>,
    counts: Vec<usize>,
    trained: bool,
    settings: serde_json::Map<String, serde_json::Value>,
}

#[wasm_bindgen]
impl FewShotSession {
    /// The whole project as a file (zip bytes, see docs/project-format.md): classes, every
    /// example's image, and the model when it was trained on the current classes. `options`:
    /// `{ name?, settings?, imageType?: "image/jpeg" | "image/png", quality? }`.
    #[wasm_bindgen(js_name = saveProject)]
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    pub async fn save_project(&self, options_value: JsValue) -> Result<Vec<u8>, EngineError> {
        let options: SaveOptions = options(options_value)?;
        let format = match options.image_type.as_str() {
            "image/jpeg" if (0.0..=1.0).contains(&options.quality) => {
                ImageFormat::Jpeg(options.quality)
            }
            "image/png" => ImageFormat::Png,
            other => {
                return Err(EngineError::invalid(format!(
                    "imageType must be image/jpeg or image/png, with quality 0 to 1 (got {other})"
                )));
            }
        };
        let guard = self.edit()?;
        let mut files = Vec::with_capacity(guard.dataset.samples.len());
        for sample in &guard.dataset.samples {
            files.push(SampleFile {
                id: sample.id.clone(),
                image: sample
                    .image
                    .file_as(format, &format!("sample {}", sample.id))
                    .await?,
                png: format == ImageFormat::Png,
            });
        }
        let model = self
            .classifier
            .borrow()
            .clone()
            .filter(|c| c.info.labels == guard.dataset.labels);
        let model = match model {
            Some(model) => Some(save_model(&model).await?),
            None => None,
        };
        let info = ProjectInfo {
            name: options.name,
            backbone: self.model.backbone.kind,
            settings: options.settings,
            model,
        };
        let project = guard.to_project(info, files);
        project.write().map_err(EngineError::from)
    }

    /// Replaces the session's classes, examples and model with a project file's (bytes, or
    /// the URL of one), made with this session's backbone. The whole file is checked, and every
    /// image decoded and embedded, before anything changes. Resolves to `{ name, labels, counts, trained,
    /// settings }`.
    #[wasm_bindgen(js_name = loadProject, unchecked_return_type = "LoadedProject")]
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    pub async fn load_project(&self, file: JsValue) -> Result<JsValue, EngineError> {
        let bytes = fetch::file_bytes(file, "a project")
            .await
            .map_err(EngineError::invalid)?;
        let project = Project::read(&bytes).map_err(EngineError::from)?;
        let mut guard = self.edit()?;
        let (augment, rows) = guard.cached_with.clone();
        let opened = Samples::from_project(
            &project,
            self.model.backbone.kind,
            augment,
            rows,
            ImageFile::from_bytes,
        )?;
        let manifest = project.manifest;
        let model = match &manifest.model {
            Some(path) => Some(
                classifier::load(
                    project.files[path].clone(),
                    &self.model.backbone,
                    &self.head_device,
                )
                .map_err(EngineError::from)?,
            ),
            None => None,
        };
        let mut cache = EmbeddingCache::default();
        let embedder = self.embedder(opened.cached_with.1);
        // The frames now; the views while idle or when training.
        image_files::embed_files(&opened.dataset, &embedder, &mut cache, &Default::default())
            .await?;
        let loaded = Loaded {
            name: manifest.name,
            labels: opened.dataset.labels.clone(),
            counts: opened.dataset.class_counts(),
            trained: model.is_some(),
            settings: manifest.settings,
        };
        *guard = Samples {
            next_id: guard.next_id,
            cache,
            ..opened
        };
        *self.classifier.borrow_mut() = model;
        loaded
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(EngineError::from)
    }
}
