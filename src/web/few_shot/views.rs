//! Augmented views embedded by other engines: `viewsWork` lists the samples lacking views with
//! everything needed to compute them, any session on the same backbone computes one sample's
//! (`embedSampleViews`, from the same random streams, so the rows equal the session's own), and
//! `putViews` hands them back. The engine's client spreads this over its embedding pool.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use super::image_files::ImageFile;
use super::{FewShotSession, SavedEmbedding};
use crate::augment::AugmentConfig;
use crate::backbone::{Features, RowKind};
use crate::train_config::TrainConfig;
use crate::training::{CancelToken, EmbeddingCache, Entry, Job};
use crate::web::error::EngineError;
use crate::web::options::options;

/// How to compute one sample's views: `embedSampleViews`'s second argument.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ViewsJob {
    /// The sample's index in its session (it picks the random streams).
    index: usize,
    /// The first view to compute (1 or more).
    first_view: usize,
    /// The last view.
    views: usize,
    /// The session's augmentation.
    augment: AugmentConfig,
    /// The rows the session's samples are embedded into.
    features: Option<Features>,
    /// Fine-tuned blocks whose input the rows are.
    tail_blocks: usize,
    /// Seed of the random streams.
    seed: u64,
    /// The session's settings, as `putViews` checks them.
    key: String,
}

/// One sample lacking views.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Lacking {
    /// The sample's id.
    id: String,
    /// Its image file.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    file: JsValue,
    /// What to compute.
    job: ViewsJob,
}

/// What `viewsWork` resolves to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewsWork {
    /// Samples lacking views, up to the number asked.
    samples: Vec<Lacking>,
    /// How many more lack views.
    left: usize,
}

#[wasm_bindgen]
impl FewShotSession {
    /// The samples lacking augmented views (up to `most`), each with its image file and what
    /// computing its views takes: `{ samples: [{ id, file, job }], left }`.
    #[wasm_bindgen(js_name = viewsWork, unchecked_return_type = "ViewsWork")]
    pub fn views_work(&self, most: usize) -> Result<JsValue, EngineError> {
        let samples = self.edit()?;
        let (augment, rows) = &samples.cached_with;
        let key = samples.key(self.model.backbone.kind);
        let mut lacking = samples.missing_views(augment.views);
        lacking.retain(|&(_, first)| first > 0);
        let left = lacking.len().saturating_sub(most);
        lacking.truncate(most);
        let work = ViewsWork {
            samples: lacking
                .into_iter()
                .map(|(index, first_view)| {
                    let sample = &samples.dataset.samples[index];
                    Lacking {
                        id: sample.id.clone(),
                        file: sample.image.file().clone().into(),
                        job: ViewsJob {
                            index,
                            first_view,
                            views: augment.views,
                            augment: augment.clone(),
                            features: Some(rows.features()),
                            tail_blocks: rows.tail_blocks(),
                            seed: TrainConfig::ahead_views_seed(),
                            key: key.clone(),
                        },
                    }
                })
                .collect(),
            left,
        };
        serde_wasm_bindgen::to_value(&work).map_err(EngineError::from)
    }

    /// The rows of views `job.firstView..=job.views` of an image file, as the session `job`
    /// came from computes them: `{ key, shape, rows }` for `putViews`. Uses no samples.
    #[wasm_bindgen(js_name = embedSampleViews, unchecked_return_type = "SavedEmbedding")]
    pub async fn embed_sample_views(
        &self,
        file: Blob,
        #[wasm_bindgen(unchecked_param_type = "ViewsJob")] job: JsValue,
    ) -> Result<JsValue, EngineError> {
        let job: ViewsJob = options(job)?;
        if job.first_view == 0 || job.first_view > job.views {
            return Err(EngineError::invalid(
                "views to compute: firstView must be 1 to views",
            ));
        }
        let image = ImageFile::from_file(file).decode("the sample").await?;
        let kind = self.model.backbone.kind;
        let rows = RowKind::of(
            kind,
            job.features.unwrap_or(Features::Pooled),
            job.tail_blocks,
        );
        let mut cache = EmbeddingCache::default();
        let work = Job {
            image: image.view(),
            entry: Entry {
                sample: job.index,
                class: 0,
                view: 0,
            },
            from_view: job.first_view,
            views: job.views,
        };
        self.embedder(rows)
            .embed(
                &[work],
                &job.augment,
                job.seed,
                &mut cache,
                &CancelToken::default(),
            )
            .await
            .map_err(EngineError::from)?;
        let saved = SavedEmbedding {
            key: job.key,
            shape: cache.shape.clone(),
            rows: cache.sample_rows(job.index),
        };
        serde_wasm_bindgen::to_value(&saved).map_err(EngineError::from)
    }

    /// Takes views `firstView…` of sample `id` from `embedSampleViews`; false (nothing
    /// changed) when they no longer fit: the sample is gone, has them, or the settings changed.
    #[wasm_bindgen(js_name = putViews)]
    pub fn put_views(
        &self,
        id: &str,
        first_view: usize,
        #[wasm_bindgen(unchecked_param_type = "SavedEmbedding")] embedding: JsValue,
    ) -> Result<bool, EngineError> {
        let saved: SavedEmbedding = serde_wasm_bindgen::from_value(embedding)
            .map_err(|e| EngineError::invalid(format!("bad views: {e}")))?;
        let kind = self.model.backbone.kind;
        Ok(self.edit()?.put_views(
            kind,
            (id, &saved.key),
            first_view,
            &saved.shape,
            &saved.rows,
        ))
    }
}
