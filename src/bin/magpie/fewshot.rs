//! `magpie fewshot`: k images per class train, the rest (up to `--max-test` per class) test,
//! seeds 0..S-1 choosing the split. Every image is embedded once and reused by every seed,
//! head and k.

use std::path::PathBuf;

use clap::Args;
use magpie::augment::AugmentConfig;
use magpie::backbone::Features;
use magpie::clock::now_ms;
use magpie::dataset::few_shot_split;
use magpie::head::{HeadConfig, HeadKind};
use magpie::train_config::TrainConfig;
use magpie::training::{
    CancelToken, Embedder, EmbeddingCache, Entry, Job, Rows, affordable_views, evaluate_rows,
    fit_rows,
};

use crate::BackboneArgs;
use crate::progress;
use crate::train::{dataset, open};

/// Options of `magpie fewshot`.
#[derive(Args, Debug)]
pub struct FewshotArgs {
    /// The examples: DIR/<class>/<image>.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    backbone: BackboneArgs,
    /// Heads to compare (comma-separated): linear, mlp, knn.
    #[arg(long, value_delimiter = ',', default_value = "mlp")]
    head: Vec<HeadKind>,
    /// Training images per class (comma-separated for several).
    #[arg(long, value_delimiter = ',', required = true)]
    shots: Vec<usize>,
    /// Number of seeds (splits) per setting.
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Test images per class at most.
    #[arg(long, default_value_t = 100)]
    max_test: usize,
    /// Augmented views per training image, fewer past 240 training images and none past 600
    /// [default: the trainer's].
    #[arg(long)]
    augment: Option<usize>,
    /// Backbone outputs the head reads: spatial (where the backbone has them) or pooled.
    #[arg(long, default_value = "spatial")]
    features: Features,
    /// Backbone blocks to fine-tune (0: frozen).
    #[arg(long, default_value_t = 0)]
    finetune: usize,
    /// Training epochs [default: the trainer's].
    #[arg(long)]
    epochs: Option<usize>,
    /// Neighbours that vote in KNN mode.
    #[arg(long, default_value_t = 3)]
    k: usize,
}

/// Revision of the backbones' computation, part of every cache key: bump it when a backbone
/// computes other rows from the same weights (2: EfficientNet-Lite0 pads the TF `SAME` way).
const ROWS_REVISION: u32 = 2;

/// Reads a cache written by [`write_cache`] (`None` if absent or unreadable).
fn read_cache(path: &std::path::Path) -> Option<EmbeddingCache> {
    let bytes = std::fs::read(path).ok()?;
    let split = bytes.iter().position(|&b| b == b'\n')?;
    let (shape, entries): (Vec<usize>, Vec<Entry>) =
        serde_json::from_slice(&bytes[..split]).ok()?;
    let values = bytes[split + 1..]
        .chunks_exact(2)
        .map(|b| half::f16::from_le_bytes([b[0], b[1]]))
        .collect();
    EmbeddingCache::from_parts(shape, entries, values)
}

