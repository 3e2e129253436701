//! Reads EfficientNet-Lite0 weights from an EfficientNet-PyTorch checkpoint (`.pth`, legacy or
//! zip format) through burn-store's PyTorch reader, folding each BatchNorm into its convolution.

use std::collections::HashMap;
use std::path::Path;

use burn::store::pytorch_reader::{DType, PytorchReader, Tensor as PtTensor};

use super::layers::{BatchNorm, ConvWeights, Dense, LinearWeights, f16s_le, f32s_le, named};
use super::WeightsError;

const FORMAT: &str = "PyTorch";
/// BatchNorm epsilon of EfficientNet-PyTorch (`batch_norm_epsilon = 1e-3`).
const BN_EPS: f32 = 1e-3;

/// Reads the convolutions (execution order) and the `_fc` classifier of an EfficientNet-Lite checkpoint.
pub fn read(path: &Path) -> Result<(Vec<ConvWeights>, LinearWeights), WeightsError> {
    layers(&tensors(path)?)
}

/// Every floating-point tensor of a PyTorch checkpoint, by name.
pub fn tensors(path: &Path) -> Result<HashMap<String, Dense>, WeightsError> {
    if !path.exists() {
        let source = std::io::ErrorKind::NotFound.into();
        return Err(WeightsError::Io { path: path.display().to_string(), source });
    }
    let reader = PytorchReader::new(path).map_err(|e| WeightsError::Malformed { format: FORMAT, message: e.to_string() })?;
    let mut tensors = HashMap::new();
    for (name, tensor) in reader.into_tensors() {
        if matches!(tensor.dtype(), DType::F32 | DType::F64 | DType::F16) {
            tensors.insert(name.clone(), dense(&name, &tensor)?);
        }
    }
    Ok(tensors)
}

/// Maps EfficientNet-PyTorch tensor names onto the network's layers, folding BatchNorms.
pub fn layers(tensors: &HashMap<String, Dense>) -> Result<(Vec<ConvWeights>, LinearWeights), WeightsError> {
    let tensors = Checkpoint(tensors);
    let mut convs = vec![tensors.conv("_conv_stem", "_bn0")?];
    let blocks = (0..).take_while(|i| tensors.has(&format!("_blocks.{i}._depthwise_conv.weight"))).count();
    for i in 0..blocks {
        let block = format!("_blocks.{i}");
        if tensors.has(&format!("{block}._expand_conv.weight")) {
            convs.push(tensors.conv(&format!("{block}._expand_conv"), &format!("{block}._bn0"))?);
        }
        convs.push(tensors.conv(&format!("{block}._depthwise_conv"), &format!("{block}._bn1"))?);
        convs.push(tensors.conv(&format!("{block}._project_conv"), &format!("{block}._bn2"))?);
    }
    convs.push(tensors.conv("_conv_head", "_bn1")?);
    // PyTorch's Linear stores [out, in]; Burn's row layout is [in, out].
    let weight = tensors.dense("_fc.weight", 2)?.permute(&[1, 0]);
    Ok((convs, LinearWeights { weight, bias: tensors.dense("_fc.bias", 1)? }))
}

fn dense(name: &str, tensor: &PtTensor) -> Result<Dense, WeightsError> {
    let bytes = tensor
        .read()
        .map_err(|e| WeightsError::Truncated { format: FORMAT, what: format!("tensor '{name}' ({e})") })?;
    let values = match tensor.dtype() {
        DType::F32 => f32s_le(&bytes),
        DType::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8 bytes")) as f32)
            .collect(),
        DType::F16 => f16s_le(&bytes),
        other => return Err(WeightsError::UnsupportedType { name: name.into(), dtype: format!("{other:?}") }),
    };
    Dense::new(name, tensor.shape().to_vec(), values)
}

struct Checkpoint<'a>(&'a HashMap<String, Dense>);

impl Checkpoint<'_> {
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
