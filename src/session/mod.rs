//! A few-shot session's examples, without a browser: the classes and samples (of any image type
//! `F`), their cached rows kept in step with every edit, the views budget, and the key that
//! saved rows must match to be reused, and the samples to and from a project file. The JS API
//! (`src/web/session`) holds a `Samples<Frame>` and only converts; `cargo test` covers the
//! policy here.

mod project;

pub use project::ProjectMismatch;

use std::fmt;

use crate::augment::AugmentConfig;
use crate::backbone::{BackboneKind, RowKind};
use crate::dataset::Dataset;
use crate::training::{EmbeddingCache, Entry, affordable_views};

/// An edit the session refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// A class name that is empty once trimmed.
    EmptyName,
    /// A class name another class has.
    TakenName(String),
    /// A class index past the last class.
    NoClass {
        /// The index asked for.
        index: usize,
        /// How many classes there are.
        count: usize,
    },
    /// A sample id no sample has.
    NoSample(String),
    /// A sample id that is empty or already used.
    BadId(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyName => f.write_str("a class needs a name"),
            Self::TakenName(name) => write!(f, "there is already a class named '{name}'"),
            Self::NoClass { index, count } => {
                write!(f, "there is no class {index} (there are {count})")
            }
            Self::NoSample(id) => write!(f, "there is no sample '{id}'"),
            Self::BadId(id) => write!(f, "sample id '{id}' is empty or already used"),
        }
    }
}

impl std::error::Error for EditError {}

/// The user's classes and samples, and their cached rows.
#[derive(Debug)]
pub struct Samples<F> {
    /// Classes and samples.
    pub dataset: Dataset<F>,
    /// The number the next generated sample id starts from.
    pub next_id: u64,
    /// Each sample's rows (the frame's, then its augmented views').
    pub cache: EmbeddingCache,
    /// The augmentation and rows the cache was computed with.
    pub cached_with: (AugmentConfig, RowKind),
}

impl<F> Samples<F> {
    /// No classes, no samples; rows to be computed with `augment` as `rows`.
    pub fn new(augment: AugmentConfig, rows: RowKind) -> Self {
        Self {
            dataset: Dataset {
                labels: Vec::new(),
                samples: Vec::new(),
            },
            next_id: 0,
            cache: EmbeddingCache::default(),
            cached_with: (augment, rows),
        }
    }

    /// Adds a class named `name` and returns its index; refused if a class has that name.
    pub fn add_new_class(&mut self, name: String) -> Result<usize, EditError> {
        let name = class_name(name)?;
        if self.dataset.labels.contains(&name) {
            return Err(EditError::TakenName(name));
        }
        self.add_class(name)
    }

    /// The index of class `name`, added if new.
    pub fn add_class(&mut self, name: String) -> Result<usize, EditError> {
        let name = class_name(name)?;
        Ok(self
            .dataset
            .labels
            .iter()
            .position(|l| *l == name)
            .unwrap_or_else(|| {
                self.dataset.labels.push(name);
                self.dataset.labels.len() - 1
            }))
    }

    /// Renames class `index`; refused if another class has that name.
    pub fn rename_class(&mut self, index: usize, name: String) -> Result<(), EditError> {
        let name = class_name(name)?;
        self.check_class(index)?;
        let labels = &mut self.dataset.labels;
        if labels
            .iter()
            .enumerate()
            .any(|(i, l)| i != index && *l == name)
        {
            return Err(EditError::TakenName(name));
        }
        labels[index] = name;
        Ok(())
    }

    /// Removes class `index` and its samples; later classes move down one index.
    pub fn remove_class(&mut self, index: usize) -> Result<(), EditError> {
        self.check_class(index)?;
        let mut labels = self.dataset.labels.clone();
        labels.remove(index);
        self.remap(labels, |_, class| match class {
            c if c == index => None,
            c if c > index => Some(c - 1),
            c => Some(c),
        });
        Ok(())
    }

    /// Moves class `from` to index `to`, shifting the classes between.
    pub fn move_class(&mut self, from: usize, to: usize) -> Result<(), EditError> {
        self.check_class(from)?;
        self.check_class(to)?;
        let mut order: Vec<usize> = (0..self.dataset.labels.len()).collect();
        let moved = order.remove(from);
        order.insert(to, moved);
        let labels = order
            .iter()
            .map(|&old| self.dataset.labels[old].clone())
            .collect();
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        self.remap(labels, |_, class| Some(new_index[class]));
        Ok(())
    }

