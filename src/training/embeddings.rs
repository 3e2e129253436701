//! The embedding cache: each sample's views go through the frozen backbone once, and head
//! training reads the cached rows (stored as f16) every epoch instead of rerunning it.
//!
//! A row is what [`RowKind`] says: the pooled embedding, with the spatial map after it, or in
//! fine-tune mode the activation entering the backbone's trainable tail.

use burn::tensor::{Device, Int, Tensor, TensorData};
use half::f16;

use super::{CancelToken, TrainError};
use crate::augment::AugmentConfig;
use crate::backbone::{Backbone, RowKind};
use crate::dataset::Dataset;
use crate::image::{RgbaView, batch};
use crate::readback::read;
use crate::rng::Rng;

/// Images per backbone forward pass.
const BATCH: usize = 16;

/// What a cached row was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Index of the sample in its dataset.
    pub sample: usize,
    /// The sample's class.
    pub class: usize,
    /// 0 for the frame itself, 1.. for augmented views.
    pub view: usize,
}

/// Cached backbone outputs, one row per sample view. Each row is its own allocation, so a
/// cache of many thousands of rows grows without reallocating (and copying) one huge buffer,
/// which in wasm would leave the linear memory at a multiple of what the rows take.
#[derive(Debug, Clone, Default)]
pub struct EmbeddingCache {
    /// Shape of one row: `[width]`, or `[channels, h, w]` in fine-tune mode.
    pub shape: Vec<usize>,
    rows: Vec<Box<[f16]>>,
    entries: Vec<Entry>,
}

impl EmbeddingCache {
    /// An empty cache of rows of `shape`.
    pub fn new(shape: Vec<usize>) -> Self {
        Self {
            shape,
            ..Self::default()
        }
    }

    /// A cache from its parts (see [`Self::values`]); `None` if the sizes disagree.
    pub fn from_parts(shape: Vec<usize>, entries: Vec<Entry>, values: Vec<f16>) -> Option<Self> {
        let row: usize = shape.iter().product();
        if values.len() != entries.len() * row || (row == 0 && !entries.is_empty()) {
            return None;
        }
        let rows = values.chunks(row.max(1)).map(Box::from).collect();
        Some(Self {
            shape,
            rows,
            entries,
        })
    }

    /// The first `width` columns of every row, as a cache of rows `[width]`: the pooled
    /// embedding of spatial rows, which begin with it. `None` when the rows are not flat or
    /// narrower.
    pub fn leading(&self, width: usize) -> Option<Self> {
        let [row] = self.shape[..] else { return None };
        if row < width {
            return None;
        }
        Some(Self {
            shape: vec![width],
            rows: self.rows.iter().map(|r| Box::from(&r[..width])).collect(),
            entries: self.entries.clone(),
        })
    }

    /// Every cached value, row after row.
    pub fn values(&self) -> impl Iterator<Item = f16> + '_ {
        self.rows.iter().flat_map(|row| row.iter().copied())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What each row was computed from.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Values per row.
    pub fn row_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes the cached values take.
    pub fn bytes(&self) -> usize {
        self.len() * self.row_len() * 2
    }

    /// Appends rows (`values.len() == entries.len() * row_len`).
    pub fn push(&mut self, entries: &[Entry], values: &[f32]) {
        let row = self.row_len().max(1);
        self.entries.extend_from_slice(entries);
        self.rows.extend(
            values
                .chunks(row)
                .map(|r| r.iter().map(|&v| f16::from_f32(v)).collect::<Box<[f16]>>()),
        );
    }

    /// Applies a dataset edit (see [`Dataset::remap`]): `map[sample]` is the sample's new
    /// class, or `None` to drop its rows; kept samples are renumbered in order.
    pub fn remap(&mut self, map: &[Option<usize>]) {
        let renumbered = crate::dataset::renumber(map);
        let (mut entries, mut rows) = (Vec::new(), Vec::new());
        for (entry, row) in self.entries.drain(..).zip(self.rows.drain(..)) {
            if let (Some(Some(class)), Some(Some(sample))) =
                (map.get(entry.sample), renumbered.get(entry.sample))
            {
                entries.push(Entry {
                    sample: *sample,
                    class: *class,
                    view: entry.view,
                });
                rows.push(row);
            }
        }
        (self.entries, self.rows) = (entries, rows);
    }

    /// Drops the rows of views after `views` (each view has its own random stream, so what is
    /// left equals a cache computed with `views` views).
    pub fn keep_views(&mut self, views: usize) {
        let mut kept = self.entries.iter().map(|e| e.view <= views);
        self.rows
            .retain(|_| kept.next().expect("one entry per row"));
        self.entries.retain(|e| e.view <= views);
    }

