//! Writes a MobileNetV2 or EfficientNet-Lite0 record as a TensorFlow.js layers model (`model.json`
//! and `weights.bin`): the same network and the same f32 weights, in Keras layers (NHWC), cut
//! where the app cuts it (global average pooling after the head convolution). The TF.js benchmark
//! (`bench/tfjs.mjs`) runs it on TF.js's wasm, WebGL and WebGPU backends beside ours.
//!
//! `cargo run --release --example tfjs_layers -- <mobilenet_v2|efficientnet_lite0> <out-dir>`

use std::path::PathBuf;

use burn::tensor::{Device, Tensor};
use magpie::backbone::{BackboneKind, BackboneNet, ConvUnit};
use magpie::weights::assets::weights_dir;
use magpie::weights::{Precision, record};
use serde_json::{Value, json};

/// Keras layers and the weights they name, in order.
#[derive(Default)]
struct Model {
    layers: Vec<Value>,
    specs: Vec<Value>,
    bytes: Vec<u8>,
}

impl Model {
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

    fn weight(&mut self, name: String, tensor: Tensor<4>, axes: [usize; 4]) {
        let tensor = tensor.permute(axes);
        self.specs
            .push(json!({ "name": name, "shape": tensor.dims(), "dtype": "float32" }));
        self.push(tensor.into_data().try_to_vec::<f32>().expect("f32 weights"));
    }

    fn push(&mut self, values: Vec<f32>) {
        self.bytes
            .extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }

    /// A convolution (depthwise when `depthwise`), then ReLU6 when the unit has one.
    fn unit(&mut self, name: &str, unit: &ConvUnit, depthwise: bool, input: &str) -> String {
        let conv = &unit.conv;
        let [filters, _, k, _] = conv.weight.dims();
        let mut config = json!({
            "kernel_size": [k, k], "strides": conv.stride, "padding": "same", "use_bias": true,
            "activation": "linear", "data_format": "channels_last", "dilation_rate": [1, 1],
        });
        let bias = conv.bias.as_ref().expect("folded bias").val();
        let class = if depthwise {
            config["depth_multiplier"] = json!(1);
            // Ours [c, 1, k, k]; Keras [k, k, c, 1].
            self.weight(
                format!("{name}/depthwise_kernel"),
                conv.weight.val(),
                [2, 3, 0, 1],
            );
            "DepthwiseConv2D"
        } else {
            config["filters"] = json!(filters);
            // Ours [out, in, k, k]; Keras [k, k, in, out].
            self.weight(format!("{name}/kernel"), conv.weight.val(), [2, 3, 1, 0]);
            "Conv2D"
        };
        self.specs.push(
            json!({ "name": format!("{name}/bias"), "shape": bias.dims(), "dtype": "float32" }),
        );
        self.push(bias.into_data().try_to_vec::<f32>().expect("f32 bias"));
        let out = self.layer(class, name, config, &[input]);
        if unit.relu6 {
            self.layer(
                "ReLU",
                &format!("{name}_relu6"),
                json!({ "max_value": 6.0 }),
                &[&out],
            )
        } else {
            out
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out] = args.as_slice() else {
        eprintln!("usage: tfjs_layers <mobilenet_v2|efficientnet_lite0> <out-dir>");
        std::process::exit(2);
    };
    let kind: BackboneKind = kind.parse().expect("a backbone name");
    let out = PathBuf::from(out);
    let device = Device::flex();
    let bytes = std::fs::read(weights_dir().join(record::file_name(kind, Precision::F32)))
        .expect("the backbone's f32 record (scripts/weights.sh writes it)");
    let pretrained = record::load(bytes, &device).expect("a valid record");
    let BackboneNet::InvertedResidual(net) = &pretrained.backbone.net else {
        panic!("{kind} is not an inverted-residual network");
    };
    let size = kind.input_size();
    let mut m = Model::default();
    let input =
        json!({ "batch_input_shape": [null, size, size, 3], "dtype": "float32", "sparse": false });
    let mut x = m.layer("InputLayer", "image", input, &[]);
    x = m.unit("stem", &net.stem, false, &x);
    for (i, block) in net.blocks.iter().enumerate() {
        let block_input = x.clone();
        if let Some(expand) = &block.expand {
            x = m.unit(&format!("block{i}_expand"), expand, false, &x);
        }
        x = m.unit(&format!("block{i}_depthwise"), &block.depthwise, true, &x);
        x = m.unit(&format!("block{i}_project"), &block.project, false, &x);
        if block.residual {
            x = m.layer(
                "Add",
                &format!("block{i}_add"),
                json!({}),
                &[&block_input, &x],
            );
        }
    }
    x = m.unit("head", &net.head, false, &x);
    let pooled = m.layer(
        "GlobalAveragePooling2D",
        "pool",
        json!({ "data_format": "channels_last" }),
        &[&x],
    );
    let model = json!({
        "format": "layers-model",
        "generatedBy": "magpie examples/tfjs_layers.rs",
        "convertedBy": null,
        "modelTopology": {
            "class_name": "Model",
            "config": { "name": kind.to_string(), "layers": m.layers,
                "input_layers": [["image", 0, 0]], "output_layers": [[pooled, 0, 0]] },
            "keras_version": "2.15.0", "backend": "tensorflow",
        },
        "weightsManifest": [{ "paths": ["weights.bin"], "weights": m.specs }],
    });
    std::fs::create_dir_all(&out).expect("the output folder");
    std::fs::write(
        out.join("model.json"),
        serde_json::to_string(&model).unwrap(),
    )
    .unwrap();
    std::fs::write(out.join("weights.bin"), &m.bytes).unwrap();
    println!(
        "{}: {} layers, {} bytes of weights",
        out.display(),
        m.layers.len(),
        m.bytes.len()
    );
}
