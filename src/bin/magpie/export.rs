//! `magpie export`: a trained classifier as a file other runtimes load.

use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;

use crate::BackboneArgs;
use crate::train::load_model;

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// ONNX (opset 13, f32): RGB pixels in, class probabilities out.
    Onnx,
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
