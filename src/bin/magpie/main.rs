//! `magpie`: convert upstream weights into Burn records, classify or embed images, and train,
//! evaluate and benchmark few-shot classifiers natively, with the same core as the web app.

mod export;
mod fewshot;
mod imagenet;
mod progress;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use magpie::backbone::BackboneKind;
use magpie::device::BackendKind;
use magpie::head::{HeadConfig, HeadKind};
use magpie::settings::Settings;
use magpie::train_config::TrainConfig;
use magpie::weights::Precision;

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
        /// Store weights as int8 with a scale per output channel (a quarter of the download).
        #[arg(long, conflicts_with = "f16")]
        int8: bool,
        /// Store in the precision the app serves this backbone in (int8, or f16 for
        /// MobileNetV1 0.25).
        #[arg(long, conflicts_with_all = ["f16", "int8"])]
        served: bool,
        /// Output record (.bpk).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the file name of the record the app serves for a backbone (under www/weights/).
    ServedName {
        /// The backbone.
        #[arg(long)]
        backbone: BackboneKind,
    },
    /// Print the top-1 label of each image: `<path>\t<label>\t<probability>` (ImageNet, or the
    /// classes of `--model`).
    Predict {
        /// A trained classifier (from `magpie train`); without it, ImageNet classes.
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        args: ModelArgs,
    },
    /// Print each image's pooled embedding as a JSON line `{"path":..,"features":[..]}`.
    Features(ModelArgs),
    /// Train a classifier on a folder with one subfolder of images per class.
    Train {
        /// The examples: DIR/<class>/<image>.
        #[arg(long)]
        data: PathBuf,
        /// Where to write the trained model (.bpk).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        backbone: BackboneArgs,
        #[command(flatten)]
        training: TrainArgs,
    },
    /// Evaluate a trained classifier on a folder of labelled images.
    Eval {
        /// The trained model.
        #[arg(long)]
        model: PathBuf,
        /// The examples: DIR/<class>/<image>.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        backbone: BackboneArgs,
    },
    /// Few-shot benchmark: k images per class train, the rest (up to 100 per class) test.
    Fewshot(fewshot::FewshotArgs),
    /// Export a trained classifier (backbone, head and softmax in one graph) for other runtimes.
    Export {
        /// The trained model.
        #[arg(long)]
        model: PathBuf,
        /// File format.
        #[arg(long, value_enum, default_value = "onnx")]
        format: export::Format,
        /// How the weights are stored.
        #[arg(long, value_enum, default_value = "f32")]
        precision: export::Precision,
        /// The training images (DIR/<class>/<image>) an int8 TF Lite export calibrates on.
        #[arg(long)]
        calibration: Option<PathBuf>,
        /// Where to write the export (nothing is written when it fails).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        backbone: BackboneArgs,
    },
}

/// A backbone and the backend it runs on.
#[derive(Args, Debug, Clone)]
struct BackboneArgs {
    /// Which backbone to run (a trained model's own backbone wins).
    #[arg(long, default_value_t)]
    backbone: BackboneKind,
    /// Burn record to load [default: $MAGPIE_WEIGHTS/<backbone>.bpk, else the upstream artifact].
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Backend of the backbone.
    #[arg(long, default_value = "cpu")]
    backend: BackendKind,
    /// Backend of the head [default: the backbone's].
    #[arg(long)]
    head_backend: Option<BackendKind>,
}

#[derive(Args, Debug)]
struct ModelArgs {
    #[command(flatten)]
    backbone: BackboneArgs,
    /// Images (PNG, JPEG or BMP).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// Training settings (defaults: [`TrainConfig::default`]).
#[derive(Args, Debug, Clone)]
struct TrainArgs {
    /// Head: linear, mlp or knn.
    #[arg(long, default_value_t = HeadConfig::default().kind)]
    head: HeadKind,
    /// Hidden units of the MLP head.
    #[arg(long, default_value_t = HeadConfig::default().hidden)]
    hidden: usize,
    /// Neighbours that vote in KNN mode.
    #[arg(long, default_value_t = HeadConfig::default().k)]
    k: usize,
    /// Training epochs.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    learning_rate: f64,
    /// Label smoothing.
    #[arg(long, default_value_t = TrainConfig::default().label_smoothing)]
    label_smoothing: f32,
    /// Weight decay.
    #[arg(long, default_value_t = TrainConfig::default().weight_decay)]
    weight_decay: f32,
    /// Fraction of each class held out for validation and early stopping.
    #[arg(long, default_value_t = TrainConfig::default().validation_fraction)]
    validation: f32,
    /// Early-stopping patience in epochs (0: off).
    #[arg(long, default_value_t = TrainConfig::default().patience)]
    patience: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Augmented views per training image (0: off; fewer past 240 images, none past 600).
    #[arg(long, default_value_t = TrainConfig::default().augment.views)]
    augment: usize,
    /// Backbone outputs the head reads: spatial (where the backbone has them) or pooled.
    #[arg(long, default_value_t = TrainConfig::default().features)]
    features: magpie::backbone::Features,
    /// Backbone blocks to fine-tune with the head (0: frozen).
    #[arg(long, default_value_t = 0)]
    finetune: usize,
}

impl TrainArgs {
    /// The app's settings these flags give, and the flags the app does not show; a fine-tune
    /// depth is kept as given (with KNN, `fit` refuses it instead of ignoring it).
    fn config(&self) -> TrainConfig {
        let settings = Settings {
            head: self.head,
            features: self.features,
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            hidden: self.hidden,
            k: self.k,
            views: self.augment,
            finetune_blocks: self.finetune,
        };
        TrainConfig {
            label_smoothing: self.label_smoothing,
            weight_decay: self.weight_decay,
            validation_fraction: self.validation,
            patience: self.patience,
            seed: self.seed,
            finetune_blocks: self.finetune,
            ..settings.train_config()
        }
    }
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
        Command::Convert {
            backbone,
            input,
            labels,
            f16,
            int8,
            served,
            out,
        } => {
            let precision = match (f16, int8, served) {
                (true, _, _) => Precision::F16,
                (_, true, _) => Precision::Int8,
                (_, _, true) => Precision::served(backbone),
                _ => Precision::F32,
            };
            imagenet::convert(backbone, input, labels, precision, &out)
        }
        Command::ServedName { backbone } => {
            println!(
                "{}",
                magpie::weights::record::file_name(backbone, Precision::served(backbone))
            );
            Ok(())
        }
        Command::Predict { model: None, args } => pollster::block_on(imagenet::predict(args)),
        Command::Predict {
            model: Some(model),
            args,
        } => pollster::block_on(train::predict(&model, args)),
        Command::Features(args) => pollster::block_on(imagenet::features(args)),
        Command::Train {
            data,
            out,
            backbone,
            training,
        } => pollster::block_on(train::train(&data, &out, &backbone, &training.config())),
        Command::Eval {
            model,
            data,
            backbone,
        } => pollster::block_on(train::eval(&model, &data, &backbone)),
        Command::Fewshot(args) => pollster::block_on(fewshot::run(args)),
        Command::Export {
            model,
            format,
            precision,
            calibration,
            out,
            backbone,
        } => pollster::block_on(export::export(
            &model,
            (format, precision),
            calibration.as_deref(),
            &out,
            &backbone,
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
