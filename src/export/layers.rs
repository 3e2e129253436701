//! A backbone and a pooled-features head as a TensorFlow.js layers model (`model.json` with its
//! Keras topology, and `weights.bin`, f32): the same network and weights in Keras layers (NHWC,
//! `same` padding, which pads as ours does), only stock layers, so TF.js's own
//! `tf.loadLayersModel` (and so Teachable Machine's library and ml5) runs it. The input is what
//! Teachable Machine feeds its models, the centre-cropped frame scaled `x / 127 − 1`: a
//! `Rescaling` layer turns it into the backbone's own normalization.

use burn::nn::Linear;
use burn::tensor::Tensor;
use serde_json::{Value, json};

use crate::backbone::{Backbone, BackboneKind, BackboneNet, ConvUnit};
use crate::head::HeadNet;
use crate::readback::{DeviceError, read};

/// The scale and offset Teachable Machine's library applies to 0..=255 pixels.
pub const TM_INPUT: (f32, f32) = (1.0 / 127.0, -1.0);

/// A layers model being written: its layers, and the weights they name in order.
#[derive(Default)]
pub struct LayersModel {
    layers: Vec<Value>,
    specs: Vec<Value>,
    bytes: Vec<u8>,
}

/// Why a classifier cannot be written as a layers model.
#[derive(Debug, Clone, PartialEq)]
pub enum LayersError {
    /// The backbone has no layers export (VGG16: its record alone is larger than a TF.js model
    /// a page would load).
    Backbone(BackboneKind),
    /// Reading the weights back failed.
    Device(DeviceError),
}

impl std::fmt::Display for LayersError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Backbone(kind) => write!(
                f,
                "{} has no TensorFlow.js export (MobileNetV2, EfficientNet-Lite0 and MobileNetV1 0.25 do)",
                kind.display_name()
            ),
            Self::Device(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LayersError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Device(e) => Some(e),
            Self::Backbone(_) => None,
        }
    }
}

impl From<DeviceError> for LayersError {
    fn from(e: DeviceError) -> Self {
        Self::Device(e)
    }
}

/// `backbone` and its pooled embedding, then `head` and a softmax when there is one, as a layers
/// model named `name`: `(model.json, weights.bin)`.
pub async fn write(
    backbone: &Backbone,
    head: Option<&HeadNet>,
    name: &str,
) -> Result<(Vec<u8>, Vec<u8>), LayersError> {
    let kind = backbone.kind;
    let size = kind.input_size();
    let mut m = LayersModel::default();
    let input =
        json!({ "batch_input_shape": [null, size, size, 3], "dtype": "float32", "sparse": false });
    let mut x = m.layer("InputLayer", "input", input, &[]);
    // TM's x / 127 - 1 back to pixels, then the backbone's own normalization: one scale and
    // offset (every served backbone normalizes its three channels alike).
    let ours = kind.normalization();
    let (scale, offset) = (ours.scale[0], ours.offset[0]);
    // pixels = (t - TM offset) / TM scale; ours = pixels * scale + offset.
    let (tm_scale, tm_offset) = TM_INPUT;
    x = m.layer(
        "Rescaling",
        "normalization",
        json!({ "scale": scale / tm_scale, "offset": offset - tm_offset * scale / tm_scale }),
        &[&x],
    );
    x = match &backbone.net {
        BackboneNet::InvertedResidual(net) => {
            x = m.unit("stem", &net.stem, false, &x).await?;
            for (i, block) in net.blocks.iter().enumerate() {
                let block_input = x.clone();
                if let Some(expand) = &block.expand {
                    x = m
                        .unit(&format!("block{i}_expand"), expand, false, &x)
                        .await?;
                }
                x = m
                    .unit(&format!("block{i}_depthwise"), &block.depthwise, true, &x)
                    .await?;
                x = m
                    .unit(&format!("block{i}_project"), &block.project, false, &x)
                    .await?;
                if block.residual {
                    x = m.layer(
                        "Add",
                        &format!("block{i}_add"),
                        json!({}),
                        &[&block_input, &x],
                    );
                }
            }
            m.unit("top", &net.head, false, &x).await?
        }
        BackboneNet::MobileNetV1(net) => {
            x = m.unit("stem", &net.stem, false, &x).await?;
            for (i, block) in net.blocks.iter().enumerate() {
                x = m
                    .unit(&format!("block{i}_depthwise"), &block.depthwise, true, &x)
                    .await?;
                x = m
                    .unit(&format!("block{i}_pointwise"), &block.pointwise, false, &x)
                    .await?;
            }
            x
        }
        BackboneNet::Vgg16(_) => return Err(LayersError::Backbone(kind)),
    };
    x = m.layer(
        "GlobalAveragePooling2D",
        "pool",
        json!({ "data_format": "channels_last" }),
        &[&x],
    );
    x = match head {
        None => x,
        Some(HeadNet::Linear(head)) => m.dense("output", &head.output, "softmax", &x).await?,
        Some(HeadNet::Mlp(head)) => {
            let hidden = m.dense("hidden", &head.hidden, "relu", &x).await?;
            m.dense("output", &head.output, "softmax", &hidden).await?
        }
    };
    let model = json!({
        "format": "layers-model",
        "generatedBy": concat!("magpie ", env!("CARGO_PKG_VERSION")),
        "convertedBy": null,
        "modelTopology": {
            "class_name": "Model",
            "config": { "name": name, "layers": m.layers,
                "input_layers": [["input", 0, 0]], "output_layers": [[x, 0, 0]] },
            "keras_version": "2.15.0", "backend": "tensorflow",
        },
        "weightsManifest": [{ "paths": ["weights.bin"], "weights": m.specs }],
    });
    let json = serde_json::to_vec(&model).expect("a JSON value serializes");
    Ok((json, m.bytes))
}

