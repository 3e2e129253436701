//! Reads MobileNetV2 weights from a TF-Lite flatbuffer: walks the graph's convolutions in
//! execution order and dequantizes their (int8/uint8, per-tensor or per-channel) weights and
//! (int32) biases with `(q - zero_point) * scale`. BatchNorm is already folded into the biases.
//!
//! The file is read through code that `flatc` generated from TF-Lite's own schema
//! (`third_party/tflite/`, see `scripts/tflite-schema.sh`), after the `flatbuffers` crate's
//! verifier has bounds-checked every table, vector and string the schema describes.

use flatbuffers::{ErrorTraceDetail, ForwardsUOffset, InvalidFlatbuffer, Vector, VerifierOptions};

use super::WeightsError;
use super::layers::{ConvWeights, Dense, LinearWeights, f16s_le, f32s_le};

use crate::tflite_schema::tflite::{self as fb, BuiltinOperator, TensorType};

const FORMAT: &str = "TF-Lite";

/// Bytes per element of the tensor types read here.
fn element_size(dtype: TensorType) -> Option<usize> {
    Some(match dtype {
        TensorType::FLOAT32 | TensorType::INT32 => 4,
        TensorType::FLOAT16 | TensorType::INT16 => 2,
        TensorType::UINT8 | TensorType::INT8 => 1,
        _ => return None,
    })
}

/// The verifier's complaint as an import error that names where in the file it is: the
/// tables and fields leading to the bad part (`buffers[3].data`, say).
fn invalid(error: InvalidFlatbuffer) -> WeightsError {
    let (trace, range) = match &error {
        InvalidFlatbuffer::RangeOutOfBounds { error_trace, .. } => (Some(error_trace), true),
        InvalidFlatbuffer::MissingRequiredField { error_trace, .. }
        | InvalidFlatbuffer::InconsistentUnion { error_trace, .. }
        | InvalidFlatbuffer::Utf8Error { error_trace, .. }
        | InvalidFlatbuffer::MissingNullTerminator { error_trace, .. }
        | InvalidFlatbuffer::Unaligned { error_trace, .. }
        | InvalidFlatbuffer::SignedOffsetOutOfBounds { error_trace, .. } => {
            (Some(error_trace), false)
        }
        _ => (None, false),
    };
    // The trace runs from the bad part out to the root.
    let path = trace.map(|t| {
        t.as_ref()
            .iter()
            .rev()
            .map(|detail| match detail {
                ErrorTraceDetail::TableField { field_name, .. } => format!(".{field_name}"),
                ErrorTraceDetail::VectorElement { index, .. } => format!("[{index}]"),
                ErrorTraceDetail::UnionVariant { variant, .. } => format!("({variant})"),
            })
            .collect::<String>()
    });
    let place = path
        .filter(|p| !p.is_empty())
        .map_or_else(|| "the model".to_string(), |p| format!("model{p}"));
    if range {
        WeightsError::Truncated {
            format: FORMAT,
            what: place,
        }
    } else {
        let message = error.to_string();
        let first = message
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.');
        WeightsError::Malformed {
            format: FORMAT,
            message: format!("{place}: {first}"),
        }
    }
}

/// A convolution-like operator of the graph.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layer {
    Conv { weight: usize, bias: usize },
    Depthwise { weight: usize, bias: usize },
    FullyConnected { weight: usize, bias: usize },
}

/// A verified TF-Lite model: its buffers, the main subgraph's tensors, and its layers.
struct Model<'a> {
    buffers: Vector<'a, ForwardsUOffset<fb::Buffer<'a>>>,
    tensors: Vector<'a, ForwardsUOffset<fb::Tensor<'a>>>,
    layers: Vec<Layer>,
}

/// Reads the convolutions (execution order) and the final classifier of a MobileNet-style
/// TF-Lite model.
pub fn read(file: &[u8]) -> Result<(Vec<ConvWeights>, LinearWeights), WeightsError> {
    let model = Model::parse(file)?;
    let (last, body) = model.layers.split_last().ok_or(WeightsError::Malformed {
        format: FORMAT,
        message: "no convolution in the graph".into(),
    })?;
    let convs = body
        .iter()
        .map(|&layer| model.conv(layer))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((convs, model.classifier(*last)?))
}

