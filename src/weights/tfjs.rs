//! Reads MobileNetV1 weights from a TF.js layers model (`model.json` + binary shards), folding
//! each Keras BatchNormalization into its convolution.

use std::collections::HashMap;

use serde::Deserialize;

use super::WeightsError;
use super::layers::{BatchNorm, ConvWeights, Dense, LinearWeights, f16s_le, f32s_le, named};

const FORMAT: &str = "TF.js layers";
/// Keras BatchNormalization's default epsilon, used when a layer does not state its own.
const DEFAULT_BN_EPS: f32 = 1e-3;
/// Depthwise-separable blocks of MobileNetV1 (`conv_dw_1` .. `conv_dw_13`).
const BLOCKS: usize = 13;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelJson {
    model_topology: serde_json::Value,
    weights_manifest: Vec<WeightGroup>,
}

#[derive(Deserialize)]
struct WeightGroup {
    paths: Vec<String>,
    weights: Vec<WeightSpec>,
}

#[derive(Deserialize)]
struct WeightSpec {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    #[serde(default)]
    quantization: Option<Quantization>,
}

/// TF.js weight quantization: `value = q * scale + min` for integer types, or plain float16.
#[derive(Deserialize)]
struct Quantization {
    dtype: String,
    #[serde(default)]
    scale: f32,
    #[serde(default)]
    min: f32,
}

/// Reads the convolutions (execution order) and the `conv_preds` classifier of a TF.js MobileNetV1.
/// `shard` returns the bytes of a weight file named in the manifest (relative to `model.json`).
pub fn read(
    model_json: &[u8],
    mut shard: impl FnMut(&str) -> Result<Vec<u8>, WeightsError>,
) -> Result<(Vec<ConvWeights>, LinearWeights), WeightsError> {
    let model: ModelJson =
        serde_json::from_slice(model_json).map_err(|e| WeightsError::Malformed {
            format: FORMAT,
            message: format!("model.json: {e}"),
        })?;
    let mut tensors = HashMap::new();
    for group in &model.weights_manifest {
        let mut bytes = Vec::new();
        for path in &group.paths {
            if path.contains("..") || path.starts_with('/') {
                return Err(WeightsError::Malformed {
                    format: FORMAT,
                    message: format!("weight path '{path}' leaves the model folder"),
                });
            }
            bytes.extend(shard(path)?);
        }
        let mut offset = 0;
        for spec in &group.weights {
            let (values, used) = decode(spec, &bytes[offset.min(bytes.len())..])?;
            offset += used;
            tensors.insert(
                spec.name.clone(),
                Dense::new(spec.name.clone(), spec.shape.clone(), values)?,
            );
        }
    }
    let eps = bn_epsilons(&model.model_topology);
    let weights = Weights { tensors, eps };
    // Keras Conv2D kernels are [kh, kw, in, out]; depthwise kernels are [kh, kw, in, 1].
    let mut convs = vec![weights.conv("conv1/kernel", &[3, 2, 0, 1], "conv1_bn")?];
    for i in 1..=BLOCKS {
        convs.push(weights.conv(
            &format!("conv_dw_{i}/depthwise_kernel"),
            &[2, 3, 0, 1],
            &format!("conv_dw_{i}_bn"),
        )?);
        convs.push(weights.conv(
            &format!("conv_pw_{i}/kernel"),
            &[3, 2, 0, 1],
            &format!("conv_pw_{i}_bn"),
        )?);
    }
    // `conv_preds` is a 1x1 convolution [1, 1, in, out] on the pooled features: Burn's [in, out].
    let kernel = weights.get("conv_preds/kernel", 4)?;
    let (d_in, d_out) = (kernel.shape[2], kernel.shape[3]);
    let weight = kernel.reshape(vec![d_in, d_out])?;
    Ok((
        convs,
        LinearWeights {
            weight,
            bias: weights.get("conv_preds/bias", 1)?,
        },
    ))
}

/// Decodes one weight from the start of `bytes`; returns its values and the bytes it used.
fn decode(spec: &WeightSpec, bytes: &[u8]) -> Result<(Vec<f32>, usize), WeightsError> {
    let count = spec
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| WeightsError::Malformed {
            format: FORMAT,
            message: format!(
                "weight '{}' has an overflowing shape {:?}",
                spec.name, spec.shape
            ),
        })?;
    let dtype = spec
        .quantization
        .as_ref()
        .map_or(spec.dtype.as_str(), |q| q.dtype.as_str());
    let size = match dtype {
        "float32" => 4,
        "float16" | "uint16" => 2,
        "uint8" => 1,
        other => {
            return Err(WeightsError::UnsupportedType {
                name: spec.name.clone(),
                dtype: other.into(),
            });
        }
    };
    let used = count
        .checked_mul(size)
        .filter(|&n| n <= bytes.len())
        .ok_or_else(|| WeightsError::Truncated {
            format: FORMAT,
            what: format!("weight '{}'", spec.name),
        })?;
    let raw = &bytes[..used];
    let (scale, min) = spec
        .quantization
        .as_ref()
        .map_or((1.0, 0.0), |q| (q.scale, q.min));
    let values = match dtype {
        "float32" => f32s_le(raw),
        "float16" => f16s_le(raw),
        "uint16" => raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as f32 * scale + min)
            .collect(),
        _ => raw.iter().map(|&q| q as f32 * scale + min).collect(),
    };
    Ok((values, used))
}

/// The `epsilon` of every BatchNormalization layer in the Keras topology, by layer name.
fn bn_epsilons(topology: &serde_json::Value) -> HashMap<String, f32> {
    let layers = topology
        .pointer("/model_config/config/layers")
        .and_then(|l| l.as_array());
    layers
        .into_iter()
        .flatten()
        .filter(|l| l["class_name"] == "BatchNormalization")
        .filter_map(|l| {
            Some((
                l["config"]["name"].as_str()?.to_string(),
                l["config"]["epsilon"].as_f64()? as f32,
            ))
        })
        .collect()
}

struct Weights {
    tensors: HashMap<String, Dense>,
    eps: HashMap<String, f32>,
}

impl Weights {
    fn get(&self, name: &str, rank: usize) -> Result<Dense, WeightsError> {
        named(&self.tensors, name, rank)
    }

    /// Kernel `kernel` permuted to Burn's `[out, in / groups, kh, kw]`, folded with BatchNorm `bn`.
    fn conv(&self, kernel: &str, perm: &[usize], bn: &str) -> Result<ConvWeights, WeightsError> {
        let weight = self.get(kernel, 4)?.permute(perm);
        let bn = BatchNorm {
            gamma: self.get(&format!("{bn}/gamma"), 1)?,
            beta: self.get(&format!("{bn}/beta"), 1)?,
            mean: self.get(&format!("{bn}/moving_mean"), 1)?,
            var: self.get(&format!("{bn}/moving_variance"), 1)?,
            eps: self.eps.get(bn).copied().unwrap_or(DEFAULT_BN_EPS),
        };
        ConvWeights::unbiased(weight).fold(&bn)
    }
}
