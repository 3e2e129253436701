//! Training the MLP head in a small basis of its training rows' span. The head's first layer,
//! trained by gradient steps on rows of width D, only ever learns along those rows; when there
//! are far fewer than D, it is trained instead on each row's B coordinates in an orthonormal
//! basis of a subspace they span, and lifted back to D inputs at the end, a D/B-th of the work
//! per step. The subspace is spanned by one or two rows per sample ([`basis_groups`]): its frame
//! and the mean of its augmented views, so B is twice the samples, not (1 + views) times. With
//! `X` those basis rows (`[B, D]`) and `L` the Cholesky factor of their Gram matrix `X·Xᵀ`, the
//! basis is `Q = Xᵀ·L⁻ᵀ`: a row `x`'s coordinates are `L⁻¹·X·x` (its projection onto the
//! subspace), and a first layer `V` on coordinates is `W = Q·V` on rows, the same network on
//! every row as on its coordinates. Adam's steps are not the same in the two bases, so the head
//! it trains is not the same either. Measured on Sign Language Digits (`bench/fewshot.sh`,
//! docs/performance.md): the MLP head is as accurate as on the rows or in the span of every
//! row, the linear head is not (it stays on the rows).

use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::Entry;
use crate::head::HeadNet;
use crate::readback::{DeviceError, read};

/// Most basis rows: the Cholesky factorization (`B³/3` steps on the host) stays under a few
/// tenths of a second in a browser.
const MAX_BASIS_ROWS: usize = 1200;

/// The coordinates' scale: the head trains on `SCALE·L⁻¹·X·x` (the lifted layer is scaled
/// alike).
/// Chosen on Sign Language Digits with MobileNetV2 (5/10/20 shots, 10 seeds): 0.3 to 0.7 gave
/// 79.1–79.5/87.6–87.8/91.7–91.9 %, 1.0 78.8/87.5/91.4 (on the rows: 78.4/87.4/91.5).
const SCALE: f32 = 0.5;

/// Whether training rows of `width` values train faster on their coordinates in a basis of
/// `basis` rows: the products with the basis (`B·N·D`) must cost less than the steps they save.
pub fn worth_it(basis: usize, width: usize) -> bool {
    basis > 0 && basis <= MAX_BASIS_ROWS && basis * 4 <= width
}

/// Positions of training rows (`rows[i]` names row `i`'s sample and view) grouped into the basis
/// rows they make: for each sample, in the order of its first row, its frame's rows, then its
/// augmented views' rows (when it has any); each basis row is its group's mean.
pub fn basis_groups(rows: &[Entry]) -> Vec<Vec<usize>> {
    let mut group_of = std::collections::HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (position, entry) in rows.iter().enumerate() {
        let group = *group_of
            .entry((entry.sample, entry.view > 0))
            .or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
        groups[group].push(position);
    }
    groups
}

/// An orthonormal basis of the subspace some rows span (see the module docs).
#[derive(Debug)]
pub struct Span {
    /// The basis rows: `[B, D]`.
    rows: Tensor<2>,
    /// `L`, row-major `[B, B]`, lower triangular.
    factor: Vec<f64>,
}