    /// The rows of sample `sample`, view after view, as f16 bits.
    pub fn sample_rows(&self, sample: usize) -> Vec<u16> {
        let mut rows: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.sample == sample)
            .map(|(i, e)| (e.view, i))
            .collect();
        rows.sort_unstable();
        rows.iter()
            .flat_map(|&(_, i)| self.rows[i].iter().map(|v| v.to_bits()))
            .collect()
    }

    /// Appends up to the first `views + 1` rows saved by [`Self::sample_rows`] for `entry`
    /// (views 0, 1, …; the views they lack are computed when training needs them); `None` if
    /// their shape does not match the rows already cached, or their length is not whole rows.
    pub fn push_saved(
        &mut self,
        entry: Entry,
        shape: &[usize],
        bits: &[u16],
        views: usize,
    ) -> Option<()> {
        let row: usize = shape.iter().product();
        let bits = &bits[..bits.len().min((views + 1) * row)];
        self.push_views(Entry { view: 0, ..entry }, shape, bits)
    }

    /// Appends rows of views `entry.view`, `entry.view + 1`, … of `entry`'s sample, as f16
    /// bits; `None` (and nothing appended) if their shape does not match the rows already
    /// cached, or their length is not whole rows.
    pub fn push_views(&mut self, entry: Entry, shape: &[usize], bits: &[u16]) -> Option<()> {
        let row: usize = shape.iter().product();
        if row == 0
            || !bits.len().is_multiple_of(row)
            || bits.is_empty()
            || (!self.entries.is_empty() && self.shape != shape)
        {
            return None;
        }
        self.shape = shape.to_vec();
        for (offset, bits) in bits.chunks(row).enumerate() {
            self.entries.push(Entry {
                view: entry.view + offset,
                ..entry
            });
            self.rows
                .push(bits.iter().map(|&b| f16::from_bits(b)).collect());
        }
        Some(())
    }

    /// The last view cached of each of the first `samples` samples (`None`: no row at all).
    pub fn views_held(&self, samples: usize) -> Vec<Option<usize>> {
        let mut held = vec![None; samples];
        for entry in &self.entries {
            if let Some(h) = held.get_mut(entry.sample) {
                *h = Some(h.map_or(entry.view, |v: usize| v.max(entry.view)));
            }
        }
        held
    }

    /// Row `index` as f32.
    pub fn row(&self, index: usize) -> Vec<f32> {
        self.rows[index].iter().map(|v| v.to_f32()).collect()
    }

    /// The rows `indices` as one tensor.
    ///
    /// # Shapes
    /// - output: `[indices.len(), row_len]`
    pub fn tensor(&self, indices: &[usize], device: &Device) -> Tensor<2> {
        let mut values = Vec::with_capacity(indices.len() * self.row_len());
        for &i in indices {
            values.extend(self.rows[i].iter().map(|v| v.to_f32()));
        }
        Tensor::from_data(
            TensorData::new(values, [indices.len(), self.row_len()]),
            device,
        )
    }

    /// The classes of rows `indices`.
    ///
    /// # Shapes
    /// - output: `[indices.len()]`
    pub fn classes(&self, indices: &[usize], device: &Device) -> Tensor<1, Int> {
        let classes: Vec<i64> = indices
            .iter()
            .map(|&i| self.entries[i].class as i64)
            .collect();
        Tensor::from_data(TensorData::new(classes, [indices.len()]), device)
    }
}

/// Runs the frozen part of a backbone on sample views.
#[derive(Debug, Clone, Copy)]
pub struct Embedder<'a> {
    /// The pretrained backbone.
    pub backbone: &'a Backbone,
    /// Which rows to compute.
    pub rows: RowKind,
    /// Device the backbone runs on.
    pub device: &'a Device,
}

/// One image to embed, with the views to take of it.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The frame.
    pub image: RgbaView<'a>,
    /// Which sample and class it is (`view` is ignored).
    pub entry: Entry,
    /// The first view to compute: 0 for the frame itself, more when the earlier views are
    /// cached already.
    pub from_view: usize,
    /// The last view to compute (0: the frame alone).
    pub views: usize,
}

impl<'a> Job<'a> {
    /// One job per sample of `dataset` (in order), taking `views(sample index)` augmented views.
    pub fn all(dataset: &'a Dataset, views: impl Fn(usize) -> usize) -> Vec<Self> {
        dataset
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| Job {
                image: s.image.view(),
                entry: Entry {
                    sample: i,
                    class: s.class,
                    view: 0,
                },
                from_view: 0,
                views: views(i),
            })
            .collect()
    }
}