impl<'a> Model<'a> {
    fn parse(file: &'a [u8]) -> Result<Self, WeightsError> {
        if file.get(4..8) != Some(b"TFL3") {
            return Err(WeightsError::BadMagic {
                format: FORMAT,
                expected: "the identifier 'TFL3' at byte 4",
            });
        }
        let options = VerifierOptions {
            // Weights are large inline vectors; the default bound is 1 GiB.
            max_apparent_size: 1 << 31,
            ..VerifierOptions::default()
        };
        let model = fb::root_as_model_with_opts(&options, file).map_err(invalid)?;
        let malformed = |message: String| WeightsError::Malformed {
            format: FORMAT,
            message,
        };
        // `builtin_code` superseded the byte-sized `deprecated_builtin_code`; the larger is valid.
        let opcodes: Vec<BuiltinOperator> = model
            .operator_codes()
            .into_iter()
            .flatten()
            .map(|code| {
                let old = BuiltinOperator(code.deprecated_builtin_code() as i32);
                code.builtin_code().max(old)
            })
            .collect();
        let graph = model
            .subgraphs()
            .filter(|graphs| !graphs.is_empty())
            .ok_or_else(|| malformed("no subgraph".into()))?
            .get(0);
        let mut layers = Vec::new();
        for (i, op) in graph.operators().into_iter().flatten().enumerate() {
            let code = opcodes
                .get(op.opcode_index() as usize)
                .copied()
                .ok_or_else(|| malformed(format!("operator {i} names a missing operator code")))?;
            let inputs = op.inputs();
            let input = |k: usize| -> Result<usize, WeightsError> {
                inputs
                    .filter(|inputs| k < inputs.len())
                    .and_then(|inputs| usize::try_from(inputs.get(k)).ok())
                    .ok_or_else(|| malformed(format!("operator {i} lacks input {k}")))
            };
            let layer = match code {
                BuiltinOperator::CONV_2D => Layer::Conv {
                    weight: input(1)?,
                    bias: input(2)?,
                },
                BuiltinOperator::DEPTHWISE_CONV_2D => Layer::Depthwise {
                    weight: input(1)?,
                    bias: input(2)?,
                },
                BuiltinOperator::FULLY_CONNECTED => Layer::FullyConnected {
                    weight: input(1)?,
                    bias: input(2)?,
                },
                _ => continue,
            };
            layers.push(layer);
        }
        Ok(Self {
            buffers: model.buffers().unwrap_or_default(),
            tensors: graph.tensors().unwrap_or_default(),
            layers,
        })
    }

    /// A convolution in Burn's `[out, in / groups, kh, kw]` layout.
    fn conv(&self, layer: Layer) -> Result<ConvWeights, WeightsError> {
        let (weight, bias) = match layer {
            // TF-Lite conv kernels are [out, kh, kw, in].
            Layer::Conv { weight, bias } => (self.dense(weight, 4)?.permute(&[0, 3, 1, 2]), bias),
            // Depthwise kernels are [1, kh, kw, channels].
            Layer::Depthwise { weight, bias } => {
                (self.dense(weight, 4)?.permute(&[3, 0, 1, 2]), bias)
            }
            Layer::FullyConnected { weight, .. } => {
                let name = self.tensor_name(weight)?;
                return Err(WeightsError::Malformed {
                    format: FORMAT,
                    message: format!(
                        "fully-connected layer '{name}' inside the convolutional body"
                    ),
                });
            }
        };
        Ok(ConvWeights {
            weight,
            bias: self.dense(bias, 1)?,
        })
    }

    /// The classifier, from a 1x1 convolution `[out, 1, 1, in]` or a fully-connected `[out, in]`,
    /// in Burn's `[in, out]` layout.
    fn classifier(&self, layer: Layer) -> Result<LinearWeights, WeightsError> {
        let (weight, bias) = match layer {
            Layer::Conv { weight, bias } => {
                let w = self.dense(weight, 4)?;
                let (out, kh, kw, d_in) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
                if (kh, kw) != (1, 1) {
                    return Err(WeightsError::ShapeMismatch {
                        name: w.name,
                        expected: vec![out, 1, 1, d_in],
                        found: vec![out, kh, kw, d_in],
                    });
                }
                (w.reshape(vec![out, d_in])?, bias)
            }
            Layer::FullyConnected { weight, bias } => (self.dense(weight, 2)?, bias),
            Layer::Depthwise { weight, .. } => {
                let name = self.tensor_name(weight)?;
                return Err(WeightsError::Malformed {
                    format: FORMAT,
                    message: format!("the last layer '{name}' is depthwise, not a classifier"),
                });
            }
        };
        Ok(LinearWeights {
            weight: weight.permute(&[1, 0]),
            bias: self.dense(bias, 1)?,
        })
    }

