//! Editing a session's classes and examples from JavaScript: add, rename, move, clear and
//! remove classes; add, relabel and remove examples. The edits themselves, with the cached rows
//! kept in step, are native (`crate::session`); this converts.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use super::image_files::ImageFile;
use super::{FewShotSession, SampleOptions, SavedEmbedding};
use crate::dataset::Sample;
use crate::image::RgbaView;
use crate::training::{CancelToken, Entry, Job};
use crate::web::error::EngineError;
use crate::web::options::options;
use crate::web::source::{self, SampleSource};

#[wasm_bindgen]
impl FewShotSession {
    /// Adds a class and returns its index; refused if a class has that name.
    #[wasm_bindgen(js_name = addClass)]
    pub fn add_class(&self, name: String) -> Result<usize, EngineError> {
        self.edit()?.add_new_class(name).map_err(EngineError::from)
    }

    /// Renames class `index`; refused if another class has that name.
    #[wasm_bindgen(js_name = renameClass)]
    pub fn rename_class(&self, index: usize, name: String) -> Result<(), EngineError> {
        self.edit()?
            .rename_class(index, name)
            .map_err(EngineError::from)
    }

    /// Removes class `index` and its samples; later classes move down one index.
    #[wasm_bindgen(js_name = removeClass)]
    pub fn remove_class(&self, index: usize) -> Result<(), EngineError> {
        self.edit()?.remove_class(index).map_err(EngineError::from)
    }

    /// Moves class `from` to index `to`, shifting the classes between.
    #[wasm_bindgen(js_name = moveClass)]
    pub fn move_class(&self, from: usize, to: usize) -> Result<(), EngineError> {
        self.edit()?.move_class(from, to).map_err(EngineError::from)
    }

    /// Removes every sample of class `index`, keeping the class.
    #[wasm_bindgen(js_name = clearClass)]
    pub fn clear_class(&self, index: usize) -> Result<(), EngineError> {
        self.edit()?.clear_class(index).map_err(EngineError::from)
    }

    /// Adds an image as an example of `label` (created if new): an image file (`Blob`, kept
    /// as it is), or `ImageData`, `<img>`, `<video>` frame, `<canvas>`, `ImageBitmap` or
    /// `OffscreenCanvas` (kept as a JPEG). Embeds its frame now, from the kept file's pixels,
    /// unless `options.embedding` holds rows saved with the current settings; `train` computes
    /// the augmented views it lacks. `options`: `{ id?, embedding? }`. Resolves to the
    /// example's id.
    #[wasm_bindgen(js_name = addSample)]
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    pub async fn add_sample(
        &self,
        label: String,
        source: &SampleSource,
        options_value: JsValue,
    ) -> Result<String, EngineError> {
        let options: SampleOptions = options(options_value)?;
        let frame = match source.dyn_ref::<Blob>() {
            Some(file) => ImageFile::from_file(file.clone()),
            None => ImageFile::encode(&source::read(source)?).await?,
        };
        let mut guard = self.edit()?;
        let samples = &mut *guard;
        let id = samples.new_id(options.id).map_err(EngineError::from)?;
        let class = samples.add_class(label).map_err(EngineError::from)?;
        let sample = samples.dataset.samples.len();
        let entry = Entry {
            sample,
            class,
            view: 0,
        };
        let key = samples.key(self.model.backbone.kind);
        let (augment, rows) = samples.cached_with.clone();
        let restored = options.embedding.filter(|saved| saved.key == key);
        let restored = restored.and_then(|saved| {
            samples
                .cache
                .push_saved(entry, &saved.shape, &saved.rows, augment.views)
        });
        if restored.is_none() {
            let image = frame.decode("the image").await?;
            RgbaView::new(image.width, image.height, &image.pixels).map_err(EngineError::from)?;
            let job = Job {
                image: image.view(),
                entry,
                from_view: 0,
                views: 0,
            };
            self.embedder(rows)
                .embed(
                    &[job],
                    &augment,
                    0,
                    &mut samples.cache,
                    &CancelToken::default(),
                )
                .await
                .map_err(EngineError::from)?;
        }
        samples.dataset.samples.push(Sample {
            id: id.clone(),
            class,
            image: frame,
        });
        samples.keep_affordable_views(augment.views);
        Ok(id)
    }

    /// The cached rows of sample `id`, for an app to store and hand back to `addSample`:
    /// `{ key, shape, rows: Uint16Array }`.
    #[wasm_bindgen(js_name = sampleEmbedding, unchecked_return_type = "SavedEmbedding")]
    pub fn sample_embedding(&self, id: &str) -> Result<JsValue, EngineError> {
        let samples = self.edit()?;
        let index = samples.index_of(id).map_err(EngineError::from)?;
        let saved = SavedEmbedding {
            key: samples.key(self.model.backbone.kind),
            shape: samples.cache.shape.clone(),
            rows: samples.cache.sample_rows(index),
        };
        serde_wasm_bindgen::to_value(&saved).map_err(EngineError::from)
    }

    /// Removes an example by id; false if there was none.
    #[wasm_bindgen(js_name = removeSample)]
    pub fn remove_sample(&self, id: &str) -> Result<bool, EngineError> {
        Ok(self.edit()?.remove_sample(id))
    }

    /// Moves example `id` to class `label` (created if new).
    #[wasm_bindgen(js_name = relabelSample)]
    pub fn relabel_sample(&self, id: &str, label: String) -> Result<(), EngineError> {
        self.edit()?
            .relabel_sample(id, label)
            .map_err(EngineError::from)
    }
}