impl Embedder<'_> {
    /// Adds every view of every job to `cache`. View `v` of sample `s` is drawn from the
    /// random stream `(seed, s, v)`, so the same sample always gets the same views.
    pub async fn embed(
        &self,
        jobs: &[Job<'_>],
        augment: &AugmentConfig,
        seed: u64,
        cache: &mut EmbeddingCache,
        cancel: &CancelToken,
    ) -> Result<(), TrainError> {
        let size = self.backbone.kind.input_size();
        let views: Vec<(&Job<'_>, usize)> = jobs
            .iter()
            .flat_map(|job| (job.from_view..=job.views).map(move |view| (job, view)))
            .collect();
        for chunk in views.chunks(BATCH.min(self.backbone.kind.max_batch())) {
            cancel.check()?;
            let planes = chunk.iter().map(|(job, view)| match view {
                0 => job.image.center_square(size),
                v => augment.view(
                    job.image,
                    size,
                    &mut Rng::derive(seed, (job.entry.sample as u64) << 16 | *v as u64),
                ),
            });
            let images = batch(planes, self.backbone.kind, self.device);
            let (output, shape) = self.backbone.rows(images, self.rows);
            cache.shape = shape;
            let values = read(output).await?;
            let entries: Vec<Entry> = chunk
                .iter()
                .map(|(job, view)| Entry {
                    view: *view,
                    ..job.entry
                })
                .collect();
            cache.push(&entries, &values);
            crate::clock::yield_now().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_columns_of_every_row_are_a_cache_of_their_own() {
        let mut cache = EmbeddingCache::new(vec![3]);
        let entries: Vec<Entry> = (0..2)
            .map(|sample| Entry {
                sample,
                class: sample,
                view: 0,
            })
            .collect();
        cache.push(&entries, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let pooled = cache.leading(2).unwrap();
        assert_eq!(pooled.shape, [2]);
        assert_eq!(pooled.entries(), cache.entries());
        assert_eq!(
            pooled.values().map(f32::from).collect::<Vec<_>>(),
            [1.0, 2.0, 4.0, 5.0]
        );
        assert!(cache.leading(4).is_none());
        assert!(EmbeddingCache::new(vec![2, 2, 2]).leading(1).is_none());
    }

    #[test]
    fn remap_and_saved_rows_keep_each_samples_views() {
        let mut cache = EmbeddingCache::new(vec![2]);
        let entries: Vec<Entry> = (0..3)
            .flat_map(|sample| {
                (0..2).map(move |view| Entry {
                    sample,
                    class: sample,
                    view,
                })
            })
            .collect();
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        cache.push(&entries, &values);
        let saved = cache.sample_rows(1);
        assert_eq!(
            saved
                .iter()
                .map(|&b| f16::from_bits(b).to_f32())
                .collect::<Vec<_>>(),
            [4.0, 5.0, 6.0, 7.0]
        );
        // Drop sample 0, move sample 2 to class 0.
        cache.remap(&[None, Some(1), Some(0)]);
        assert_eq!(cache.len(), 4);
        assert_eq!(
            cache.entries()[0],
            Entry {
                sample: 0,
                class: 1,
                view: 0
            }
        );
        assert_eq!(
            cache.entries()[2],
            Entry {
                sample: 1,
                class: 0,
                view: 0
            }
        );
        assert_eq!(cache.row(2), [8.0, 9.0]);
        // Saved rows come back as the same views; a mismatched shape is refused.
        assert!(
            cache
                .push_saved(
                    Entry {
                        sample: 2,
                        class: 1,
                        view: 0
                    },
                    &[3],
                    &saved,
                    1
                )
                .is_none()
        );
        cache
            .push_saved(
                Entry {
                    sample: 2,
                    class: 1,
                    view: 0,
                },
                &[2],
                &saved,
                1,
            )
            .unwrap();
        assert_eq!(cache.sample_rows(2), saved);
        // Fewer views than saved keeps the first ones; so does dropping views.
        cache
            .push_saved(
                Entry {
                    sample: 3,
                    class: 0,
                    view: 0,
                },
                &[2],
                &saved,
                0,
            )
            .unwrap();
        assert_eq!(cache.sample_rows(3), saved[..2]);
        cache.keep_views(0);
        assert_eq!(cache.len(), 4);
        assert_eq!(cache.sample_rows(2), saved[..2]);
        assert_eq!(cache.values().count(), 8);
        // Saved rows with fewer views than asked serve for the views they hold.
        cache
            .push_saved(
                Entry {
                    sample: 4,
                    class: 0,
                    view: 0,
                },
                &[2],
                &saved[..2],
                3,
            )
            .unwrap();
        assert_eq!(
            cache.views_held(5),
            [Some(0), Some(0), Some(0), Some(0), Some(0)]
        );
        cache.push(
            &[Entry {
                sample: 4,
                class: 0,
                view: 1,
            }],
            &[1.0, 2.0],
        );
        assert_eq!(cache.views_held(6)[4..], [Some(1), None]);
    }
}
