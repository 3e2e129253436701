//! The network shape shared by MobileNetV2 and EfficientNet-Lite: a strided stem, a stack of
//! inverted-residual blocks, a 1x1 head convolution, global average pooling and a linear
//! classifier.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::blocks::{
    ConvUnit, ConvUnitConfig, InvertedResidual, Stage, global_avg_pool, stage_blocks,
};

/// Architecture of an [`InvertedResidualNet`], filled in by a backbone's own config.
#[derive(Debug, Clone)]
pub(crate) struct InvertedResidualSpec {
    pub stem_channels: usize,
    pub stages: &'static [Stage],
    pub head_channels: usize,
    pub num_classes: usize,
}

/// Stem → inverted-residual blocks → 1x1 head → pooled embedding → classifier.
#[derive(Module, Debug)]
pub struct InvertedResidualNet {
    /// 3x3 stride-2 convolution on the RGB input.
    pub stem: ConvUnit,
    /// Inverted-residual blocks.
    pub blocks: Vec<InvertedResidual>,
    /// 1x1 convolution to the embedding width.
    pub head: ConvUnit,
    /// ImageNet classifier on the pooled embedding.
    pub classifier: Linear,
}

/// The trainable end of an [`InvertedResidualNet`]: its last blocks and head convolution.
#[derive(Module, Debug)]
pub struct InvertedResidualTail {
    /// The last inverted-residual blocks.
    pub blocks: Vec<InvertedResidual>,
    /// 1x1 convolution to the embedding width.
    pub head: ConvUnit,
}

impl InvertedResidualTail {
    /// Pooled embedding from the activations [`InvertedResidualNet::prefix`] returns.
    ///
    /// # Shapes
    /// - x: `[batch, channels, h, w]`
    /// - output: `[batch, head_channels]`
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        global_avg_pool(self.head.forward(x))
    }
}

impl InvertedResidualSpec {
    pub(crate) fn init(&self, device: &Device) -> InvertedResidualNet {
        let stem = ConvUnitConfig::new([3, self.stem_channels], 3)
            .with_stride(2)
            .init(device);
        let blocks = stage_blocks(self.stages, self.stem_channels)
            .iter()
            .map(|b| b.init(device))
            .collect::<Vec<_>>();
        let last = self
            .stages
            .last()
            .map_or(self.stem_channels, |s| s.channels);
        let head = ConvUnitConfig::new([last, self.head_channels], 1).init(device);
        let classifier = LinearConfig::new(self.head_channels, self.num_classes).init(device);
        InvertedResidualNet {
            stem,
            blocks,
            head,
            classifier,
        }
    }
}

impl InvertedResidualNet {
    /// Global-average-pooled embedding.
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`, normalized for this network
    /// - output: `[batch, head_channels]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
        }
        global_avg_pool(self.head.forward(x))
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

    /// The pooled embedding and the activations entering the last `cut` blocks (the spatial
    /// map), from one pass.
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`
    /// - output: `[batch, head_channels]` and `[batch, channels, h, w]` of the cut point
    pub fn features_and_map(&self, images: Tensor<4>, cut: usize) -> (Tensor<2>, Tensor<4>) {
        let map = self.prefix(images, cut);
        let mut x = map.clone();
        for block in &self.blocks[self.blocks.len().saturating_sub(cut)..] {
            x = block.forward(x);
        }
        (global_avg_pool(self.head.forward(x)), map)
    }

    /// A copy of the last `tail_blocks` blocks and the head convolution.
    pub fn tail(&self, tail_blocks: usize) -> InvertedResidualTail {
        let cut = self.blocks.len().saturating_sub(tail_blocks);
        InvertedResidualTail {
            blocks: self.blocks[cut..].to_vec(),
            head: self.head.clone(),
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
            units.extend(block.units_mut());
        }
        units.push(&mut self.head);
        (units, &mut self.classifier)
    }
}
