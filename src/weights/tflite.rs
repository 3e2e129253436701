//! Reads MobileNetV2 weights from a TF-Lite flatbuffer: walks the graph's convolutions in
//! execution order and dequantizes their (int8/uint8, per-tensor or per-channel) weights and
//! (int32) biases with `(q - zero_point) * scale`. BatchNorm is already folded into the biases.

use super::WeightsError;
use super::flatbuffer::{self, Table};
use super::layers::{ConvWeights, Dense, LinearWeights, f16s_le, f32s_le};

const FORMAT: &str = "TF-Lite";

/// Builtin operator codes of the TF-Lite schema used here.
const CONV_2D: i32 = 3;
const DEPTHWISE_CONV_2D: i32 = 4;
const FULLY_CONNECTED: i32 = 9;

/// Tensor element types of the TF-Lite schema.
#[derive(Debug, Clone, Copy)]
enum TensorType {
    Float32,
    Float16,
    Int32,
    Uint8,
    Int8,
    Int16,
}

impl TensorType {
    fn from_code(code: i8) -> Option<Self> {
        Some(match code {
            0 => Self::Float32,
            1 => Self::Float16,
            2 => Self::Int32,
            3 => Self::Uint8,
            7 => Self::Int16,
            9 => Self::Int8,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::Float32 | Self::Int32 => 4,
            Self::Float16 | Self::Int16 => 2,
            Self::Uint8 | Self::Int8 => 1,
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

/// A parsed TF-Lite model: its buffers and the main subgraph.
struct Model<'a> {
    file: &'a [u8],
    buffers: flatbuffer::Vector<'a>,
    tensors: flatbuffer::Vector<'a>,
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
        let model = flatbuffer::root(file)?;
        let codes = model.vector(1)?;
        let opcodes = (0..codes.len())
            .map(|i| {
                let code = codes.table(i)?;
                // `builtin_code` (field 3) superseded the byte-sized field 0; the larger is valid.
                Ok(code.i32(3, 0)?.max(code.i8(0, 0)? as i32))
            })
            .collect::<Result<Vec<i32>, WeightsError>>()?;
        let subgraphs = model.vector(2)?;
        if subgraphs.len() == 0 {
            return Err(WeightsError::Malformed {
                format: FORMAT,
                message: "no subgraph".into(),
            });
        }
        let graph = subgraphs.table(0)?;
        let operators = graph.vector(3)?;
        let mut layers = Vec::new();
        for i in 0..operators.len() {
            let op = operators.table(i)?;
            let code = opcodes
                .get(op.u32(0, 0)? as usize)
                .copied()
                .ok_or_else(|| WeightsError::Malformed {
                    format: FORMAT,
                    message: format!("operator {i} names a missing operator code"),
                })?;
            let inputs = op.vector(1)?.i32s()?;
            let input = |k: usize| -> Result<usize, WeightsError> {
                inputs
                    .get(k)
                    .and_then(|&t| usize::try_from(t).ok())
                    .ok_or_else(|| WeightsError::Malformed {
                        format: FORMAT,
                        message: format!("operator {i} lacks input {k}"),
                    })
            };
            let layer = match code {
                CONV_2D => Layer::Conv {
                    weight: input(1)?,
                    bias: input(2)?,
                },
                DEPTHWISE_CONV_2D => Layer::Depthwise {
                    weight: input(1)?,
                    bias: input(2)?,
                },
                FULLY_CONNECTED => Layer::FullyConnected {
                    weight: input(1)?,
                    bias: input(2)?,
                },
                _ => continue,
            };
            layers.push(layer);
        }
        Ok(Self {
            file,
            buffers: model.vector(4)?,
            tensors: graph.vector(0)?,
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

    fn tensor(&self, index: usize) -> Result<Table<'a>, WeightsError> {
        if index >= self.tensors.len() {
            return Err(WeightsError::MissingTensor {
                name: format!("#{index}"),
            });
        }
        self.tensors.table(index)
    }

    fn tensor_name(&self, index: usize) -> Result<String, WeightsError> {
        self.tensor(index)?.string(3)
    }

    /// Tensor `index` as f32 values, dequantized; it must have `rank` dimensions.
    fn dense(&self, index: usize, rank: usize) -> Result<Dense, WeightsError> {
        let tensor = self.tensor(index)?;
        let name = tensor.string(3)?;
        let shape = tensor
            .vector(0)?
            .i32s()?
            .into_iter()
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
        let code = tensor.i8(1, 0)?;
        let dtype = TensorType::from_code(code).ok_or_else(|| WeightsError::UnsupportedType {
            name: name.clone(),
            dtype: format!("code {code}"),
        })?;
        let raw = self.buffer(tensor.u32(2, 0)? as usize, &name)?;
        let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if count.and_then(|c| c.checked_mul(dtype.size())) != Some(raw.len()) {
            return Err(WeightsError::Malformed {
                format: FORMAT,
                message: format!(
                    "tensor '{name}' of shape {shape:?} has {} bytes of {dtype:?}",
                    raw.len()
                ),
            });
        }
        let values = match dtype {
            TensorType::Float32 => f32s_le(raw),
            TensorType::Float16 => f16s_le(raw),
            _ => {
                let ints: Vec<i64> = match dtype {
                    TensorType::Int32 => raw
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                        .collect(),
                    TensorType::Int16 => raw
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                        .collect(),
                    TensorType::Uint8 => raw.iter().map(|&b| b as i64).collect(),
                    _ => raw.iter().map(|&b| b as i8 as i64).collect(),
                };
                dequantize(&tensor, &name, &shape, &ints)?
            }
        };
        Dense::new(name, shape, values)
    }

    /// The bytes of buffer `index`: inline data, or an offset/size into the file for large models.
    fn buffer(&self, index: usize, name: &str) -> Result<&'a [u8], WeightsError> {
        if index == 0 || index >= self.buffers.len() {
            return Err(WeightsError::MissingTensor {
                name: format!("{name} (no data buffer)"),
            });
        }
        let buffer = self.buffers.table(index)?;
        let data = buffer.vector(0)?;
        if data.len() > 0 {
            return data.bytes(1);
        }
        let (offset, size) = (buffer.u64(1, 0)?, buffer.u64(2, 0)?);
        usize::try_from(offset)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(o, s)| self.file.get(o..o.checked_add(s)?))
            .filter(|b| !b.is_empty())
            .ok_or_else(|| WeightsError::MissingTensor {
                name: format!("{name} (empty data buffer)"),
            })
    }
}

/// `(q - zero_point) * scale`, with one scale per tensor or per slice along the quantized dimension.
fn dequantize(
    tensor: &Table<'_>,
    name: &str,
    shape: &[usize],
    ints: &[i64],
) -> Result<Vec<f32>, WeightsError> {
    let malformed = |message: String| WeightsError::Malformed {
        format: FORMAT,
        message,
    };
    let quant = tensor.table(4)?.ok_or_else(|| {
        malformed(format!(
            "integer tensor '{name}' has no quantization parameters"
        ))
    })?;
    let scales = quant.vector(2)?.f32s()?;
    let zeros = quant.vector(3)?.i64s()?;
    let axis = quant.i32(6, 0)?;
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
    use crate::import::{assets_dir, upstream_file};

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
            model
                .tensor(weight)
                .unwrap()
                .field(2)
                .unwrap()
                .expect("the kernel names a buffer")
        };
        file[field..field + 4].copy_from_slice(&0u32.to_le_bytes());
        let err = read(&file).unwrap_err();
        assert!(matches!(err, WeightsError::MissingTensor { .. }), "{err}");
        assert!(err.to_string().ends_with("(no data buffer)'"), "{err}");
    }
}
