//! `magpie export`: a trained classifier as a file other runtimes load.

use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;

use magpie::export::teachable_machine;
use magpie::export::tflite::{TflitePrecision, calibration_picks, tflite, tflite_zip};

use crate::BackboneArgs;
use crate::train::{dataset, load_model};

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// ONNX (opset 13, f32): RGB pixels in, class probabilities out.
    Onnx,
    /// A Teachable Machine image model (a zip: TF.js layers `model.json`, `weights.bin`,
    /// `metadata.json`) that `@teachablemachine/image`, ml5 and TF.js load; the model's head
    /// must be linear or MLP on pooled features (`magpie train --features pooled`), f32.
    Tm,
    /// TensorFlow Lite (`.tflite`, builtin operators only; a zip of it and `labels.txt` when
    /// `--out` ends in `.zip`): RGB pixels in, class probabilities out, f32 or full-integer
    /// int8 (`--calibration`).
    Tflite,
}

/// How an export stores its weights.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Precision {
    /// f32, as the app computes.
    F32,
    /// f16: half the file (computed in f32 after a cast); ONNX only.
    F16,
    /// Full-integer int8 (uint8 pixels in, int8 throughout, uint8 probabilities out),
    /// calibrated on `--calibration`; TF Lite only.
    Int8,
}

/// Writes the export of the model at `model_path` to `out`, whole or not at all; an int8 TF-Lite
/// export calibrates on the images under `calibration` (`DIR/<class>/<image>`, the training
/// data).
pub async fn export(
    model_path: &Path,
    (format, precision): (Format, Precision),
    calibration: Option<&Path>,
    out: &Path,
    args: &BackboneArgs,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        calibration.is_none() || matches!((format, precision), (Format::Tflite, Precision::Int8)),
        "--calibration is for int8 TF Lite exports (--format tflite --precision int8)"
    );
    let (classifier, model, stages) = load_model(model_path, args).await?;
    let onnx_precision = match precision {
        Precision::F32 => Some(magpie::export::Precision::F32),
        Precision::F16 => Some(magpie::export::Precision::F16),
        Precision::Int8 => None,
    };
    let bytes = match format {
        Format::Onnx => {
            let precision = onnx_precision.context("ONNX exports in f32 or f16, not int8")?;
            magpie::export::onnx(&model.backbone, &classifier, precision)
                .await
                .map_err(anyhow::Error::msg)?
        }
        Format::Tm => {
            anyhow::ensure!(
                matches!(precision, Precision::F32),
                "a Teachable Machine model keeps f32 weights: leave out --precision"
            );
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let stamp = teachable_machine::iso8601(now.as_secs(), now.subsec_millis());
            let name = out.file_stem().map_or("tm-my-image-model".into(), |s| {
                s.to_string_lossy().into_owned()
            });
            teachable_machine::teachable_machine(&model.backbone, &classifier, &name, &stamp)
                .await
                .map_err(anyhow::Error::msg)?
        }
        Format::Tflite => {
            let precision = match precision {
                Precision::F32 => TflitePrecision::F32,
                Precision::Int8 => TflitePrecision::Int8,
                Precision::F16 => anyhow::bail!("TF Lite exports in f32 or int8, not f16"),
            };
            let images = match (precision, calibration) {
                (TflitePrecision::F32, _) => Vec::new(),
                (TflitePrecision::Int8, None) => anyhow::bail!(
                    "an int8 export calibrates on the training images: give --calibration DIR"
                ),
                (TflitePrecision::Int8, Some(dir)) => {
                    let dataset = dataset(dir)?;
                    calibration_picks(dataset.samples.len())
                        .into_iter()
                        .map(|i| dataset.samples[i].image.clone())
                        .collect()
                }
            };
            let views: Vec<_> = images.iter().map(|image| image.view()).collect();
            let file = tflite(
                &model.backbone,
                &classifier,
                precision,
                &views,
                &stages.backbone,
                &mut |_| {},
            )
            .await
            .map_err(anyhow::Error::msg)?;
            if out.extension().is_some_and(|e| e == "zip") {
                tflite_zip(&file, &classifier.info.labels)
            } else {
                file
            }
        }
    };
    let partial = out.with_file_name(format!(
        ".{}.partial",
        out.file_name()
            .context("--out names no file")?
            .to_string_lossy()
    ));
    let written = std::fs::write(&partial, &bytes).and_then(|()| std::fs::rename(&partial, out));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e).with_context(|| format!("cannot write '{}'", out.display()));
    }
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