impl Span {
    /// The span of the means of `groups` of `rows` (see [`basis_groups`]) and every row's
    /// coordinates in it (`[N, B]`), or `None` when the basis rows' Gram matrix is too
    /// ill-conditioned to factor in f32 (then train on the rows).
    ///
    /// # Shapes
    /// - rows: `[N, D]`
    pub async fn fit(
        rows: Tensor<2>,
        groups: &[Vec<usize>],
    ) -> Result<Option<(Self, Tensor<2>)>, DeviceError> {
        let means = groups.iter().map(|group| match group.as_slice() {
            [one] => select(&rows, &[*one]),
            _ => select(&rows, group).mean_dim(0),
        });
        let basis = Tensor::cat(means.collect(), 0);
        let gram = gram(&basis).await?;
        let Some(factor) = cholesky(&gram, groups.len()) else {
            return Ok(None);
        };
        let span = Self {
            rows: basis,
            factor,
        };
        let b = groups.len();
        let [n, _] = rows.dims();
        let device = rows.device();
        // A row that is a basis row on its own has its row of L as coordinates; the others
        // are solved for.
        let mut coordinates = vec![0.0f64; n * b];
        let mut others = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            match group.as_slice() {
                [one] => coordinates[one * b..(one + 1) * b]
                    .copy_from_slice(&span.factor[g * b..(g + 1) * b]),
                _ => others.extend_from_slice(group),
            }
        }
        if !others.is_empty() {
            let solved = span.solve(select(&rows, &others)).await?;
            for (row, values) in others.iter().zip(solved.chunks(b)) {
                coordinates[row * b..(row + 1) * b].copy_from_slice(values);
            }
        }
        let coordinates = matrix(&coordinates, [n, b], &device).mul_scalar(SCALE);
        Ok(Some((span, coordinates)))
    }

    /// The coordinates of rows (`[M, D]`) in the span: `[M, B]`.
    pub async fn coordinates(&self, x: Tensor<2>) -> Result<Tensor<2>, DeviceError> {
        let [m, _] = x.dims();
        let device = x.device();
        let solved = self.solve(x).await?;
        Ok(matrix(&solved, [m, self.size()], &device).mul_scalar(SCALE))
    }

    /// `L⁻¹·X·xᵀ` for rows `x` (`[M, D]`), unscaled, transposed on the host to row-major
    /// `[M, B]`, so the trainer's mini-batches select rows of a contiguous tensor (on a
    /// transposed one, every selection copies the whole of it).
    async fn solve(&self, x: Tensor<2>) -> Result<Vec<f64>, DeviceError> {
        let n = self.size();
        let [m, _] = x.dims();
        // Column j of X·xᵀ, solved for L⁻¹: coordinates of row j.
        let products = read(self.rows.clone().matmul(x.transpose())).await?;
        let mut solved: Vec<f64> = products.iter().map(|&v| f64::from(v)).collect();
        forward_solve(&self.factor, n, &mut solved, m);
        Ok((0..m)
            .flat_map(|row| solved[row..].iter().step_by(m).copied())
            .collect())
    }

    /// A head trained on coordinates, lifted to take rows: its first layer `V` (`[B, out]`)
    /// becomes `SCALE·Xᵀ·L⁻ᵀ·V` (`[D, out]`).
    pub async fn lift(&self, head: HeadNet) -> Result<HeadNet, DeviceError> {
        Ok(match head {
            HeadNet::Linear(mut head) => {
                head.output.weight =
                    Param::from_tensor(self.lift_weight(head.output.weight.val()).await?);
                HeadNet::Linear(head)
            }
            HeadNet::Mlp(mut head) => {
                head.hidden.weight =
                    Param::from_tensor(self.lift_weight(head.hidden.weight.val()).await?);
                HeadNet::Mlp(head)
            }
        })
    }

    async fn lift_weight(&self, weight: Tensor<2>) -> Result<Tensor<2>, DeviceError> {
        let n = self.size();
        let [_, out] = weight.dims();
        let device = weight.device();
        let mut solved: Vec<f64> = read(weight).await?.iter().map(|&v| f64::from(v)).collect();
        backward_solve(&self.factor, n, &mut solved, out);
        let lifted = self.rows.clone().transpose();
        Ok(lifted
            .matmul(matrix(&solved, [n, out], &device))
            .mul_scalar(SCALE))
    }

    fn size(&self) -> usize {
        self.rows.dims()[0]
    }
}

/// Rows per block of the Gram matrix: its blocks on and below the diagonal are computed and
/// mirrored, about 60 % of the whole product for 500 rows.
const GRAM_BLOCK: usize = 128;

/// `X·Xᵀ` of `rows` (`[N, D]`), row-major `[N, N]`.
async fn gram(rows: &Tensor<2>) -> Result<Vec<f32>, DeviceError> {
    let [n, d] = rows.dims();
    let mut gram = vec![0.0f32; n * n];
    let blocks: Vec<_> = (0..n)
        .step_by(GRAM_BLOCK)
        .map(|s| s..(s + GRAM_BLOCK).min(n))
        .collect();
    for (i, below) in blocks.iter().enumerate() {
        let lower = rows.clone().slice([below.clone(), 0..d]);
        for above in &blocks[..=i] {
            let upper = rows.clone().slice([above.clone(), 0..d]);
            let product = read(lower.clone().matmul(upper.transpose())).await?;
            let width = above.len();
            for (r, row) in below.clone().zip(product.chunks(width)) {
                for (c, &value) in above.clone().zip(row) {
                    gram[r * n + c] = value;
                    gram[c * n + r] = value;
                }
            }
        }
    }
    Ok(gram)
}

