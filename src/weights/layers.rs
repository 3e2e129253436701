//! Framework-neutral layer weights: what every importer produces and what
//! [`assign`] maps onto a [`Backbone`], in execution order.

use std::collections::HashMap;

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use super::WeightsError;
use crate::backbone::Backbone;

/// A dense f32 tensor in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Name of the source tensor, for error messages.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

impl Dense {
    /// A named tensor; fails when the values do not fill the shape or are not finite.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> Result<Self, WeightsError> {
        let name = name.into();
        let count: usize = shape.iter().product();
        if count != values.len() {
            return Err(WeightsError::Malformed {
                format: "weights",
                message: format!(
                    "tensor '{name}' has {} values for shape {shape:?}",
                    values.len()
                ),
            });
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(WeightsError::NonFinite { name });
        }
        Ok(Self {
            name,
            shape,
            values,
        })
    }

    /// Fails unless the tensor has exactly `expected` dimensions.
    pub fn expect_shape(&self, expected: &[usize]) -> Result<(), WeightsError> {
        if self.shape != expected {
            return Err(WeightsError::ShapeMismatch {
                name: self.name.clone(),
                expected: expected.to_vec(),
                found: self.shape.clone(),
            });
        }
        Ok(())
    }

    /// Reorders dimensions: output dimension `i` is input dimension `perm[i]`.
    pub fn permute(self, perm: &[usize]) -> Self {
        let rank = self.shape.len();
        assert_eq!(
            perm.len(),
            rank,
            "permutation rank must match the tensor rank"
        );
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let mut in_strides = vec![1; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            in_strides[i] = in_strides[i + 1] * self.shape[i + 1];
        }
        let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
        let mut values = Vec::with_capacity(self.values.len());
        let mut index = vec![0usize; rank];
        for _ in 0..self.values.len() {
            let offset: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
            values.push(self.values[offset]);
            for d in (0..rank).rev() {
                index[d] += 1;
                if index[d] < shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Self {
            name: self.name,
            shape,
            values,
        }
    }

    /// The same values under another shape with as many elements.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Self, WeightsError> {
        if shape.iter().product::<usize>() != self.values.len() {
            return Err(WeightsError::ShapeMismatch {
                name: self.name,
                expected: shape,
                found: self.shape,
            });
        }
        Ok(Self { shape, ..self })
    }
}

/// Tensor `name` of `tensors`, which must have `rank` dimensions.
pub(crate) fn named(
    tensors: &HashMap<String, Dense>,
    name: &str,
    rank: usize,
) -> Result<Dense, WeightsError> {
    let tensor = tensors
        .get(name)
        .ok_or_else(|| WeightsError::MissingTensor { name: name.into() })?;
    if tensor.shape.len() != rank {
        return Err(WeightsError::ShapeMismatch {
            name: name.into(),
            expected: vec![0; rank],
            found: tensor.shape.clone(),
        });
    }
    Ok(tensor.clone())
}

/// Little-endian `f32` values of `bytes`.
pub(crate) fn f32s_le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Little-endian `f16` values of `bytes`, widened to `f32`.
pub(crate) fn f16s_le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

/// A convolution's kernel `[out, in / groups, kh, kw]` and bias `[out]`.
#[derive(Debug, Clone)]
pub struct ConvWeights {
    /// Kernel in Burn's layout.
    pub weight: Dense,
    /// Bias, one per output channel.
    pub bias: Dense,
}

/// A linear layer's weight `[in, out]` (Burn's row layout) and bias `[out]`.
#[derive(Debug, Clone)]
pub struct LinearWeights {
    /// Weight in Burn's layout.
    pub weight: Dense,
    /// Bias.
    pub bias: Dense,
}

/// Inference-time BatchNorm parameters, to fold into the preceding convolution.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    /// Scale (gamma).
    pub gamma: Dense,
    /// Shift (beta).
    pub beta: Dense,
    /// Running mean.
    pub mean: Dense,
    /// Running variance.
    pub var: Dense,
    /// Variance epsilon.
    pub eps: f32,
}

