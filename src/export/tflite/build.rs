//! The app's classifier as a [`Net`]: the backbone's layers up to the cut, the fine-tuned tail
//! (or the backbone's own blocks), pooling, then the spatial rows' normalization, the head and
//! its softmax, read from the same modules the app runs (as the ONNX export's `network.rs`).
//! The app reads flattened maps in NCHW order and TF-Lite flattens NHWC, so the head's first
//! weights and the normalization's means are permuted to match; the map's weight in the
//! normalization is folded into the head's first layer.

use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};

use super::TfliteError;
use super::net::{Activation, Conv, Dense, Id, Kind, Net};
use crate::backbone::{
    Backbone, BackboneNet, BackboneTail, ConvUnit, InvertedResidual, RowKind, conv_pads,
};
use crate::classifier::{Classifier, Head};
use crate::head::{HeadNet, KnnHead, SPATIAL_WEIGHT};
use crate::readback::read;

/// A part of the rows the head reads, as a value of the net.
struct Part {
    value: Id,
    /// `[c, h, w]` when the app reads this part as an NCHW map flattened.
    map: Option<[usize; 3]>,
    /// Whether every value is at least 0 (pooled activations after a ReLU).
    non_negative: bool,
}

async fn conv(
    net: &mut Net,
    conv: &Conv2d,
    activation: Activation,
    x: Id,
) -> Result<Id, TfliteError> {
    let [out, _, k, _] = conv.weight.dims();
    let [stride, _] = conv.stride;
    let [_, h, w, channels] = net.shapes[x][..] else {
        unreachable!("convolutions read maps")
    };
    if conv_pads(&conv.padding, k, stride, [h, w])
        != conv_pads(&PaddingConfig2d::Same, k, stride, [h, w])
        || conv.dilation != [1, 1]
    {
        return Err(TfliteError::Unsupported(
            "a convolution that does not pad SAME",
        ));
    }
    let depthwise = conv.groups > 1;
    if depthwise && (conv.groups != channels || out != channels) {
        return Err(TfliteError::Unsupported("a grouped convolution"));
    }
    // Ours [out, in, k, k]: TF-Lite's [out, k, k, in], or [1, k, k, channels] when depthwise
    // (ours [channels, 1, k, k]).
    let (filter, shape) = if depthwise {
        (conv.weight.val().permute([1, 2, 3, 0]), [1, k, k, out])
    } else {
        (
            conv.weight.val().permute([0, 2, 3, 1]),
            [out, k, k, channels],
        )
    };
    let filter = read(filter).await?;
    let bias = match &conv.bias {
        Some(bias) => read(bias.val()).await?,
        None => vec![0.0; out],
    };
    let layer = Conv {
        filter,
        shape,
        bias,
        stride,
        depthwise,
        activation,
    };
    let shape = vec![1, h.div_ceil(stride), w.div_ceil(stride), out];
    Ok(net.push(Kind::Conv(Box::new(layer)), &[x], shape))
}

async fn unit(net: &mut Net, unit: &ConvUnit, x: Id) -> Result<Id, TfliteError> {
    let activation = if unit.relu6 {
        Activation::Relu6
    } else {
        Activation::None
    };
    conv(net, &unit.conv, activation, x).await
}

async fn inverted_residual(
    net: &mut Net,
    block: &InvertedResidual,
    x: Id,
) -> Result<Id, TfliteError> {
    let mut h = x;
    if let Some(expand) = &block.expand {
        h = unit(net, expand, h).await?;
    }
    h = unit(net, &block.depthwise, h).await?;
    h = unit(net, &block.project, h).await?;
    Ok(if block.residual {
        net.same(Kind::Add, &[h, x])
    } else {
        h
    })
}

/// Whether every value of `x` is at least 0: the output of a ReLU, or of pooling one.
fn non_negative(net: &Net, x: Id) -> bool {
    net.ops
        .iter()
        .find(|op| op.output == x)
        .is_some_and(|op| match &op.kind {
            Kind::Conv(conv) => conv.activation != Activation::None,
            Kind::MaxPool | Kind::Mean => non_negative(net, op.inputs[0]),
            _ => false,
        })
}

