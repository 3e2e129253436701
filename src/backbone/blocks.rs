//! Building blocks shared by the MobileNet-family backbones. BatchNorm is folded into each
//! convolution's bias when weights are imported, so every unit is a biased convolution and an
//! optional ReLU6.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::relu6;
use burn::tensor::{Device, Tensor};

use super::cpu;

/// Configuration of a [`ConvUnit`].
#[derive(Config, Debug)]
pub struct ConvUnitConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Square kernel size.
    pub kernel_size: usize,
    /// Stride in both directions.
    #[config(default = 1)]
    pub stride: usize,
    /// Channel groups: `channels[0]` for a depthwise convolution.
    #[config(default = 1)]
    pub groups: usize,
    /// Whether ReLU6 follows the convolution (false for linear bottleneck projections).
    #[config(default = true)]
    pub relu6: bool,
}

/// A convolution with a (BatchNorm-folded) bias, optionally followed by ReLU6. It pads
/// TensorFlow's `SAME` way: output size `ceil(in / stride)`, an odd total pad putting the extra
/// row and column at the bottom and right. Every upstream model of the family was trained so,
/// EfficientNet-Lite0's PyTorch port included (its `Conv2dStaticSamePadding`).
#[derive(Module, Debug)]
pub struct ConvUnit {
    /// The convolution.
    pub conv: Conv2d,
    /// Whether ReLU6 follows.
    #[module(skip)]
    pub relu6: bool,
    /// The weights in integers, for the CPU's 1x1 kernel in wasm when they are int8.
    #[module(skip)]
    pub(crate) integers: cpu::IntegerWeights,
}

impl ConvUnitConfig {
    /// A depthwise unit over `channels` channels.
    pub fn depthwise(channels: usize, kernel_size: usize, stride: usize) -> Self {
        Self::new([channels, channels], kernel_size)
            .with_stride(stride)
            .with_groups(channels)
    }

    /// Initializes a [`ConvUnit`] with random weights.
    pub fn init(&self, device: &Device) -> ConvUnit {
        let k = self.kernel_size;
        let conv = Conv2dConfig::new(self.channels, [k, k])
            .with_stride([self.stride, self.stride])
            .with_groups(self.groups)
            .with_padding(PaddingConfig2d::Same)
            .with_bias(true)
            .init(device);
        ConvUnit {
            conv,
            relu6: self.relu6,
            integers: cpu::IntegerWeights::default(),
        }
    }
}

impl ConvUnit {
    /// # Shapes
    /// - input: `[batch, channels_in, height, width]`
    /// - output: `[batch, channels_out, height / stride, width / stride]` (rounded up)
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_add(x, None)
    }

    /// [`Self::forward`], then plus `residual` (of the output's shape) when there is one. On the
    /// CPU backend (see `cpu`) a 1x1 unit adds it as it writes its output.
    pub fn forward_add(&self, x: Tensor<4>, residual: Option<Tensor<4>>) -> Tensor<4> {
        if let Some(kernel) = cpu::kernel(&self.conv, &x) {
            return cpu::conv_unit(
                (&self.conv, self.relu6, &self.integers),
                kernel,
                x,
                residual,
            );
        }
        let y = self.conv.forward(x);
        let y = if self.relu6 { relu6(y) } else { y };
        match residual {
            Some(r) => y + r,
            None => y,
        }
    }
}

/// Configuration of an [`InvertedResidual`] block (MobileNetV2 / EfficientNet MBConv without
/// squeeze-excitation).
#[derive(Config, Debug)]
pub struct InvertedResidualConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Expansion ratio of the hidden layer; 1 means no expansion convolution.
    pub expansion: usize,
    /// Depthwise kernel size.
    pub kernel_size: usize,
    /// Depthwise stride.
    pub stride: usize,
}

/// Expand (1x1) → depthwise → linear project (1x1), with a skip connection when the shape
/// is unchanged.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    /// 1x1 expansion, absent when the expansion ratio is 1.
    pub expand: Option<ConvUnit>,
    /// Depthwise convolution.
    pub depthwise: ConvUnit,
    /// Linear 1x1 projection (no activation).
    pub project: ConvUnit,
    /// Whether the input is added to the output.
    #[module(skip)]
    pub residual: bool,
}

impl InvertedResidualConfig {
    /// Initializes an [`InvertedResidual`] block with random weights.
    pub fn init(&self, device: &Device) -> InvertedResidual {
        let [c_in, c_out] = self.channels;
        let hidden = c_in * self.expansion;
        let expand =
            (self.expansion != 1).then(|| ConvUnitConfig::new([c_in, hidden], 1).init(device));
        let depthwise =
            ConvUnitConfig::depthwise(hidden, self.kernel_size, self.stride).init(device);
        let project = ConvUnitConfig::new([hidden, c_out], 1)
            .with_relu6(false)
            .init(device);
        InvertedResidual {
            expand,
            depthwise,
            project,
            residual: self.stride == 1 && c_in == c_out,
        }
    }
}

impl InvertedResidual {
    /// # Shapes
    /// - input: `[batch, channels_in, height, width]`
    /// - output: `[batch, channels_out, height / stride, width / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = match &self.expand {
            Some(expand) => expand.forward(x.clone()),
            None => x.clone(),
        };
        let residual = self.residual.then_some(x);
        self.project
            .forward_add(self.depthwise.forward(h), residual)
    }

    /// The block's convolutions in execution order, for weight import.
    pub(crate) fn units_mut(&mut self) -> Vec<&mut ConvUnit> {
        let mut units: Vec<&mut ConvUnit> = self.expand.iter_mut().collect();
        units.push(&mut self.depthwise);
        units.push(&mut self.project);
        units
    }
}

/// One row of an inverted-residual architecture table: `repeats` blocks, the first with `stride`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stage {
    pub expansion: usize,
    pub kernel_size: usize,
    pub stride: usize,
    pub channels: usize,
    pub repeats: usize,
}

/// Expands an architecture table into block configurations, starting from `channels_in`.
pub(crate) fn stage_blocks(stages: &[Stage], channels_in: usize) -> Vec<InvertedResidualConfig> {
    let mut c_in = channels_in;
    let mut blocks = Vec::new();
    for s in stages {
        for i in 0..s.repeats {
            let stride = if i == 0 { s.stride } else { 1 };
            blocks.push(InvertedResidualConfig::new(
                [c_in, s.channels],
                s.expansion,
                s.kernel_size,
                stride,
            ));
            c_in = s.channels;
        }
    }
    blocks
}

/// Global average pooling: `[batch, channels, h, w]` → `[batch, channels]`.
pub(crate) fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [batch, channels, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([batch, channels])
}
