//! EfficientNet-Lite0 (Tan & Le, 2019; the "Lite" variant drops squeeze-excitation and uses
//! ReLU6), with the layout of lukemelas/EfficientNet-PyTorch.

use burn::config::Config;
use burn::tensor::Device;

use super::blocks::Stage;
use super::inverted_residual_net::{InvertedResidualNet, InvertedResidualSpec};

/// EfficientNet-Lite0: an [`InvertedResidualNet`] with EfficientNet-B0's block table.
pub type EfficientNetLite0 = InvertedResidualNet;

/// EfficientNet-B0 blocks (`r1_k3_s11_e1_i32_o16`, ...): expansion, kernel, stride, channels, repeats.
const STAGES: [Stage; 7] = [
    stage(1, 3, 1, 16, 1),
    stage(6, 3, 2, 24, 2),
    stage(6, 5, 2, 40, 2),
    stage(6, 3, 2, 80, 3),
    stage(6, 5, 1, 112, 3),
    stage(6, 5, 2, 192, 4),
    stage(6, 3, 1, 320, 1),
];

const fn stage(
    expansion: usize,
    kernel_size: usize,
    stride: usize,
    channels: usize,
    repeats: usize,
) -> Stage {
    Stage {
        expansion,
        kernel_size,
        stride,
        channels,
        repeats,
    }
}

/// Configuration of [`EfficientNetLite0`].
#[derive(Config, Debug)]
pub struct EfficientNetLite0Config {
    /// Classifier outputs (1000 ImageNet classes).
    #[config(default = 1000)]
    pub num_classes: usize,
}

impl EfficientNetLite0Config {
    /// Initializes an [`EfficientNetLite0`] with random weights.
    pub fn init(&self, device: &Device) -> EfficientNetLite0 {
        InvertedResidualSpec {
            stem_channels: 32,
            stages: &STAGES,
            head_channels: 1280,
            num_classes: self.num_classes,
        }
        .init(device)
    }
}
