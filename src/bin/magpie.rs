//! `magpie`: convert upstream weights into Burn records, and classify or embed images natively
//! with the same core as the web app.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use magpie::backbone::BackboneKind;
use magpie::device::{BackendKind, device};
use magpie::image::RgbaImage;
use magpie::import::{self, assets_dir, record_file_name, weights_dir};
use magpie::weights::{Precision, PretrainedBackbone, record};

/// In-browser few-shot image classifier: native tools.
#[derive(Parser, Debug)]
#[command(name = "magpie", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert an upstream artifact (TF-Lite, PyTorch .pth, TF.js model.json) into a Burn record.
    Convert {
        /// Which backbone the artifact holds.
        #[arg(long)]
        backbone: BackboneKind,
        /// The upstream artifact [default: its place under $MAGPIE_ASSETS].
        #[arg(long)]
        input: Option<PathBuf>,
        /// ImageNet labels file (1001 lines) [default: under $MAGPIE_ASSETS].
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Store parameters as f16 (half the download).
        #[arg(long)]
        f16: bool,
        /// Output record (.bpk).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the top-1 ImageNet label of each image: `<path>\t<label>\t<probability>`.
    Predict(ModelArgs),
    /// Print each image's pooled embedding as a JSON line `{"path":..,"features":[..]}`.
    Features(ModelArgs),
}

#[derive(Args, Debug)]
struct ModelArgs {
    /// Which backbone to run.
    #[arg(long, default_value = "mobilenet_v2")]
    backbone: BackboneKind,
    /// Burn record to load [default: $MAGPIE_WEIGHTS/<backbone>.bpk, else the upstream artifact].
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    backend: BackendKind,
    /// Images (PNG, JPEG or BMP).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("magpie: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Convert { backbone, input, labels, f16, out } => convert(backbone, input, labels, f16, &out),
        Command::Predict(args) => pollster::block_on(predict(args)),
        Command::Features(args) => pollster::block_on(features(args)),
    }
}

fn convert(kind: BackboneKind, input: Option<PathBuf>, labels: Option<PathBuf>, f16: bool, out: &Path) -> anyhow::Result<()> {
    let input = input.unwrap_or_else(|| assets_dir().join(import::upstream_file(kind)));
    let labels = labels.unwrap_or_else(|| assets_dir().join(import::LABELS_FILE));
    let text = std::fs::read_to_string(&labels).with_context(|| format!("reading labels '{}'", labels.display()))?;
    let device = pollster::block_on(device(BackendKind::Cpu)).map_err(anyhow::Error::msg)?;
    let mut model = import::import(kind, &input, import::imagenet_labels(&text, kind)?, &device)
        .with_context(|| format!("importing '{}'", input.display()))?;
    model.info.precision = if f16 { Precision::F16 } else { Precision::F32 };
    let bytes = record::save(&model.backbone, &model.info)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing '{}'", out.display()))?;
    eprintln!("wrote {} ({} bytes, {:?})", out.display(), bytes.len(), model.info.precision);
    Ok(())
}

/// Loads the model named by `args` and decodes every image first, so a bad file fails early.
async fn load(args: &ModelArgs) -> anyhow::Result<(PretrainedBackbone, Vec<RgbaImage>, burn::tensor::Device)> {
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
        images.push(RgbaImage::decode(&bytes).with_context(|| format!("bad image '{}'", path.display()))?);
    }
    let device = device(args.backend).await.map_err(anyhow::Error::msg)?;
    let record_path = args
        .weights
        .clone()
        .unwrap_or_else(|| weights_dir().join(record_file_name(args.backbone, Precision::F32)));
    let model = if args.weights.is_some() || record_path.exists() {
        let bytes = std::fs::read(&record_path).with_context(|| format!("cannot read weights '{}'", record_path.display()))?;
        record::load(bytes, &device).with_context(|| format!("bad weights '{}'", record_path.display()))?
    } else {
        import::import_from_assets(args.backbone, &device)
            .with_context(|| format!("no record at '{}' and the upstream artifact failed", record_path.display()))?
    };
    if model.info.backbone != args.backbone {
        bail!("weights '{}' are for {}, not {}", record_path.display(), model.info.backbone, args.backbone);
    }
    Ok((model, images, device))
}

/// Images per forward pass: bounds memory for long argument lists.
const BATCH: usize = 8;

async fn predict(args: ModelArgs) -> anyhow::Result<()> {
    let (model, images, device) = load(&args).await?;
    for (paths, batch) in args.images.chunks(BATCH).zip(images.chunks(BATCH)) {
        let views: Vec<_> = batch.iter().map(RgbaImage::view).collect();
        let results = model.classify(&views, 1, &device).await.map_err(anyhow::Error::msg)?;
        for (path, top) in paths.iter().zip(results) {
            let best = top.first().context("the classifier returned no class")?;
            println!("{}\t{}\t{:.6}", path.display(), best.label, best.probability);
        }
    }
    Ok(())
}

async fn features(args: ModelArgs) -> anyhow::Result<()> {
    let (model, images, device) = load(&args).await?;
    for (paths, batch) in args.images.chunks(BATCH).zip(images.chunks(BATCH)) {
        let views: Vec<_> = batch.iter().map(RgbaImage::view).collect();
        let rows = model.embed(&views, &device).await.map_err(anyhow::Error::msg)?;
        for (path, row) in paths.iter().zip(rows) {
            println!("{}", serde_json::json!({ "path": path.display().to_string(), "features": row }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
