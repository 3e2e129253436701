//! Export of a trained classifier as one ONNX graph (opset 13, f32 or f16 weights, f32
//! arithmetic): RGB pixels in, class probabilities out. The backbone, any fine-tuned blocks, the spatial rows'
//! normalization, the head and its softmax (or the KNN vote) are the app's own modules, written
//! node by node; labels and preprocessing go in the file's metadata.

mod graph;
mod head;
pub mod layers;
mod network;
mod proto;
pub mod teachable_machine;
pub mod tflite;

use prost::Message;

use graph::Graph;
use proto::onnx::{
    GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto, TensorShapeProto,
    TypeProto, ValueInfoProto, tensor_proto::DataType, tensor_shape_proto::Dimension,
    tensor_shape_proto::dimension::Value as Dim, type_proto,
};

use crate::backbone::Backbone;
use crate::classifier::{Classifier, ClassifierError};

/// The ONNX operator set the export targets.
pub const OPSET: i64 = 13;
/// Name of the graph's input: `[batch, 3, size, size]` f32, RGB 0..=255.
pub const INPUT: &str = "image";
/// Name of the graph's output: `[batch, classes]` f32 probabilities.
pub const OUTPUT: &str = "probabilities";
/// Metadata key of the class names (a JSON array, in output order).
pub const LABELS_KEY: &str = "magpie:labels";
/// Metadata key of the input's layout and value range, in words.
pub const INPUT_KEY: &str = "magpie:input";
/// Metadata key of the preprocessing (JSON, as in the model record).
pub const PREPROCESSING_KEY: &str = "magpie:preprocessing";

/// How an export stores its weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32, as the app computes.
    #[default]
    F32,
    /// f16, half the file; each weight is cast to f32 where it is read.
    F16,
}

impl Precision {
    /// The name of the precision (`"f32"`, `"f16"`).
    pub fn id(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
        }
    }
}

fn tensor_type(dims: &[Dim]) -> TypeProto {
    TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: Some(DataType::Float as i32),
            shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|d| Dimension {
                        value: Some(d.clone()),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Dim], doc: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(tensor_type(dims)),
        doc_string: Some(doc.to_string()),
        ..Default::default()
    }
}

fn entry(key: &str, value: String) -> StringStringEntryProto {
    StringStringEntryProto {
        key: Some(key.to_string()),
        value: Some(value),
    }
}

/// The ONNX file of `classifier` on `backbone` (the backbone it was trained on, whose weights
/// the app runs it with), its weights stored in `precision`.
pub async fn onnx(
    backbone: &Backbone,
    classifier: &Classifier,
    precision: Precision,
) -> Result<Vec<u8>, ClassifierError> {
    let info = &classifier.info;
    if backbone.kind != info.backbone {
        return Err(ClassifierError::WrongBackbone {
            trained_on: info.backbone,
            given: backbone.kind,
        });
    }
    let prep = &info.preprocessing;
    let size = prep.input_size;
    let mut g = Graph::default();
    g.half = precision == Precision::F16;
    let scale = g.constant("scale", &[1, 3, 1, 1], &prep.scale);
    let offset = g.constant("offset", &[1, 3, 1, 1], &prep.offset);
    let scaled = g.node("Mul", &[INPUT, &scale], vec![]);
    let normalized = g.node("Add", &[&scaled, &offset], vec![]);
    let x = network::Map {
        name: normalized,
        side: size,
    };
    let rows = network::rows(
        &mut g,
        backbone,
        classifier.tail.as_ref(),
        classifier.rows(),
        x,
    )
    .await?;
    let probabilities = head::probabilities(&mut g, classifier, rows).await?;
    g.node_into("Identity", &[&probabilities], vec![], OUTPUT);

    let batch = Dim::DimParam("batch".into());
    let side = Dim::DimValue(size as i64);
    let input_doc = format!(
        "float32 [batch, 3, {size}, {size}] (NCHW), RGB pixels 0..=255: the largest centred square \
         of the image, resized bilinearly with half-pixel centres (no antialiasing); the graph \
         scales them itself"
    );
    let classes = info.labels.len() as i64;
    let graph = GraphProto {
        name: Some(format!(
            "magpie {} {}",
            info.backbone, info.training.head.kind
        )),
        node: g.nodes,
        initializer: g.initializers,
        input: vec![value_info(
            INPUT,
            &[batch.clone(), Dim::DimValue(3), side.clone(), side],
            &input_doc,
        )],
        output: vec![value_info(
            OUTPUT,
            &[batch, Dim::DimValue(classes)],
            "class probabilities, in the order of the labels metadata",
        )],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: Some(7),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("magpie".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!(
            "A magpie few-shot classifier on {}: {} classes",
            info.backbone,
            info.labels.len()
        )),
        graph: Some(graph),
        metadata_props: vec![
            entry(
                LABELS_KEY,
                serde_json::to_string(&info.labels).unwrap_or_default(),
            ),
            entry(
                PREPROCESSING_KEY,
                serde_json::to_string(prep).unwrap_or_default(),
            ),
            entry(INPUT_KEY, input_doc.clone()),
            entry("magpie:backbone", info.backbone.to_string()),
            entry("magpie:precision", precision.id().to_string()),
            entry("magpie:unsureBelow", info.threshold().to_string()),
        ],
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}
