//! `FewShotSession.train`: instant, then better. The frames' rows are cached as samples are
//! added, so a KNN model on them goes live at once (`onModel`); then the augmented views the
//! samples lack are embedded, the head is trained, and it replaces the instant model unless it
//! does worse on the held-out samples (`crate::training::instant` holds that policy).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{FewShotSession, Samples, image_files};
use crate::head::HeadKind;
use crate::train_config::TrainConfig;
use crate::training::{
    Embedder, EmbeddingCache, EpochReport, Evaluation, Fitted, StopReason, fit_cached,
    head_replaces_instant, instant_config,
};
use crate::web::error::EngineError;
use crate::web::options::options;

/// What `train` resolves to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TrainSummary {
    history: Vec<EpochReport>,
    stop: StopReason,
    batches: usize,
    /// The trained head's results on the held-out samples.
    validation: Option<Evaluation>,
    elapsed_ms: f64,
    /// Augmented views per sample trained on: fewer than asked past
    /// [`VIEWS_ROWS`](crate::training::VIEWS_ROWS).
    views: usize,
    /// The instant model that went live first, if one did.
    instant: Option<ModelReport>,
    /// Which model is live: `"head"` (the trained head) or `"instant"` (the head did worse on
    /// the held-out samples, or training was cancelled before it started).
    live: &'static str,
}

/// A model that went live: what `onModel` receives.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelReport {
    head: HeadKind,
    /// Whether a trained head is still to come.
    instant: bool,
    labels: Vec<String>,
    validation: Option<Evaluation>,
    /// Milliseconds since `train` was called.
    elapsed_ms: f64,
}

/// Calls a JS callback with a serialized value, if there is a callback.
pub(super) fn notify<T: Serialize>(callback: &Option<js_sys::Function>, value: &T) {
    if let (Some(f), Ok(value)) = (callback, serde_wasm_bindgen::to_value(value)) {
        let _ = f.call1(&JsValue::NULL, &value);
    }
}

#[wasm_bindgen]
impl FewShotSession {
    /// Trains with `config` (a partial `TrainConfig`: `{ head: { kind, hidden, k }, epochs,
    /// batchSize, learningRate, labelSmoothing, weightDecay, validationFraction, patience, seed,
    /// augment: { views, ... }, finetuneBlocks }`). Unless the head is KNN (or blocks are
    /// fine-tuned, or there are very many samples), a KNN model on the samples' frames goes live first and `onModel(report)`
    /// is called (`{ head, instant, labels, validation, elapsedMs }`); `predict` uses it while
    /// the head trains. `onEpoch(report)` is called after each epoch. Resolves to `{ history,
    /// stop, batches, validation, elapsedMs, views, instant, live }` (`views`: the augmented
    /// views per sample trained on, fewer than asked past [`VIEWS_ROWS`](crate::training::VIEWS_ROWS);
    /// `live`: `"head"` or `"instant"`, the model kept).
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    #[wasm_bindgen(unchecked_return_type = "TrainSummary")]
    pub async fn train(
        &self,
        config: JsValue,
        on_epoch: Option<js_sys::Function>,
        on_model: Option<js_sys::Function>,
    ) -> Result<JsValue, EngineError> {
        let config: TrainConfig = options(config)?;
        let mut guard = self.edit()?;
        let samples = &mut *guard;
        self.cancel.reset();
        let start = crate::clock::now_ms();
        let views = self.prepare_rows(samples, &config).await?;
        let instant = match instant_config(&config, samples.dataset.samples.len()) {
            Some(instant) => {
                let fitted = self.fit(samples, &instant, &mut |_| {}).await?;
                let report = ModelReport {
                    head: HeadKind::Knn,
                    instant: true,
                    labels: fitted.classifier.info.labels.clone(),
                    validation: fitted.validation.clone(),
                    elapsed_ms: crate::clock::now_ms() - start,
                };
                *self.classifier.borrow_mut() = Some(fitted.classifier);
                notify(&on_model, &report);
                Some(report)
            }
            None => None,
        };
        let summary = |fitted: Option<&Fitted>, live| TrainSummary {
            validation: fitted.as_ref().and_then(|f| f.validation.clone()),
            history: fitted.as_ref().map_or_else(Vec::new, |f| f.history.clone()),
            stop: fitted.as_ref().map_or(StopReason::Cancelled, |f| f.stop),
            batches: fitted.as_ref().map_or(0, |f| f.batches),
            elapsed_ms: crate::clock::now_ms() - start,
            views,
            instant: instant.clone(),
            live,
        };
        // The views the samples lack; a cancel meanwhile leaves the instant model live.
        let embedded = self.embed_views(samples, config.seed, usize::MAX).await;
        if let Err(error) = embedded {
            return match (&instant, self.cancel.is_cancelled()) {
                (Some(_), true) => to_js(&summary(None, "instant")),
                _ => Err(error),
            };
        }
        let mut progress = |report: &EpochReport| notify(&on_epoch, report);
        let fitted = self.fit(samples, &config, &mut progress).await?;
        let instant_validation = instant.as_ref().and_then(|i| i.validation.as_ref());
        let replaces = head_replaces_instant(instant_validation, fitted.validation.as_ref());
        let reply = to_js(&summary(
            Some(&fitted),
            if replaces { "head" } else { "instant" },
        ));
        if replaces {
            *self.classifier.borrow_mut() = Some(fitted.classifier);
        }
        reply
    }

