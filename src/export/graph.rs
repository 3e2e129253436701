//! A small builder for an ONNX graph: named values, f32 initializers read from Burn tensors, and
//! nodes with their attributes.

use burn::tensor::Tensor;
use half::f16;

use super::proto::onnx::{
    AttributeProto, NodeProto, TensorProto, attribute_proto::AttributeType, tensor_proto::DataType,
};
use crate::readback::{DeviceError, read};

/// An attribute value of a node.
pub enum Attr {
    /// One integer.
    Int(i64),
    /// A list of integers.
    Ints(Vec<i64>),
}

/// Nodes and initializers under construction; every value gets a fresh name.
#[derive(Default)]
pub struct Graph {
    /// Whether weights are stored as f16 (each cast to f32 where it is read).
    pub half: bool,
    /// The nodes, in execution order.
    pub nodes: Vec<NodeProto>,
    /// The weights and constants.
    pub initializers: Vec<TensorProto>,
    count: usize,
}

impl Graph {
    fn fresh(&mut self, prefix: &str) -> String {
        self.count += 1;
        format!("{prefix}_{}", self.count)
    }

    /// An f32 constant of shape `dims`.
    pub fn constant(&mut self, prefix: &str, dims: &[usize], values: &[f32]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(prefix, dims, DataType::Float, raw)
    }

    /// An i64 constant (shapes, axes) of shape `[values.len()]`.
    pub fn ints(&mut self, prefix: &str, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(prefix, &[values.len()], DataType::Int64, raw)
    }

    /// A weight, read from its device.
    pub async fn tensor<const D: usize>(
        &mut self,
        prefix: &str,
        tensor: Tensor<D>,
    ) -> Result<String, DeviceError> {
        let dims = tensor.dims();
        let values = read(tensor).await?;
        if !self.half {
            return Ok(self.constant(prefix, &dims, &values));
        }
        let raw = values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect();
        let stored = self.initializer(prefix, &dims, DataType::Float16, raw);
        Ok(self.node(
            "Cast",
            &[&stored],
            vec![("to", Attr::Int(DataType::Float as i64))],
        ))
    }

    fn initializer(
        &mut self,
        prefix: &str,
        dims: &[usize],
        kind: DataType,
        raw: Vec<u8>,
    ) -> String {
        let name = self.fresh(prefix);
        self.initializers.push(TensorProto {
            name: Some(name.clone()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(kind as i32),
            raw_data: Some(raw),
            ..Default::default()
        });
        name
    }

    /// Appends an `op` node reading `inputs`; returns the name of its (single) output.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let output = self.fresh(&op.to_lowercase());
        self.node_into(op, inputs, attrs, &output);
        output
    }

    /// Appends an `op` node with `count` outputs; returns their names.
    pub fn node_outputs(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
        count: usize,
    ) -> Vec<String> {
        let outputs: Vec<String> = (0..count).map(|_| self.fresh(&op.to_lowercase())).collect();
        self.push(op, inputs, attrs, outputs.clone());
        outputs
    }

    /// Appends an `op` node writing the value named `output`.
    pub fn node_into(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, output: &str) {
        self.push(op, inputs, attrs, vec![output.to_string()]);
    }

    fn push(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, output: Vec<String>) {
        let attribute = attrs
            .into_iter()
            .map(|(name, value)| {
                let mut attr = AttributeProto {
                    name: Some(name.to_string()),
                    ..Default::default()
                };
                let kind = match value {
                    Attr::Int(i) => {
                        attr.i = Some(i);
                        AttributeType::Int
                    }
                    Attr::Ints(ints) => {
                        attr.ints = ints;
                        AttributeType::Ints
                    }
                };
                attr.r#type = Some(kind as i32);
                attr
            })
            .collect();
        self.nodes.push(NodeProto {
            op_type: Some(op.to_string()),
            name: Some(format!("{}_{}", op.to_lowercase(), self.nodes.len())),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output,
            attribute,
            ..Default::default()
        });
    }
}
