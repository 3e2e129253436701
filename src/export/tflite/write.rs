//! A [`Net`] as a `.tflite` flatbuffer, written through the code `flatc` generated from TF-Lite's
//! own schema: builtin operators only. In f32 the file takes RGB pixels 0..=255 and normalizes
//! them itself (`MUL`, `ADD`); in int8 every operator is an integer kernel, the input is uint8
//! pixels whose quantization is the normalization (`QUANTIZE` to int8), and the probabilities
//! come out as uint8 (step 1/256).

use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};

use super::net::{Activation, Id, Kind, Net};
use super::quantize::{Affine, biases, per_channel};
use crate::export::{INPUT, OUTPUT};
use crate::tflite_schema::tflite::{
    self as fb, ActivationFunctionType, BuiltinOperator, TensorType,
};

/// How the file computes.
pub enum Numbers<'a> {
    /// f32 throughout; the input is pixels, normalized by `pixels · scale + offset` per channel.
    F32 {
        /// Per channel.
        scale: [f32; 3],
        /// Per channel.
        offset: [f32; 3],
    },
    /// Int8 throughout, from the ranges calibration found for each value of the net; `input`
    /// is the uint8 input's quantization, which maps pixels to normalized values.
    Int8 {
        /// `(smallest, largest)` of every value of the net.
        ranges: &'a [(f32, f32)],
        /// The uint8 input's scale and zero point.
        input: Affine,
    },
}

/// The channel of each position of a layer's weights.
type ChannelOf<'a> = &'a dyn Fn(usize) -> usize;

/// Quantization parameters of a tensor: per tensor, or per channel along `dimension`.
struct Quantization {
    scales: Vec<f32>,
    zero_points: Vec<i64>,
    dimension: i32,
}

impl From<Affine> for Quantization {
    fn from(q: Affine) -> Self {
        Self {
            scales: vec![q.scale],
            zero_points: vec![i64::from(q.zero_point)],
            dimension: 0,
        }
    }
}

struct TensorSpec {
    name: String,
    shape: Vec<i32>,
    dtype: TensorType,
    buffer: u32,
    quantization: Option<Quantization>,
}

enum Options {
    None,
    Conv { stride: i32, activation: Activation },
    Depthwise { stride: i32, activation: Activation },
    Add,
    Sub,
    Mul,
    Reducer { keep_dims: bool },
    MaxPool,
    Reshape(Vec<i32>),
    Dense(Activation),
    Softmax,
    Concat,
    Div,
    ArgMax,
    OneHot,
}

struct OpSpec {
    code: BuiltinOperator,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    options: Options,
}

/// Buffers, tensors and operators being collected, serialized at the end.
#[derive(Default)]
struct Writer {
    buffers: Vec<Vec<u8>>,
    tensors: Vec<TensorSpec>,
    ops: Vec<OpSpec>,
    int8: bool,
}

fn fused(activation: Activation) -> ActivationFunctionType {
    match activation {
        Activation::None => ActivationFunctionType::NONE,
        Activation::Relu => ActivationFunctionType::RELU,
        Activation::Relu6 => ActivationFunctionType::RELU6,
    }
}

