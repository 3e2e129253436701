//! The catalogue of supported backbones and what each expects as input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A supported pretrained backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackboneKind {
    /// MobileNetV2 1.0, 224 px, from TF-Lite (int8 weights, dequantized). The default.
    MobilenetV2,
    /// EfficientNet-Lite0, 224 px, float weights from EfficientNet-PyTorch.
    EfficientnetLite0,
    /// MobileNetV1 0.25, 224 px, float weights from the TF.js layers model.
    #[serde(rename = "mobilenet_v1_025")]
    MobilenetV1025,
}

/// Per-pixel normalization `value * scale + offset` applied to 0..=255 RGB values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Multiplier.
    pub scale: f32,
    /// Added after scaling.
    pub offset: f32,
}

impl BackboneKind {
    /// Every supported backbone, default first.
    pub const ALL: [BackboneKind; 3] = [Self::MobilenetV2, Self::EfficientnetLite0, Self::MobilenetV1025];

    /// Stable identifier used by the CLI, the web API and file names.
    pub fn id(self) -> &'static str {
        match self {
            Self::MobilenetV2 => "mobilenet_v2",
            Self::EfficientnetLite0 => "efficientnet_lite0",
            Self::MobilenetV1025 => "mobilenet_v1_025",
        }
    }

    /// Human-readable name.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::MobilenetV2 => "MobileNetV2 1.0",
            Self::EfficientnetLite0 => "EfficientNet-Lite0",
            Self::MobilenetV1025 => "MobileNetV1 0.25",
        }
    }

    /// Square input resolution in pixels.
    pub fn input_size(self) -> usize {
        224
    }

    /// Width of the pooled embedding returned by `features`.
    pub fn feature_dim(self) -> usize {
        match self {
            Self::MobilenetV2 | Self::EfficientnetLite0 => 1280,
            Self::MobilenetV1025 => 256,
        }
    }

    /// Number of ImageNet classes of the pretrained head.
    pub fn num_classes(self) -> usize {
        match self {
            Self::MobilenetV2 => 1001,
            Self::EfficientnetLite0 | Self::MobilenetV1025 => 1000,
        }
    }

    /// The model's own input normalization.
    pub fn normalization(self) -> Normalization {
        match self {
            // TF-Lite uint8 input q equals q / 127.5 - 1 in float; Keras `preprocess_input`
            // for MobileNet is the same.
            Self::MobilenetV2 | Self::MobilenetV1025 => Normalization { scale: 1.0 / 127.5, offset: -1.0 },
            // EfficientNet-Lite: (x - 127) / 128 (tensorflow/tpu efficientnet/lite).
            Self::EfficientnetLite0 => Normalization { scale: 1.0 / 128.0, offset: -127.0 / 128.0 },
        }
    }
}

impl Default for BackboneKind {
    fn default() -> Self {
        Self::MobilenetV2
    }
}

impl fmt::Display for BackboneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Error for an unknown backbone identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBackbone(pub String);

impl fmt::Display for UnknownBackbone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<_> = BackboneKind::ALL.iter().map(|k| k.id()).collect();
        write!(f, "unknown backbone '{}' (expected one of: {})", self.0, known.join(", "))
    }
}

impl std::error::Error for UnknownBackbone {}

impl FromStr for BackboneKind {
    type Err = UnknownBackbone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.id() == s)
            .ok_or_else(|| UnknownBackbone(s.to_string()))
    }
}