    /// Embeds the augmented views the next training would compute, for up to `samples` of the
    /// samples lacking them (an app calls it while idle, so that Train finds them done).
    /// Resolves to how many samples still lack views.
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    #[wasm_bindgen(js_name = embedViews)]
    pub async fn embed_views_ahead(&self, samples: usize) -> Result<usize, EngineError> {
        let mut guard = self.edit()?;
        self.embed_views(&mut guard, TrainConfig::ahead_views_seed(), samples)
            .await
    }
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, EngineError> {
    serde_wasm_bindgen::to_value(value).map_err(EngineError::from)
}

impl FewShotSession {
    /// Brings the cache to `config`'s rows and augmentation (see
    /// [`crate::session::Samples::settle_views`]): every frame again when the rows differ.
    /// Returns the views each sample is to have.
    async fn prepare_rows(
        &self,
        samples: &mut Samples,
        config: &TrainConfig,
    ) -> Result<usize, EngineError> {
        let rows = config.rows(self.model.backbone.kind);
        if samples.needs_new_rows(rows) {
            let mut cache = EmbeddingCache::default();
            let embedder = self.embedder(rows);
            image_files::embed_files(&samples.dataset, &embedder, &mut cache, &self.cancel).await?;
            samples.cache = cache;
        }
        Ok(samples.settle_views(&config.augment, rows))
    }

    /// Embeds the augmented views the samples lack (up to the cache's views, drawn from the
    /// streams of `seed`), for the first `most` such samples; returns how many still lack some.
    async fn embed_views(
        &self,
        samples: &mut Samples,
        seed: u64,
        most: usize,
    ) -> Result<usize, EngineError> {
        let views = samples.cached_with.0.views;
        let mut work = samples.missing_views(views);
        let left = work.len().saturating_sub(most);
        work.truncate(most);
        let embedder = self.embedder(samples.cached_with.1);
        let augment = &samples.cached_with.0;
        image_files::embed_views(
            &samples.dataset,
            &embedder,
            (augment, seed),
            &work,
            views,
            &mut samples.cache,
            &self.cancel,
        )
        .await?;
        Ok(left)
    }

    /// Trains (or builds) `config`'s model on the cached rows.
    async fn fit(
        &self,
        samples: &Samples,
        config: &TrainConfig,
        progress: &mut dyn FnMut(&EpochReport),
    ) -> Result<Fitted, EngineError> {
        fit_cached(
            &samples.cache,
            &samples.dataset,
            &self.model.backbone,
            config,
            &self.head_device,
            progress,
            &self.cancel,
        )
        .await
        .map_err(EngineError::from)
    }

    /// The backbone computing `rows` on its device.
    pub(super) fn embedder(&self, rows: crate::backbone::RowKind) -> Embedder<'_> {
        Embedder {
            backbone: &self.model.backbone,
            rows,
            device: &self.backbone_device,
        }
    }
}