fn shape(dims: &[usize]) -> Vec<i32> {
    dims.iter().map(|&d| d as i32).collect()
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn i32_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl Writer {
    /// A tensor named `name`; `data` makes it a constant.
    fn tensor(
        &mut self,
        name: String,
        dims: &[usize],
        dtype: TensorType,
        data: Option<Vec<u8>>,
        quantization: Option<Quantization>,
    ) -> i32 {
        // Buffer 0 is the empty one every activation refers to.
        let buffer = match data {
            Some(bytes) => {
                self.buffers.push(bytes);
                self.buffers.len() as u32
            }
            None => 0,
        };
        self.tensors.push(TensorSpec {
            name,
            shape: shape(dims),
            dtype,
            buffer,
            quantization,
        });
        self.tensors.len() as i32 - 1
    }

    fn op(&mut self, code: BuiltinOperator, inputs: &[i32], output: i32, options: Options) {
        self.ops.push(OpSpec {
            code,
            inputs: inputs.to_vec(),
            outputs: vec![output],
            options,
        });
    }

    /// A tensor of `dtype` between the operators one of the net's expands into.
    fn between(&mut self, name: String, dims: &[usize], dtype: TensorType) -> i32 {
        self.tensor(name, dims, dtype, None, None)
    }

    /// A float scalar constant.
    fn scalar(&mut self, name: String, value: f32) -> i32 {
        let bytes = value.to_le_bytes().to_vec();
        self.tensor(name, &[], TensorType::FLOAT32, Some(bytes), None)
    }

    /// A float constant, or in int8 one quantized per tensor over its own range.
    fn constant(&mut self, name: String, dims: &[usize], values: &[f32]) -> i32 {
        if !self.int8 {
            return self.tensor(
                name,
                dims,
                TensorType::FLOAT32,
                Some(f32_bytes(values)),
                None,
            );
        }
        let low = values.iter().copied().fold(0.0, f32::min);
        let high = values.iter().copied().fold(0.0, f32::max);
        let q = Affine::of_range(low, high);
        let bytes = values.iter().map(|&v| q.quantize(v) as u8).collect();
        self.tensor(name, dims, TensorType::INT8, Some(bytes), Some(q.into()))
    }

    fn ints(&mut self, name: String, values: &[i32]) -> i32 {
        let bytes = i32_bytes(values);
        self.tensor(name, &[values.len()], TensorType::INT32, Some(bytes), None)
    }

    /// A layer's weights (`channels` along `dimension`, `channel(i)` the channel of position
    /// `i`) and bias, read by a value quantized as `input`. In int8 the weights are quantized
    /// per channel, or per tensor when `channel` is `None` (fully connected layers: the form
    /// every int8 runtime takes, Edge TPU and TF Lite Micro included).
    fn weights(
        &mut self,
        name: &str,
        (dims, dimension, channel): (&[usize], usize, Option<ChannelOf<'_>>),
        (weights, bias): (&[f32], &[f32]),
        input: Option<Affine>,
    ) -> (i32, i32) {
        let channels = dims[dimension];
        let Some(input) = input else {
            let w = self.tensor(
                format!("{name}/weights"),
                dims,
                TensorType::FLOAT32,
                Some(f32_bytes(weights)),
                None,
            );
            let b = self.tensor(
                format!("{name}/bias"),
                &[channels],
                TensorType::FLOAT32,
                Some(f32_bytes(bias)),
                None,
            );
            return (w, b);
        };
        let q = match channel {
            Some(channel) => per_channel(weights, channels, channel),
            None => per_channel(weights, 1, |_| 0),
        };
        // One scale per output, for the bias.
        let scales = match channel {
            Some(_) => q.scales.clone(),
            None => vec![q.scales[0]; channels],
        };
        let ints = biases(bias, input.scale, &scales);
        let quantization = |scales: Vec<f32>| Quantization {
            zero_points: vec![0; scales.len()],
            scales,
            dimension: dimension as i32,
        };
        let bias_scales = scales.iter().map(|s| s * input.scale).collect();
        let w = self.tensor(
            format!("{name}/weights"),
            dims,
            TensorType::INT8,
            Some(q.values.iter().map(|&v| v as u8).collect()),
            Some(quantization(q.scales)),
        );
        let b = self.tensor(
            format!("{name}/bias"),
            &[channels],
            TensorType::INT32,
            Some(i32_bytes(&ints)),
            Some(Quantization {
                dimension: 0,
                ..quantization(bias_scales)
            }),
        );
        (w, b)
    }
}

/// The quantization of every value of `net` in int8: calibrated ranges, except where a kernel
/// fixes it (softmax 1/256) or only moves values (reshape, pooling); the parts a concatenation
/// joins share one range, so it copies them as they are.
fn value_quantization(net: &Net, ranges: &[(f32, f32)], input: Affine) -> Vec<Affine> {
    let mut ranges = ranges.to_vec();
    for op in &net.ops {
        if let Kind::Concat = op.kind {
            let joined = op.inputs.iter().fold(ranges[op.output], |(low, high), &i| {
                (low.min(ranges[i].0), high.max(ranges[i].1))
            });
            for &i in op.inputs.iter().chain([&op.output]) {
                ranges[i] = joined;
            }
        }
    }
    let mut q: Vec<Affine> = ranges
        .iter()
        .map(|&(low, high)| Affine::of_range(low, high))
        .collect();
    q[0] = Affine {
        scale: input.scale,
        zero_point: input.zero_point - 128,
    };
    for op in &net.ops {
        match op.kind {
            Kind::Softmax => {
                q[op.output] = Affine {
                    scale: 1.0 / 256.0,
                    zero_point: -128,
                }
            }
            Kind::Reshape | Kind::MaxPool => q[op.output] = q[op.inputs[0]],
            _ => {}
        }
    }
    q
}

/// The `.tflite` file of `net`, computing in `numbers`, with `metadata` entries (name, bytes).
pub fn write(
    net: &Net,
    numbers: &Numbers<'_>,
    metadata: &[(&str, Vec<u8>)],
    description: &str,
) -> Vec<u8> {
    let quantization = match numbers {
        Numbers::F32 { .. } => None,
        Numbers::Int8 { ranges, input } => Some(value_quantization(net, ranges, *input)),
    };
    let mut w = Writer {
        int8: quantization.is_some(),
        ..Writer::default()
    };
    let q = |id: Id| quantization.as_ref().map(|q| q[id]);
    let value_type = if w.int8 {
        TensorType::INT8
    } else {
        TensorType::FLOAT32
    };
    let values: Vec<i32> = net
        .shapes
        .iter()
        .enumerate()
        .map(|(id, dims)| {
            let name = match net.ops.iter().find(|op| op.output == id) {
                Some(op) => format!("{}_{id}", kind_name(&op.kind)),
                None => "normalized".into(),
            };
            let quantization = q(id).map(Quantization::from);
            w.tensor(name, dims, value_type, None, quantization)
        })
        .collect();
    let input_dims = &net.shapes[0];
    let input = match numbers {
        Numbers::F32 { scale, offset } => {
            let pixels = w.tensor(INPUT.into(), input_dims, TensorType::FLOAT32, None, None);
            let scale = w.constant("scale".into(), &[3], scale);
            let offset = w.constant("offset".into(), &[3], offset);
            let scaled = w.tensor("scaled".into(), input_dims, TensorType::FLOAT32, None, None);
            w.op(BuiltinOperator::MUL, &[pixels, scale], scaled, Options::Mul);
            w.op(
                BuiltinOperator::ADD,
                &[scaled, offset],
                values[0],
                Options::Add,
            );
            pixels
        }
        Numbers::Int8 { input, .. } => {
            let pixels = w.tensor(
                INPUT.into(),
                input_dims,
                TensorType::UINT8,
                None,
                Some((*input).into()),
            );
            w.op(
                BuiltinOperator::QUANTIZE,
                &[pixels],
                values[0],
                Options::None,
            );
            pixels
        }
    };
    for op in &net.ops {
        let inputs: Vec<i32> = op.inputs.iter().map(|&i| values[i]).collect();
        let output = values[op.output];
        let name = format!("{}_{}", kind_name(&op.kind), op.output);
        let (code, extra, options) = match &op.kind {
            Kind::Conv(conv) => {
                let [_, k, _, c] = conv.shape;
                let kk = k * k * c;
                let (dimension, channel): (usize, Box<dyn Fn(usize) -> usize>) = if conv.depthwise {
                    (3, Box::new(move |i| i % c))
                } else {
                    (0, Box::new(move |i| i / kk))
                };
                let (filter, bias) = w.weights(
                    &name,
                    (&conv.shape, dimension, Some(&*channel)),
                    (&conv.filter, &conv.bias),
                    q(op.inputs[0]),
                );
                let (stride, activation) = (conv.stride as i32, conv.activation);
                if conv.depthwise {
                    let options = Options::Depthwise { stride, activation };
                    (
                        BuiltinOperator::DEPTHWISE_CONV_2D,
                        vec![filter, bias],
                        options,
                    )
                } else {
                    let options = Options::Conv { stride, activation };
                    (BuiltinOperator::CONV_2D, vec![filter, bias], options)
                }
            }
            Kind::Dense(dense) => {
                let (weights, bias) = w.weights(
                    &name,
                    (&dense.shape, 0, None),
                    (&dense.weight, &dense.bias),
                    q(op.inputs[0]),
                );
                let options = Options::Dense(dense.activation);
                (
                    BuiltinOperator::FULLY_CONNECTED,
                    vec![weights, bias],
                    options,
                )
            }
            Kind::Add => (BuiltinOperator::ADD, vec![], Options::Add),
            Kind::Sub => (BuiltinOperator::SUB, vec![], Options::Sub),
            Kind::SubConstant(values) => {
                let c = w.constant(format!("{name}/mean"), &[1, values.len()], values);
                (BuiltinOperator::SUB, vec![c], Options::Sub)
            }
            Kind::Mean => {
                let axes = w.ints(format!("{name}/axes"), &[1, 2]);
                let options = Options::Reducer { keep_dims: false };
                (BuiltinOperator::MEAN, vec![axes], options)
            }
            Kind::MaxPool => (BuiltinOperator::MAX_POOL_2D, vec![], Options::MaxPool),
            Kind::Reshape => {
                let dims = shape(&net.shapes[op.output]);
                let target = w.ints(format!("{name}/shape"), &dims);
                (
                    BuiltinOperator::RESHAPE,
                    vec![target],
                    Options::Reshape(dims),
                )
            }
            Kind::Relu => (BuiltinOperator::RELU, vec![], Options::None),
            Kind::Abs => (BuiltinOperator::ABS, vec![], Options::None),
            Kind::Sqrt => (BuiltinOperator::SQRT, vec![], Options::None),
            Kind::Rsqrt => (BuiltinOperator::RSQRT, vec![], Options::None),
            Kind::Mul => (BuiltinOperator::MUL, vec![], Options::Mul),
            Kind::Sum => {
                let axes = w.ints(format!("{name}/axes"), &[1]);
                (
                    BuiltinOperator::SUM,
                    vec![axes],
                    Options::Reducer { keep_dims: true },
                )
            }
            Kind::Concat => (BuiltinOperator::CONCATENATION, vec![], Options::Concat),
            Kind::Softmax => (BuiltinOperator::SOFTMAX, vec![], Options::Softmax),
            // The nearest-neighbour vote's operators (f32 only: an int8 export refuses it).
            &Kind::KthLargest(k) => {
                let width = net.shapes[op.inputs[0]][1];
                let k_input = w.ints(format!("{name}/k"), &[k as i32]);
                let values = w.between(format!("{name}/values"), &[1, k], TensorType::FLOAT32);
                let indices = w.between(format!("{name}/indices"), &[1, k], TensorType::INT32);
                debug_assert!(k <= width);
                w.ops.push(OpSpec {
                    code: BuiltinOperator::TOPK_V2,
                    inputs: vec![inputs[0], k_input],
                    outputs: vec![values, indices],
                    options: Options::None,
                });
                let axes = w.ints(format!("{name}/axes"), &[1]);
                let options = Options::Reducer { keep_dims: true };
                w.op(
                    BuiltinOperator::REDUCE_MIN,
                    &[values, axes],
                    output,
                    options,
                );
                continue;
            }
            Kind::AtLeast => {
                let dims = &net.shapes[op.output];
                let chosen = w.between(format!("{name}/chosen"), dims, TensorType::BOOL);
                w.op(
                    BuiltinOperator::GREATER_EQUAL,
                    &inputs,
                    chosen,
                    Options::None,
                );
                w.op(BuiltinOperator::CAST, &[chosen], output, Options::None);
                continue;
            }
            &Kind::Scale(factor) => {
                let factor = w.constant(format!("{name}/factor"), &[1], &[factor]);
                (BuiltinOperator::MUL, vec![factor], Options::Mul)
            }
            Kind::Div => (BuiltinOperator::DIV, vec![], Options::Div),
            &Kind::WinnerBonus(bonus) => {
                // ARG_MAX takes the first of equal values: reversed, the last, as the app does.
                let dims = &net.shapes[op.output];
                let axis = w.ints(format!("{name}/axis"), &[1]);
                let reversed = w.between(format!("{name}/reversed"), dims, TensorType::FLOAT32);
                let reverse = BuiltinOperator::REVERSE_V2;
                w.op(reverse, &[inputs[0], axis], reversed, Options::None);
                let winner = w.between(format!("{name}/winner"), &[1], TensorType::INT32);
                let argmax = Options::ArgMax;
                w.op(BuiltinOperator::ARG_MAX, &[reversed, axis], winner, argmax);
                let depth = i32_bytes(&[dims[1] as i32]);
                let depth = w.tensor(
                    format!("{name}/depth"),
                    &[],
                    TensorType::INT32,
                    Some(depth),
                    None,
                );
                let on = w.scalar(format!("{name}/on"), bonus);
                let off = w.scalar(format!("{name}/off"), 0.0);
                let operands = [winner, depth, on, off];
                let hot = w.between(format!("{name}/reversed_bonus"), dims, TensorType::FLOAT32);
                w.op(BuiltinOperator::ONE_HOT, &operands, hot, Options::OneHot);
                w.op(reverse, &[hot, axis], output, Options::None);
                continue;
            }
        };
        let mut all = inputs;
        all.extend(extra);
        w.op(code, &all, output, options);
    }
    let last = values[net.output()];
    let output = match &quantization {
        None => {
            w.tensors[last as usize].name = OUTPUT.into();
            last
        }
        Some(_) => {
            let probabilities = Affine {
                scale: 1.0 / 256.0,
                zero_point: 0,
            };
            let dims = &net.shapes[net.output()];
            let output = w.tensor(
                OUTPUT.into(),
                dims,
                TensorType::UINT8,
                None,
                Some(probabilities.into()),
            );
            w.op(BuiltinOperator::QUANTIZE, &[last], output, Options::None);
            output
        }
    };
    w.finish((input, output), metadata, description)
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Conv(conv) if conv.depthwise => "depthwise",
        Kind::Conv(_) => "conv",
        Kind::Dense(_) => "dense",
        Kind::Add => "add",
        Kind::Sub => "sub",
        Kind::SubConstant(_) => "centred",
        Kind::Mean => "pool",
        Kind::MaxPool => "max_pool",
        Kind::Reshape => "flatten",
        Kind::Relu => "relu",
        Kind::Abs => "abs",
        Kind::Sqrt => "sqrt",
        Kind::Rsqrt => "rsqrt",
        Kind::Mul => "mul",
        Kind::Sum => "sum",
        Kind::Concat => "concat",
        Kind::Softmax => "softmax",
        Kind::KthLargest(_) => "kth_largest",
        Kind::AtLeast => "at_least",
        Kind::Scale(_) => "scale",
        Kind::Div => "div",
        Kind::WinnerBonus(_) => "winner_bonus",
    }
}

/// The version of `code`'s operator that the file's tensor types need, as TF-Lite's
/// `op_version` gives it for int8 kernels (per-channel convolutions 3, fully connected 4 with
/// per-tensor weights, most others 2).
fn version(code: BuiltinOperator, int8: bool) -> i32 {
    if !int8 {
        return 1;
    }
    match code {
        BuiltinOperator::CONV_2D | BuiltinOperator::DEPTHWISE_CONV_2D => 3,
        BuiltinOperator::FULLY_CONNECTED => 4,
        BuiltinOperator::RESHAPE => 1,
        _ => 2,
    }
}

impl Writer {
    fn options<'a>(
        fbb: &mut FlatBufferBuilder<'a>,
        options: &Options,
    ) -> (fb::BuiltinOptions, Option<WIPOffset<UnionWIPOffset>>) {
        use fb::BuiltinOptions as O;
        match options {
            Options::None => (O::NONE, None),
            &Options::Conv { stride, activation } => {
                let args = fb::Conv2DOptionsArgs {
                    padding: fb::Padding::SAME,
                    stride_w: stride,
                    stride_h: stride,
                    fused_activation_function: fused(activation),
                    dilation_w_factor: 1,
                    dilation_h_factor: 1,
                };
                (
                    O::Conv2DOptions,
                    Some(fb::Conv2DOptions::create(fbb, &args).as_union_value()),
                )
            }
            &Options::Depthwise { stride, activation } => {
                let args = fb::DepthwiseConv2DOptionsArgs {
                    padding: fb::Padding::SAME,
                    stride_w: stride,
                    stride_h: stride,
                    depth_multiplier: 1,
                    fused_activation_function: fused(activation),
                    dilation_w_factor: 1,
                    dilation_h_factor: 1,
                };
                let table = fb::DepthwiseConv2DOptions::create(fbb, &args);
                (O::DepthwiseConv2DOptions, Some(table.as_union_value()))
            }
            Options::Add => {
                let table = fb::AddOptions::create(fbb, &fb::AddOptionsArgs::default());
                (O::AddOptions, Some(table.as_union_value()))
            }
            Options::Sub => {
                let table = fb::SubOptions::create(fbb, &fb::SubOptionsArgs::default());
                (O::SubOptions, Some(table.as_union_value()))
            }
            Options::Mul => {
                let table = fb::MulOptions::create(fbb, &fb::MulOptionsArgs::default());
                (O::MulOptions, Some(table.as_union_value()))
            }
            &Options::Reducer { keep_dims } => {
                let args = fb::ReducerOptionsArgs { keep_dims };
                let table = fb::ReducerOptions::create(fbb, &args);
                (O::ReducerOptions, Some(table.as_union_value()))
            }
            Options::MaxPool => {
                let args = fb::Pool2DOptionsArgs {
                    padding: fb::Padding::VALID,
                    stride_w: 2,
                    stride_h: 2,
                    filter_width: 2,
                    filter_height: 2,
                    fused_activation_function: ActivationFunctionType::NONE,
                };
                let table = fb::Pool2DOptions::create(fbb, &args);
                (O::Pool2DOptions, Some(table.as_union_value()))
            }
            Options::Reshape(dims) => {
                let new_shape = Some(fbb.create_vector(dims));
                let table = fb::ReshapeOptions::create(fbb, &fb::ReshapeOptionsArgs { new_shape });
                (O::ReshapeOptions, Some(table.as_union_value()))
            }
            &Options::Dense(activation) => {
                let args = fb::FullyConnectedOptionsArgs {
                    fused_activation_function: fused(activation),
                    ..Default::default()
                };
                let table = fb::FullyConnectedOptions::create(fbb, &args);
                (O::FullyConnectedOptions, Some(table.as_union_value()))
            }
            Options::Softmax => {
                let table = fb::SoftmaxOptions::create(fbb, &fb::SoftmaxOptionsArgs { beta: 1.0 });
                (O::SoftmaxOptions, Some(table.as_union_value()))
            }
            Options::Div => {
                let table = fb::DivOptions::create(fbb, &fb::DivOptionsArgs::default());
                (O::DivOptions, Some(table.as_union_value()))
            }
            Options::ArgMax => {
                let args = fb::ArgMaxOptionsArgs {
                    output_type: TensorType::INT32,
                };
                let table = fb::ArgMaxOptions::create(fbb, &args);
                (O::ArgMaxOptions, Some(table.as_union_value()))
            }
            Options::OneHot => {
                let table = fb::OneHotOptions::create(fbb, &fb::OneHotOptionsArgs { axis: -1 });
                (O::OneHotOptions, Some(table.as_union_value()))
            }
            Options::Concat => {
                let args = fb::ConcatenationOptionsArgs {
                    axis: -1,
                    fused_activation_function: ActivationFunctionType::NONE,
                };
                let table = fb::ConcatenationOptions::create(fbb, &args);
                (O::ConcatenationOptions, Some(table.as_union_value()))
            }
        }
    }

    /// The flatbuffer: one subgraph from `input` to `output`, then the metadata entries.
    fn finish(
        mut self,
        (input, output): (i32, i32),
        metadata: &[(&str, Vec<u8>)],
        description: &str,
    ) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(
            self.buffers.iter().map(Vec::len).sum::<usize>() + (1 << 16),
        );
        let mut entries = Vec::new();
        for (name, bytes) in metadata {
            self.buffers.push(bytes.clone());
            entries.push((*name, self.buffers.len() as u32));
        }
        let mut buffers = vec![fb::Buffer::create(&mut fbb, &fb::BufferArgs { data: None })];
        for bytes in &self.buffers {
            let data = Some(fbb.create_vector(bytes));
            buffers.push(fb::Buffer::create(&mut fbb, &fb::BufferArgs { data }));
        }
        let buffers = fbb.create_vector(&buffers);
        let tensors: Vec<_> = self
            .tensors
            .iter()
            .map(|t| {
                let quantization = t.quantization.as_ref().map(|q| {
                    let args = fb::QuantizationParametersArgs {
                        scale: Some(fbb.create_vector(&q.scales)),
                        zero_point: Some(fbb.create_vector(&q.zero_points)),
                        quantized_dimension: q.dimension,
                        ..Default::default()
                    };
                    fb::QuantizationParameters::create(&mut fbb, &args)
                });
                let args = fb::TensorArgs {
                    shape: Some(fbb.create_vector(&t.shape)),
                    type_: t.dtype,
                    buffer: t.buffer,
                    name: Some(fbb.create_string(&t.name)),
                    quantization,
                    ..Default::default()
                };
                fb::Tensor::create(&mut fbb, &args)
            })
            .collect();
        let tensors = fbb.create_vector(&tensors);
        let mut codes: Vec<BuiltinOperator> = Vec::new();
        let operators: Vec<_> = self
            .ops
            .iter()
            .map(|op| {
                let index = match codes.iter().position(|&c| c == op.code) {
                    Some(i) => i,
                    None => {
                        codes.push(op.code);
                        codes.len() - 1
                    }
                };
                let (options_type, options) = Self::options(&mut fbb, &op.options);
                let args = fb::OperatorArgs {
                    opcode_index: index as u32,
                    inputs: Some(fbb.create_vector(&op.inputs)),
                    outputs: Some(fbb.create_vector(&op.outputs)),
                    builtin_options_type: options_type,
                    builtin_options: options,
                    ..Default::default()
                };
                fb::Operator::create(&mut fbb, &args)
            })
            .collect();
        let operators = fbb.create_vector(&operators);
        let subgraph = fb::SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(fbb.create_vector(&[input])),
            outputs: Some(fbb.create_vector(&[output])),
            operators: Some(operators),
            name: Some(fbb.create_string("main")),
        };
        let subgraph = fb::SubGraph::create(&mut fbb, &subgraph);
        let codes: Vec<_> = codes
            .iter()
            .map(|&code| {
                let args = fb::OperatorCodeArgs {
                    // Codes past 127 keep the placeholder the schema asks for in the old field.
                    deprecated_builtin_code: code.0.min(127) as i8,
                    custom_code: None,
                    version: version(code, self.int8),
                    builtin_code: code,
                };
                fb::OperatorCode::create(&mut fbb, &args)
            })
            .collect();
        let codes = fbb.create_vector(&codes);
        let entries: Vec<_> = entries
            .iter()
            .map(|&(name, buffer)| {
                let name = Some(fbb.create_string(name));
                fb::Metadata::create(&mut fbb, &fb::MetadataArgs { name, buffer })
            })
            .collect();
        let metadata = fbb.create_vector(&entries);
        let subgraphs = fbb.create_vector(&[subgraph]);
        let args = fb::ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            description: Some(fbb.create_string(description)),
            buffers: Some(buffers),
            metadata: Some(metadata),
            ..Default::default()
        };
        let model = fb::Model::create(&mut fbb, &args);
        fbb.finish(model, Some("TFL3"));
        fbb.finished_data().to_vec()
    }
}
