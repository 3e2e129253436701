//! The head trainer: Adam on cross-entropy (optional label smoothing and weight decay), over
//! class-balanced mini-batches of cached rows, with per-epoch validation, early stopping,
//! progress reports and cancellation. In fine-tune mode the backbone's tail trains with the
//! head at a lower learning rate; spatial rows are normalized as each mini-batch is read.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::optimizer::Adam;
use super::sampler::BalancedSampler;
use super::{CancelToken, EmbeddingCache, TrainError};
use crate::backbone::BackboneTail;
use crate::clock::{now_ms, yield_now};
use crate::head::{FeatureNorm, HeadNet};
use crate::readback::read;
use crate::rng::Rng;
use crate::train_config::TrainConfig;

/// How long training may run before handing control back to the page.
const YIELD_EVERY_MS: f64 = 30.0;

/// What a trainer optimizes: optionally the backbone's last blocks, then the head.
#[derive(Module, Debug)]
pub struct TrainNet {
    /// Fine-tuned backbone blocks (fine-tune mode only).
    pub tail: Option<BackboneTail>,
    /// The classifier head.
    pub head: HeadNet,
}

impl TrainNet {
    /// Class logits of cached rows (`shape` is one row's shape, see [`EmbeddingCache::shape`]).
    ///
    /// # Shapes
    /// - rows: `[batch, row_len]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, rows: Tensor<2>, shape: &[usize]) -> Tensor<2> {
        let features = match (&self.tail, shape) {
            (Some(tail), &[c, h, w]) => {
                let n = rows.dims()[0];
                tail.forward(rows.reshape([n, c, h, w]))
            }
            _ => rows,
        };
        self.head.forward(features)
    }
}

/// Metrics after one epoch, for a UI to chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f32,
    /// Training accuracy over the epoch's batches.
    pub accuracy: f32,
    /// Validation loss, when there is a validation split.
    pub val_loss: Option<f32>,
    /// Validation accuracy, when there is a validation split.
    pub val_accuracy: Option<f32>,
    /// Milliseconds since training started.
    pub elapsed_ms: f64,
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// Validation loss stopped improving.
    EarlyStopped,
    /// Cancelled: the result holds the best model so far.
    Cancelled,
}

/// A trained network and how training went.
#[derive(Debug)]
pub struct Trained {
    /// The network in inference mode (the best validation epoch's when there is a split).
    pub net: TrainNet,
    /// One report per finished epoch.
    pub history: Vec<EpochReport>,
    /// Why training ended.
    pub stop: StopReason,
    /// The epoch whose weights were kept (0 when cancelled before the first finished).
    pub best_epoch: usize,
    /// Mini-batch steps taken.
    pub batches: usize,
}

/// Rows to train on and to validate with (indices into the cache).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// Training rows.
    pub train: &'a [usize],
    /// Validation rows (may be empty).
    pub validation: &'a [usize],
}

/// Cached rows widened to f32 and normalized at once, at most: bounds the intermediates of a
/// large training set (16,000 spatial rows are 584 MB as f32).
pub(super) const ROWS_AT_ONCE: usize = 1024;

/// The rows `indices` of `cache` as the head reads them (normalized by `norm` when given),
/// built [`ROWS_AT_ONCE`] rows at a time.
///
/// # Shapes
/// - output: `[indices.len(), row_len]`
pub(super) fn head_inputs(
    cache: &EmbeddingCache,
    indices: &[usize],
    norm: Option<&FeatureNorm>,
    device: &Device,
) -> Tensor<2> {
    let mut chunks: Vec<Tensor<2>> = indices
        .chunks(ROWS_AT_ONCE)
        .map(|chunk| {
            let x = cache.tensor(chunk, device);
            match norm {
                Some(norm) => norm.forward(x),
                None => x,
            }
        })
        .collect();
    match chunks.len() {
        0 => cache.tensor(&[], device),
        1 => chunks.pop().expect("one chunk"),
        _ => Tensor::cat(chunks, 0),
    }
}

/// Summed loss and number of correct predictions of `logits`, detached.
fn batch_stats(logits: Tensor<2>, targets: Tensor<1, Int>, loss: Tensor<1>, n: usize) -> Tensor<1> {
    let correct = logits
        .argmax(1)
        .reshape([n])
        .equal(targets)
        .int()
        .sum()
        .float();
    Tensor::cat(vec![loss.mul_scalar(n as f32), correct], 0)
}