/// Rows `indices` of `coordinates`.
pub fn select(coordinates: &Tensor<2>, indices: &[usize]) -> Tensor<2> {
    let device = coordinates.device();
    let indices: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let count = indices.len();
    let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [count]), &device);
    coordinates.clone().select(0, indices)
}

/// An f32 tensor of f64 values.
fn matrix(values: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Diagonal added to the Gram matrix, relative to its mean diagonal: above f32's rounding of
/// the products, so that near-duplicate rows (a still camera) still factor.
const JITTER: f64 = 1e-5;

/// The lower-triangular `L` with `L·Lᵀ = gram + jitter·I` (`gram` row-major `[n, n]`), or
/// `None` when a pivot is not positive.
fn cholesky(gram: &[f32], n: usize) -> Option<Vec<f64>> {
    let trace: f64 = (0..n).map(|i| f64::from(gram[i * n + i])).sum();
    let jitter = JITTER * trace / n.max(1) as f64;
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot = dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
            // The symmetric mean of the two f32 products, so L does not depend on which half.
            let a = 0.5 * (f64::from(gram[i * n + j]) + f64::from(gram[j * n + i]));
            if i == j {
                let pivot = a + jitter - dot;
                if pivot <= jitter * 1e-3 || !pivot.is_finite() {
                    return None;
                }
                l[i * n + i] = pivot.sqrt();
            } else {
                l[i * n + j] = (a - dot) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// `a · b`, in four running sums, which the compiler turns into SIMD: the factorization's inner
/// loop, in half the time of one running sum (natively, 500 rows: 7 ms against 14).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// Solves `L·Y = B` in place for `B` row-major `[n, m]`.
fn forward_solve(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    for i in 0..n {
        substitute(b, m, i, l[i * n + i], (0..i).map(|k| (k, l[i * n + k])));
    }
}

/// Solves `Lᵀ·Y = B` in place for `B` row-major `[n, m]`.
fn backward_solve(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    for i in (0..n).rev() {
        substitute(b, m, i, l[i * n + i], (i + 1..n).map(|k| (k, l[k * n + i])));
    }
}

/// Row `i` of a triangular solve from the rows `k` already solved, each with its `factor`:
/// `(b_i − Σ factor·y_k) / pivot`.
fn substitute(
    b: &mut [f64],
    m: usize,
    i: usize,
    pivot: f64,
    solved: impl Iterator<Item = (usize, f64)>,
) {
    for (k, factor) in solved {
        if factor != 0.0 {
            for c in 0..m {
                b[i * m + c] -= factor * b[k * m + c];
            }
        }
    }
    b[i * m..(i + 1) * m].iter_mut().for_each(|v| *v /= pivot);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::HeadConfig;
    use crate::rng::Rng;

    fn random(rows: usize, cols: usize, seed: u64) -> Tensor<2> {
        let mut rng = Rng::new(seed);
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.range(-1.0, 1.0)).collect();
        Tensor::from_data(TensorData::new(values, [rows, cols]), &Device::flex())
    }

    fn worst(a: Tensor<2>, b: Tensor<2>) -> f32 {
        let (a, b) = pollster::block_on(async { (read(a).await.unwrap(), read(b).await.unwrap()) });
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Each row its own group.
    fn singles(rows: usize) -> Vec<Vec<usize>> {
        (0..rows).map(|r| vec![r]).collect()
    }

    #[test]
    fn a_head_on_coordinates_lifts_to_the_same_logits_on_rows() {
        let rows = random(12, 200, 1);
        let (span, coordinates) = pollster::block_on(Span::fit(rows.clone(), &singles(12)))
            .unwrap()
            .unwrap();
        // With every row in the basis, the training rows' coordinates are SCALE·L, and the
        // basis is orthonormal: L·Lᵀ = X·Xᵀ (up to the jitter on the diagonal, 1e-5 of the
        // rows' squared length, about 67 here).
        let gram = rows.clone().matmul(rows.clone().transpose());
        let l = coordinates.clone().div_scalar(SCALE);
        assert!(worst(l.clone().matmul(l.clone().transpose()), gram) < 2e-3);
        let l = pollster::block_on(read(l)).unwrap();
        assert!((0..12).all(|i| (i + 1..12).all(|j| l[i * 12 + j].abs() < 1e-4)));
        // A head on coordinates gives the same logits as its lift on the rows.
        assert_lifts_alike(&span, rows, coordinates);
    }

    /// A head on `coordinates` (of `rows` in `span`) gives the same logits as its lift on the
    /// rows.
    fn assert_lifts_alike(span: &Span, rows: Tensor<2>, coordinates: Tensor<2>) {
        let inputs = coordinates.dims()[1];
        let head = HeadConfig::default()
            .init(inputs, 3, 7, &Device::flex())
            .unwrap();
        let on_coordinates = head.forward(coordinates);
        let lifted = pollster::block_on(span.lift(head)).unwrap();
        let w = worst(lifted.forward(rows), on_coordinates);
        assert!(w < 1e-3, "{w}");
    }

    #[test]
    fn a_basis_of_frames_and_mean_views_projects_every_row() {
        // 4 samples: a frame and 3 views each, rows interleaved by view.
        let entries: Vec<Entry> = (0..4)
            .flat_map(|view| {
                (0..4).map(move |sample| Entry {
                    sample,
                    class: sample % 2,
                    view,
                })
            })
            .collect();
        let groups = basis_groups(&entries);
        assert_eq!(groups.len(), 8);
        assert_eq!(groups[0], [0]);
        assert_eq!(groups[4], [4, 8, 12], "sample 0's views");
        let rows = random(16, 300, 4);
        let (span, coordinates) = pollster::block_on(Span::fit(rows.clone(), &groups))
            .unwrap()
            .unwrap();
        assert_eq!(coordinates.dims(), [16, 8]);
        // A view mean is in the subspace: its coordinates keep its length. A single view is
        // not: it keeps less.
        let length = |x: Tensor<2>| x.clone().mul(x).sum().into_scalar::<f32>().sqrt();
        let mean = select(&rows, &groups[4]).mean_dim(0);
        let projected = pollster::block_on(span.coordinates(mean.clone())).unwrap();
        let ratio = length(projected) / SCALE / length(mean);
        assert!((ratio - 1.0).abs() < 1e-3, "{ratio}");
        let view = select(&rows, &[4]);
        let projected = select(&coordinates, &[4]);
        assert!(length(projected) / SCALE < 0.95 * length(view));
        // The lifted head on any row gives the head's logits on its coordinates.
        assert_lifts_alike(&span, rows, coordinates);
    }

    #[test]
    fn the_gram_matrix_by_blocks_is_the_whole_product() {
        let rows = random(GRAM_BLOCK * 2 + 5, 40, 3);
        let whole = rows.clone().matmul(rows.clone().transpose());
        let [n, _] = rows.dims();
        let blocks = pollster::block_on(gram(&rows)).unwrap();
        let blocks = Tensor::<2>::from_data(TensorData::new(blocks, [n, n]), &Device::flex());
        assert!(worst(blocks, whole) < 1e-4);
    }

    #[test]
    fn duplicate_rows_still_factor_and_a_zero_matrix_does_not() {
        let rows = random(3, 50, 2);
        let twice = Tensor::cat(vec![rows.clone(), rows], 0);
        assert!(
            pollster::block_on(Span::fit(twice, &singles(6)))
                .unwrap()
                .is_some()
        );
        let zeros = Tensor::<2>::zeros([4, 50], &Device::flex());
        assert!(
            pollster::block_on(Span::fit(zeros, &singles(4)))
                .unwrap()
                .is_none()
        );
        assert!(worth_it(510, 9120) && !worth_it(3000, 9120) && !worth_it(400, 1280));
    }
}
