//! Int8 records: every convolution and linear weight stored as 8-bit integers with one f32
//! scale per output channel (symmetric: `w ≈ q × scale`, `q` in -127..=127), dequantized to f32
//! at load. For MobileNetV2 these are the upstream TF-Lite file's own integers; biases stay f32.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ModuleAdapter, ModuleContext, bridge};
use burn::tensor::{DType, TensorData};

use super::WeightsError;

/// Per-output-channel scales of each quantized tensor, by its path in the module.
pub type Scales = BTreeMap<String, Vec<f32>>;

/// The output-channel axis of a tensor to quantize; `None` for tensors left in f32.
fn output_axis(tensor: &PackTensor) -> Option<usize> {
    if tensor.dtype != DType::F32 || !tensor.name.ends_with(".weight") {
        return None;
    }
    channel_axis(tensor.shape.as_slice())
}

/// The axis of output channels of a weight shaped `dims`: 0 for convolutions
/// (`[out, in, kh, kw]`), 1 for linear layers (`[in, out]`).
fn channel_axis(dims: &[usize]) -> Option<usize> {
    match dims.len() {
        4 => Some(0),
        2 => Some(1),
        _ => None,
    }
}

/// How many scales a quantized weight shaped `dims` has (one per output channel).
pub fn channels(dims: &[usize]) -> Option<usize> {
    channel_axis(dims).map(|axis| dims[axis])
}

/// `(channels, stride)`: the channel of flat index `i` is `(i / stride) % channels`.
fn layout(dims: &[usize], axis: usize) -> (usize, usize) {
    (dims[axis], dims[axis + 1..].iter().product())
}

/// The scales of every tensor to quantize among `tensors` (as `collect` returns them).
pub fn scales(tensors: &[PackTensor]) -> Result<Scales, WeightsError> {
    let mut scales = Scales::new();
    for tensor in tensors {
        let Some(axis) = output_axis(tensor) else {
            continue;
        };
        let data = bridge::to_data(tensor)
            .map_err(|e| WeightsError::Record(format!("{}: {e}", tensor.name)))?;
        let values = data
            .as_slice::<f32>()
            .map_err(|e| WeightsError::Record(format!("{}: {e:?}", tensor.name)))?;
        let (channels, stride) = layout(tensor.shape.as_slice(), axis);
        let mut max = vec![0f32; channels];
        for (i, v) in values.iter().enumerate() {
            let c = (i / stride) % channels;
            max[c] = max[c].max(v.abs());
        }
        scales.insert(
            tensor.name.clone(),
            max.into_iter()
                .map(|m| if m > 0.0 { m / 127.0 } else { 1.0 })
                .collect(),
        );
    }
    Ok(scales)
}

/// Writes quantized tensors as int8 (the saving side).
#[derive(Clone)]
pub struct Quantize(pub Arc<Scales>);

/// Reads int8 tensors back as f32 (the loading side).
#[derive(Clone)]
pub struct Dequantize(pub Arc<Scales>);

impl ModuleAdapter for Quantize {
    fn adapt(&self, tensor: PackTensor, _: ModuleContext<'_>) -> PackTensor {
        let (Some(axis), Some(scales)) = (output_axis(&tensor), self.0.get(&tensor.name).cloned())
        else {
            return tensor;
        };
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        let (channels, stride) = layout(shape.as_slice(), axis);
        bridge::map_data(tensor, name, DType::I8, shape.clone(), move |data| {
            let values = data.try_to_vec::<f32>().expect("quantized tensors are f32");
            let q: Vec<i8> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (v / scales[(i / stride) % channels])
                        .round()
                        .clamp(-127.0, 127.0) as i8
                })
                .collect();
            TensorData::new(q, shape.clone())
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

impl ModuleAdapter for Dequantize {
    fn adapt(&self, tensor: PackTensor, _: ModuleContext<'_>) -> PackTensor {
        let scales = match (tensor.dtype, self.0.get(&tensor.name)) {
            (DType::I8, Some(scales)) => scales.clone(),
            _ => return tensor,
        };
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        let Some(axis) = channel_axis(shape.as_slice()) else {
            return tensor;
        };
        let (channels, stride) = layout(shape.as_slice(), axis);
        bridge::map_data(tensor, name, DType::F32, shape.clone(), move |data| {
            let q = data.try_to_vec::<i8>().expect("stored as int8");
            let values: Vec<f32> = q
                .iter()
                .enumerate()
                .map(|(i, &q)| f32::from(q) * scales[(i / stride) % channels])
                .collect();
            TensorData::new(values, shape.clone())
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}
