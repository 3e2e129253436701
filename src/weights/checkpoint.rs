//! Named float tensors of a PyTorch checkpoint (`.pth`, zip or legacy, through burn-store's
//! reader) or a safetensors file: every name and shape up front, values read one tensor at a time.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use burn::store::pytorch_reader::{DType, PytorchReader, Tensor as PtTensor};

use super::WeightsError;
use super::layers::{Dense, f16s_le, f32s_le};

/// The tensors of a checkpoint file, read on demand.
pub struct Checkpoint {
    path: PathBuf,
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
    /// `len` bytes at `offset` in the safetensors file.
    Safetensors {
        offset: u64,
        len: usize,
    },
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
    fn size(self) -> usize {
        match self {
            Self::F16 | Self::Bf16 => 2,
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }

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
        let mut file = File::open(path).map_err(io)?;
        let mut head = Vec::new();
        file.by_ref().take(9).read_to_end(&mut head).map_err(io)?;
        if head.len() == 9 && head[8] == b'{' {
            let header_len = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
            let file_len = file.metadata().map_err(io)?.len();
            return Self::safetensors(path, &mut file, header_len, file_len);
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
            path: path.to_path_buf(),
            format: FORMAT,
            tensors,
        })
    }

    fn safetensors(
        path: &Path,
        file: &mut File,
        header_len: u64,
        file_len: u64,
    ) -> Result<Self, WeightsError> {
        const FORMAT: &str = "safetensors";
        let malformed = |message: String| WeightsError::Malformed {
            format: FORMAT,
            message,
        };
        let data_start = 8 + header_len;
        if data_start > file_len {
            return Err(WeightsError::Truncated {
                format: FORMAT,
                what: "the header".into(),
            });
        }
        let mut header = vec![0; header_len as usize];
        file.seek(SeekFrom::Start(8))
            .and_then(|_| file.read_exact(&mut header))
            .map_err(|e| malformed(e.to_string()))?;
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|e| malformed(format!("header: {e}")))?;
        let mut tensors = HashMap::new();
        for (name, info) in header
            .into_iter()
            .filter(|(name, _)| name != "__metadata__")
        {
            let field = |key: &str| {
                info.get(key)
                    .ok_or_else(|| malformed(format!("tensor '{name}' has no {key}")))
            };
            let numbers = |key: &str| -> Result<Vec<u64>, WeightsError> {
                let list = field(key)?
                    .as_array()
                    .ok_or_else(|| malformed(format!("'{name}': {key} is not a list")))?;
                list.iter()
                    .map(|v| {
                        v.as_u64()
                            .ok_or_else(|| malformed(format!("'{name}': bad {key}")))
                    })
                    .collect()
            };
            let dtype = match field("dtype")?.as_str() {
                Some("F16") => Float::F16,
                Some("BF16") => Float::Bf16,
                Some("F32") => Float::F32,
                Some("F64") => Float::F64,
                _ => continue,
            };
            let shape: Vec<usize> = numbers("shape")?.into_iter().map(|d| d as usize).collect();
            let [start, end] = numbers("data_offsets")?[..] else {
                return Err(malformed(format!(
                    "'{name}': data_offsets is not a [start, end] pair"
                )));
            };
            let len = shape.iter().product::<usize>() * dtype.size();
            if end < start || end - start != len as u64 {
                return Err(malformed(format!(
                    "'{name}': {} bytes stored for shape {shape:?}",
                    end.saturating_sub(start)
                )));
            }
            if data_start + end > file_len {
                return Err(WeightsError::Truncated {
                    format: FORMAT,
                    what: format!("tensor '{name}'"),
                });
            }
            tensors.insert(
                name,
                Entry {
                    dtype,
                    shape,
                    values: Values::Safetensors {
                        offset: data_start + start,
                        len,
                    },
                },
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
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
            Values::Safetensors { offset, len } => {
                let mut file = File::open(&self.path).map_err(truncated)?;
                file.seek(SeekFrom::Start(*offset)).map_err(truncated)?;
                let mut bytes = vec![0; *len];
                file.read_exact(&mut bytes).map_err(truncated)?;
                bytes
            }
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
