//! Editing a session's classes and examples: add, rename, move, clear and remove classes; add,
//! relabel and remove examples, with their cached embeddings kept in step.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use super::frames::Frame;
use super::{FewShotSession, SampleOptions, Samples, SavedEmbedding, keep_affordable_views};
use crate::backbone::{BackboneKind, RowKind};
use crate::dataset::Sample;
use crate::image::RgbaView;
use crate::training::{CancelToken, Embedder, Entry, Job};
use crate::web::source::{self, ExampleSource};
use crate::web::{js_error, options};

#[wasm_bindgen]
impl FewShotSession {
    /// Adds a class and returns its index; refused if a class has that name.
    #[wasm_bindgen(js_name = addClass)]
    pub fn add_class(&self, name: String) -> Result<usize, JsError> {
        let mut samples = self.edit()?;
        let name = class_name(name)?;
        if samples.dataset.labels.contains(&name) {
            return Err(js_error(format!("there is already a class named '{name}'")));
        }
        samples.add_class(name)
    }

    /// Renames class `index`; refused if another class has that name.
    #[wasm_bindgen(js_name = renameClass)]
    pub fn rename_class(&self, index: usize, name: String) -> Result<(), JsError> {
        let mut samples = self.edit()?;
        let name = class_name(name)?;
        let labels = &mut samples.dataset.labels;
        check_class(labels, index)?;
        if labels
            .iter()
            .enumerate()
            .any(|(i, l)| i != index && *l == name)
        {
            return Err(js_error(format!("there is already a class named '{name}'")));
        }
        labels[index] = name;
        Ok(())
    }

    /// Removes class `index` and its samples; later classes move down one index.
    #[wasm_bindgen(js_name = removeClass)]
    pub fn remove_class(&self, index: usize) -> Result<(), JsError> {
        let mut samples = self.edit()?;
        check_class(&samples.dataset.labels, index)?;
        let mut labels = samples.dataset.labels.clone();
        labels.remove(index);
        samples.remap(labels, |_, class| match class {
            c if c == index => None,
            c if c > index => Some(c - 1),
            c => Some(c),
        });
        Ok(())
    }

    /// Moves class `from` to index `to`, shifting the classes between.
    #[wasm_bindgen(js_name = moveClass)]
    pub fn move_class(&self, from: usize, to: usize) -> Result<(), JsError> {
        let mut samples = self.edit()?;
        check_class(&samples.dataset.labels, from)?;
        check_class(&samples.dataset.labels, to)?;
        let mut order: Vec<usize> = (0..samples.dataset.labels.len()).collect();
        let moved = order.remove(from);
        order.insert(to, moved);
        let labels = order
            .iter()
            .map(|&old| samples.dataset.labels[old].clone())
            .collect();
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        samples.remap(labels, |_, class| Some(new_index[class]));
        Ok(())
    }

    /// Removes every sample of class `index`, keeping the class.
    #[wasm_bindgen(js_name = clearClass)]
    pub fn clear_class(&self, index: usize) -> Result<(), JsError> {
        let mut samples = self.edit()?;
        check_class(&samples.dataset.labels, index)?;
        let labels = samples.dataset.labels.clone();
        samples.remap(labels, |_, class| (class != index).then_some(class));
        Ok(())
    }

    /// Adds an image as an example of `label` (created if new): an image file (`Blob`, kept
    /// as it is), or `ImageData`, `<img>`, `<video>` frame, `<canvas>`, `ImageBitmap` or
    /// `OffscreenCanvas` (kept as a JPEG). Embeds it (and its augmented views) now, from the
    /// kept file's pixels, unless `options.embedding` holds rows saved with the current
    /// settings. `options`: `{ id?, embedding? }`. Resolves to the example's id.
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
        if let Some(id) = &options.id
            && (id.is_empty() || samples.dataset.samples.iter().any(|s| s.id == *id))
        {
            return Err(js_error(format!(
                "sample id '{id}' is empty or already used"
            )));
        }
        let class = samples.add_class(label)?;
        let id = options.id.unwrap_or_else(|| samples.fresh_id());
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
                views: augment.views,
            };
            let embedder = Embedder {
                backbone: &self.model.backbone,
                rows,
                device: &self.backbone_device,
            };
            embedder
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
        let index = samples.index_of(id)?;
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
        let mut samples = self.edit()?;
        let Ok(index) = samples.index_of(id) else {
            return Ok(false);
        };
        let labels = samples.dataset.labels.clone();
        samples.remap(labels, |i, class| (i != index).then_some(class));
        Ok(true)
    }

    /// Moves example `id` to class `label` (created if new).
    #[wasm_bindgen(js_name = relabelExample)]
    pub fn relabel_example(&self, id: &str, label: String) -> Result<(), JsError> {
        let mut samples = self.edit()?;
        let index = samples.index_of(id)?;
        let target = samples.add_class(label)?;
        let labels = samples.dataset.labels.clone();
        samples.remap(labels, |i, class| {
            Some(if i == index { target } else { class })
        });
        Ok(())
    }
}

/// A trimmed, non-empty class name.
fn class_name(name: String) -> Result<String, JsError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        Err(js_error("a class needs a name"))
    } else {
        Ok(name)
    }
}

/// Checks `index` names a class.
fn check_class(labels: &[String], index: usize) -> Result<(), JsError> {
    if index < labels.len() {
        Ok(())
    } else {
        Err(js_error(format!(
            "there is no class {index} (there are {})",
            labels.len()
        )))
    }
}

impl Samples {
    /// The index of class `name`, added if new.
    fn add_class(&mut self, name: String) -> Result<usize, JsError> {
        let name = class_name(name)?;
        Ok(self
            .dataset
            .labels
            .iter()
            .position(|l| *l == name)
            .unwrap_or_else(|| {
                self.dataset.labels.push(name);
                self.dataset.labels.len() - 1
            }))
    }

    /// An id no sample has.
    fn fresh_id(&mut self) -> String {
        loop {
            let id = format!("s{}", self.next_id);
            self.next_id += 1;
            if !self.dataset.samples.iter().any(|s| s.id == id) {
                return id;
            }
        }
    }

    /// The index of sample `id`.
    fn index_of(&self, id: &str) -> Result<usize, JsError> {
        self.dataset
            .samples
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| js_error(format!("there is no sample '{id}'")))
    }

    /// What the cached rows are computed with, as a string saved embeddings must match. The
    /// number of views is left out: saved rows with more views than the cache keeps serve too.
    fn key(&self, backbone: BackboneKind) -> String {
        let (augment, rows) = &self.cached_with;
        let mut key = serde_json::json!({ "backbone": backbone, "augment": augment, "tailBlocks": rows.tail_blocks() });
        if let Some(augment) = key["augment"].as_object_mut() {
            augment.remove("views");
        }
        if *rows == RowKind::Spatial {
            key["features"] = "spatial".into();
        }
        key.to_string()
    }

    /// Sets the classes to `labels` and each sample's class to `class_of(index, class)`
    /// (`None` drops it), in the dataset and the cache alike.
    fn remap(&mut self, labels: Vec<String>, class_of: impl Fn(usize, usize) -> Option<usize>) {
        let map: Vec<Option<usize>> = self
            .dataset
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| class_of(i, s.class))
            .collect();
        self.dataset.remap(labels, &map);
        self.cache.remap(&map);
    }
}
