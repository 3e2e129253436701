//! MobileNetV2 1.0 at 224 px (Sandler et al., 2018), as exported to TF-Lite by TensorFlow.

use burn::config::Config;
use burn::tensor::Device;

use super::blocks::Stage;
use super::inverted_residual_net::{InvertedResidualNet, InvertedResidualSpec};

/// MobileNetV2: an [`InvertedResidualNet`] with the paper's architecture table.
pub type MobileNetV2 = InvertedResidualNet;

/// Table 2 of the MobileNetV2 paper: expansion t, output channels c, repeats n, stride s.
const STAGES: [Stage; 7] = [
    stage(1, 16, 1, 1),
    stage(6, 24, 2, 2),
    stage(6, 32, 3, 2),
    stage(6, 64, 4, 2),
    stage(6, 96, 3, 1),
    stage(6, 160, 3, 2),
    stage(6, 320, 1, 1),
];

const fn stage(expansion: usize, channels: usize, repeats: usize, stride: usize) -> Stage {
    Stage {
        expansion,
        kernel_size: 3,
        stride,
        channels,
        repeats,
    }
}

/// Configuration of [`MobileNetV2`] (width multiplier 1.0).
#[derive(Config, Debug)]
pub struct MobileNetV2Config {
    /// Classifier outputs: 1001 for the TF-Lite models (index 0 is "background").
    #[config(default = 1001)]
    pub num_classes: usize,
}

impl MobileNetV2Config {
    /// Initializes a [`MobileNetV2`] with random weights.
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        InvertedResidualSpec {
            stem_channels: 32,
            stages: &STAGES,
            head_channels: 1280,
            num_classes: self.num_classes,
        }
        .init(device)
    }
}
