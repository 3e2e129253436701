//! Reading tensors back to the host, the one place that does: with `into_data_async`, the only
//! read-back that works on WebGPU in a browser (Burn's blocking reads panic there). Every
//! failure is a [`DeviceError`]; a lost GPU device is told apart, so that a caller (the web
//! app) can go on with the CPU backend.

use std::fmt;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, ExecutionError, Tensor, TensorData};

/// How every message about a lost GPU device starts. Every later operation on that device fails
/// too, so a caller that sees it (the web app) goes on with the CPU backend.
pub const DEVICE_LOST: &str = "the GPU device was lost";

/// A compute device that failed or is missing.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceError {
    /// No usable device of the kind asked for (no GPU adapter, no WebGPU).
    Unavailable(String),
    /// The GPU device was lost: every later operation on it fails too.
    Lost(String),
    /// Reading a result back failed for another reason.
    ReadBack(String),
    /// A result came back in a form it should not have (wrong element type).
    UnexpectedData(String),
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(message) => f.write_str(message),
            Self::Lost(detail) => write!(f, "{DEVICE_LOST} ({detail})"),
            Self::ReadBack(message) => write!(f, "reading back from the device failed: {message}"),
            Self::UnexpectedData(message) => write!(f, "unexpected tensor data: {message}"),
        }
    }
}

impl std::error::Error for DeviceError {}

impl From<ExecutionError> for DeviceError {
    /// WebGPU reports a lost device first as a result buffer that cannot be mapped, then as a
    /// poisoned device.
    fn from(error: ExecutionError) -> Self {
        let text = error.to_string();
        match error {
            ExecutionError::DevicePoisoned { reason } => Self::Lost(last_line(&reason)),
            _ if text.contains("could not be mapped") => Self::Lost(last_line(&text)),
            _ => Self::ReadBack(text),
        }
    }
}

/// The last line of `reason` that says something (not a backtrace).
fn last_line(reason: &str) -> String {
    reason
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.contains("acktrace"))
        .unwrap_or_default()
        .to_string()
}

/// The values of `tensor`, in row-major order. The await ends when every queued operation
/// producing it has run.
pub async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, DeviceError> {
    let data = tensor.into_data_async().await?;
    data.try_into_vec_as::<f32>()
        .map_err(|e| DeviceError::UnexpectedData(format!("{e:?}")))
}

/// A 2-D tensor's values as rows.
pub async fn read_rows(tensor: Tensor<2>) -> Result<Vec<Vec<f32>>, DeviceError> {
    let [_, cols] = tensor.dims();
    let values = read(tensor).await?;
    Ok(values.chunks(cols.max(1)).map(<[f32]>::to_vec).collect())
}

/// Reads a tensor back and uploads it to `device`, even when it is already there: the await
/// ends when every queued operation producing it has run.
pub async fn read_to<const D: usize>(
    tensor: Tensor<D>,
    device: &Device,
) -> Result<Tensor<D>, DeviceError> {
    let shape = tensor.dims();
    let values = read(tensor).await?;
    Ok(Tensor::from_data(TensorData::new(values, shape), device))
}

/// Moves a tensor to `device`, reading it back asynchronously when the devices differ (a
/// blocking transfer from WebGPU would kill a browser page).
pub async fn transfer<const D: usize>(
    tensor: Tensor<D>,
    device: &Device,
) -> Result<Tensor<D>, DeviceError> {
    if &tensor.device() == device {
        return Ok(tensor);
    }
    read_to(tensor, device).await
}

/// Copies a module's parameters onto `device`, reading them back asynchronously (Burn's
/// `to_device` reads synchronously, which a browser's WebGPU cannot do).
pub async fn module_to_device<M: Module>(module: M, device: &Device) -> Result<M, DeviceError> {
    struct Collect(Vec<Tensor<1>>, Vec<Vec<usize>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let shape = tensor.dims().to_vec();
            self.0
                .push(tensor.reshape([shape.iter().product::<usize>()]));
            self.1.push(shape);
        }
    }
    struct Replace(std::vec::IntoIter<TensorData>, Device);
    impl ModuleMapper for Replace {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            match self.0.next() {
                Some(data) => Param::from_tensor(Tensor::from_data(data, &self.1)),
                None => param,
            }
        }
    }
    let mut collect = Collect(Vec::new(), Vec::new());
    module.visit(&mut collect);
    let mut values = Vec::with_capacity(collect.0.len());
    for (tensor, shape) in collect.0.into_iter().zip(collect.1) {
        values.push(TensorData::new(read(tensor).await?, shape));
    }
    Ok(module.map(&mut Replace(values.into_iter(), device.clone())))
}
