//! VGG16 (Simonyan & Zisserman, 2014; configuration "D"): 13 3x3 convolutions in five stages,
//! each closed by a 2x2 max pool, then three dense layers; the layout of torchvision's `vgg16`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::{adaptive_avg_pool2d, max_pool2d};
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::blocks::global_avg_pool;

/// Output channels of each stage's convolutions.
const STAGES: [&[usize]; 5] = [
    &[64, 64],
    &[128, 128],
    &[256, 256, 256],
    &[512, 512, 512],
    &[512, 512, 512],
];
/// Side of the grid the classifier reads (torchvision's `AdaptiveAvgPool2d((7, 7))`).
const GRID: usize = 7;
/// Width of the hidden dense layers.
const HIDDEN: usize = 4096;
/// Largest dense weight block: WebGPU guarantees storage bindings of 128 MiB (lavapipe's limit
/// too), and the first dense weight is 392 MiB.
const MAX_BLOCK_BYTES: usize = 128 << 20;

/// Configuration of [`Vgg16`].
#[derive(Config, Debug)]
pub struct Vgg16Config {
    /// Classifier outputs (1000 ImageNet classes).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Whether `features` is the textbook flatten of the 7x7x512 grid (25,088 values) instead
    /// of its global average (512).
    #[config(default = false)]
    pub flatten: bool,
}

/// Convolutions with ReLU, then a 2x2 max pool.
#[derive(Module, Debug)]
pub struct Vgg16Stage {
    /// 3x3 convolutions with padding 1.
    pub convs: Vec<Conv2d>,
}

/// A dense layer with its weight stored as blocks of consecutive input rows, each at most
/// 128 MiB: `y = x[rows of block 0] W_0 + x[rows of block 1] W_1 + ... + bias`.
#[derive(Module, Debug)]
pub struct BlockLinear {
    /// The blocks, in input order; only the first has a bias.
    pub blocks: Vec<Linear>,
}

impl BlockLinear {
    /// A `d_in` → `d_out` layer with random weights, split into as few equal blocks as fit.
    pub fn init(d_in: usize, d_out: usize, device: &Device) -> Self {
        let count = (d_in * d_out * 4).div_ceil(MAX_BLOCK_BYTES);
        let rows = d_in.div_ceil(count);
        let blocks = (0..d_in)
            .step_by(rows)
            .map(|start| {
                LinearConfig::new(rows.min(d_in - start), d_out)
                    .with_bias(start == 0)
                    .init(device)
            })
            .collect();
        Self { blocks }
    }

    /// # Shapes
    /// - x: `[batch, d_in]`
    /// - output: `[batch, d_out]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let mut start = 0;
        let mut y: Option<Tensor<2>> = None;
        for block in &self.blocks {
            let rows = block.weight.dims()[0];
            let part = block.forward(x.clone().slice([0..batch, start..start + rows]));
            y = Some(match y {
                Some(y) => y + part,
                None => part,
            });
            start += rows;
        }
        y.expect("a dense layer has at least one block")
    }
}

/// VGG16: five convolution stages, pooled embedding, three dense layers.
#[derive(Module, Debug)]
pub struct Vgg16 {
    /// The convolutional base (torchvision's `features`).
    pub stages: Vec<Vgg16Stage>,
    /// The dense layers 25,088 → 4096 → 4096 → classes (torchvision's `classifier.{0,3,6}`).
    pub classifier: Vec<BlockLinear>,
    /// Whether `features` flattens the grid (see [`Vgg16Config::flatten`]).
    #[module(skip)]
    pub flatten: bool,
}

/// The trainable end of a [`Vgg16`]: its last stages.
#[derive(Module, Debug)]
pub struct Vgg16Tail {
    /// The last stages.
    pub stages: Vec<Vgg16Stage>,
    /// Whether the embedding flattens the grid.
    #[module(skip)]
    pub flatten: bool,
}