    /// Removes every sample of class `index`, keeping the class.
    pub fn clear_class(&mut self, index: usize) -> Result<(), EditError> {
        self.check_class(index)?;
        let labels = self.dataset.labels.clone();
        self.remap(labels, |_, class| (class != index).then_some(class));
        Ok(())
    }

    /// Removes sample `id`; false if there was none.
    pub fn remove_sample(&mut self, id: &str) -> bool {
        let Ok(index) = self.index_of(id) else {
            return false;
        };
        let labels = self.dataset.labels.clone();
        self.remap(labels, |i, class| (i != index).then_some(class));
        true
    }

    /// Moves sample `id` to class `label` (created if new).
    pub fn relabel_sample(&mut self, id: &str, label: String) -> Result<(), EditError> {
        let index = self.index_of(id)?;
        let target = self.add_class(label)?;
        let labels = self.dataset.labels.clone();
        self.remap(labels, |i, class| {
            Some(if i == index { target } else { class })
        });
        Ok(())
    }

    /// The id a new sample gets: `wanted` when given (refused if empty or taken), else a fresh
    /// one.
    pub fn new_id(&mut self, wanted: Option<String>) -> Result<String, EditError> {
        match wanted {
            Some(id) if id.is_empty() || self.dataset.samples.iter().any(|s| s.id == id) => {
                Err(EditError::BadId(id))
            }
            Some(id) => Ok(id),
            None => Ok(self.fresh_id()),
        }
    }

    /// An id no sample has.
    pub fn fresh_id(&mut self) -> String {
        loop {
            let id = format!("s{}", self.next_id);
            self.next_id += 1;
            if !self.dataset.samples.iter().any(|s| s.id == id) {
                return id;
            }
        }
    }

