//! MobileNetV1 (Howard et al., 2017) with width multiplier 0.25 at 224 px, as in Keras
//! Applications and the TF.js transfer-learning demo.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::blocks::{ConvUnit, ConvUnitConfig, global_avg_pool};

/// Output channels (at width 1.0) and stride of the 13 depthwise-separable blocks.
const BLOCKS: [(usize, usize); 13] = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
];

/// Configuration of [`MobileNetV1`].
#[derive(Config, Debug)]
pub struct MobileNetV1Config {
    /// Width multiplier numerator over 4: 1 for MobileNetV1 0.25 (channels = base * quarters / 4).
    #[config(default = 1)]
    pub width_quarters: usize,
    /// Classifier outputs (1000 ImageNet classes).
    #[config(default = 1000)]
    pub num_classes: usize,
}

/// A depthwise 3x3 convolution followed by a pointwise 1x1 convolution, both with ReLU6.
#[derive(Module, Debug)]
pub struct DepthwiseSeparable {
    /// Depthwise 3x3 (`conv_dw_N`).
    pub depthwise: ConvUnit,
    /// Pointwise 1x1 (`conv_pw_N`).
    pub pointwise: ConvUnit,
}

/// MobileNetV1: stem, 13 depthwise-separable blocks, pooled embedding, classifier.
#[derive(Module, Debug)]
pub struct MobileNetV1 {
    /// 3x3 stride-2 convolution (`conv1`).
    pub stem: ConvUnit,
    /// Depthwise-separable blocks.
    pub blocks: Vec<DepthwiseSeparable>,
    /// ImageNet classifier (`conv_preds`, a 1x1 convolution on the pooled embedding).
    pub classifier: Linear,
}

impl MobileNetV1Config {
    /// Initializes a [`MobileNetV1`] with random weights.
    pub fn init(&self, device: &Device) -> MobileNetV1 {
        let width = |c: usize| c * self.width_quarters / 4;
        let stem_channels = width(32);
        let stem = ConvUnitConfig::new([3, stem_channels], 3)
            .with_stride(2)
            .init(device);
        let mut c_in = stem_channels;
        let blocks = BLOCKS
            .iter()
            .map(|&(c, stride)| {
                let c_out = width(c);
                let block = DepthwiseSeparable {
                    depthwise: ConvUnitConfig::depthwise(c_in, 3, stride).init(device),
                    pointwise: ConvUnitConfig::new([c_in, c_out], 1).init(device),
                };
                c_in = c_out;
                block
            })
            .collect();
        let classifier = LinearConfig::new(c_in, self.num_classes).init(device);
        MobileNetV1 {
            stem,
            blocks,
            classifier,
        }
    }
}

impl DepthwiseSeparable {
    /// Depthwise then pointwise convolution.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pointwise.forward(self.depthwise.forward(x))
    }
}

/// The trainable end of a [`MobileNetV1`]: its last blocks.
#[derive(Module, Debug)]
pub struct MobileNetV1Tail {
    /// The last depthwise-separable blocks.
    pub blocks: Vec<DepthwiseSeparable>,
}

impl MobileNetV1Tail {
    /// Pooled embedding from the activations [`MobileNetV1::prefix`] returns.
    ///
    /// # Shapes
    /// - x: `[batch, channels, h, w]`
    /// - output: `[batch, 256]` at width 0.25
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        global_avg_pool(x)
    }
}

impl MobileNetV1 {
    /// Global-average-pooled output of the last block (`conv_pw_13_relu`).
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`, normalized to [-1, 1]
    /// - output: `[batch, 256]` at width 0.25
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
        }
        global_avg_pool(x)
    }

    /// Activations entering the last `tail_blocks` blocks (for fine-tuning those blocks).
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`
    /// - output: `[batch, channels, h, w]` of that cut point
    pub fn prefix(&self, images: Tensor<4>, tail_blocks: usize) -> Tensor<4> {
        let cut = self.blocks.len().saturating_sub(tail_blocks);
        let mut x = self.stem.forward(images);
        for block in &self.blocks[..cut] {
            x = block.forward(x);
        }
        x
    }

    /// A copy of the last `tail_blocks` blocks.
    pub fn tail(&self, tail_blocks: usize) -> MobileNetV1Tail {
        let cut = self.blocks.len().saturating_sub(tail_blocks);
        MobileNetV1Tail {
            blocks: self.blocks[cut..].to_vec(),
        }
    }

    /// ImageNet logits.
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(self.features(images))
    }

    /// Every convolution in execution order, and the classifier, for weight import.
    pub(crate) fn layers_mut(&mut self) -> (Vec<&mut ConvUnit>, &mut Linear) {
        let mut units = vec![&mut self.stem];
        for block in &mut self.blocks {
            units.push(&mut block.depthwise);
            units.push(&mut block.pointwise);
        }
        (units, &mut self.classifier)
    }
}
