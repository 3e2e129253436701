//! The catalogue of supported backbones and what each expects as input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A supported pretrained backbone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackboneKind {
    /// MobileNetV2 1.0, 224 px, from TF-Lite (int8 weights, dequantized). The default.
    #[default]
    MobilenetV2,
    /// EfficientNet-Lite0, 224 px, float weights from EfficientNet-PyTorch.
    EfficientnetLite0,
    /// MobileNetV1 0.25, 224 px, float weights from the TF.js layers model.
    #[serde(rename = "mobilenet_v1_025")]
    MobilenetV1025,
    /// VGG16, 224 px, float weights from torchvision (brought by the user: 528 MB).
    Vgg16,
}

/// Per-channel normalization `value * scale[c] + offset[c]` of 0..=255 R, G, B values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Multiplier of the R, G and B channels.
    pub scale: [f32; 3],
    /// Added after scaling, per channel.
    pub offset: [f32; 3],
}

impl Normalization {
    /// The same `value * scale + offset` on every channel.
    pub const fn uniform(scale: f32, offset: f32) -> Self {
        Self {
            scale: [scale; 3],
            offset: [offset; 3],
        }
    }

    /// `(value / 255 - mean[c]) / std[c]`, torchvision's `Normalize` on 0..=1 inputs.
    pub fn mean_std(mean: [f32; 3], std: [f32; 3]) -> Self {
        Self {
            scale: std.map(|s| 1.0 / (255.0 * s)),
            offset: [0, 1, 2].map(|c| -mean[c] / std[c]),
        }
    }
}

impl BackboneKind {
    /// Every supported backbone, default first.
    pub const ALL: [BackboneKind; 4] = [
        Self::MobilenetV2,
        Self::EfficientnetLite0,
        Self::MobilenetV1025,
        Self::Vgg16,
    ];

    /// Stable identifier used by the CLI, the web API and file names.
    pub fn id(self) -> &'static str {
        match self {
            Self::MobilenetV2 => "mobilenet_v2",
            Self::EfficientnetLite0 => "efficientnet_lite0",
            Self::MobilenetV1025 => "mobilenet_v1_025",
            Self::Vgg16 => "vgg16",
        }
    }

    /// Human-readable name.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::MobilenetV2 => "MobileNetV2 1.0",
            Self::EfficientnetLite0 => "EfficientNet-Lite0",
            Self::MobilenetV1025 => "MobileNetV1 0.25",
            Self::Vgg16 => "VGG16",
        }
    }

    /// What a picker says beside the name: the default, the smallest, the opt-in giant.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Self::MobilenetV2 => Some("default"),
            Self::EfficientnetLite0 => None,
            Self::MobilenetV1025 => Some("smallest, fastest"),
            Self::Vgg16 => Some("textbook; large"),
        }
    }

    /// Whether its weights are brought by the user (too large to ship): offered only where they
    /// are served.
    pub fn opt_in(self) -> bool {
        self == Self::Vgg16
    }

    /// Square input resolution in pixels.
    pub fn input_size(self) -> usize {
        224
    }

    /// Most images one forward pass may take: every tensor must fit one WebGPU storage binding
    /// (128 MiB), and VGG16's first activations take 12.8 MB per image.
    pub fn max_batch(self) -> usize {
        match self {
            Self::Vgg16 => 8,
            Self::MobilenetV2 | Self::EfficientnetLite0 | Self::MobilenetV1025 => usize::MAX,
        }
    }

    /// Width of the pooled embedding returned by `features`.
    pub fn feature_dim(self) -> usize {
        match self {
            Self::MobilenetV2 | Self::EfficientnetLite0 => 1280,
            Self::MobilenetV1025 => 256,
            Self::Vgg16 => 512,
        }
    }

    /// Shape `[channels, h, w]` of the spatial map (see [`super::Features::Spatial`]), for the
    /// backbones that have one.
    pub fn spatial_shape(self) -> Option<[usize; 3]> {
        match self {
            Self::MobilenetV2 => Some([160, 7, 7]),
            Self::EfficientnetLite0 => Some([192, 7, 7]),
            Self::MobilenetV1025 | Self::Vgg16 => None,
        }
    }

    /// Number of ImageNet classes of the pretrained head.
    pub fn num_classes(self) -> usize {
        match self {
            Self::MobilenetV2 => 1001,
            Self::EfficientnetLite0 | Self::MobilenetV1025 | Self::Vgg16 => 1000,
        }
    }

    /// The model's own input normalization.
    pub fn normalization(self) -> Normalization {
        match self {
            // TF-Lite uint8 input q equals q / 127.5 - 1 in float; Keras `preprocess_input`
            // for MobileNet is the same.
            Self::MobilenetV2 | Self::MobilenetV1025 => Normalization::uniform(1.0 / 127.5, -1.0),
            // EfficientNet-Lite: (x - 127) / 128 (tensorflow/tpu efficientnet/lite).
            Self::EfficientnetLite0 => Normalization::uniform(1.0 / 128.0, -127.0 / 128.0),
            // torchvision's ImageNet statistics.
            Self::Vgg16 => Normalization::mean_std([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        }
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
        write!(
            f,
            "unknown backbone '{}' (expected one of: {})",
            self.0,
            known.join(", ")
        )
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