    /// The index of sample `id`.
    pub fn index_of(&self, id: &str) -> Result<usize, EditError> {
        self.dataset
            .samples
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| EditError::NoSample(id.to_string()))
    }

    /// Takes rows of views `first`, `first + 1`, … of sample `id` that another engine computed
    /// (drawn from the same random streams, so they equal what this cache would compute) with
    /// the settings `key` names. Refused (false, nothing changed) when the sample is gone, the
    /// settings changed, the sample no longer lacks exactly those views, or the rows do not fit.
    pub fn put_views(
        &mut self,
        backbone: BackboneKind,
        (id, key): (&str, &str),
        first: usize,
        shape: &[usize],
        bits: &[u16],
    ) -> bool {
        let Ok(sample) = self.index_of(id) else {
            return false;
        };
        let views = self.cached_with.0.views;
        let row: usize = shape.iter().product::<usize>().max(1);
        let held = self.cache.views_held(sample + 1)[sample];
        if key != self.key(backbone)
            || first == 0
            || held != Some(first - 1)
            || first + bits.len() / row - 1 > views
        {
            return false;
        }
        let entry = Entry {
            sample,
            class: self.dataset.samples[sample].class,
            view: first,
        };
        self.cache.push_views(entry, shape, bits).is_some()
    }

    /// What the cached rows are computed with, as a string saved embeddings must match. The
    /// number of views is left out: saved rows with more views than the cache keeps serve too.
    pub fn key(&self, backbone: BackboneKind) -> String {
        let (augment, rows) = &self.cached_with;
        let mut key = serde_json::json!({ "backbone": backbone, "augment": augment, "tailBlocks": rows.tail_blocks() });
        if let Some(augment) = key["augment"].as_object_mut() {
            augment.remove("views");
        }
        if *rows == RowKind::Spatial {
            key["features"] = "spatial".into();
        }
        key.to_string()
    }

    /// Whether training with `rows` must embed every frame again (the cache holds other rows:
    /// other features or fine-tune depth).
    pub fn needs_new_rows(&self, rows: RowKind) -> bool {
        self.cached_with.1 != rows
    }

    /// Brings the cached views in line with training on `augment` as `rows` (the cache already
    /// holding `rows`): views of other augmentation settings are dropped, the views budget is
    /// applied, and the settings recorded. Returns the views each sample is to have.
    pub fn settle_views(&mut self, augment: &AugmentConfig, rows: RowKind) -> usize {
        let (cached, _) = &self.cached_with;
        if (AugmentConfig {
            views: cached.views,
            ..augment.clone()
        }) != *cached
        {
            self.cache.keep_views(0);
        }
        // The cache holds at most the views recorded so far.
        let held = self.cached_with.0.views;
        self.cached_with = (
            AugmentConfig {
                views: held,
                ..augment.clone()
            },
            rows,
        );
        self.keep_affordable_views(augment.views)
    }

    /// Keeps the views of `wanted` that the samples, as many as there are now, can afford (see
    /// [`affordable_views`]): drops the cached views past them (if the cache may hold any) and
    /// records the number kept, which it returns.
    pub fn keep_affordable_views(&mut self, wanted: usize) -> usize {
        let views = affordable_views(wanted, self.dataset.samples.len());
        if views < self.cached_with.0.views {
            self.cache.keep_views(views);
        }
        self.cached_with.0.views = views;
        views
    }

    /// The views training computes to give every sample `views` augmented views: `(sample,
    /// first view it lacks)` for each sample holding fewer (a new sample holds its frame alone).
    pub fn missing_views(&self, views: usize) -> Vec<(usize, usize)> {
        let held = self.cache.views_held(self.dataset.samples.len());
        held.into_iter()
            .enumerate()
            .map(|(sample, held)| (sample, held.map_or(0, |h| h + 1)))
            .filter(|&(_, first)| first <= views)
            .collect()
    }

    /// Sets the classes to `labels` and each sample's class to `class_of(index, class)`
    /// (`None` drops it), in the dataset and the cache alike.
    pub fn remap(&mut self, labels: Vec<String>, class_of: impl Fn(usize, usize) -> Option<usize>) {
        let map: Vec<Option<usize>> = self
            .dataset
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| class_of(i, s.class))
            .collect();
        self.dataset.remap(labels, &map);
        self.cache.remap(&map);
    }

    /// Checks `index` names a class.
    fn check_class(&self, index: usize) -> Result<(), EditError> {
        let count = self.dataset.labels.len();
        if index < count {
            Ok(())
        } else {
            Err(EditError::NoClass { index, count })
        }
    }
}