fn mean(net: &mut Net, x: Id) -> Part {
    let channels = net.shapes[x][3];
    let non_negative = non_negative(net, x);
    Part {
        value: net.push(Kind::Mean, &[x], vec![1, channels]),
        map: None,
        non_negative,
    }
}

fn flatten(net: &mut Net, x: Id) -> Part {
    let non_negative = non_negative(net, x);
    let [_, h, w, c] = net.shapes[x][..] else {
        unreachable!("maps are 4-D")
    };
    Part {
        value: net.push(Kind::Reshape, &[x], vec![1, h * w * c]),
        map: Some([c, h, w]),
        non_negative,
    }
}

/// The parts of the rows `kind` names, from the normalized image `x` (as `network::rows`).
async fn rows(
    net: &mut Net,
    backbone: &Backbone,
    tail: Option<&BackboneTail>,
    kind: RowKind,
    x: Id,
) -> Result<Vec<Part>, TfliteError> {
    let cut = backbone.num_blocks().saturating_sub(kind.blocks_after());
    let mut h = x;
    match (&backbone.net, tail) {
        (BackboneNet::InvertedResidual(layers), tail) => {
            h = unit(net, &layers.stem, h).await?;
            for block in &layers.blocks[..cut] {
                h = inverted_residual(net, block, h).await?;
            }
            let map = h;
            let (blocks, head) = match tail {
                Some(BackboneTail::InvertedResidual(tail)) => (&tail.blocks[..], &tail.head),
                _ => (&layers.blocks[cut..], &layers.head),
            };
            for block in blocks {
                h = inverted_residual(net, block, h).await?;
            }
            h = unit(net, head, h).await?;
            let mut parts = vec![mean(net, h)];
            if kind == RowKind::Spatial {
                parts.push(flatten(net, map));
            }
            Ok(parts)
        }
        (BackboneNet::MobileNetV1(layers), tail) => {
            h = unit(net, &layers.stem, h).await?;
            let blocks = match tail {
                Some(BackboneTail::MobileNetV1(tail)) => &tail.blocks[..],
                _ => &layers.blocks[cut..],
            };
            for block in layers.blocks[..cut].iter().chain(blocks) {
                h = unit(net, &block.depthwise, h).await?;
                h = unit(net, &block.pointwise, h).await?;
            }
            Ok(vec![mean(net, h)])
        }
        (BackboneNet::Vgg16(layers), tail) => {
            let (stages, flat) = match tail {
                Some(BackboneTail::Vgg16(tail)) => (&tail.stages[..], tail.flatten),
                _ => (&layers.stages[cut..], layers.flatten),
            };
            for stage in layers.stages[..cut].iter().chain(stages) {
                for layer in &stage.convs {
                    h = conv(net, layer, Activation::Relu, h).await?;
                }
                h = net.push(Kind::MaxPool, &[h], {
                    let [n, height, width, c] = net.shapes[h][..] else {
                        unreachable!("maps are 4-D")
                    };
                    vec![n, height / 2, width / 2, c]
                });
            }
            // At 224 px the last stage is already the 7x7 grid the flattened embedding pools to.
            Ok(vec![if flat { flatten(net, h) } else { mean(net, h) }])
        }
    }
}

/// `sign(x) · √|x|`, as `√max(x, 0) − √max(−x, 0)`: operators that have int8 kernels too.
fn signed_sqrt(net: &mut Net, part: &Part) -> Id {
    let x = part.value;
    if part.non_negative {
        return net.same(Kind::Sqrt, &[x]);
    }
    let positive = net.same(Kind::Relu, &[x]);
    let negative = net.same(Kind::Sub, &[x, positive]);
    let magnitude = net.same(Kind::Abs, &[negative]);
    let root_positive = net.same(Kind::Sqrt, &[positive]);
    let root_negative = net.same(Kind::Sqrt, &[magnitude]);
    net.same(Kind::Sub, &[root_positive, root_negative])
}

