//! The backbone weight record the app downloads: a Burnpack file (burn-store) holding the
//! network's parameters (f32, f16, or int8 with per-channel scales), and metadata naming the
//! backbone and its labels.

use std::sync::Arc;

use burn::store::burn_pack::{Reader, Tensor as PackTensor};
use burn::store::{BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType, Device};
use serde::{Deserialize, Serialize};

use super::WeightsError;
use super::quantize::{self, Dequantize, Quantize, Scales};
use crate::backbone::{Backbone, BackboneKind, BackboneNet};

/// Metadata key of the record's description (JSON of [`RecordInfo`]).
const INFO_KEY: &str = "magpie";
/// Metadata key of an int8 record's scales (JSON: tensor path → one scale per output channel).
const SCALES_KEY: &str = "magpie.scales";

/// Storage precision of a record's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (half the download), widened to f32 on load.
    F16,
    /// Convolution and linear weights as 8-bit integers with an f32 scale per output channel
    /// (a quarter of the download), dequantized on load; biases in f32.
    Int8,
}

impl Precision {
    /// The precision the app serves `kind` in: int8 where that loses nothing that matters
    /// (MobileNetV2's weights are int8 upstream), f16 for MobileNetV1 0.25, whose features
    /// stay equal to TF.js's (and whose f16 record is under 1 MB).
    pub fn served(kind: BackboneKind) -> Self {
        match kind {
            BackboneKind::MobilenetV1025 => Self::F16,
            _ => Self::Int8,
        }
    }
}

/// File name of the record of `kind` at `precision`: `<id>.bpk`, `<id>.f16.bpk` or
/// `<id>.int8.bpk`.
pub fn file_name(kind: BackboneKind, precision: Precision) -> String {
    match precision {
        Precision::F32 => format!("{}.bpk", kind.id()),
        Precision::F16 => format!("{}.f16.bpk", kind.id()),
        Precision::Int8 => format!("{}.int8.bpk", kind.id()),
    }
}

/// What a backbone record describes, beyond its tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordInfo {
    /// Format version of this description.
    pub version: u32,
    /// The backbone's architecture.
    pub backbone: BackboneKind,
    /// One label per classifier output (ImageNet class names).
    pub labels: Vec<String>,
    /// Storage precision.
    pub precision: Precision,
    /// The upstream artifact the weights were converted from.
    pub source: String,
}

/// A backbone with its pretrained weights and ImageNet labels.
#[derive(Debug)]
pub struct PretrainedBackbone {
    /// The network.
    pub backbone: Backbone,
    /// What the record says about itself.
    pub info: RecordInfo,
}

fn record_error(e: impl std::fmt::Display) -> WeightsError {
    WeightsError::Record(e.to_string())
}

/// Serializes `backbone` and `info` into Burnpack bytes.
pub fn save(backbone: &Backbone, info: &RecordInfo) -> Result<Vec<u8>, WeightsError> {
    let json = serde_json::to_string(info).map_err(record_error)?;
    let mut store = BurnpackStore::from_bytes(None).metadata(INFO_KEY, json);
    match info.precision {
        Precision::F32 => {}
        Precision::F16 => store = store.with_to_adapter(HalfPrecisionAdapter::new()),
        Precision::Int8 => {
            let scales = quantize::scales(&collect(backbone))?;
            store = store.metadata(
                SCALES_KEY,
                serde_json::to_string(&scales).map_err(record_error)?,
            );
            store = store.with_to_adapter(Quantize(Arc::new(scales)));
        }
    }
    match &backbone.net {
        BackboneNet::InvertedResidual(net) => net.save_into(&mut store),
        BackboneNet::MobileNetV1(net) => net.save_into(&mut store),
        BackboneNet::Vgg16(net) => net.save_into(&mut store),
    }
    .map_err(record_error)?;
    Ok(store.get_bytes().map_err(record_error)?.to_vec())
}

/// Reads the description of a record without loading its tensors.
pub fn info(bytes: &[u8]) -> Result<RecordInfo, WeightsError> {
    describe(&reader(bytes)?)
}

/// A reader over a copy of `bytes`.
fn reader(bytes: &[u8]) -> Result<Reader, WeightsError> {
    Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(record_error)
}

