//! Softmax regression on the embedding.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};

use super::seeded_linear;
use crate::rng::Rng;

/// Configuration of a [`LinearHead`].
#[derive(Config, Debug)]
pub struct LinearHeadConfig {
    /// Embedding width.
    pub input: usize,
    /// Number of classes.
    pub classes: usize,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

/// One dense layer from the embedding to class logits.
#[derive(Module, Debug)]
pub struct LinearHead {
    /// Embedding → logits.
    pub output: Linear,
}

impl LinearHeadConfig {
    /// A head with freshly initialized weights.
    pub fn init(&self, device: &Device) -> LinearHead {
        LinearHead {
            output: seeded_linear(self.input, self.classes, &mut Rng::new(self.seed), device),
        }
    }
}

impl LinearHead {
    /// Class logits.
    ///
    /// # Shapes
    /// - x: `[batch, input]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(x)
    }
}