/// Rows scaled to unit length, as `x · 1/√(Σ x²)`: TF-Lite's `L2_NORMALIZATION` would do in
/// f32, but its int8 kernel fixes the output's step at 1/128, coarser than most of a long
/// row's values; this way each step is calibrated.
fn unit_length(net: &mut Net, x: Id) -> Id {
    let squares = net.same(Kind::Mul, &[x, x]);
    let sum = net.push(Kind::Sum, &[squares], vec![1, 1]);
    let scale = net.same(Kind::Rsqrt, &[sum]);
    net.same(Kind::Mul, &[x, scale])
}

/// For each of the `width` positions of a part in TF-Lite's order, where the app reads it.
fn app_order(part: &Part, width: usize) -> Vec<usize> {
    match part.map {
        // NHWC position ((y · w) + x) · c + ch is the app's ch · h · w + y · w + x.
        Some([c, h, w]) => (0..h * w)
            .flat_map(|pixel| (0..c).map(move |ch| ch * h * w + pixel))
            .collect(),
        None => (0..width).collect(),
    }
}

/// A dense layer from a Burn `Linear` (`[in, out]`); `rows` maps each input of the layer, in
/// TF-Lite's order, to the app's input and a factor on its weights.
async fn dense(
    linear: &Linear,
    rows: Option<&[(usize, f32)]>,
    activation: Activation,
) -> Result<Dense, TfliteError> {
    let [inputs, outputs] = linear.weight.dims();
    let weight = read(linear.weight.val()).await?;
    let bias = match &linear.bias {
        Some(bias) => read(bias.val()).await?,
        None => vec![0.0; outputs],
    };
    let identity: Vec<(usize, f32)> = (0..inputs).map(|i| (i, 1.0)).collect();
    let rows = rows.unwrap_or(&identity);
    let mut transposed = vec![0.0; inputs * outputs];
    for (j, &(i, factor)) in rows.iter().enumerate() {
        for o in 0..outputs {
            transposed[o * inputs + j] = weight[i * outputs + o] * factor;
        }
    }
    Ok(Dense {
        weight: transposed,
        shape: [outputs, inputs],
        bias,
        activation,
    })
}

/// The nearest-neighbour vote as [`KnnHead`] casts it: cosine similarity to the stored rows;
/// the `k` most similar vote for their classes (every row at least as similar as the `k`th,
/// which is the `k` nearest but for exact ties); the winner, by votes then summed similarity
/// (the last of equal ones, as the app picks), gets a bonus of 1e-3; the votes, as shares, are
/// the probabilities.
/// `order`: for each input in TF-Lite's order, where the app reads it.
async fn knn(net: &mut Net, knn: &KnnHead, order: &[usize], x: Id) -> Result<Id, TfliteError> {
    let center = read(knn.center.val()).await?;
    let center = order.iter().map(|&i| center[i]).collect();
    let centred = net.same(Kind::SubConstant(center), &[x]);
    let unit = unit_length(net, centred);
    let [stored, width] = knn.memory.dims();
    if stored == 0 {
        return Err(TfliteError::Unsupported(
            "a nearest-neighbour model with no stored samples",
        ));
    }
    let memory = read(knn.memory.val()).await?;
    let memory = Dense {
        weight: (0..stored)
            .flat_map(|row| order.iter().map(move |&i| (row, i)))
            .map(|(row, i)| memory[row * width + i])
            .collect(),
        shape: [stored, width],
        bias: vec![0.0; stored],
        activation: Activation::None,
    };
    let similarity = dense_value(net, memory, unit);
    let k = knn.k.min(stored).max(1);
    let kth = net.push(Kind::KthLargest(k), &[similarity], vec![1, 1]);
    let chosen = net.same(Kind::AtLeast, &[similarity, kth]);
    let weighted = net.same(Kind::Mul, &[chosen, similarity]);
    let classes = knn.num_classes;
    let mut one_hot = vec![0.0; classes * stored];
    for (row, &class) in knn.classes.iter().enumerate() {
        one_hot[class * stored + row] = 1.0;
    }
    let count = |values: Vec<f32>| Dense {
        weight: values,
        shape: [classes, stored],
        bias: vec![0.0; classes],
        activation: Activation::None,
    };
    let votes = dense_value(net, count(one_hot.clone()), chosen);
    let weight = dense_value(net, count(one_hot), weighted);
    // Votes are whole numbers and |summed similarity| <= k: votes · 4k + weight orders by votes,
    // then by weight.
    let scaled = net.same(Kind::Scale(4.0 * k as f32), &[votes]);
    let key = net.same(Kind::Add, &[scaled, weight]);
    let bonus = net.same(Kind::WinnerBonus(1e-3), &[key]);
    let shares = net.same(Kind::Add, &[votes, bonus]);
    let total = net.push(Kind::Sum, &[shares], vec![1, 1]);
    Ok(net.same(Kind::Div, &[shares, total]))
}