/// The description in a record's metadata, checked against its backbone.
fn describe(reader: &Reader) -> Result<RecordInfo, WeightsError> {
    let json = reader.metadata().get(INFO_KEY).ok_or_else(|| {
        WeightsError::Record("no magpie description in the record's metadata".into())
    })?;
    let info: RecordInfo = serde_json::from_str(json).map_err(record_error)?;
    if info.labels.len() != info.backbone.num_classes() {
        return Err(WeightsError::Record(format!(
            "{} labels for the {} classes of {}",
            info.labels.len(),
            info.backbone.num_classes(),
            info.backbone.id()
        )));
    }
    Ok(info)
}

/// Loads a record written by [`save`] onto `device`.
pub fn load(bytes: Vec<u8>, device: &Device) -> Result<PretrainedBackbone, WeightsError> {
    let header = reader(&bytes)?;
    let info = describe(&header)?;
    let mut backbone = Backbone::init(info.backbone, device);
    let scales = match info.precision {
        Precision::Int8 => Some(read_scales(&header)?),
        _ => None,
    };
    check_tensors(header, scales.as_ref())?;
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)));
    match (info.precision, scales) {
        (Precision::F16, _) => store = store.with_from_adapter(HalfPrecisionAdapter::new()),
        (Precision::Int8, Some(scales)) => {
            store = store.with_from_adapter(Dequantize(Arc::new(scales)))
        }
        _ => {}
    }
    let misfit = |detail: String| {
        // Shape errors list every tensor: keep the message readable.
        let detail: String = detail.chars().take(300).collect();
        WeightsError::Record(format!(
            "the record does not fit {}: {detail}",
            info.backbone.id()
        ))
    };
    let result = match &mut backbone.net {
        BackboneNet::InvertedResidual(net) => net.load_from(&mut store),
        BackboneNet::MobileNetV1(net) => net.load_from(&mut store),
        BackboneNet::Vgg16(net) => net.load_from(&mut store),
    }
    .map_err(|e| misfit(e.to_string()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(misfit(result.to_string()));
    }
    Ok(PretrainedBackbone { backbone, info })
}

/// Every tensor of `backbone`, as a store collects them.
fn collect(backbone: &Backbone) -> Vec<PackTensor> {
    match &backbone.net {
        BackboneNet::InvertedResidual(net) => net.collect(None, None, false),
        BackboneNet::MobileNetV1(net) => net.collect(None, None, false),
        BackboneNet::Vgg16(net) => net.collect(None, None, false),
    }
}

/// An int8 record's scales.
fn read_scales(reader: &Reader) -> Result<Scales, WeightsError> {
    let json = reader
        .metadata()
        .get(SCALES_KEY)
        .ok_or_else(|| WeightsError::Record("an int8 record without scales".into()))?;
    serde_json::from_str(json).map_err(|e| WeightsError::Record(format!("the int8 scales: {e}")))
}

/// Checks every tensor of a record: its values are finite, and with `scales` (an int8 record)
/// each scaled tensor is int8 with one finite scale per output channel, and every int8 tensor
/// has scales.
fn check_tensors(reader: Reader, scales: Option<&Scales>) -> Result<(), WeightsError> {
    for tensor in reader.into_tensors().map_err(record_error)? {
        let fits = match (tensor.dtype, scales.and_then(|all| all.get(&tensor.name))) {
            (DType::I8, Some(s)) => {
                quantize::channels(tensor.shape.as_slice()) == Some(s.len())
                    && s.iter().all(|v| v.is_finite())
            }
            (DType::I8, None) => false,
            (_, scaled) => scaled.is_none(),
        };
        if !fits {
            return Err(WeightsError::Record(format!(
                "{}: int8 storage and scales do not match",
                tensor.name
            )));
        }
        if !all_finite(tensor.dtype, &tensor.to_bytes().map_err(record_error)?) {
            return Err(WeightsError::NonFinite { name: tensor.name });
        }
    }
    Ok(())
}

/// Whether every value of little-endian tensor data of `dtype` is finite (integers always are).
pub fn all_finite(dtype: DType, data: &[u8]) -> bool {
    match dtype {
        DType::F32 => data
            .chunks_exact(4)
            .all(|v| f32::from_le_bytes([v[0], v[1], v[2], v[3]]).is_finite()),
        DType::F16 => data
            .chunks_exact(2)
            .all(|v| half::f16::from_le_bytes([v[0], v[1]]).is_finite()),
        _ => true,
    }
}