/// What the trainer's mini-batches are made of.
#[derive(Debug, Clone, Copy)]
pub enum HeadInputs<'a> {
    /// The cached rows, normalized (when there is a normalization) as each mini-batch is read
    /// from the f16 cache, so training holds no f32 copy of the training set.
    Rows(Option<&'a FeatureNorm>),
    /// The training rows' coordinates in their span (row `i` is `rows.train[i]`'s) and the
    /// validation rows' (see [`super::span`]).
    Span {
        /// `[rows.train.len(), N]`.
        train: &'a Tensor<2>,
        /// `[rows.validation.len(), N]` (`None` without validation rows).
        validation: Option<&'a Tensor<2>>,
    },
}

/// Trains `net` (its head, and its tail in fine-tune mode) on `inputs` for the cache's `rows`,
/// on `device` (the plain device; autodiff is layered on here).
#[allow(clippy::too_many_arguments)]
pub async fn train(
    cache: &EmbeddingCache,
    rows: Rows<'_>,
    net: TrainNet,
    inputs: HeadInputs<'_>,
    config: &TrainConfig,
    device: &Device,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &CancelToken,
) -> Result<Trained, TrainError> {
    if rows.train.is_empty() {
        return Err(TrainError::Config("there is nothing to train on".into()));
    }
    let start = now_ms();
    let autodiff = Device::autodiff(device.clone());
    let mut net = TrainNet {
        tail: net.tail.map(|t| t.unfreeze().train()),
        head: net.head.train(),
    };
    let loss_fn = CrossEntropyLossConfig::new()
        .with_smoothing((config.label_smoothing > 0.0).then_some(config.label_smoothing))
        .init(&autodiff);
    let mut head_optimizer = Adam::new(device, config.weight_decay);
    let mut tail_optimizer = Adam::new(device, config.weight_decay);

    // An epoch visits every training sample once, each time through one of its views at random,
    // so the number of steps does not grow with the augmented views.
    let mut views_of: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut slot_of = std::collections::HashMap::new();
    for (position, &row) in rows.train.iter().enumerate() {
        let sample = cache.entries()[row].sample;
        let slot = *slot_of.entry(sample).or_insert_with(|| {
            views_of.push((sample, Vec::new()));
            views_of.len() - 1
        });
        views_of[slot].1.push(position);
    }
    let train_classes: Vec<usize> = views_of
        .iter()
        .map(|(_, p)| cache.entries()[rows.train[p[0]]].class)
        .collect();
    let mut view_rng = Rng::derive(config.seed, 1);
    let validation = match inputs {
        HeadInputs::Rows(norm) => {
            (!rows.validation.is_empty()).then(|| head_inputs(cache, rows.validation, norm, device))
        }
        HeadInputs::Span { validation, .. } => validation.cloned(),
    }
    .map(|x| (x, cache.classes(rows.validation, device)));
    let mut sampler = BalancedSampler::new(&train_classes, config.seed);
    let batch_size = config.batch_size.max(1);

    let mut history = Vec::new();
    let mut best: Option<(f32, usize, TrainNet)> = None;
    let (mut batches, mut last_yield) = (0, now_ms());
    let mut stop = StopReason::Completed;
    'epochs: for epoch in 1..=config.epochs {
        let mut totals: Option<Tensor<1>> = None;
        let draws: Vec<usize> = sampler
            .epoch(views_of.len())
            .into_iter()
            .map(|sample| {
                let views = &views_of[sample].1;
                views[view_rng.below(views.len())]
            })
            .collect();
        let mut seen = 0;
        for positions in draws.chunks(batch_size) {
            if cancel.is_cancelled() {
                stop = StopReason::Cancelled;
                break 'epochs;
            }
            let n = positions.len();
            seen += n;
            let batch: Vec<usize> = positions.iter().map(|&p| rows.train[p]).collect();
            let x = Tensor::from_inner(match inputs {
                HeadInputs::Rows(norm) => head_inputs(cache, &batch, norm, device),
                HeadInputs::Span { train, .. } => super::span::select(train, positions),
            });
            let y = cache.classes(&batch, &autodiff);
            let logits = net.forward(x, &cache.shape);
            let loss = loss_fn.forward(logits.clone(), y.clone());
            let stats = batch_stats(logits.detach(), y, loss.clone().detach(), n);
            totals = Some(match totals {
                Some(t) => t + stats,
                None => stats,
            });
            let mut grads = loss.backward();
            let head_grads = GradientsParams::from_module(&mut grads, &net.head);
            if let Some(tail) = net.tail.take() {
                let tail_grads = GradientsParams::from_module(&mut grads, &tail);
                let rate = config.learning_rate * config.finetune_learning_rate_factor;
                net.tail = Some(tail_optimizer.step(rate, tail, tail_grads).await?);
            }
            net.head = head_optimizer
                .step(config.learning_rate, net.head, head_grads)
                .await?;
            batches += 1;
            if now_ms() - last_yield > YIELD_EVERY_MS {
                yield_now().await;
                last_yield = now_ms();
            }
        }
        let Some(totals) = totals else { break };
        let totals = read(totals).await?;
        let count = seen as f32;
        let mut report = EpochReport {
            epoch,
            loss: totals[0] / count,
            accuracy: totals[1] / count,
            val_loss: None,
            val_accuracy: None,
            elapsed_ms: now_ms() - start,
        };
        let snapshot = net.valid();
        if let Some((x, y)) = &validation {
            let n = rows.validation.len();
            let logits = snapshot.forward(x.clone(), &cache.shape);
            let loss = loss_fn.forward(logits.clone(), y.clone());
            let totals = read(batch_stats(logits, y.clone(), loss, n)).await?;
            report.val_loss = Some(totals[0] / n as f32);
            report.val_accuracy = Some(totals[1] / n as f32);
        }
        progress(&report);
        let score = report.val_loss.unwrap_or(report.loss);
        let improved = best
            .as_ref()
            .is_none_or(|(best_score, _, _)| score < best_score - 1e-4);
        if improved || validation.is_none() {
            best = Some((score, epoch, snapshot));
        }
        history.push(report);
        let since_best = epoch - best.as_ref().map_or(0, |b| b.1);
        if validation.is_some() && config.patience > 0 && since_best >= config.patience {
            stop = StopReason::EarlyStopped;
            break;
        }
    }
    let (best_epoch, net) = match best {
        Some((_, epoch, net)) => (epoch, net),
        None => (0, net.valid()),
    };
    Ok(Trained {
        net,
        history,
        stop,
        best_epoch,
        batches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::Entry;

    /// The values of `tensor`.
    fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
        tensor
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32 values")
    }

    /// The largest absolute difference between `a` and `b`.
    fn worst(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn chunked_normalization_equals_one_pass() {
        let device = Device::flex();
        let (width, rows) = (6, ROWS_AT_ONCE + 300);
        let mut cache = EmbeddingCache::new(vec![width]);
        let entries: Vec<Entry> = (0..rows)
            .map(|sample| Entry {
                sample,
                class: 0,
                view: 0,
            })
            .collect();
        let raw: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 7919) % 103) as f32 / 10.0 - 5.0)
            .collect();
        cache.push(&entries, &raw);
        let all: Vec<usize> = (0..rows).collect();
        let whole = FeatureNorm::fit_rooted([FeatureNorm::root(cache.tensor(&all, &device))], 2);
        let chunked = FeatureNorm::fit_rooted(
            all.chunks(ROWS_AT_ONCE)
                .map(|chunk| FeatureNorm::root(cache.tensor(chunk, &device))),
            2,
        );
        assert!(
            worst(&values(whole.mean.val()), &values(chunked.mean.val())) < 1e-5,
            "the same mean"
        );
        let expected = values(whole.forward(cache.tensor(&all, &device)));
        let inputs = values(head_inputs(&cache, &all, Some(&chunked), &device));
        assert_eq!(inputs.len(), rows * width);
        assert!(
            worst(&expected, &inputs) < 1e-5,
            "chunked rows equal rows normalized at once"
        );
        assert_eq!(values(head_inputs(&cache, &[], None, &device)).len(), 0);
    }
}