/// Writes a cache: a JSON line `[shape, entries]`, then the f16 values.
fn write_cache(path: &std::path::Path, cache: &EmbeddingCache) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(path))?;
    let mut bytes = serde_json::to_vec(&(&cache.shape, cache.entries()))?;
    bytes.push(b'\n');
    bytes.extend(cache.values().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes)?;
    Ok(())
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (
        mean,
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

/// Runs the benchmark, printing one table per (head, k).
pub async fn run(args: FewshotArgs) -> anyhow::Result<()> {
    let dataset = dataset(&args.data)?;
    let (model, stages) = open(&args.backbone, args.backbone.backbone).await?;
    let defaults = TrainConfig::default();
    let views = args.augment.unwrap_or(defaults.augment.views);
    let classes = dataset.classes();

    // Augmented views only of images some split trains on.
    let splits: Vec<_> = args
        .shots
        .iter()
        .flat_map(|&k| (0..args.seeds).map(move |seed| (k, seed)))
        .map(|(k, seed)| ((k, seed), few_shot_split(&classes, k, args.max_test, seed)))
        .collect();
    let mut trained_on = vec![false; dataset.samples.len()];
    for (_, split) in &splits {
        split.train.iter().for_each(|&s| trained_on[s] = true);
    }
    let jobs = Job::all(&dataset, |i| if trained_on[i] { views } else { 0 });
    let start = now_ms();
    let augment = AugmentConfig {
        views,
        ..defaults.augment.clone()
    };
    let rows = magpie::backbone::RowKind::of(model.backbone.kind, args.features, args.finetune);
    // Embeddings are kept on disk between runs, keyed by everything they depend on.
    let key = format!(
        "r{ROWS_REVISION}-{}-{}-{}-t{}-{:016x}",
        model.backbone.kind,
        dataset.samples.len(),
        rows.features(),
        args.finetune,
        jobs.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, j| (h
            ^ j.views as u64
            ^ (j.entry.class as u64) << 8)
            .wrapping_mul(0x100_0000_01b3))
            ^ serde_json::to_string(&augment)?
                .bytes()
                .fold(0, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
    );
    let cache_file = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(format!("fewshot-cache/{key}.bin"));
    let cache = match read_cache(&cache_file) {
        Some(cache) => cache,
        None => {
            let mut cache = EmbeddingCache::default();
            let embedder = Embedder {
                backbone: &model.backbone,
                rows,
                device: &stages.backbone,
            };
            let total = jobs.iter().map(|j| 1 + j.views).sum();
            let bar = progress::bar(total, "embedding");
            // Each view's augmentation is seeded by its sample and view, so embedding the
            // jobs a chunk at a time gives the same rows as one call.
            for chunk in jobs.chunks(32) {
                embedder
                    .embed(chunk, &augment, 0, &mut cache, &CancelToken::default())
                    .await?;
                bar.inc(chunk.iter().map(|j| 1 + j.views as u64).sum());
            }
            bar.finish_and_clear();
            write_cache(&cache_file, &cache)?;
            cache
        }
    };
    eprintln!(
        "embedded {} views in {:.1} s ({} MB cached)",
        cache.len(),
        (now_ms() - start) / 1e3,
        cache.bytes() >> 20
    );
    let mut rows_of = vec![Vec::new(); dataset.samples.len()];
    for (row, entry) in cache.entries().iter().enumerate() {
        rows_of[entry.sample].push((entry.view, row));
    }

    let runs = progress::bar(args.head.len() * splits.len(), "training");
    for &head in &args.head {
        for &k in &args.shots {
            // The views training keeps of this many samples, as the app does.
            let kept = affordable_views(views, k * dataset.labels.len());
            let config = TrainConfig {
                head: HeadConfig {
                    kind: head,
                    k: args.k,
                    ..HeadConfig::default()
                },
                epochs: args.epochs.unwrap_or(defaults.epochs),
                validation_fraction: 0.0,
                features: args.features,
                finetune_blocks: args.finetune,
                augment: AugmentConfig {
                    views: kept,
                    ..augment.clone()
                },
                ..defaults.clone()
            };
            runs.set_message(format!("{head}, {k} shots"));
            runs.suspend(|| {
                println!(
                    "# backbone={} head={head} features={} shots={k} augment={kept} finetune={} epochs={}",
                    model.backbone.kind,
                    rows.features(),
                    args.finetune,
                    config.epochs
                );
                println!("seed\taccuracy\ttrain_ms");
            });
            let (mut accuracies, mut times) = (Vec::new(), Vec::new());
            for ((_, seed), split) in splits.iter().filter(|((shots, _), _)| *shots == k) {
                let train: Vec<usize> = split
                    .train
                    .iter()
                    .flat_map(|&s| rows_of[s].iter())
                    .filter(|(v, _)| *v <= kept)
                    .map(|&(_, row)| row)
                    .collect();
                let test: Vec<usize> = split
                    .test
                    .iter()
                    .flat_map(|&s| {
                        rows_of[s]
                            .iter()
                            .filter(|(v, _)| *v == 0)
                            .map(|&(_, row)| row)
                    })
                    .collect();
                let config = TrainConfig {
                    seed: *seed,
                    ..config.clone()
                };
                let start = now_ms();
                let rows = Rows {
                    train: &train,
                    validation: &[],
                };
                let fitted = fit_rows(
                    &cache,
                    rows,
                    &dataset.labels,
                    &model.backbone,
                    &config,
                    &stages.head,
                    &mut |_| {},
                    &CancelToken::default(),
                )
                .await?;
                let elapsed = now_ms() - start;
                let evaluation = evaluate_rows(&fitted.classifier, &cache, &test, &|s| {
                    dataset.samples[s].id.as_str()
                })
                .await?;
                runs.suspend(|| println!("{seed}\t{:.4}\t{elapsed:.0}", evaluation.accuracy));
                runs.inc(1);
                accuracies.push(evaluation.accuracy as f64);
                times.push(elapsed);
            }
            let (mean, std) = mean_std(&accuracies);
            runs.suspend(|| {
                println!("mean_train_ms={:.0}", mean_std(&times).0);
                println!("mean_accuracy={mean:.4} std={std:.4}");
            });
        }
    }
    Ok(())
}
