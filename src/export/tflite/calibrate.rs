//! Activation ranges for a full-integer export: the [`Net`] run in f32 with Burn, on the
//! device the backbone runs on, over calibration images (the project's own samples' frames),
//! keeping the smallest and largest value each operator writes. The ranges stay on the device
//! until the end: one read for the whole calibration.

use burn::tensor::activation::{relu, relu6, softmax};
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::net::{Activation, Kind, Net};
use crate::backbone::conv_pads;
use crate::readback::{DeviceError, read};

/// A value while the net runs: a map (NCHW, as Burn convolves) or rows (TF-Lite's order).
#[derive(Clone)]
enum Value {
    Map(Tensor<4>),
    Rows(Tensor<2>),
}

impl Value {
    fn map(self) -> Tensor<4> {
        match self {
            Self::Map(x) => x,
            Self::Rows(_) => unreachable!("the builder feeds convolutions maps"),
        }
    }

    fn rows(self) -> Tensor<2> {
        match self {
            Self::Rows(x) => x,
            Self::Map(_) => unreachable!("the builder feeds row operators rows"),
        }
    }

    fn extremes(&self) -> (Tensor<1>, Tensor<1>) {
        match self {
            Self::Map(x) => (x.clone().min(), x.clone().max()),
            Self::Rows(x) => (x.clone().min(), x.clone().max()),
        }
    }
}

/// A layer's weights on the device: the filter or matrix, and the bias.
enum Weights {
    Conv(Tensor<4>, Tensor<1>),
    Dense(Tensor<2>, Tensor<1>),
}

/// Running extremes of every value of a net over the images seen so far.
pub struct Calibration<'a> {
    net: &'a Net,
    weights: Vec<Option<Weights>>,
    constants: Vec<Option<Tensor<1>>>,
    /// The last operator reading each value: it is dropped after that one.
    last_use: Vec<usize>,
    extremes: Vec<Option<(Tensor<1>, Tensor<1>)>>,
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn activate<const D: usize>(x: Tensor<D>, activation: Activation) -> Tensor<D> {
    match activation {
        Activation::None => x,
        Activation::Relu => relu(x),
        Activation::Relu6 => relu6(x),
    }
}

impl<'a> Calibration<'a> {
    /// Starts a calibration of `net`, its weights put on `device`.
    pub fn new(net: &'a Net, device: &Device) -> Self {
        let mut last_use = vec![0; net.shapes.len()];
        let mut weights = Vec::with_capacity(net.ops.len());
        let mut constants = Vec::with_capacity(net.ops.len());
        for (index, op) in net.ops.iter().enumerate() {
            for &input in &op.inputs {
                last_use[input] = index;
            }
            weights.push(match &op.kind {
                Kind::Conv(conv) => {
                    let filter = tensor(&conv.filter, conv.shape, device);
                    // TF-Lite's OHWI (or 1HWC) to Burn's [out, in / groups, k, k].
                    let filter = if conv.depthwise {
                        filter.permute([3, 0, 1, 2])
                    } else {
                        filter.permute([0, 3, 1, 2])
                    };
                    Some(Weights::Conv(
                        filter,
                        tensor(&conv.bias, [conv.bias.len()], device),
                    ))
                }
                Kind::Dense(dense) => {
                    let matrix = tensor(&dense.weight, dense.shape, device).transpose();
                    Some(Weights::Dense(
                        matrix,
                        tensor(&dense.bias, [dense.bias.len()], device),
                    ))
                }
                _ => None,
            });
            constants.push(match &op.kind {
                Kind::SubConstant(values) => Some(tensor(values, [values.len()], device)),
                _ => None,
            });
        }
        Self {
            net,
            weights,
            constants,
            last_use,
            extremes: vec![None; net.shapes.len()],
        }
    }

    /// Runs the net on `images` (normalized, `[n, 3, size, size]`) and widens the ranges.
    pub fn observe(&mut self, images: Tensor<4>) {
        let net = self.net;
        let mut values: Vec<Option<Value>> = vec![None; net.shapes.len()];
        values[0] = Some(Value::Map(images));
        self.widen(0, values[0].as_ref().expect("the input"));
        for (index, op) in net.ops.iter().enumerate() {
            let inputs: Vec<Value> = op
                .inputs
                .iter()
                .map(|&i| values[i].clone().expect("inputs come before their readers"))
                .collect();
            for &input in &op.inputs {
                if self.last_use[input] == index {
                    values[input] = None;
                }
            }
            let output = self.run(index, &op.kind, inputs);
            self.widen(op.output, &output);
            values[op.output] = Some(output);
        }
    }

