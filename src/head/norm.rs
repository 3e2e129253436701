//! The normalization spatial rows go through before the head: a signed square root (which
//! evens out the few very large activations), centring on the training rows' mean, and unit
//! length for the pooled part and the map separately, the map weighted a little higher.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

/// Weight of the spatial map's unit-length part against the pooled embedding's.
pub const SPATIAL_WEIGHT: f32 = 1.4;

/// Normalizes spatial rows (see the module docs).
#[derive(Module, Debug)]
pub struct FeatureNorm {
    /// Mean of the signed-square-rooted training rows: `[width]`.
    pub mean: Param<Tensor<1>>,
    /// Leading columns that are the pooled embedding; the rest are the map.
    #[module(skip)]
    pub pooled: usize,
}

/// Rows scaled to unit length (zero rows stay zero).
fn unit(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

impl FeatureNorm {
    /// The normalization's first step, `sign(x) * sqrt(|x|)`, which [`Self::fit_rooted`] and
    /// [`Self::forward_rooted`] take done.
    pub fn root(rows: Tensor<2>) -> Tensor<2> {
        rows.clone().sign() * rows.abs().sqrt()
    }

    /// Fits the mean on training rows through [`Self::root`], whose first `pooled` columns are
    /// the pooled embedding, given in chunks (so that a large training set is never widened to
    /// f32 all at once).
    ///
    /// # Shapes
    /// - each chunk: `[examples, width]`
    ///
    /// # Panics
    /// If there are no rows.
    pub fn fit_rooted(chunks: impl IntoIterator<Item = Tensor<2>>, pooled: usize) -> Self {
        let mut rows = 0;
        let sum = chunks
            .into_iter()
            .map(|chunk| {
                rows += chunk.dims()[0];
                chunk.sum_dim(0)
            })
            .reduce(|a, b| a + b)
            .expect("rows to fit the normalization on");
        let mean = sum.div_scalar(rows as f32).squeeze_dim(0);
        Self {
            mean: Param::from_tensor(mean).set_require_grad(false),
            pooled,
        }
    }

    /// An all-zero normalization of the right shape, for loading a record into.
    pub fn placeholder(width: usize, pooled: usize, device: &Device) -> Self {
        let mean = Tensor::from_data(TensorData::new(vec![0.0f32; width], [width]), device);
        Self {
            mean: Param::from_tensor(mean).set_require_grad(false),
            pooled,
        }
    }

    /// Normalized rows.
    ///
    /// # Shapes
    /// - rows: `[batch, width]`
    /// - output: `[batch, width]`
    pub fn forward(&self, rows: Tensor<2>) -> Tensor<2> {
        self.forward_rooted(Self::root(rows))
    }

    /// Normalized rows, from rows through [`Self::root`].
    ///
    /// # Shapes
    /// - rooted: `[batch, width]`
    /// - output: `[batch, width]`
    pub fn forward_rooted(&self, rooted: Tensor<2>) -> Tensor<2> {
        let [n, width] = rooted.dims();
        let x = rooted - self.mean.val().unsqueeze_dim(0);
        let pooled = unit(x.clone().slice([0..n, 0..self.pooled]));
        let map = unit(x.slice([0..n, self.pooled..width])).mul_scalar(SPATIAL_WEIGHT);
        Tensor::cat(vec![pooled, map], 1)
    }
}
