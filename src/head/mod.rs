//! Classifier heads on top of the backbone's embedding: trainable linear and MLP heads, and an
//! instant cosine KNN that needs no training; spatial rows are normalized first.

mod knn;
mod linear;
mod mlp;
mod norm;

pub use knn::KnnHead;
pub use linear::{LinearHead, LinearHeadConfig};
pub use mlp::{MlpHead, MlpHeadConfig};
pub use norm::{FeatureNorm, SPATIAL_WEIGHT};

use std::fmt;
use std::str::FromStr;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

use crate::rng::Rng;

/// A dense layer initialized like PyTorch's (uniform in ±1/sqrt(input)) from our own seeded
/// generator, so training is reproducible whatever else uses Burn's global one.
fn seeded_linear(input: usize, output: usize, rng: &mut Rng, device: &Device) -> Linear {
    let bound = 1.0 / (input as f32).sqrt();
    let mut uniform = |n: usize| {
        (0..n)
            .map(|_| rng.range(-bound, bound))
            .collect::<Vec<f32>>()
    };
    let weight = Tensor::from_data(
        TensorData::new(uniform(input * output), [input, output]),
        device,
    );
    let bias = Tensor::from_data(TensorData::new(uniform(output), [output]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}
use serde::{Deserialize, Serialize};

use crate::names::UnknownName;

/// Which head to put on the backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// Softmax regression.
    Linear,
    /// Dense(hidden, ReLU) → Dense(classes), Teachable Machine's head.
    Mlp,
    /// Cosine k-nearest-neighbours: instant, no training.
    Knn,
}

impl HeadKind {
    /// Stable identifier: `linear`, `mlp` or `knn`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Mlp => "mlp",
            Self::Knn => "knn",
        }
    }
}

impl fmt::Display for HeadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for HeadKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linear" => Ok(Self::Linear),
            "mlp" => Ok(Self::Mlp),
            "knn" => Ok(Self::Knn),
            _ => Err(UnknownName {
                what: "head",
                name: s.to_string(),
                expected: "linear, mlp or knn",
            }),
        }
    }
}

/// Most classes a head tells apart.
pub const MAX_CLASSES: usize = 1000;
/// Most hidden units of the MLP head.
pub const MAX_HIDDEN: usize = 4096;

/// The head and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeadConfig {
    /// Which head.
    pub kind: HeadKind,
    /// Hidden units of the MLP head.
    pub hidden: usize,
    /// Dropout on the MLP's hidden units while training.
    pub dropout: f64,
    /// Neighbours that vote in KNN mode.
    pub k: usize,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self {
            kind: HeadKind::Mlp,
            hidden: 100,
            dropout: 0.0,
            k: 3,
        }
    }
}

impl HeadConfig {
    /// The default configuration of `kind`.
    pub fn of(kind: HeadKind) -> Self {
        Self {
            kind,
            ..Self::default()
        }
    }

    /// A freshly initialized trainable head (`None` for KNN, which is built from examples).
    pub fn init(
        &self,
        input: usize,
        classes: usize,
        seed: u64,
        device: &Device,
    ) -> Option<HeadNet> {
        match self.kind {
            HeadKind::Linear => Some(HeadNet::Linear(
                LinearHeadConfig::new(input, classes)
                    .with_seed(seed)
                    .init(device),
            )),
            HeadKind::Mlp => Some(HeadNet::Mlp(
                MlpHeadConfig::new(input, classes)
                    .with_hidden(self.hidden)
                    .with_dropout(self.dropout)
                    .with_seed(seed)
                    .init(device),
            )),
            HeadKind::Knn => None,
        }
    }
}

/// A trainable head.
#[derive(Module, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per model, never in a collection: boxing would only add an indirection"
)]
pub enum HeadNet {
    /// Softmax regression.
    Linear(LinearHead),
    /// One hidden layer.
    Mlp(MlpHead),
}

impl HeadNet {
    /// Class logits.
    ///
    /// # Shapes
    /// - x: `[batch, input]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Linear(head) => head.forward(x),
            Self::Mlp(head) => head.forward(x),
        }
    }
}
