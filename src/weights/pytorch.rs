//! Reads EfficientNet-Lite0 weights from an EfficientNet-PyTorch checkpoint (`.pth`, legacy or
//! zip format) through burn-store's PyTorch reader ([`Checkpoint`]), folding each BatchNorm into
//! its convolution.

use std::collections::HashMap;
use std::path::Path;

use super::WeightsError;
use super::checkpoint::Checkpoint;
use super::layers::{BatchNorm, ConvWeights, Dense, LinearWeights, named};

/// BatchNorm epsilon of EfficientNet-PyTorch (`batch_norm_epsilon = 1e-3`).
const BN_EPS: f32 = 1e-3;

/// Reads the convolutions (execution order) and the `_fc` classifier of an EfficientNet-Lite checkpoint.
pub fn read(path: &Path) -> Result<(Vec<ConvWeights>, LinearWeights), WeightsError> {
    layers(&tensors(path)?)
}

/// Every floating-point tensor of a PyTorch checkpoint, by name.
pub fn tensors(path: &Path) -> Result<HashMap<String, Dense>, WeightsError> {
    Checkpoint::open(path)?.read_all()
}

/// Maps EfficientNet-PyTorch tensor names onto the network's layers, folding BatchNorms.
pub fn layers(
    tensors: &HashMap<String, Dense>,
) -> Result<(Vec<ConvWeights>, LinearWeights), WeightsError> {
    let tensors = Named(tensors);
    let mut convs = vec![tensors.conv("_conv_stem", "_bn0")?];
    let blocks = (0..)
        .take_while(|i| tensors.has(&format!("_blocks.{i}._depthwise_conv.weight")))
        .count();
    for i in 0..blocks {
        let block = format!("_blocks.{i}");
        if tensors.has(&format!("{block}._expand_conv.weight")) {
            convs.push(tensors.conv(&format!("{block}._expand_conv"), &format!("{block}._bn0"))?);
        }
        convs.push(tensors.conv(
            &format!("{block}._depthwise_conv"),
            &format!("{block}._bn1"),
        )?);
        convs.push(tensors.conv(&format!("{block}._project_conv"), &format!("{block}._bn2"))?);
    }
    convs.push(tensors.conv("_conv_head", "_bn1")?);
    // PyTorch's Linear stores [out, in]; Burn's row layout is [in, out].
    let weight = tensors.dense("_fc.weight", 2)?.permute(&[1, 0]);
    Ok((
        convs,
        LinearWeights {
            weight,
            bias: tensors.dense("_fc.bias", 1)?,
        },
    ))
}

struct Named<'a>(&'a HashMap<String, Dense>);

impl Named<'_> {
    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn dense(&self, name: &str, rank: usize) -> Result<Dense, WeightsError> {
        named(self.0, name, rank)
    }

    /// Convolution `conv` (PyTorch's `[out, in / groups, kh, kw]` is Burn's layout) folded with `bn`.
    fn conv(&self, conv: &str, bn: &str) -> Result<ConvWeights, WeightsError> {
        let weight = self.dense(&format!("{conv}.weight"), 4)?;
        let bn = BatchNorm {
            gamma: self.dense(&format!("{bn}.weight"), 1)?,
            beta: self.dense(&format!("{bn}.bias"), 1)?,
            mean: self.dense(&format!("{bn}.running_mean"), 1)?,
            var: self.dense(&format!("{bn}.running_var"), 1)?,
            eps: BN_EPS,
        };
        ConvWeights::unbiased(weight).fold(&bn)
    }
}
