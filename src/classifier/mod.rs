//! A trained few-shot classifier: the head (and, after fine-tuning, the backbone's last blocks)
//! on top of a pretrained backbone, with its labels and how it was made.

mod record;

pub use record::{ClassifierInfo, Preprocessing, RECORD_VERSION, info, load, save};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use crate::backbone::{Backbone, BackboneTail, RowKind};
use crate::device::readback_failed;
use crate::head::{FeatureNorm, HeadNet, KnnHead};
use crate::image::{RgbaView, preprocess};
use crate::inference::read_rows;

/// The classifying part of a classifier.
#[derive(Debug, Clone)]
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

/// Moves a tensor to `device`, reading it back asynchronously when the devices differ (a
/// blocking transfer from WebGPU would kill a browser page).
pub async fn transfer(tensor: Tensor<2>, device: &Device) -> Result<Tensor<2>, String> {
    if &tensor.device() == device {
        return Ok(tensor);
    }
    read_to(tensor, device).await
}

/// Reads a tensor back and uploads it to `device`, even when it is already there: the await
/// ends when every queued operation producing it has run.
pub async fn read_to(tensor: Tensor<2>, device: &Device) -> Result<Tensor<2>, String> {
    let shape = tensor.dims();
    let data = tensor.into_data_async().await.map_err(readback_failed)?;
    let values = data
        .try_to_vec::<f32>()
        .map_err(|e| format!("unexpected tensor data: {e:?}"))?;
    Ok(Tensor::from_data(TensorData::new(values, shape), device))
}

/// Copies a module's parameters onto `device`, reading them back asynchronously (Burn's
/// `to_device` reads synchronously, which a browser's WebGPU cannot do).
pub async fn module_to_device<M: Module>(module: M, device: &Device) -> Result<M, String> {
    struct Collect(Vec<(Tensor<1>, Vec<usize>)>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let shape = tensor.dims().to_vec();
            self.0
                .push((tensor.reshape([shape.iter().product::<usize>()]), shape));
        }
    }
    struct Replace(std::vec::IntoIter<TensorData>, Device);
    impl ModuleMapper for Replace {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            match self.0.next() {
                Some(data) => Param::from_tensor(Tensor::from_data(data, &self.1)),
                None => param,
            }
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    let mut values = Vec::with_capacity(collect.0.len());
    for (tensor, shape) in collect.0 {
        let data = tensor.into_data_async().await.map_err(readback_failed)?;
        values.push(TensorData::new(
            data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?,
            shape,
        ));
    }
    Ok(module.map(&mut Replace(values.into_iter(), device.clone())))
}

impl Classifier {
    /// A copy on `device` (see [`module_to_device`]).
    pub async fn to_device_async(&self, device: &Device) -> Result<Self, String> {
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
    ) -> Result<Vec<Vec<f32>>, String> {
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
    ) -> Result<(Tensor<2>, Vec<usize>), String> {
        if backbone.kind != self.info.backbone {
            return Err(format!(
                "this classifier was trained on {}, not {}",
                self.info.backbone, backbone.kind
            ));
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
    ) -> Result<Vec<Vec<f32>>, String> {
        let (rows, shape) = self.backbone_rows(backbone, images, backbone_device)?;
        self.probabilities_of_rows(rows, &shape).await
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
