//! Running a pretrained backbone on images: embeddings and ImageNet top-k, read back through
//! [`crate::readback`].

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use serde::Serialize;

use crate::image::{RgbaView, preprocess};
use crate::readback::{DeviceError, read_rows};
use crate::weights::PretrainedBackbone;

/// One ImageNet class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageNetScore {
    /// Classifier output index.
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
}

impl PretrainedBackbone {
    /// Pooled embeddings of `images`, one row per image.
    pub async fn embed(
        &self,
        images: &[RgbaView<'_>],
        device: &Device,
    ) -> Result<Vec<Vec<f32>>, DeviceError> {
        let batch = preprocess(images, self.backbone.kind, device);
        read_rows(self.backbone.features(batch)).await
    }

    /// The `k` most probable ImageNet classes of each image, most probable first.
    pub async fn classify(
        &self,
        images: &[RgbaView<'_>],
        k: usize,
        device: &Device,
    ) -> Result<Vec<Vec<ImageNetScore>>, DeviceError> {
        let batch = preprocess(images, self.backbone.kind, device);
        let probabilities = read_rows(softmax(self.backbone.logits(batch), 1)).await?;
        Ok(probabilities.iter().map(|row| self.top_k(row, k)).collect())
    }

    fn top_k(&self, probabilities: &[f32], k: usize) -> Vec<ImageNetScore> {
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        order
            .into_iter()
            .take(k)
            .map(|index| ImageNetScore {
                index,
                label: self.info.labels.get(index).cloned().unwrap_or_default(),
                probability: probabilities[index],
            })
            .collect()
    }
}
