//! `magpie export`: a trained classifier as a file other runtimes load.

use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;

use magpie::export::teachable_machine;

use crate::BackboneArgs;
use crate::train::load_model;

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// ONNX (opset 13, f32): RGB pixels in, class probabilities out.
    Onnx,
    /// A Teachable Machine image model (a zip: TF.js layers `model.json`, `weights.bin`,
    /// `metadata.json`) that `@teachablemachine/image`, ml5 and TF.js load; the model's head
    /// must be linear or MLP on pooled features (`magpie train --features pooled`), f32.
    Tm,
}

/// How an export stores its weights.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Precision {
    /// f32, as the app computes.
    F32,
    /// f16: half the file (computed in f32 after a cast).
    F16,
}

/// Writes the export of the model at `model_path` to `out`, whole or not at all.
pub async fn export(
    model_path: &Path,
    (format, precision): (Format, Precision),
    out: &Path,
    args: &BackboneArgs,
) -> anyhow::Result<()> {
    let (classifier, model, _) = load_model(model_path, args).await?;
    let precision = match precision {
        Precision::F32 => magpie::export::Precision::F32,
        Precision::F16 => magpie::export::Precision::F16,
    };
    let bytes = match format {
        Format::Onnx => magpie::export::onnx(&model.backbone, &classifier, precision)
            .await
            .map_err(anyhow::Error::msg)?,
        Format::Tm => {
            anyhow::ensure!(
                precision == magpie::export::Precision::F32,
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