impl ConvWeights {
    /// Folds `bn` into this convolution: `w' = w * g / sqrt(v + eps)`,
    /// `b' = (b - mean) * g / sqrt(v + eps) + beta`.
    pub fn fold(mut self, bn: &BatchNorm) -> Result<Self, WeightsError> {
        let out = self.weight.shape[0];
        for p in [&bn.gamma, &bn.beta, &bn.mean, &bn.var] {
            p.expect_shape(&[out])?;
        }
        let per_out = self.weight.values.len() / out.max(1);
        for o in 0..out {
            let factor = bn.gamma.values[o] / (bn.var.values[o] + bn.eps).sqrt();
            for w in &mut self.weight.values[o * per_out..(o + 1) * per_out] {
                *w *= factor;
            }
            let b = &mut self.bias.values[o];
            *b = (*b - bn.mean.values[o]) * factor + bn.beta.values[o];
        }
        Ok(self)
    }

    /// A convolution without bias of its own (zeros), typically followed by [`Self::fold`].
    pub fn unbiased(weight: Dense) -> Self {
        let out = weight.shape[0];
        let bias = Dense {
            name: format!("{}:bias", weight.name),
            shape: vec![out],
            values: vec![0.0; out],
        };
        Self { weight, bias }
    }
}

/// Loads imported weights into `backbone`: `convs` in execution order, then the classifier.
pub fn assign(
    backbone: &mut Backbone,
    convs: Vec<ConvWeights>,
    classifier: LinearWeights,
    device: &Device,
) -> Result<(), WeightsError> {
    let kind = backbone.kind;
    let (units, linear) = backbone
        .layers_mut()
        .ok_or_else(|| WeightsError::Malformed {
            format: "weights",
            message: format!("{kind} weights are assigned by name, not in execution order"),
        })?;
    if units.len() != convs.len() {
        return Err(WeightsError::LayerCount {
            what: "convolutions",
            expected: units.len(),
            found: convs.len(),
        });
    }
    for (unit, conv) in units.into_iter().zip(convs) {
        let shape = unit.conv.weight.dims().to_vec();
        conv.weight.expect_shape(&shape)?;
        conv.bias.expect_shape(&shape[..1])?;
        unit.conv.weight = Param::from_tensor(tensor(conv.weight, device));
        unit.conv.bias = Some(Param::from_tensor(tensor(conv.bias, device)));
    }
    let shape = linear.weight.dims().to_vec();
    classifier.weight.expect_shape(&shape)?;
    classifier.bias.expect_shape(&shape[1..])?;
    linear.weight = Param::from_tensor(tensor(classifier.weight, device));
    linear.bias = Some(Param::from_tensor(tensor(classifier.bias, device)));
    Ok(())
}

/// `dense` as a tensor on `device`.
pub(crate) fn tensor<const D: usize>(dense: Dense, device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(dense.values, dense.shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_moves_channels_last_to_first() {
        // [1, 2, 3] with values 0..6; to [3, 1, 2].
        let t = Dense::new("t", vec![1, 2, 3], (0..6).map(|v| v as f32).collect()).unwrap();
        let p = t.permute(&[2, 0, 1]);
        assert_eq!(p.shape, vec![3, 1, 2]);
        assert_eq!(p.values, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn folding_batchnorm_matches_conv_then_bn() {
        let w = Dense::new("w", vec![2, 1, 1, 1], vec![2.0, -1.0]).unwrap();
        let bn = BatchNorm {
            gamma: Dense::new("g", vec![2], vec![3.0, 0.5]).unwrap(),
            beta: Dense::new("b", vec![2], vec![1.0, -1.0]).unwrap(),
            mean: Dense::new("m", vec![2], vec![0.5, 2.0]).unwrap(),
            var: Dense::new("v", vec![2], vec![4.0, 0.25]).unwrap(),
            eps: 0.0,
        };
        let folded = ConvWeights::unbiased(w).fold(&bn).unwrap();
        // x = 1: channel 0: (2 - 0.5) * 3 / 2 + 1 = 3.25; channel 1: (-1 - 2) * 0.5 / 0.5 - 1 = -4.
        for (o, expected) in [3.25f32, -4.0].iter().enumerate() {
            let y = folded.weight.values[o] + folded.bias.values[o];
            assert!(
                (y - expected).abs() < 1e-6,
                "channel {o}: {y} != {expected}"
            );
        }
    }

    #[test]
    fn non_finite_values_are_rejected() {
        let err = Dense::new("bad", vec![2], vec![1.0, f32::NAN]).unwrap_err();
        assert!(err.to_string().contains("'bad'"), "{err}");
    }
}