/// The classifier on `backbone` as a net: normalized image in, probabilities out.
pub async fn net(backbone: &Backbone, classifier: &Classifier) -> Result<Net, TfliteError> {
    let mut net = Net::new(backbone.kind.input_size());
    let parts = rows(
        &mut net,
        backbone,
        classifier.tail.as_ref(),
        classifier.rows(),
        0,
    )
    .await?;
    let means = match &classifier.norm {
        Some(norm) => Some(read(norm.mean.val()).await?),
        None => None,
    };
    // A trained head's first layer takes the map's weight in the normalization; the vote, which
    // centres and normalizes the rows again, takes it as the app applies it.
    let weighted = matches!(classifier.head, Head::Knn(_));
    // Each head input in TF-Lite's order: where the app reads it, and its factor.
    let mut rows = Vec::new();
    let mut features = Vec::new();
    let mut start = 0;
    for (index, part) in parts.iter().enumerate() {
        let width = net.shapes[part.value][1];
        let factor = if means.is_some() && index > 0 {
            SPATIAL_WEIGHT
        } else {
            1.0
        };
        let order = app_order(part, width);
        rows.extend(order.iter().map(|&i| (start + i, factor)));
        features.push(match &means {
            Some(means) => {
                let root = signed_sqrt(&mut net, part);
                let mean = order.iter().map(|&i| means[start + i]).collect();
                let centred = net.same(Kind::SubConstant(mean), &[root]);
                let unit = unit_length(&mut net, centred);
                if weighted && factor != 1.0 {
                    net.same(Kind::Scale(factor), &[unit])
                } else {
                    unit
                }
            }
            None => part.value,
        });
        start += width;
    }
    let x = match features[..] {
        [one] => one,
        _ => net.push(Kind::Concat, &features, vec![1, start]),
    };
    let logits = match &classifier.head {
        Head::Knn(head) => {
            let order: Vec<usize> = rows.iter().map(|&(i, _)| i).collect();
            knn(&mut net, head, &order, x).await?;
            return Ok(net);
        }
        Head::Trained(HeadNet::Linear(head)) => {
            let layer = dense(&head.output, Some(&rows), Activation::None).await?;
            dense_value(&mut net, layer, x)
        }
        Head::Trained(HeadNet::Mlp(head)) => {
            let hidden = dense(&head.hidden, Some(&rows), Activation::Relu).await?;
            let hidden = dense_value(&mut net, hidden, x);
            let output = dense(&head.output, None, Activation::None).await?;
            dense_value(&mut net, output, hidden)
        }
    };
    net.same(Kind::Softmax, &[logits]);
    Ok(net)
}

fn dense_value(net: &mut Net, layer: Dense, x: Id) -> Id {
    let outputs = layer.shape[0];
    net.push(Kind::Dense(Box::new(layer)), &[x], vec![1, outputs])
}
