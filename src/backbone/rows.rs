//! What a backbone hands the head stage: one row per image, either the pooled embedding, the
//! pooled embedding with the spatial map beneath it, or (fine-tune mode) the activations
//! entering the trainable tail.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{Backbone, BackboneKind, BackboneNet};

use crate::names::UnknownName;

/// Blocks between the spatial map and the pooled embedding: the map is the activation
/// entering the backbone's last two blocks (MobileNetV2: 160 × 7 × 7).
pub const SPATIAL_CUT: usize = 2;

/// Which backbone outputs a head reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Features {
    /// The global-average-pooled embedding.
    Pooled,
    /// The pooled embedding and the 7 × 7 map two blocks before it, where the backbone has one
    /// (the MobileNetV2 family); pooled elsewhere. Few-shot accuracy is several points higher.
    Spatial,
}

impl Features {
    /// Stable identifier: `pooled` or `spatial`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Pooled => "pooled",
            Self::Spatial => "spatial",
        }
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Features {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pooled" => Ok(Self::Pooled),
            "spatial" => Ok(Self::Spatial),
            _ => Err(UnknownName {
                what: "features",
                name: s.to_string(),
                expected: "pooled or spatial",
            }),
        }
    }
}

/// The rows a classifier's head stage takes from the backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowKind {
    /// Pooled embeddings, `[feature_dim]`.
    Pooled,
    /// The pooled embedding, then the spatial map flattened, `[feature_dim + c·h·w]`.
    Spatial,
    /// The activations entering the last `n` blocks, `[c, h, w]`, for fine-tuning them.
    TailInput(usize),
}

impl RowKind {
    /// The rows for `features` on `kind` with `tail_blocks` fine-tuned blocks: the tail's input
    /// when fine-tuning, spatial only where the backbone has a spatial map.
    pub fn of(kind: BackboneKind, features: Features, tail_blocks: usize) -> Self {
        if tail_blocks > 0 {
            Self::TailInput(tail_blocks)
        } else if features == Features::Spatial && kind.spatial_shape().is_some() {
            Self::Spatial
        } else {
            Self::Pooled
        }
    }

    /// The features these rows carry into the head.
    pub fn features(self) -> Features {
        match self {
            Self::Spatial => Features::Spatial,
            Self::Pooled | Self::TailInput(_) => Features::Pooled,
        }
    }

    /// Blocks fine-tuned on these rows.
    pub fn tail_blocks(self) -> usize {
        match self {
            Self::TailInput(n) => n,
            Self::Pooled | Self::Spatial => 0,
        }
    }

    /// How many of the backbone's last blocks run after the point these rows are taken from
    /// (the spatial map's cut, or the fine-tuned tail's blocks).
    pub fn blocks_after(self) -> usize {
        match self {
            Self::TailInput(blocks) => blocks,
            Self::Spatial => SPATIAL_CUT,
            Self::Pooled => 0,
        }
    }

    /// Width of what the head reads (after any fine-tuned tail).
    pub fn head_input(self, kind: BackboneKind) -> usize {
        let map = match (self, kind.spatial_shape()) {
            (Self::Spatial, Some(shape)) => shape.iter().product(),
            _ => 0,
        };
        kind.feature_dim() + map
    }
}

impl Backbone {
    /// Rows of `kind` for preprocessed images, with one row's shape.
    ///
    /// # Shapes
    /// - images: `[batch, 3, size, size]`
    /// - output: `[batch, row_len]`
    pub fn rows(&self, images: Tensor<4>, kind: RowKind) -> (Tensor<2>, Vec<usize>) {
        match (kind, &self.net) {
            (RowKind::TailInput(blocks), _) => {
                let activations = self.prefix(images, blocks);
                let [n, c, h, w] = activations.dims();
                (activations.reshape([n, c * h * w]), vec![c, h, w])
            }
            (RowKind::Spatial, BackboneNet::InvertedResidual(net)) => {
                let (pooled, map) = net.features_and_map(images, SPATIAL_CUT);
                let [n, c, h, w] = map.dims();
                let rows = Tensor::cat(vec![pooled, map.reshape([n, c * h * w])], 1);
                let width = rows.dims()[1];
                (rows, vec![width])
            }
            _ => {
                let features = self.features(images);
                let width = features.dims()[1];
                (features, vec![width])
            }
        }
    }
}