/// A trimmed, non-empty class name.
fn class_name(name: String) -> Result<String, EditError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        Err(EditError::EmptyName)
    } else {
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Sample;

    /// Two classes, three samples (a0, a1 in "a"; b0 in "b"), each with a frame row and one
    /// view row of width 2 whose values name the sample.
    fn samples() -> Samples<()> {
        let mut samples = Samples::new(AugmentConfig::default(), RowKind::Pooled);
        samples.cache = EmbeddingCache::new(vec![2]);
        for (n, (id, label)) in [("a0", "a"), ("a1", "a"), ("b0", "b")].iter().enumerate() {
            let class = samples.add_class(label.to_string()).unwrap();
            samples.dataset.samples.push(Sample {
                id: id.to_string(),
                class,
                image: (),
            });
            for view in 0..2 {
                let entry = Entry {
                    sample: n,
                    class,
                    view,
                };
                samples.cache.push(&[entry], &[n as f32, view as f32]);
            }
        }
        samples
    }

    #[test]
    fn views_from_another_engine_are_taken_only_where_they_fit() {
        let mut samples = samples();
        let kind = BackboneKind::MobilenetV1025;
        let key = samples.key(kind);
        let bits = |values: &[f32]| -> Vec<u16> {
            values
                .iter()
                .map(|&v| half::f16::from_f32(v).to_bits())
                .collect()
        };
        samples.cached_with.0.views = 4;
        let views = 4;
        // b0 holds views 0 and 1: views 2 and 3 fit.
        assert!(samples.put_views(kind, ("b0", &key), 2, &[2], &bits(&[2.0, 2.0, 2.0, 3.0])));
        assert_eq!(samples.cache.views_held(3), [Some(1), Some(1), Some(3)]);
        assert_eq!(
            samples.cache.sample_rows(2),
            bits(&[2.0, 0.0, 2.0, 1.0, 2.0, 2.0, 2.0, 3.0])
        );
        let before = samples.cache.len();
        // Views b0 holds already, a gap, a sample that is gone, other settings, a wrong shape,
        // more views than kept: refused, nothing changed.
        assert!(!samples.put_views(kind, ("b0", &key), 2, &[2], &bits(&[9.0, 9.0])));
        assert!(!samples.put_views(kind, ("a0", &key), 3, &[2], &bits(&[9.0, 9.0])));
        assert!(!samples.put_views(kind, ("zz", &key), 2, &[2], &bits(&[9.0, 9.0])));
        let other = samples.key(BackboneKind::MobilenetV2);
        assert!(!samples.put_views(kind, ("a0", &other), 2, &[2], &bits(&[9.0, 9.0])));
        assert!(!samples.put_views(kind, ("a0", &key), 2, &[3], &bits(&[9.0, 9.0, 9.0])));
        let too_many = vec![9.0; 2 * views];
        assert!(!samples.put_views(kind, ("a0", &key), 2, &[2], &bits(&too_many)));
        assert_eq!(samples.cache.len(), before);
    }

    /// `(id, label)` pairs, or `(id, number)` pairs.
    type Pairs<T> = Vec<(String, T)>;

    /// `(id, label)` of every sample, and for each cached row, its sample's id and the sample
    /// number its values name.
    fn state(samples: &Samples<()>) -> (Pairs<String>, Pairs<usize>) {
        let d = &samples.dataset;
        let ids = d
            .samples
            .iter()
            .map(|s| (s.id.clone(), d.labels[s.class].clone()));
        let rows = samples.cache.entries().iter().enumerate().map(|(i, e)| {
            assert_eq!(
                d.samples[e.sample].class, e.class,
                "row {i} follows its sample's class"
            );
            (
                d.samples[e.sample].id.clone(),
                samples.cache.row(i)[0] as usize,
            )
        });
        (ids.collect(), rows.collect())
    }

    #[test]
    fn class_edits_keep_samples_and_cached_rows_in_step() {
        let mut s = samples();
        s.move_class(1, 0).unwrap();
        assert_eq!(s.dataset.labels, ["b", "a"]);
        let (ids, rows) = state(&s);
        assert_eq!(ids[2], ("b0".into(), "b".into()));
        // Every row still carries its own sample's values.
        assert!(rows.iter().all(|(id, n)| ["a0", "a1", "b0"][*n] == id));
        s.rename_class(0, " bee ".into()).unwrap();
        s.clear_class(1).unwrap();
        assert_eq!(state(&s).0, [("b0".to_string(), "bee".to_string())]);
        assert_eq!(s.cache.len(), 2, "the cleared samples' rows are gone");
        s.remove_class(0).unwrap();
        assert_eq!(s.dataset.labels, ["a"]);
        assert!(s.dataset.samples.is_empty() && s.cache.is_empty());
    }

    #[test]
    fn sample_edits_and_ids() {
        let mut s = samples();
        s.relabel_sample("a1", "c".into()).unwrap();
        assert_eq!(s.dataset.labels, ["a", "b", "c"]);
        assert_eq!(state(&s).0[1], ("a1".into(), "c".into()));
        assert!(s.remove_sample("a0"));
        assert!(!s.remove_sample("a0"));
        let (ids, rows) = state(&s);
        assert_eq!(ids.len(), 2);
        assert!(rows.iter().all(|(id, n)| ["a0", "a1", "b0"][*n] == id));
        assert_eq!(
            s.new_id(Some("b0".into())),
            Err(EditError::BadId("b0".into()))
        );
        assert_eq!(
            s.new_id(Some(String::new())),
            Err(EditError::BadId(String::new()))
        );
        assert_eq!(s.new_id(Some("x".into())), Ok("x".into()));
        let fresh = s.new_id(None).unwrap();
        assert!(!s.dataset.samples.iter().any(|x| x.id == fresh));
    }

    #[test]
    fn bad_edits_are_refused_with_a_reason_and_change_nothing() {
        let mut s = samples();
        let before = state(&s);
        assert_eq!(
            s.add_new_class(" a ".into()),
            Err(EditError::TakenName("a".into()))
        );
        assert_eq!(s.add_new_class("  ".into()), Err(EditError::EmptyName));
        assert_eq!(
            s.rename_class(0, "b".into()),
            Err(EditError::TakenName("b".into()))
        );
        let missing = EditError::NoClass { index: 2, count: 2 };
        assert_eq!(s.remove_class(2), Err(missing.clone()));
        assert_eq!(s.move_class(0, 2), Err(missing.clone()));
        assert_eq!(s.clear_class(2), Err(missing));
        assert_eq!(
            s.relabel_sample("zz", "a".into()),
            Err(EditError::NoSample("zz".into()))
        );
        assert_eq!(state(&s), before);
        assert_eq!(
            EditError::NoClass { index: 2, count: 2 }.to_string(),
            "there is no class 2 (there are 2)"
        );
    }

    #[test]
    fn training_computes_only_the_views_samples_lack() {
        let mut s = samples();
        assert_eq!(s.missing_views(1), []);
        assert_eq!(s.missing_views(3), [(0, 2), (1, 2), (2, 2)]);
        // A new sample holds its frame alone.
        s.dataset.samples.push(Sample {
            id: "b1".into(),
            class: 1,
            image: (),
        });
        let frame = Entry {
            sample: 3,
            class: 1,
            view: 0,
        };
        s.cache.push(&[frame], &[3.0, 0.0]);
        assert_eq!(s.missing_views(1), [(3, 1)]);
        s.cache.keep_views(0);
        assert_eq!(s.missing_views(0), []);
        assert_eq!(s.missing_views(2), [(0, 1), (1, 1), (2, 1), (3, 1)]);
    }

    #[test]
    fn training_keeps_the_views_of_the_same_augmentation_only() {
        let mut s = samples();
        assert!(!s.needs_new_rows(RowKind::Pooled));
        assert!(
            s.needs_new_rows(RowKind::Spatial),
            "other rows: every frame again"
        );
        // Same augmentation, more views asked: the cached view stays, the rest are to come.
        let augment = AugmentConfig {
            views: 3,
            ..AugmentConfig::default()
        };
        assert_eq!(s.settle_views(&augment, RowKind::Pooled), 3);
        assert_eq!(s.cache.len(), 6);
        assert_eq!(s.missing_views(3), [(0, 2), (1, 2), (2, 2)]);
        assert_eq!(s.cached_with, (augment.clone(), RowKind::Pooled));
        // Other augmentation: only the frames stay.
        let mut other = augment.clone();
        other.flip = !other.flip;
        assert_eq!(s.settle_views(&other, RowKind::Pooled), 3);
        assert_eq!(s.cache.len(), 3);
        assert_eq!(s.missing_views(3), [(0, 1), (1, 1), (2, 1)]);
        // Fewer views asked: the extra ones go.
        s.cache = samples().cache;
        other.views = 0;
        assert_eq!(s.settle_views(&other, RowKind::Pooled), 0);
        assert_eq!(s.cache.len(), 3);
    }

    #[test]
    fn the_cache_key_ignores_the_number_of_views_only() {
        let pooled = samples();
        let mut more_views = samples();
        more_views.cached_with.0.views += 3;
        assert_eq!(
            pooled.key(BackboneKind::MobilenetV2),
            more_views.key(BackboneKind::MobilenetV2)
        );
        assert_ne!(
            pooled.key(BackboneKind::MobilenetV2),
            pooled.key(BackboneKind::MobilenetV1025)
        );
        let mut spatial = samples();
        spatial.cached_with.1 = RowKind::Spatial;
        assert_ne!(
            pooled.key(BackboneKind::MobilenetV2),
            spatial.key(BackboneKind::MobilenetV2)
        );
    }

    #[test]
    fn keeping_affordable_views_drops_only_views_past_the_budget() {
        let mut s = samples();
        assert_eq!(s.keep_affordable_views(1), 1);
        assert_eq!(s.cache.len(), 6, "within the budget nothing is dropped");
        // 1,000 samples (the others without rows): past it, only the frames' rows.
        for n in 3..1_000 {
            s.dataset.samples.push(Sample {
                id: format!("x{n}"),
                class: 0,
                image: (),
            });
        }
        assert_eq!(s.keep_affordable_views(1), 0);
        assert_eq!(s.cache.len(), 3);
        assert_eq!(s.cached_with.0.views, 0);
    }
}