impl Vgg16Config {
    /// Initializes a [`Vgg16`] with random weights.
    pub fn init(&self, device: &Device) -> Vgg16 {
        let mut c_in = 3;
        let stages = STAGES
            .iter()
            .map(|channels| {
                let convs = channels
                    .iter()
                    .map(|&c_out| {
                        let conv = Conv2dConfig::new([c_in, c_out], [3, 3])
                            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                            .init(device);
                        c_in = c_out;
                        conv
                    })
                    .collect();
                Vgg16Stage { convs }
            })
            .collect();
        let classifier = [
            (c_in * GRID * GRID, HIDDEN),
            (HIDDEN, HIDDEN),
            (HIDDEN, self.num_classes),
        ]
        .iter()
        .map(|&(d_in, d_out)| BlockLinear::init(d_in, d_out, device))
        .collect();
        Vgg16 {
            stages,
            classifier,
            flatten: self.flatten,
        }
    }
}

impl Vgg16Stage {
    /// # Shapes
    /// - input: `[batch, channels_in, height, width]`
    /// - output: `[batch, channels_out, height / 2, width / 2]` (rounded down)
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for conv in &self.convs {
            x = relu(conv.forward(x));
        }
        max_pool2d(x, MaxPoolOptions::new([2, 2]))
    }
}

/// The 7x7 grid flattened channel-major, as torchvision's `torch.flatten(x, 1)`.
fn flatten_grid(x: Tensor<4>) -> Tensor<2> {
    let [batch, channels, _, _] = x.dims();
    adaptive_avg_pool2d(x, [GRID, GRID]).reshape([batch, channels * GRID * GRID])
}

/// The embedding of the last stage's output: global average or flattened grid.
fn embed(x: Tensor<4>, flatten: bool) -> Tensor<2> {
    if flatten {
        flatten_grid(x)
    } else {
        global_avg_pool(x)
    }
}

impl Vgg16Tail {
    /// Embedding from the activations [`Vgg16::prefix`] returns.
    ///
    /// # Shapes
    /// - x: `[batch, channels, h, w]`
    /// - output: `[batch, 512]`, or `[batch, 25088]` when flattening
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for stage in &self.stages {
            x = stage.forward(x);
        }
        embed(x, self.flatten)
    }
}

impl Vgg16 {
    /// Output of the convolutional base (`pool5`).
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`, ImageNet-normalized
    /// - output: `[batch, 512, height / 32, width / 32]`
    pub fn base(&self, images: Tensor<4>) -> Tensor<4> {
        self.prefix(images, 0)
    }

    /// Global-average-pooled `pool5` (512 values), or its flattened 7x7 grid (25,088 values)
    /// when configured so.
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`
    /// - output: `[batch, 512]` or `[batch, 25088]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        embed(self.base(images), self.flatten)
    }

    /// Activations entering the last `tail_stages` stages (for fine-tuning those stages).
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`
    /// - output: `[batch, channels, h, w]` of that cut point
    pub fn prefix(&self, images: Tensor<4>, tail_stages: usize) -> Tensor<4> {
        let cut = self.stages.len().saturating_sub(tail_stages);
        let mut x = images;
        for stage in &self.stages[..cut] {
            x = stage.forward(x);
        }
        x
    }

    /// A copy of the last `tail_stages` stages.
    pub fn tail(&self, tail_stages: usize) -> Vgg16Tail {
        let cut = self.stages.len().saturating_sub(tail_stages);
        Vgg16Tail {
            stages: self.stages[cut..].to_vec(),
            flatten: self.flatten,
        }
    }

    /// ImageNet logits: the flattened 7x7 grid through the three dense layers (ReLU between,
    /// dropout being the identity at inference).
    ///
    /// # Shapes
    /// - images: `[batch, 3, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = flatten_grid(self.base(images));
        let last = self.classifier.len() - 1;
        for (i, linear) in self.classifier.iter().enumerate() {
            x = linear.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        x
    }
}
