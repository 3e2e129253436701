//! A one-hidden-layer perceptron: Teachable Machine's head (Dense(100, relu) → Dense(C)), with
//! optional dropout.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::seeded_linear;
use crate::rng::Rng;

/// Configuration of an [`MlpHead`].
#[derive(Config, Debug)]
pub struct MlpHeadConfig {
    /// Embedding width.
    pub input: usize,
    /// Number of classes.
    pub classes: usize,
    /// Hidden units.
    #[config(default = 100)]
    pub hidden: usize,
    /// Dropout probability on the hidden layer while training.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

/// Dense(hidden, ReLU) → dropout → Dense(classes).
#[derive(Module, Debug)]
pub struct MlpHead {
    /// Embedding → hidden units.
    pub hidden: Linear,
    /// Dropout on the hidden units (training only).
    pub dropout: Dropout,
    /// Hidden units → logits.
    pub output: Linear,
}

impl MlpHeadConfig {
    /// A head with freshly initialized weights.
    pub fn init(&self, device: &Device) -> MlpHead {
        let mut rng = Rng::new(self.seed);
        MlpHead {
            hidden: seeded_linear(self.input, self.hidden, &mut rng, device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: seeded_linear(self.hidden, self.classes, &mut rng, device),
        }
    }
}

impl MlpHead {
    /// Class logits.
    ///
    /// # Shapes
    /// - x: `[batch, input]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output
            .forward(self.dropout.forward(relu(self.hidden.forward(x))))
    }
}
