//! Named float tensors of a PyTorch checkpoint (`.pth`, zip or legacy) or a safetensors file,
//! both through burn-store's readers: every name and shape up front, values read one tensor at
//! a time.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use burn::store::burn_pack::{DType as PackDType, Tensor as PackTensor};
use burn::store::pytorch_reader::{DType, PytorchReader, Tensor as PtTensor};
use burn::store::{ModuleStore, SafetensorsStore, SafetensorsStoreError};

use super::WeightsError;
use super::layers::{Dense, f16s_le, f32s_le};

/// The tensors of a checkpoint file, read on demand.
pub struct Checkpoint {
    format: &'static str,
    tensors: HashMap<String, Entry>,
}

struct Entry {
    dtype: Float,
    shape: Vec<usize>,
    values: Values,
}

/// Where a tensor's bytes are.
enum Values {
    Pytorch(PtTensor),
    Safetensors(PackTensor),
}

/// The floating-point storage types read (other tensors are left out).
#[derive(Debug, Clone, Copy)]
enum Float {
    F16,
    Bf16,
    F32,
    F64,
}

impl Float {
    /// Little-endian values widened or narrowed to f32.
    fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Self::F16 => f16s_le(bytes),
            Self::Bf16 => bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Self::F32 => f32s_le(bytes),
            Self::F64 => bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8 bytes")) as f32)
                .collect(),
        }
    }
}

impl Checkpoint {
    /// Opens `path`: safetensors when its header says so, else a PyTorch checkpoint.
    pub fn open(path: &Path) -> Result<Self, WeightsError> {
        let io = |source| WeightsError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut head = Vec::new();
        File::open(path)
            .and_then(|file| file.take(9).read_to_end(&mut head))
            .map_err(io)?;
        if head.len() == 9 && head[8] == b'{' {
            return Self::safetensors(path);
        }
        Self::pytorch(path)
    }

    fn pytorch(path: &Path) -> Result<Self, WeightsError> {
        const FORMAT: &str = "PyTorch";
        let reader = PytorchReader::new(path).map_err(|e| WeightsError::Malformed {
            format: FORMAT,
            message: e.to_string(),
        })?;
        let tensors = reader
            .into_tensors()
            .into_iter()
            .filter_map(|(name, tensor)| {
                let dtype = match tensor.dtype() {
                    DType::F16 => Float::F16,
                    DType::BF16 => Float::Bf16,
                    DType::F32 => Float::F32,
                    DType::F64 => Float::F64,
                    _ => return None,
                };
                Some((
                    name,
                    Entry {
                        dtype,
                        shape: tensor.shape().to_vec(),
                        values: Values::Pytorch(tensor),
                    },
                ))
            })
            .collect();
        Ok(Self {
            format: FORMAT,
            tensors,
        })
    }

    fn safetensors(path: &Path) -> Result<Self, WeightsError> {
        const FORMAT: &str = "safetensors";
        let mut store = SafetensorsStore::from_file(path);
        let all = store.get_all_tensors().map_err(|e| match e {
            // The header lists more data than the file holds.
            SafetensorsStoreError::Safetensors(
                safetensors::SafeTensorError::MetadataIncompleteBuffer,
            ) => WeightsError::Truncated {
                format: FORMAT,
                what: "the tensor data its header lists".into(),
            },
            other => WeightsError::Malformed {
                format: FORMAT,
                message: other.to_string(),
            },
        })?;
        let tensors = all
            .iter()
            .filter_map(|(name, tensor)| {
                let dtype = match tensor.dtype {
                    PackDType::F16 => Float::F16,
                    PackDType::BF16 => Float::Bf16,
                    PackDType::F32 => Float::F32,
                    PackDType::F64 => Float::F64,
                    _ => return None,
                };
                Some((
                    name.clone(),
                    Entry {
                        dtype,
                        shape: tensor.shape.to_vec(),
                        values: Values::Safetensors(tensor.clone()),
                    },
                ))
            })
            .collect();
        Ok(Self {
            format: FORMAT,
            tensors,
        })
    }

    /// The shape of float tensor `name`, if the file has it.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|entry| &entry.shape[..])
    }

    /// Reads float tensor `name`.
    pub fn read(&self, name: &str) -> Result<Dense, WeightsError> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| WeightsError::MissingTensor { name: name.into() })?;
        let truncated = |e: std::io::Error| WeightsError::Truncated {
            format: self.format,
            what: format!("tensor '{name}' ({e})"),
        };
        let bytes = match &entry.values {
            Values::Pytorch(tensor) => tensor.read().map_err(truncated)?,
            Values::Safetensors(tensor) => tensor
                .to_bytes()
                .map_err(|e| WeightsError::Malformed {
                    format: self.format,
                    message: format!("tensor '{name}': {e}"),
                })?
                .to_vec(),
        };
        Dense::new(name, entry.shape.clone(), entry.dtype.decode(&bytes))
    }

    /// Reads every float tensor.
    pub fn read_all(&self) -> Result<HashMap<String, Dense>, WeightsError> {
        self.tensors
            .keys()
            .map(|name| Ok((name.clone(), self.read(name)?)))
            .collect()
    }
}