    fn widen(&mut self, id: usize, value: &Value) {
        let (low, high) = value.extremes();
        self.extremes[id] = Some(match self.extremes[id].take() {
            Some((l, h)) => (l.min_pair(low), h.max_pair(high)),
            None => (low, high),
        });
    }

    fn run(&self, index: usize, kind: &Kind, mut inputs: Vec<Value>) -> Value {
        let x = inputs.remove(0);
        match kind {
            Kind::Conv(conv) => {
                let Some(Weights::Conv(filter, bias)) = &self.weights[index] else {
                    unreachable!("weights are made for every convolution")
                };
                let x = x.map();
                let [_, channels, h, w] = x.dims();
                let k = conv.shape[1];
                let [top, left, bottom, right] =
                    conv_pads(&burn::nn::PaddingConfig2d::Same, k, conv.stride, [h, w]);
                let groups = if conv.depthwise { channels } else { 1 };
                let options = ConvOptions::new_with_padding(
                    [conv.stride; 2],
                    [(top, bottom), (left, right)],
                    [1, 1],
                    groups,
                );
                let y = conv2d(x, filter.clone(), Some(bias.clone()), options);
                Value::Map(activate(y, conv.activation))
            }
            Kind::Dense(dense) => {
                let Some(Weights::Dense(matrix, bias)) = &self.weights[index] else {
                    unreachable!("weights are made for every dense layer")
                };
                let y = x.rows().matmul(matrix.clone()) + bias.clone().unsqueeze_dim(0);
                Value::Rows(activate(y, dense.activation))
            }
            Kind::Add => match (x, inputs.remove(0)) {
                (Value::Map(a), Value::Map(b)) => Value::Map(a + b),
                (a, b) => Value::Rows(a.rows() + b.rows()),
            },
            Kind::Sub => Value::Rows(x.rows() - inputs.remove(0).rows()),
            Kind::SubConstant(_) => {
                let c = self.constants[index]
                    .clone()
                    .expect("made for every constant");
                Value::Rows(x.rows() - c.unsqueeze_dim(0))
            }
            Kind::Mean => {
                let x = x.map();
                let [n, c, _, _] = x.dims();
                Value::Rows(x.mean_dims(&[2, 3]).reshape([n, c]))
            }
            Kind::MaxPool => Value::Map(max_pool2d(x.map(), MaxPoolOptions::new([2, 2]))),
            Kind::Reshape => {
                let x = x.map().permute([0, 2, 3, 1]);
                let [n, h, w, c] = x.dims();
                Value::Rows(x.reshape([n, h * w * c]))
            }
            Kind::Relu => Value::Rows(relu(x.rows())),
            Kind::Abs => Value::Rows(x.rows().abs()),
            Kind::Sqrt => Value::Rows(x.rows().sqrt()),
            // As the app's unit length: the length at least 1e-12.
            Kind::Rsqrt => Value::Rows(x.rows().clamp_min(1e-24).sqrt().recip()),
            Kind::Mul => Value::Rows(x.rows() * inputs.remove(0).rows()),
            Kind::Sum => Value::Rows(x.rows().sum_dim(1)),
            Kind::Concat => {
                let mut parts = vec![x.rows()];
                parts.extend(inputs.into_iter().map(Value::rows));
                Value::Rows(Tensor::cat(parts, 1))
            }
            Kind::Softmax => Value::Rows(softmax(x.rows(), 1)),
            &Kind::KthLargest(k) => Value::Rows(x.rows().topk(k, 1).min_dim(1)),
            Kind::AtLeast => {
                let x = x.rows();
                let width = x.dims()[1];
                let t = inputs.remove(0).rows().repeat_dim(1, width);
                Value::Rows(x.greater_equal(t).float())
            }
            &Kind::Scale(factor) => Value::Rows(x.rows().mul_scalar(factor)),
            Kind::Div => Value::Rows(x.rows() / inputs.remove(0).rows()),
            &Kind::WinnerBonus(bonus) => {
                let x = x.rows();
                let width = x.dims()[1];
                let top = x.clone().max_dim(1).repeat_dim(1, width);
                Value::Rows(x.equal(top).float().mul_scalar(bonus))
            }
        }
    }

    /// The smallest and largest value of each value of the net, over every image observed.
    pub async fn ranges(self) -> Result<Vec<(f32, f32)>, DeviceError> {
        let (lows, highs): (Vec<_>, Vec<_>) = self
            .extremes
            .into_iter()
            .map(|e| e.expect("every value was observed"))
            .unzip();
        let lows = read(Tensor::cat(lows, 0)).await?;
        let highs = read(Tensor::cat(highs, 0)).await?;
        Ok(lows.into_iter().zip(highs).collect())
    }
}
