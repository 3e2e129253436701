//! Writes a MobileNetV2 or EfficientNet-Lite0 record as a TensorFlow.js layers model (`model.json`
//! and `weights.bin`) through the library's layers export (`magpie::export::layers`), with no head:
//! the same network and the same f32 weights, cut where the app cuts it (the pooled embedding),
//! fed as Teachable Machine feeds its models (`x / 127 - 1`). The TF.js benchmark
//! (`bench/tfjs.mjs`) runs it on TF.js's wasm, WebGL and WebGPU backends beside ours.
//!
//! `cargo run --release --example tfjs_layers -- <mobilenet_v2|efficientnet_lite0> <out-dir>`

use std::path::PathBuf;

use burn::tensor::Device;
use magpie::backbone::BackboneKind;
use magpie::export::layers;
use magpie::weights::assets::weights_dir;
use magpie::weights::{Precision, record};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out] = args.as_slice() else {
        eprintln!("usage: tfjs_layers <mobilenet_v2|efficientnet_lite0> <out-dir>");
        std::process::exit(2);
    };
    let kind: BackboneKind = kind.parse().expect("a backbone name");
    let out = PathBuf::from(out);
    let bytes = std::fs::read(weights_dir().join(record::file_name(kind, Precision::F32)))
        .expect("the backbone's f32 record (scripts/weights.sh writes it)");
    let pretrained = record::load(bytes, &Device::flex()).expect("a valid record");
    let (model, weights) = pollster::block_on(layers::write(&pretrained.backbone, None, kind.id()))
        .expect("a backbone with a layers form");
    std::fs::create_dir_all(&out).expect("the output folder");
    std::fs::write(out.join("model.json"), model).unwrap();
    std::fs::write(out.join("weights.bin"), &weights).unwrap();
    println!("{}: {} bytes of weights", out.display(), weights.len());
}
