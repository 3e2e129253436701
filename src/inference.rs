//! Running a pretrained backbone on images: embeddings and ImageNet top-k. Reads results back
//! with `into_data_async`, the only readback that works on WebGPU in a browser.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use serde::Serialize;

use crate::device::readback_failed;
use crate::image::{RgbaView, preprocess};
use crate::weights::PretrainedBackbone;

/// One ImageNet class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Classifier output index.
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
}

/// Reads a 2-D tensor back to the host as rows.
pub async fn read_rows(tensor: Tensor<2>) -> Result<Vec<Vec<f32>>, String> {
    let [_, cols] = tensor.dims();
    let data = tensor.into_data_async().await.map_err(readback_failed)?;
    let values = data
        .try_to_vec::<f32>()
        .map_err(|e| format!("unexpected tensor data: {e:?}"))?;
    Ok(values.chunks(cols.max(1)).map(<[f32]>::to_vec).collect())
}

impl PretrainedBackbone {
    /// Pooled embeddings of `images`, one row per image.
    pub async fn embed(
        &self,
        images: &[RgbaView<'_>],
        device: &Device,
    ) -> Result<Vec<Vec<f32>>, String> {
        let batch = preprocess(images, self.backbone.kind, device);
        read_rows(self.backbone.features(batch)).await
    }

    /// The `k` most probable ImageNet classes of each image, most probable first.
    pub async fn classify(
        &self,
        images: &[RgbaView<'_>],
        k: usize,
        device: &Device,
    ) -> Result<Vec<Vec<Prediction>>, String> {
        let batch = preprocess(images, self.backbone.kind, device);
        let probabilities = read_rows(softmax(self.backbone.logits(batch), 1)).await?;
        Ok(probabilities.iter().map(|row| self.top_k(row, k)).collect())
    }

    fn top_k(&self, probabilities: &[f32], k: usize) -> Vec<Prediction> {
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        order
            .into_iter()
            .take(k)
            .map(|index| Prediction {
                index,
                label: self.info.labels.get(index).cloned().unwrap_or_default(),
                probability: probabilities[index],
            })
            .collect()
    }
}