impl LayersModel {
    /// Adds a layer of `class` named `name` reading `inputs`; returns its name.
    fn layer(&mut self, class: &str, name: &str, config: Value, inputs: &[&str]) -> String {
        let mut config = config;
        config["name"] = json!(name);
        let inbound: Vec<Value> = inputs.iter().map(|i| json!([i, 0, 0, {}])).collect();
        self.layers.push(json!({
            "class_name": class, "name": name, "config": config,
            "inbound_nodes": if inputs.is_empty() { json!([]) } else { json!([inbound]) },
        }));
        name.to_string()
    }

    /// Appends a weight named `name` of `shape`, its values in that layout.
    fn weight(&mut self, name: String, shape: Vec<usize>, values: &[f32]) {
        self.specs
            .push(json!({ "name": name, "shape": shape, "dtype": "float32" }));
        self.bytes
            .extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }

    /// A 4-D tensor permuted by `axes`, as a weight.
    async fn kernel(
        &mut self,
        name: String,
        tensor: Tensor<4>,
        axes: [usize; 4],
    ) -> Result<(), DeviceError> {
        let tensor = tensor.permute(axes);
        let shape = tensor.dims().to_vec();
        let values = read(tensor).await?;
        self.weight(name, shape, &values);
        Ok(())
    }

    /// A convolution (depthwise when `depthwise`) with its bias, then ReLU6 when the unit has
    /// one; returns the last layer's name.
    async fn unit(
        &mut self,
        name: &str,
        unit: &ConvUnit,
        depthwise: bool,
        input: &str,
    ) -> Result<String, DeviceError> {
        let conv = &unit.conv;
        let [filters, _, k, _] = conv.weight.dims();
        let mut config = json!({
            "kernel_size": [k, k], "strides": conv.stride, "padding": "same", "use_bias": true,
            "activation": "linear", "data_format": "channels_last", "dilation_rate": [1, 1],
        });
        let class = if depthwise {
            config["depth_multiplier"] = json!(1);
            // Ours [c, 1, k, k]; Keras [k, k, c, 1].
            self.kernel(
                format!("{name}/depthwise_kernel"),
                conv.weight.val(),
                [2, 3, 0, 1],
            )
            .await?;
            "DepthwiseConv2D"
        } else {
            config["filters"] = json!(filters);
            // Ours [out, in, k, k]; Keras [k, k, in, out].
            self.kernel(format!("{name}/kernel"), conv.weight.val(), [2, 3, 1, 0])
                .await?;
            "Conv2D"
        };
        let bias = match &conv.bias {
            Some(bias) => read(bias.val()).await?,
            None => vec![0.0; filters],
        };
        self.weight(format!("{name}/bias"), vec![bias.len()], &bias);
        let out = self.layer(class, name, config, &[input]);
        Ok(if unit.relu6 {
            self.layer(
                "ReLU",
                &format!("{name}_relu6"),
                json!({ "max_value": 6.0 }),
                &[&out],
            )
        } else {
            out
        })
    }

    /// A dense layer (Keras's kernel is `[in, out]`, as Burn's) with `activation`.
    async fn dense(
        &mut self,
        name: &str,
        linear: &Linear,
        activation: &str,
        input: &str,
    ) -> Result<String, DeviceError> {
        let [inputs, units] = linear.weight.dims();
        let kernel = read(linear.weight.val()).await?;
        self.weight(format!("{name}/kernel"), vec![inputs, units], &kernel);
        let bias = match &linear.bias {
            Some(bias) => read(bias.val()).await?,
            None => vec![0.0; units],
        };
        self.weight(format!("{name}/bias"), vec![units], &bias);
        let config = json!({ "units": units, "activation": activation, "use_bias": true });
        Ok(self.layer("Dense", name, config, &[input]))
    }
}
