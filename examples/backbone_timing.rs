//! Backbone timings for `bench/gpu.sh`: on one backend, loads MobileNetV2 and EfficientNet-Lite0
//! (the records the app serves, under `$MAGPIE_WEIGHTS`, else `www/weights/`) and times `embed` at batch 1
//! and 32: the first call (pipelines compiled, memory allocated) and the median of 5 warm calls
//! (a batch the device refuses is reported as `b<N>_error`).
//! Prints one JSON line per backbone and writes each photo's pooled features to `FEATURES`, for
//! comparing the backends.
//!   cargo run --release --example backbone_timing -- <cpu|wgpu> FEATURES IMAGE...

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use magpie::backbone::BackboneKind;
use magpie::device::{BackendKind, device};
use magpie::image::RgbaImage;
use magpie::weights::assets::weights_dir;
use magpie::weights::{Precision, record};
use serde_json::json;

/// Warm calls timed after the first, per batch size.
const WARM: usize = 5;

fn main() -> anyhow::Result<()> {
    pollster::block_on(run())
}

/// Milliseconds since `start`.
fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// The median of `values` (not empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let backend: BackendKind = args
        .next()
        .context("the backend (cpu or wgpu)")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let out = PathBuf::from(args.next().context("the features file")?);
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    anyhow::ensure!(!paths.is_empty(), "no images");
    let images = paths
        .iter()
        .map(|p| RgbaImage::decode(&std::fs::read(p)?).with_context(|| p.display().to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let views: Vec<_> = images.iter().map(RgbaImage::view).collect();
    let start = Instant::now();
    let device = device(backend).await.map_err(anyhow::Error::msg)?;
    let device_ms = ms(start);
    let mut features = serde_json::Map::new();
    for kind in [BackboneKind::MobilenetV2, BackboneKind::EfficientnetLite0] {
        let file = weights_dir().join(record::file_name(kind, Precision::served(kind)));
        let bytes = std::fs::read(&file).with_context(|| file.display().to_string())?;
        let start = Instant::now();
        let model = record::load(bytes, &device)?;
        let load_ms = ms(start);
        let mut line = json!({ "backend": backend.to_string(), "backbone": kind.id(),
            "device_ms": device_ms, "load_ms": load_ms });
        for batch in [1, 32] {
            let input: Vec<_> = views.iter().copied().cycle().take(batch).collect();
            let start = Instant::now();
            // A batch the device refuses (a tensor over its largest buffer) is reported, not fatal.
            if let Err(e) = model.embed(&input, &device).await {
                line[format!("b{batch}_error")] = json!(e.to_string().lines().next());
                continue;
            }
            let first = ms(start);
            let mut warm = Vec::with_capacity(WARM);
            for _ in 0..WARM {
                let start = Instant::now();
                model.embed(&input, &device).await?;
                warm.push(ms(start));
            }
            line[format!("b{batch}_first_ms")] = json!(first);
            line[format!("b{batch}_warm_ms")] = json!(median(warm));
        }
        println!("{line}");
        let rows = model.embed(&views, &device).await?;
        features.insert(kind.id().to_string(), json!(rows));
    }
    std::fs::write(&out, serde_json::to_string(&features)?)
        .with_context(|| out.display().to_string())?;
    Ok(())
}
