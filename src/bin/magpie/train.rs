//! Classifier commands: train on a folder, evaluate on a folder, predict images.

use std::path::Path;

use anyhow::{Context, bail};
use magpie::backbone::BackboneKind;
use magpie::classifier::{self, Classifier};
use magpie::dataset::{Dataset, load_folder};
use magpie::device::device;
use magpie::image::RgbaImage;
use magpie::train_config::TrainConfig;
use magpie::training::{
    CancelToken, Embedder, EmbeddingCache, Entry, EpochReport, Evaluation, Job, Stages,
    evaluate_rows, fit,
};
use magpie::weights::PretrainedBackbone;

use crate::imagenet::{decode_images, load_backbone};
use crate::progress;
use crate::{BackboneArgs, ModelArgs};

/// Loads backbone `kind` and the devices of both stages.
pub async fn open(
    args: &BackboneArgs,
    kind: BackboneKind,
) -> anyhow::Result<(PretrainedBackbone, Stages)> {
    let backbone_device = device(args.backend).await.map_err(anyhow::Error::msg)?;
    let head_device = device(args.head_backend.unwrap_or(args.backend))
        .await
        .map_err(anyhow::Error::msg)?;
    let model = load_backbone(kind, args.weights.as_deref(), &backbone_device)?;
    Ok((
        model,
        Stages {
            backbone: backbone_device,
            head: head_device,
        },
    ))
}

/// Loads a folder dataset, saying how big it is.
pub fn dataset(dir: &Path) -> anyhow::Result<Dataset> {
    let dataset = load_folder(dir)?;
    dataset
        .validate()
        .with_context(|| format!("'{}'", dir.display()))?;
    eprintln!(
        "{}: {} classes, {} images",
        dir.display(),
        dataset.labels.len(),
        dataset.samples.len()
    );
    Ok(dataset)
}

fn print_report(report: &EpochReport) {
    let optional = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    eprintln!(
        "epoch {:>3}  loss {:.4}  accuracy {:.4}  val_loss {}  val_accuracy {}  {:.1} s",
        report.epoch,
        report.loss,
        report.accuracy,
        optional(report.val_loss),
        optional(report.val_accuracy),
        report.elapsed_ms / 1e3
    );
}

/// Prints accuracy, per-class accuracy and the confusion matrix; the last line is
/// `accuracy=<x>`.
pub fn print_evaluation(evaluation: &Evaluation, labels: &[String]) {
    let width = labels.iter().map(String::len).max().unwrap_or(0).max(8);
    println!(
        "{:width$}  {:>8}  confusion (columns: predicted)",
        "class", "accuracy"
    );
    for (class, row) in evaluation.confusion.iter().enumerate() {
        let accuracy = evaluation.per_class[class].map_or("-".into(), |a| format!("{a:.4}"));
        let cells: Vec<String> = row.iter().map(|n| format!("{n:>4}")).collect();
        println!(
            "{:width$}  {:>8}  {}",
            labels[class],
            accuracy,
            cells.join("")
        );
    }
    println!("accuracy={:.4}", evaluation.accuracy);
}

/// `magpie train`.
pub async fn train(
    data: &Path,
    out: &Path,
    args: &BackboneArgs,
    config: &TrainConfig,
) -> anyhow::Result<()> {
    let dataset = dataset(data)?;
    let (model, stages) = open(args, args.backbone).await?;
    // Embedding comes first, then the epochs; early stopping may end them before the last.
    let bar = progress::bar(config.epochs, "epochs");
    bar.set_message("embedding the images…");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let fitted = fit(
        &model.backbone,
        &dataset,
        config,
        &stages,
        &mut |report| {
            bar.set_message("");
            bar.set_position(report.epoch as u64);
            bar.suspend(|| print_report(report));
        },
        &CancelToken::default(),
    )
    .await?;
    bar.finish_and_clear();
    if let Some(validation) = &fitted.validation {
        println!("validation ({} images):", validation.count);
        print_evaluation(validation, &dataset.labels);
    }
    let bytes = classifier::save(&fitted.classifier).map_err(anyhow::Error::msg)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing '{}'", out.display()))?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

/// Loads a trained model and its backbone.
pub async fn load_model(
    path: &Path,
    args: &BackboneArgs,
) -> anyhow::Result<(Classifier, PretrainedBackbone, Stages)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read model '{}'", path.display()))?;
    let info = classifier::info(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("'{}'", path.display()))?;
    let (model, stages) = open(args, info.backbone).await?;
    let classifier = classifier::load(bytes, &model.backbone, &stages.head)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("'{}'", path.display()))?;
    Ok((classifier, model, stages))
}

/// `magpie eval`.
pub async fn eval(model_path: &Path, data: &Path, args: &BackboneArgs) -> anyhow::Result<()> {
    let (classifier, model, stages) = load_model(model_path, args).await?;
    let dataset = load_folder(data)?;
    // The folder's classes, as the model's class indices.
    let labels = &classifier.info.labels;
    let class_of: Vec<usize> = dataset
        .labels
        .iter()
        .map(|name| {
            labels
                .iter()
                .position(|l| l == name)
                .with_context(|| format!("the model has no class '{name}'"))
        })
        .collect::<anyhow::Result<_>>()?;
    if dataset.samples.is_empty() {
        bail!("'{}' holds no images", data.display());
    }
    let jobs: Vec<Job<'_>> = dataset
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| Job {
            image: s.image.view(),
            entry: Entry {
                sample: i,
                class: class_of[s.class],
                view: 0,
            },
            from_view: 0,
            views: 0,
        })
        .collect();
    let mut cache = EmbeddingCache::default();
    let embedder = Embedder {
        backbone: &model.backbone,
        rows: classifier.rows(),
        device: &stages.backbone,
    };
    let augment = classifier.info.training.augment.clone();
    embedder
        .embed(&jobs, &augment, 0, &mut cache, &CancelToken::default())
        .await?;
    let rows: Vec<usize> = (0..cache.len()).collect();
    let evaluation = evaluate_rows(&classifier, &cache, &rows, &|s| {
        dataset.samples[s].id.as_str()
    })
    .await?;
    print_evaluation(&evaluation, labels);
    Ok(())
}

/// Images per forward pass: bounds memory for long argument lists.
const BATCH: usize = 8;

/// `magpie predict --model`.
pub async fn predict(model_path: &Path, args: ModelArgs) -> anyhow::Result<()> {
    let images = decode_images(&args.images)?;
    let (classifier, model, stages) = load_model(model_path, &args.backbone).await?;
    for (paths, batch) in args.images.chunks(BATCH).zip(images.chunks(BATCH)) {
        let views: Vec<_> = batch.iter().map(RgbaImage::view).collect();
        let rows = classifier
            .probabilities(&model.backbone, &views, &stages.backbone)
            .await
            .map_err(anyhow::Error::msg)?;
        for (path, probabilities) in paths.iter().zip(rows) {
            let best = classifier
                .ranked(&probabilities)
                .into_iter()
                .next()
                .context("no classes")?;
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
