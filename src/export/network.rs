//! The backbones' layers as ONNX nodes, from the same modules the app runs: stem and blocks up to
//! the cut, then the classifier's fine-tuned tail (or the backbone's own), then pooling.

use burn::nn::conv::Conv2d;

use super::graph::{Attr, Graph};
use crate::backbone::{
    Backbone, BackboneNet, BackboneTail, ConvUnit, DepthwiseSeparable, InvertedResidual, RowKind,
    Vgg16Stage, conv_pads,
};
use crate::readback::DeviceError;

/// A value of the graph and its square spatial side.
#[derive(Debug, Clone)]
pub struct Map {
    /// Name of the value (`[batch, channels, side, side]`).
    pub name: String,
    /// Height and width.
    pub side: usize,
}

/// What the head reads: the pooled embedding, and the spatial map flattened when it reads one.
pub struct Rows {
    /// `[batch, feature_dim]`.
    pub pooled: String,
    /// `[batch, channels * h * w]`, for spatial rows.
    pub map: Option<String>,
}

async fn conv(g: &mut Graph, conv: &Conv2d, x: &Map) -> Result<Map, DeviceError> {
    let [kernel, _] = conv.kernel_size;
    let [stride, _] = conv.stride;
    let pads = conv_pads(&conv.padding, kernel, stride, [x.side, x.side]);
    let weight = g.tensor("weight", conv.weight.val()).await?;
    let mut inputs = vec![x.name.clone(), weight];
    if let Some(bias) = &conv.bias {
        inputs.push(g.tensor("bias", bias.val()).await?);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let name = g.node(
        "Conv",
        &inputs,
        vec![
            ("kernel_shape", Attr::Ints(vec![kernel as i64; 2])),
            ("strides", Attr::Ints(vec![stride as i64; 2])),
            (
                "dilations",
                Attr::Ints(conv.dilation.map(|d| d as i64).to_vec()),
            ),
            ("pads", Attr::Ints(pads.map(|p| p as i64).to_vec())),
            ("group", Attr::Int(conv.groups as i64)),
        ],
    );
    let side = (x.side + pads[0] + pads[2] - kernel) / stride + 1;
    Ok(Map { name, side })
}

async fn unit(g: &mut Graph, unit: &ConvUnit, x: &Map) -> Result<Map, DeviceError> {
    let mut y = conv(g, &unit.conv, x).await?;
    if unit.relu6 {
        let (low, high) = (
            g.constant("zero", &[], &[0.0]),
            g.constant("six", &[], &[6.0]),
        );
        y.name = g.node("Clip", &[&y.name, &low, &high], vec![]);
    }
    Ok(y)
}

async fn inverted_residual(
    g: &mut Graph,
    block: &InvertedResidual,
    x: &Map,
) -> Result<Map, DeviceError> {
    let mut h = x.clone();
    if let Some(expand) = &block.expand {
        h = unit(g, expand, &h).await?;
    }
    h = unit(g, &block.depthwise, &h).await?;
    h = unit(g, &block.project, &h).await?;
    if block.residual {
        h.name = g.node("Add", &[&h.name, &x.name], vec![]);
    }
    Ok(h)
}

async fn separable(g: &mut Graph, block: &DepthwiseSeparable, x: &Map) -> Result<Map, DeviceError> {
    let h = unit(g, &block.depthwise, x).await?;
    unit(g, &block.pointwise, &h).await
}

async fn vgg_stage(g: &mut Graph, stage: &Vgg16Stage, x: &Map) -> Result<Map, DeviceError> {
    let mut h = x.clone();
    for layer in &stage.convs {
        h = conv(g, layer, &h).await?;
        h.name = g.node("Relu", &[&h.name], vec![]);
    }
    let name = g.node(
        "MaxPool",
        &[&h.name],
        vec![
            ("kernel_shape", Attr::Ints(vec![2, 2])),
            ("strides", Attr::Ints(vec![2, 2])),
        ],
    );
    Ok(Map {
        name,
        side: h.side / 2,
    })
}

fn flatten(g: &mut Graph, x: &str) -> String {
    g.node("Flatten", &[x], vec![("axis", Attr::Int(1))])
}

fn global_pool(g: &mut Graph, x: &Map) -> String {
    let pooled = g.node("GlobalAveragePool", &[&x.name], vec![]);
    flatten(g, &pooled)
}

/// The rows `kind` names, from the normalized image `x`; `tail` (the classifier's fine-tuned
/// blocks) replaces the backbone's last blocks when the rows are [`RowKind::TailInput`].
pub async fn rows(
    g: &mut Graph,
    backbone: &Backbone,
    tail: Option<&BackboneTail>,
    kind: RowKind,
    x: Map,
) -> Result<Rows, DeviceError> {
    let cut = backbone.num_blocks().saturating_sub(kind.blocks_after());
    let mut h = x;
    match (&backbone.net, tail) {
        (BackboneNet::InvertedResidual(net), tail) => {
            h = unit(g, &net.stem, &h).await?;
            for block in &net.blocks[..cut] {
                h = inverted_residual(g, block, &h).await?;
            }
            let map = (kind == RowKind::Spatial).then(|| flatten(g, &h.name));
            let (blocks, head) = match tail {
                Some(BackboneTail::InvertedResidual(tail)) => (&tail.blocks[..], &tail.head),
                _ => (&net.blocks[cut..], &net.head),
            };
            for block in blocks {
                h = inverted_residual(g, block, &h).await?;
            }
            h = unit(g, head, &h).await?;
            Ok(Rows {
                pooled: global_pool(g, &h),
                map,
            })
        }
        (BackboneNet::MobileNetV1(net), tail) => {
            h = unit(g, &net.stem, &h).await?;
            let blocks = match tail {
                Some(BackboneTail::MobileNetV1(tail)) => &tail.blocks[..],
                _ => &net.blocks[cut..],
            };
            for block in net.blocks[..cut].iter().chain(blocks) {
                h = separable(g, block, &h).await?;
            }
            Ok(Rows {
                pooled: global_pool(g, &h),
                map: None,
            })
        }
        (BackboneNet::Vgg16(net), tail) => {
            let stages = match tail {
                Some(BackboneTail::Vgg16(tail)) => &tail.stages[..],
                _ => &net.stages[cut..],
            };
            for stage in net.stages[..cut].iter().chain(stages) {
                h = vgg_stage(g, stage, &h).await?;
            }
            // At 224 px the last stage is already the 7x7 grid the flattened embedding pools to.
            let pooled = if net.flatten {
                flatten(g, &h.name)
            } else {
                global_pool(g, &h)
            };
            Ok(Rows { pooled, map: None })
        }
    }
}
