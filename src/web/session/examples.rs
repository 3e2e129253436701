//! Editing a session's classes and examples from JavaScript: add, rename, move, clear and
//! remove classes; add, relabel and remove examples. The edits themselves, with the cached rows
//! kept in step, are native (`crate::session`); this converts.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use super::frames::Frame;
use super::{FewShotSession, SampleOptions, SavedEmbedding, keep_affordable_views};
use crate::dataset::Sample;
use crate::image::RgbaView;
use crate::training::{CancelToken, Entry, Job};
use crate::web::source::{self, ExampleSource};
use crate::web::{js_error, options};

#[wasm_bindgen]
impl FewShotSession {
    /// Adds a class and returns its index; refused if a class has that name.
    #[wasm_bindgen(js_name = addClass)]
    pub fn add_class(&self, name: String) -> Result<usize, JsError> {
        self.edit()?.add_new_class(name).map_err(js_error)
    }

    /// Renames class `index`; refused if another class has that name.
    #[wasm_bindgen(js_name = renameClass)]
    pub fn rename_class(&self, index: usize, name: String) -> Result<(), JsError> {
        self.edit()?.rename_class(index, name).map_err(js_error)
    }

    /// Removes class `index` and its samples; later classes move down one index.
    #[wasm_bindgen(js_name = removeClass)]
    pub fn remove_class(&self, index: usize) -> Result<(), JsError> {
        self.edit()?.remove_class(index).map_err(js_error)
    }

    /// Moves class `from` to index `to`, shifting the classes between.
    #[wasm_bindgen(js_name = moveClass)]
    pub fn move_class(&self, from: usize, to: usize) -> Result<(), JsError> {
        self.edit()?.move_class(from, to).map_err(js_error)
    }

    /// Removes every sample of class `index`, keeping the class.
    #[wasm_bindgen(js_name = clearClass)]
    pub fn clear_class(&self, index: usize) -> Result<(), JsError> {
        self.edit()?.clear_class(index).map_err(js_error)
    }

    /// Adds an image as an example of `label` (created if new): an image file (`Blob`, kept
    /// as it is), or `ImageData`, `<img>`, `<video>` frame, `<canvas>`, `ImageBitmap` or
    /// `OffscreenCanvas` (kept as a JPEG). Embeds its frame now, from the kept file's pixels,
    /// unless `options.embedding` holds rows saved with the current settings; `train` computes
    /// the augmented views it lacks. `options`: `{ id?, embedding? }`. Resolves to the
    /// example's id.
    #[wasm_bindgen(js_name = addExample)]
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    pub async fn add_example(
        &self,
        label: String,
        source: &ExampleSource,
        options_value: JsValue,
    ) -> Result<String, JsError> {
        let options: SampleOptions = options(options_value)?;
        let frame = match source.dyn_ref::<Blob>() {
            Some(file) => Frame::from_file(file.clone()),
            None => Frame::encode(&source::read(source)?).await?,
        };
        let mut guard = self.edit()?;
        let samples = &mut *guard;
        let id = samples.new_id(options.id).map_err(js_error)?;
        let class = samples.add_class(label).map_err(js_error)?;
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
            RgbaView::new(image.width, image.height, &image.pixels).map_err(js_error)?;
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
                .map_err(js_error)?;
        }
        samples.dataset.samples.push(Sample {
            id: id.clone(),
            class,
            image: frame,
        });
        samples.cached_with.0.views = keep_affordable_views(
            &mut samples.cache,
            augment.views,
            samples.dataset.samples.len(),
        );
        Ok(id)
    }

    /// The cached rows of sample `id`, for an app to store and hand back to `addExample`:
    /// `{ key, shape, rows: Uint16Array }`.
    #[wasm_bindgen(js_name = exampleEmbedding, unchecked_return_type = "SavedEmbedding")]
    pub fn example_embedding(&self, id: &str) -> Result<JsValue, JsError> {
        let samples = self.edit()?;
        let index = samples.index_of(id).map_err(js_error)?;
        let saved = SavedEmbedding {
            key: samples.key(self.model.backbone.kind),
            shape: samples.cache.shape.clone(),
            rows: samples.cache.sample_rows(index),
        };
        serde_wasm_bindgen::to_value(&saved).map_err(js_error)
    }

    /// Removes an example by id; false if there was none.
    #[wasm_bindgen(js_name = removeExample)]
    pub fn remove_example(&self, id: &str) -> Result<bool, JsError> {
        Ok(self.edit()?.remove_sample(id))
    }

    /// Moves example `id` to class `label` (created if new).
    #[wasm_bindgen(js_name = relabelExample)]
    pub fn relabel_example(&self, id: &str, label: String) -> Result<(), JsError> {
        self.edit()?.relabel_sample(id, label).map_err(js_error)
    }
}
