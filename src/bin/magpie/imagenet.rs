//! Backbone commands: weight conversion, ImageNet top-1 and embeddings.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::tensor::Device;
use magpie::backbone::BackboneKind;
use magpie::device::{BackendKind, device};
use magpie::image::RgbaImage;
use magpie::import;
use magpie::weights::assets::{self, assets_dir, weights_dir};
use magpie::weights::{Precision, PretrainedBackbone, record};

use crate::ModelArgs;

/// Converts an upstream artifact into a Burn record.
pub fn convert(
    kind: BackboneKind,
    input: Option<PathBuf>,
    labels: Option<PathBuf>,
    precision: Precision,
    out: &Path,
) -> anyhow::Result<()> {
    let input = input.unwrap_or_else(|| assets_dir().join(assets::upstream_file(kind)));
    let labels = labels.unwrap_or_else(|| assets_dir().join(assets::LABELS_FILE));
    let text = std::fs::read_to_string(&labels)
        .with_context(|| format!("reading labels '{}'", labels.display()))?;
    let device = pollster::block_on(device(BackendKind::Cpu)).map_err(anyhow::Error::msg)?;
    let mut model = import::import(kind, &input, import::imagenet_labels(&text, kind)?, &device)
        .with_context(|| format!("importing '{}'", input.display()))?;
    model.info.precision = precision;
    let bytes = record::save(&model.backbone, &model.info)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing '{}'", out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, {:?})",
        out.display(),
        bytes.len(),
        model.info.precision
    );
    Ok(())
}

/// Decodes every image first, so a bad file fails before any work.
pub fn decode_images(paths: &[PathBuf]) -> anyhow::Result<Vec<RgbaImage>> {
    paths
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
            RgbaImage::decode(&bytes).with_context(|| format!("bad image '{}'", path.display()))
        })
        .collect()
}

/// Loads `kind` from `weights`, else from `$MAGPIE_WEIGHTS/<backbone>.bpk`, else converts the
/// upstream artifact.
pub fn load_backbone(
    kind: BackboneKind,
    weights: Option<&Path>,
    device: &Device,
) -> anyhow::Result<PretrainedBackbone> {
    let record_path = weights.map_or_else(
        || weights_dir().join(record::file_name(kind, Precision::F32)),
        Path::to_path_buf,
    );
    let model = if weights.is_some() || record_path.exists() {
        let bytes = std::fs::read(&record_path)
            .with_context(|| format!("cannot read weights '{}'", record_path.display()))?;
        record::load(bytes, device)
            .with_context(|| format!("bad weights '{}'", record_path.display()))?
    } else {
        import::import_from_assets(kind, device).with_context(|| {
            format!(
                "no record at '{}' and the upstream artifact failed",
                record_path.display()
            )
        })?
    };
    if model.info.backbone != kind {
        bail!(
            "weights '{}' are for {}, not {}",
            record_path.display(),
            model.info.backbone,
            kind
        );
    }
    Ok(model)
}

/// Loads the backbone named by `args` and decodes its images.
async fn load(args: &ModelArgs) -> anyhow::Result<(PretrainedBackbone, Vec<RgbaImage>, Device)> {
    let images = decode_images(&args.images)?;
    let device = device(args.backbone.backend)
        .await
        .map_err(anyhow::Error::msg)?;
    let model = load_backbone(
        args.backbone.backbone,
        args.backbone.weights.as_deref(),
        &device,
    )?;
    Ok((model, images, device))
}

/// Images per forward pass: bounds memory for long argument lists.
const BATCH: usize = 8;

/// Prints the top-1 ImageNet label of each image.
pub async fn predict(args: ModelArgs) -> anyhow::Result<()> {
    let (model, images, device) = load(&args).await?;
    for (paths, batch) in args.images.chunks(BATCH).zip(images.chunks(BATCH)) {
        let views: Vec<_> = batch.iter().map(RgbaImage::view).collect();
        let results = model
            .classify(&views, 1, &device)
            .await
            .map_err(anyhow::Error::msg)?;
        for (path, top) in paths.iter().zip(results) {
            let best = top.first().context("the classifier returned no class")?;
            println!(
                "{}\t{}\t{:.6}",
                path.display(),
                best.label,
                best.probability
            );
        }
    }
    Ok(())
}

/// Prints each image's pooled embedding as a JSON line.
pub async fn features(args: ModelArgs) -> anyhow::Result<()> {
    let (model, images, device) = load(&args).await?;
    for (paths, batch) in args.images.chunks(BATCH).zip(images.chunks(BATCH)) {
        let views: Vec<_> = batch.iter().map(RgbaImage::view).collect();
        let rows = model
            .embed(&views, &device)
            .await
            .map_err(anyhow::Error::msg)?;
        for (path, row) in paths.iter().zip(rows) {
            println!(
                "{}",
                serde_json::json!({ "path": path.display().to_string(), "features": row })
            );
        }
    }
    Ok(())
}