    fn tensor(&self, index: usize) -> Result<fb::Tensor<'a>, WeightsError> {
        if index >= self.tensors.len() {
            return Err(WeightsError::MissingTensor {
                name: format!("#{index}"),
            });
        }
        Ok(self.tensors.get(index))
    }

    fn tensor_name(&self, index: usize) -> Result<String, WeightsError> {
        Ok(self.tensor(index)?.name().unwrap_or_default().to_string())
    }

    /// Tensor `index` as f32 values, dequantized; it must have `rank` dimensions.
    fn dense(&self, index: usize, rank: usize) -> Result<Dense, WeightsError> {
        let tensor = self.tensor(index)?;
        let name = tensor.name().unwrap_or_default().to_string();
        let shape = tensor
            .shape()
            .into_iter()
            .flatten()
            .map(|d| usize::try_from(d).ok())
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| WeightsError::Malformed {
                format: FORMAT,
                message: format!("tensor '{name}' has a negative dimension"),
            })?;
        if shape.len() != rank {
            return Err(WeightsError::ShapeMismatch {
                name,
                expected: vec![0; rank],
                found: shape,
            });
        }
        let dtype = tensor.type_();
        let size = element_size(dtype).ok_or_else(|| WeightsError::UnsupportedType {
            name: name.clone(),
            dtype: format!("{dtype:?}"),
        })?;
        let raw = self.buffer(tensor.buffer() as usize, &name)?;
        let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if count.and_then(|c| c.checked_mul(size)) != Some(raw.len()) {
            return Err(WeightsError::Malformed {
                format: FORMAT,
                message: format!(
                    "tensor '{name}' of shape {shape:?} has {} bytes of {dtype:?}",
                    raw.len()
                ),
            });
        }
        let values = match dtype {
            TensorType::FLOAT32 => f32s_le(raw),
            TensorType::FLOAT16 => f16s_le(raw),
            _ => {
                let ints: Vec<i64> = match dtype {
                    TensorType::INT32 => raw
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                        .collect(),
                    TensorType::INT16 => raw
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                        .collect(),
                    TensorType::UINT8 => raw.iter().map(|&b| b as i64).collect(),
                    _ => raw.iter().map(|&b| b as i8 as i64).collect(),
                };
                dequantize(tensor.quantization(), &name, &shape, &ints)?
            }
        };
        Dense::new(name, shape, values)
    }

    /// The bytes of buffer `index`, held in the flatbuffer itself.
    fn buffer(&self, index: usize, name: &str) -> Result<&'a [u8], WeightsError> {
        if index == 0 || index >= self.buffers.len() {
            return Err(WeightsError::MissingTensor {
                name: format!("{name} (no data buffer)"),
            });
        }
        self.buffers
            .get(index)
            .data()
            .map(|data| data.bytes())
            .filter(|bytes| !bytes.is_empty())
            .ok_or_else(|| WeightsError::MissingTensor {
                name: format!("{name} (empty data buffer)"),
            })
    }
}

/// `(q - zero_point) * scale`, with one scale per tensor or per slice along the quantized dimension.
fn dequantize(
    quantization: Option<fb::QuantizationParameters<'_>>,
    name: &str,
    shape: &[usize],
    ints: &[i64],
) -> Result<Vec<f32>, WeightsError> {
    let malformed = |message: String| WeightsError::Malformed {
        format: FORMAT,
        message,
    };
    let quant = quantization.ok_or_else(|| {
        malformed(format!(
            "integer tensor '{name}' has no quantization parameters"
        ))
    })?;
    let scales: Vec<f32> = quant.scale().into_iter().flatten().collect();
    let zeros: Vec<i64> = quant.zero_point().into_iter().flatten().collect();
    let axis = quant.quantized_dimension();
    let axis = usize::try_from(axis)
        .ok()
        .filter(|&a| a < shape.len().max(1));
    let channels = match scales.len() {
        0 => return Err(malformed(format!("integer tensor '{name}' has no scale"))),
        1 => 1,
        n => {
            let axis = axis.ok_or_else(|| {
                malformed(format!("tensor '{name}' has a bad quantized dimension"))
            })?;
            if shape.get(axis) != Some(&n) {
                return Err(malformed(format!(
                    "tensor '{name}' has {n} scales for dimension {axis} of {shape:?}"
                )));
            }
            n
        }
    };
    if !(zeros.is_empty() || zeros.len() == 1 || zeros.len() == channels) {
        return Err(malformed(format!(
            "tensor '{name}' has {} zero points for {channels} scales",
            zeros.len()
        )));
    }
    let inner: usize = axis.map_or(1, |a| shape[a + 1..].iter().product());
    Ok(ints
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let c = if channels == 1 {
                0
            } else {
                (i / inner) % channels
            };
            let zero = match zeros.len() {
                0 => 0,
                1 => zeros[0],
                _ => zeros[c],
            };
            (q - zero) as f32 * scales[c]
        })
        .collect())
}

#[cfg(all(test, feature = "pytorch"))]
mod tests {
    use super::*;
    use crate::backbone::BackboneKind;
    use crate::weights::assets::{assets_dir, upstream_file};

    #[test]
    fn a_kernel_without_data_is_a_missing_tensor() {
        let path = assets_dir().join(upstream_file(BackboneKind::MobilenetV2));
        let mut file =
            std::fs::read(&path).expect("run scripts/weights.sh to fetch the TF-Lite model");
        // Point the stem kernel at buffer 0, TF-Lite's "no data" sentinel.
        let field = {
            let model = Model::parse(&file).unwrap();
            let Layer::Conv { weight, .. } = model.layers[0] else {
                panic!("the stem is a convolution")
            };
            let table = model.tensor(weight).unwrap()._tab;
            let at = table.vtable().get(fb::Tensor::VT_BUFFER) as usize;
            assert!(at > 0, "the kernel names a buffer");
            table.loc() + at
        };
        file[field..field + 4].copy_from_slice(&0u32.to_le_bytes());
        let err = read(&file).unwrap_err();
        assert!(matches!(err, WeightsError::MissingTensor { .. }), "{err}");
        assert!(err.to_string().ends_with("(no data buffer)'"), "{err}");
    }
}
