//! Pretrained ImageNet backbones used as frozen feature extractors.

mod blocks;
mod cpu;
mod efficientnet_lite0;
mod inverted_residual_net;
mod kind;
mod mobilenet_v1;
mod mobilenet_v2;
mod padding;
mod rows;
mod vgg16;

pub use blocks::{ConvUnit, ConvUnitConfig, InvertedResidual, InvertedResidualConfig};
pub use efficientnet_lite0::{EfficientNetLite0, EfficientNetLite0Config};
pub use inverted_residual_net::{InvertedResidualNet, InvertedResidualTail};
pub use kind::{BackboneKind, Normalization, UnknownBackbone};
pub use mobilenet_v1::{DepthwiseSeparable, MobileNetV1, MobileNetV1Config, MobileNetV1Tail};
pub use mobilenet_v2::{MobileNetV2, MobileNetV2Config};
pub(crate) use padding::conv_pads;
pub use rows::{Features, RowKind, SPATIAL_CUT};
pub use vgg16::{BlockLinear, Vgg16, Vgg16Config, Vgg16Stage, Vgg16Tail};

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};

/// The network of a [`Backbone`].
#[derive(Module, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per model, never in a collection: boxing would only add an indirection"
)]
pub enum BackboneNet {
    /// MobileNetV2 or EfficientNet-Lite.
    InvertedResidual(InvertedResidualNet),
    /// MobileNetV1.
    MobileNetV1(MobileNetV1),
    /// VGG16.
    Vgg16(Vgg16),
}

/// The last blocks of a backbone, copied out to be fine-tuned (see [`Backbone::tail`]).
#[derive(Module, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per model, never in a collection: boxing would only add an indirection"
)]
pub enum BackboneTail {
    /// Of MobileNetV2 or EfficientNet-Lite.
    InvertedResidual(InvertedResidualTail),
    /// Of MobileNetV1.
    MobileNetV1(MobileNetV1Tail),
    /// Of VGG16 (its last stages).
    Vgg16(Vgg16Tail),
}

impl BackboneTail {
    /// Pooled embedding from the activations [`Backbone::prefix`] returns.
    ///
    /// # Shapes
    /// - x: `[batch, channels, h, w]`
    /// - output: `[batch, feature_dim]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Self::InvertedResidual(tail) => tail.forward(x),
            Self::MobileNetV1(tail) => tail.forward(x),
            Self::Vgg16(tail) => tail.forward(x),
        }
    }
}

/// A pretrained backbone: its kind (which fixes the input preprocessing) and its network.
#[derive(Debug)]
pub struct Backbone {
    /// Which backbone this is.
    pub kind: BackboneKind,
    /// The network, in inference mode.
    pub net: BackboneNet,
}

impl Backbone {
    /// A backbone of `kind` with random weights (to be replaced by loading a record).
    pub fn init(kind: BackboneKind, device: &Device) -> Self {
        let net = match kind {
            BackboneKind::MobilenetV2 => {
                BackboneNet::InvertedResidual(MobileNetV2Config::new().init(device))
            }
            BackboneKind::EfficientnetLite0 => {
                BackboneNet::InvertedResidual(EfficientNetLite0Config::new().init(device))
            }
            BackboneKind::MobilenetV1025 => {
                BackboneNet::MobileNetV1(MobileNetV1Config::new().init(device))
            }
            BackboneKind::Vgg16 => BackboneNet::Vgg16(Vgg16Config::new().init(device)),
        };
        Self { kind, net }
    }

    /// Pooled embedding of preprocessed images.
    ///
    /// # Shapes
    /// - images: `[batch, 3, size, size]` from [`crate::image::preprocess`]
    /// - output: `[batch, kind.feature_dim()]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        match &self.net {
            BackboneNet::InvertedResidual(net) => net.features(images),
            BackboneNet::MobileNetV1(net) => net.features(images),
            BackboneNet::Vgg16(net) => net.features(images),
        }
    }

    /// How many blocks [`Self::tail`] can take (VGG16: its five stages).
    pub fn num_blocks(&self) -> usize {
        match &self.net {
            BackboneNet::InvertedResidual(net) => net.blocks.len(),
            BackboneNet::MobileNetV1(net) => net.blocks.len(),
            BackboneNet::Vgg16(net) => net.stages.len(),
        }
    }

    /// Activations entering the last `tail_blocks` blocks; `tail(tail_blocks).forward` of them
    /// equals [`Self::features`].
    ///
    /// # Shapes
    /// - images: `[batch, 3, size, size]`
    /// - output: `[batch, channels, h, w]`
    pub fn prefix(&self, images: Tensor<4>, tail_blocks: usize) -> Tensor<4> {
        match &self.net {
            BackboneNet::InvertedResidual(net) => net.prefix(images, tail_blocks),
            BackboneNet::MobileNetV1(net) => net.prefix(images, tail_blocks),
            BackboneNet::Vgg16(net) => net.prefix(images, tail_blocks),
        }
    }

    /// A copy of the last `tail_blocks` blocks (and the head convolution, where there is one).
    pub fn tail(&self, tail_blocks: usize) -> BackboneTail {
        match &self.net {
            BackboneNet::InvertedResidual(net) => {
                BackboneTail::InvertedResidual(net.tail(tail_blocks))
            }
            BackboneNet::MobileNetV1(net) => BackboneTail::MobileNetV1(net.tail(tail_blocks)),
            BackboneNet::Vgg16(net) => BackboneTail::Vgg16(net.tail(tail_blocks)),
        }
    }

    /// ImageNet logits of preprocessed images.
    ///
    /// # Shapes
    /// - images: `[batch, 3, size, size]`
    /// - output: `[batch, kind.num_classes()]`
    pub fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        match &self.net {
            BackboneNet::InvertedResidual(net) => net.forward(images),
            BackboneNet::MobileNetV1(net) => net.forward(images),
            BackboneNet::Vgg16(net) => net.forward(images),
        }
    }

    /// Every convolution in execution order, and the classifier, for weight import; `None` for
    /// VGG16, whose weights are assigned by name (`weights::torchvision`).
    pub(crate) fn layers_mut(&mut self) -> Option<(Vec<&mut ConvUnit>, &mut Linear)> {
        match &mut self.net {
            BackboneNet::InvertedResidual(net) => Some(net.layers_mut()),
            BackboneNet::MobileNetV1(net) => Some(net.layers_mut()),
            BackboneNet::Vgg16(_) => None,
        }
    }
}
