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

/// Writes the export of the model at `model_path` to `out`, whole or not at all.
pub async fn export(
    model_path: &Path,
    format: Format,
    out: &Path,
    args: &BackboneArgs,
) -> anyhow::Result<()> {
    let (classifier, model, _) = load_model(model_path, args).await?;
    let bytes = match format {
        Format::Onnx => magpie::export::onnx(&model.backbone, &classifier)
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
