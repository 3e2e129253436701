//! The inner products of a cache's spatial rows, kept up to date as rows arrive (while the user
//! records), so that training in the span of its rows (see `span`) finds their Gram matrix all
//! but done. The normalization ([`FeatureNorm`](crate::head::FeatureNorm)) centres the rows on
//! the training rows' mean and scales each part to unit length, neither known before training;
//! both follow from the products of the signed-square-rooted rows, part by part:
//! `(a − μ)·(b − μ) = a·b − a·μ − b·μ + μ·μ`, where `a·μ` is the mean of `a`'s products with the
//! training rows.

use half::f16;

use crate::head::SPATIAL_WEIGHT;

/// Rows past which the products are no longer kept: more than the span takes (with
/// validation rows), and their cost grows with the square.
pub const MAX_ROWS: usize = 1600;

/// The signed-square-rooted rows and their inner products (see the module docs).
#[derive(Debug, Clone)]
pub struct RowDots {
    /// Leading columns that are the pooled embedding; the rest are the map.
    pooled: usize,
    /// Each row through the normalization's signed square root.
    rooted: Vec<Box<[f32]>>,
    /// `products[i][j]` for `j ≤ i`: the pooled parts' and the maps' inner products.
    products: Vec<Vec<[f64; 2]>>,
}

/// Training rows normalized as the head reads them, from [`RowDots::normalized`].
#[derive(Debug)]
pub struct Normalized {
    /// The normalization's mean: `[width]`.
    pub mean: Vec<f32>,
    /// The training rows, normalized: row-major `[T, width]`.
    pub rows: Vec<f32>,
    /// Their Gram matrix: row-major `[T, T]`.
    pub gram: Vec<f32>,
    /// Their products with the other rows, normalized alike: row-major `[T, M]`.
    pub products: Vec<f32>,
}

impl RowDots {
    /// No rows yet, of which the first `pooled` columns are the pooled embedding.
    pub fn new(pooled: usize) -> Self {
        Self {
            pooled,
            rooted: Vec::new(),
            products: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rooted.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rooted.is_empty()
    }

    /// Appends a row: its products with every row so far (`N·width` steps).
    pub fn push(&mut self, row: &[f16]) {
        let rooted: Box<[f32]> = row
            .iter()
            .map(|v| {
                let v = v.to_f32();
                v.signum() * v.abs().sqrt()
            })
            .collect();
        let split = self.pooled.min(rooted.len());
        let mut products: Vec<[f64; 2]> = self
            .rooted
            .iter()
            .map(|other| parts(&rooted, other, split))
            .collect();
        products.push(parts(&rooted, &rooted, split));
        self.rooted.push(rooted);
        self.products.push(products);
    }

    /// Keeps the rows where `keep` is true, in order.
    pub fn retain(&mut self, keep: &[bool]) {
        let mut kept = keep.iter();
        self.rooted.retain(|_| *kept.next().unwrap_or(&false));
        let mut rows = keep.iter();
        self.products.retain_mut(|row| {
            let mut columns = keep.iter();
            row.retain(|_| *columns.next().unwrap_or(&false));
            *rows.next().unwrap_or(&false)
        });
    }

    fn product(&self, i: usize, j: usize) -> [f64; 2] {
        self.products[i.max(j)][i.min(j)]
    }

    /// The rows `train` normalized on their own mean (as [`FeatureNorm::fit`] and `forward`
    /// would), their Gram matrix and their products with the rows `others`.
    ///
    /// [`FeatureNorm::fit`]: crate::head::FeatureNorm::fit
    pub fn normalized(&self, train: &[usize], others: &[usize]) -> Normalized {
        let t = train.len().max(1) as f64;
        let all: Vec<usize> = train.iter().chain(others).copied().collect();
        // Each row's product with the mean, part by part, and the mean's with itself.
        let with_mean: Vec<[f64; 2]> = all
            .iter()
            .map(|&i| {
                let sums = train.iter().fold([0.0; 2], |s, &k| {
                    let p = self.product(i, k);
                    [s[0] + p[0], s[1] + p[1]]
                });
                [sums[0] / t, sums[1] / t]
            })
            .collect();
        let mean_mean = with_mean[..train.len()]
            .iter()
            .fold([0.0; 2], |s, m| [s[0] + m[0] / t, s[1] + m[1] / t]);
        let centred = |a: usize, b: usize| -> [f64; 2] {
            let p = self.product(all[a], all[b]);
            [0, 1].map(|k| p[k] - with_mean[a][k] - with_mean[b][k] + mean_mean[k])
        };
        let lengths: Vec<[f64; 2]> = (0..all.len())
            .map(|a| centred(a, a).map(|c| c.max(0.0).sqrt().max(1e-12)))
            .collect();
        let weights = [1.0, f64::from(SPATIAL_WEIGHT).powi(2)];
        let normalized = |a: usize, b: usize| -> f32 {
            let c = centred(a, b);
            (0..2)
                .map(|k| weights[k] * c[k] / (lengths[a][k] * lengths[b][k]))
                .sum::<f64>() as f32
        };
        let n = train.len();
        let gram = (0..n)
            .flat_map(|a| (0..n).map(move |b| (a, b)))
            .map(|(a, b)| normalized(a, b))
            .collect();
        let products = (0..n)
            .flat_map(|a| (n..all.len()).map(move |b| (a, b)))
            .map(|(a, b)| normalized(a, b))
            .collect();
        let width = self.rooted.first().map_or(0, |r| r.len());
        let mut mean = vec![0.0f64; width];
        for &k in train {
            mean.iter_mut()
                .zip(self.rooted[k].iter())
                .for_each(|(m, &v)| *m += f64::from(v));
        }
        let mean: Vec<f32> = mean.iter().map(|m| (m / t) as f32).collect();
        let split = self.pooled.min(width);
        let mut rows = Vec::with_capacity(n * width);
        for (a, &k) in train.iter().enumerate() {
            let scale = [
                1.0 / lengths[a][0] as f32,
                SPATIAL_WEIGHT / lengths[a][1] as f32,
            ];
            rows.extend(
                self.rooted[k]
                    .iter()
                    .zip(&mean)
                    .enumerate()
                    .map(|(c, (v, m))| (v - m) * scale[usize::from(c >= split)]),
            );
        }
        Normalized {
            mean,
            rows,
            gram,
            products,
        }
    }
}

/// The inner products of `a` and `b` before and after column `split`.
fn parts(a: &[f32], b: &[f32], split: usize) -> [f64; 2] {
    [dot(&a[..split], &b[..split]), dot(&a[split..], &b[split..])]
}

/// `a · b` in eight running f32 sums (which the compiler turns into SIMD), added in f64 every
/// 256 values.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let mut total = 0.0f64;
    for (a, b) in a.chunks(256).zip(b.chunks(256)) {
        let mut sums = [0.0f32; 8];
        let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = a8
            .remainder()
            .iter()
            .zip(b8.remainder())
            .map(|(x, y)| x * y)
            .sum();
        for (x, y) in a8.zip(b8) {
            for k in 0..8 {
                sums[k] += x[k] * y[k];
            }
        }
        total += f64::from(sums.iter().sum::<f32>() + tail);
    }
    total
}
