//! Where each stage should run. A backbone is many large convolutions (a GPU wins); a small
//! head is many tiny dispatches, which can be faster on the CPU backend. Measured, not guessed,
//! except on a software WebGPU adapter, which the CPU backend always beats.

use burn::tensor::Device;
use serde::Serialize;

use super::{CancelToken, EmbeddingCache, Entry, HeadInputs, Rows, TrainError, TrainNet, train};
use crate::backbone::{Backbone, RowKind};
use crate::clock::now_ms;
use crate::device::BackendKind;
use crate::image::batch;
use crate::readback::read;
use crate::train_config::TrainConfig;

/// What a browser says of its WebGPU adapter (`GPUAdapterInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Vendor, e.g. `"google"` or `"nvidia"`.
    pub vendor: String,
    /// Architecture, e.g. `"swiftshader"` or `"ampere"`.
    pub architecture: String,
    /// Device name, often empty.
    pub device: String,
    /// Description, often empty.
    pub description: String,
    /// Whether the browser marks it a fallback adapter (`isFallbackAdapter`).
    pub fallback: bool,
}

/// Software rasterizers: adapters that emulate a GPU on the CPU.
const SOFTWARE_ADAPTERS: [&str; 5] = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "warp"];

impl AdapterInfo {
    /// The software rasterizer this adapter is (its name), if it emulates a GPU on the CPU: a
    /// fallback adapter, or a known software rasterizer by name.
    pub fn software(&self) -> Option<String> {
        let text = [
            &self.vendor,
            &self.architecture,
            &self.device,
            &self.description,
        ]
        .map(|s| s.to_lowercase())
        .join(" ");
        SOFTWARE_ADAPTERS
            .iter()
            .find(|name| text.contains(*name))
            .map(|name| (*name).to_string())
            .or_else(|| self.fallback.then(|| "a fallback adapter".to_string()))
    }
}

/// Where automatic placement puts both stages without measuring, given the WebGPU adapter:
/// the CPU when the adapter is software (Burn's CPU backend beats a GPU emulated on the same
/// CPU, and measuring both costs a first visit seconds), with the reason; `None` to measure.
pub fn placement_from_adapter(adapter: Option<&AdapterInfo>) -> Option<(BackendKind, String)> {
    let name = adapter?.software()?;
    Some((
        BackendKind::Cpu,
        format!("only a software adapter, {name}, slower than the CPU backend"),
    ))
}

/// Measured milliseconds of each stage on one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageTimes {
    /// One backbone forward pass on one image (after a warm-up pass).
    pub backbone_ms: f64,
    /// One head-training mini-batch step (after a warm-up epoch).
    pub head_step_ms: f64,
}

/// Times the backbone and a head-training step of `config` on `device`.
pub async fn measure_stages(
    backbone: &Backbone,
    config: &TrainConfig,
    classes: usize,
    device: &Device,
) -> Result<StageTimes, TrainError> {
    let size = backbone.kind.input_size();
    let gray = || {
        [
            vec![128.0; size * size],
            vec![128.0; size * size],
            vec![128.0; size * size],
        ]
    };
    // The frozen-backbone rows of these settings (fine-tuning is not measured).
    let row_kind = RowKind::of(backbone.kind, config.features, 0);
    let mut backbone_ms = 0.0;
    for _ in 0..2 {
        let start = now_ms();
        let (rows, _) = backbone.rows(batch([gray()], backbone.kind, device), row_kind);
        read(rows).await?;
        backbone_ms = now_ms() - start;
    }
    // A small synthetic problem of the real width and classes.
    let dim = row_kind.head_input(backbone.kind);
    let rows = config.batch_size.max(1) * 4;
    let mut cache = EmbeddingCache::new(vec![dim]);
    let values: Vec<f32> = (0..rows * dim)
        .map(|i| ((i * 37) % 101) as f32 / 101.0)
        .collect();
    let entries: Vec<Entry> = (0..rows)
        .map(|i| Entry {
            sample: i,
            class: i % classes.max(1),
            view: 0,
        })
        .collect();
    cache.push(&entries, &values);
    let all: Vec<usize> = (0..rows).collect();
    let probe = TrainConfig {
        epochs: 2,
        finetune_blocks: 0,
        ..config.clone()
    };
    let head = probe
        .head
        .init(dim, classes.max(2), 0, device)
        .ok_or_else(|| TrainError::Config("the KNN head has no training step".into()))?;
    let mut epoch_ms = Vec::new();
    let mut record = |report: &super::EpochReport| epoch_ms.push(report.elapsed_ms);
    let net = TrainNet { tail: None, head };
    train(
        &cache,
        Rows {
            train: &all,
            validation: &[],
        },
        net,
        HeadInputs::Rows(None),
        &probe,
        device,
        &mut record,
        &CancelToken::default(),
    )
    .await?;
    let steps = rows.div_ceil(probe.batch_size.max(1)) as f64;
    let head_step_ms = epoch_ms
        .get(1)
        .zip(epoch_ms.first())
        .map_or(f64::NAN, |(b, a)| (b - a) / steps);
    Ok(StageTimes {
        backbone_ms,
        head_step_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(vendor: &str, architecture: &str, fallback: bool) -> AdapterInfo {
        AdapterInfo {
            vendor: vendor.into(),
            architecture: architecture.into(),
            fallback,
            ..AdapterInfo::default()
        }
    }

    #[test]
    fn software_adapters_place_both_stages_on_the_cpu() {
        // What headless Chromium reports for SwiftShader.
        let swiftshader = adapter("google", "swiftshader", false);
        let (kind, reason) = placement_from_adapter(Some(&swiftshader)).unwrap();
        assert_eq!(kind, BackendKind::Cpu);
        assert!(reason.contains("software adapter, swiftshader"), "{reason}");
        assert!(placement_from_adapter(Some(&adapter("mesa", "LLVMpipe", false))).is_some());
        assert!(placement_from_adapter(Some(&adapter("", "", true))).is_some());
    }

    #[test]
    fn hardware_adapters_and_no_adapter_are_measured() {
        assert_eq!(
            placement_from_adapter(Some(&adapter("nvidia", "ampere", false))),
            None
        );
        assert_eq!(
            placement_from_adapter(Some(&adapter("apple", "metal-3", false))),
            None
        );
        assert_eq!(placement_from_adapter(None), None);
    }
}
