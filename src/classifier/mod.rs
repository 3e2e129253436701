//! A trained few-shot classifier: the head (and, after fine-tuning, the backbone's last blocks)
//! on top of a pretrained backbone, with its labels and how it was made.

mod error;
mod record;
pub mod unsure;

pub use error::ClassifierError;
pub use record::{ClassifierInfo, Preprocessing, RECORD_VERSION, info, load, save};

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use crate::backbone::{Backbone, BackboneTail, RowKind};
use crate::head::{FeatureNorm, HeadNet, KnnHead};
use crate::image::{RgbaView, preprocess};
use crate::readback::{DeviceError, module_to_device, read_rows, transfer};

/// The classifying part of a classifier.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per model, never in a collection: boxing would only add an indirection"
)]
pub enum Head {
    /// A trained linear or MLP head.
    Trained(HeadNet),
    /// Stored examples that vote.
    Knn(KnnHead),
}

/// One class and its probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassScore {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub label: String,
    /// Probability (vote share for KNN).
    pub probability: f32,
}

/// A classifier ready to predict, on the device it was trained or loaded on.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Labels, backbone, preprocessing and training settings.
    pub info: ClassifierInfo,
    /// Fine-tuned backbone blocks, replacing the backbone's own last blocks.
    pub tail: Option<BackboneTail>,
    /// The normalization of spatial rows.
    pub norm: Option<FeatureNorm>,
    /// The head.
    pub head: Head,
    /// Where the tail and head live.
    pub device: Device,
}

impl Classifier {
    /// A copy on `device` (see [`module_to_device`]).
    pub async fn to_device_async(&self, device: &Device) -> Result<Self, DeviceError> {
        let tail = match &self.tail {
            Some(tail) => Some(module_to_device(tail.clone(), device).await?),
            None => None,
        };
        let norm = match &self.norm {
            Some(norm) => Some(module_to_device(norm.clone(), device).await?),
            None => None,
        };
        let head = match &self.head {
            Head::Trained(head) => Head::Trained(module_to_device(head.clone(), device).await?),
            Head::Knn(knn) => Head::Knn(module_to_device(knn.clone(), device).await?),
        };
        Ok(Self {
            info: self.info.clone(),
            tail,
            norm,
            head,
            device: device.clone(),
        })
    }

    /// The backbone rows this classifier reads.
    pub fn rows(&self) -> RowKind {
        RowKind::of(
            self.info.backbone,
            self.info.features,
            self.info.tail_blocks,
        )
    }

    /// Class probabilities of backbone rows (see [`RowKind`]; tail inputs flattened to
    /// `[batch, channels * h * w]`, `shape` is one row's shape).
    pub async fn probabilities_of_rows(
        &self,
        rows: Tensor<2>,
        shape: &[usize],
    ) -> Result<Vec<Vec<f32>>, DeviceError> {
        let rows = transfer(rows, &self.device).await?;
        let features = match (&self.tail, shape) {
            (Some(tail), &[c, h, w]) => {
                let n = rows.dims()[0];
                tail.forward(rows.reshape([n, c, h, w]))
            }
            _ => rows,
        };
        let features = match &self.norm {
            Some(norm) => norm.forward(features),
            None => features,
        };
        match &self.head {
            Head::Trained(head) => read_rows(softmax(head.forward(features), 1)).await,
            Head::Knn(knn) => knn.probabilities(features).await,
        }
    }

    /// The rows this classifier's head stage takes for `images` (see [`Self::rows`]), running
    /// `backbone` on `backbone_device`, with one row's shape.
    pub fn backbone_rows(
        &self,
        backbone: &Backbone,
        images: &[RgbaView<'_>],
        backbone_device: &Device,
    ) -> Result<(Tensor<2>, Vec<usize>), ClassifierError> {
        if backbone.kind != self.info.backbone {
            return Err(ClassifierError::WrongBackbone {
                trained_on: self.info.backbone,
                given: backbone.kind,
            });
        }
        Ok(backbone.rows(
            preprocess(images, backbone.kind, backbone_device),
            self.rows(),
        ))
    }

    /// Class probabilities of images, running `backbone` on `backbone_device`.
    pub async fn probabilities(
        &self,
        backbone: &Backbone,
        images: &[RgbaView<'_>],
        backbone_device: &Device,
    ) -> Result<Vec<Vec<f32>>, ClassifierError> {
        let (rows, shape) = self.backbone_rows(backbone, images, backbone_device)?;
        Ok(self.probabilities_of_rows(rows, &shape).await?)
    }

    /// Every class with its probability, most probable first.
    pub fn ranked(&self, probabilities: &[f32]) -> Vec<ClassScore> {
        let mut scores: Vec<ClassScore> = probabilities
            .iter()
            .enumerate()
            .map(|(class, &probability)| ClassScore {
                class,
                label: self.info.labels.get(class).cloned().unwrap_or_default(),
                probability,
            })
            .collect();
        scores.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        scores
    }
}
