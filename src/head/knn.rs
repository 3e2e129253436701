//! Instant cosine k-nearest-neighbours: no training, the stored embeddings vote.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::readback::{DeviceError, read_rows};

/// Centered, L2-normalized embeddings and their classes.
#[derive(Module, Debug)]
pub struct KnnHead {
    /// One unit-length row per stored example: `[examples, dim]`.
    pub memory: Param<Tensor<2>>,
    /// The mean embedding subtracted before normalizing (cosine of centered features
    /// separates classes better than of the all-positive raw ones): `[dim]`.
    pub center: Param<Tensor<1>>,
    /// Class of each stored row.
    #[module(skip)]
    pub classes: Vec<usize>,
    /// Number of classes.
    #[module(skip)]
    pub num_classes: usize,
    /// Neighbours that vote.
    #[module(skip)]
    pub k: usize,
}

/// Centers and L2-normalizes rows.
fn normalize(x: Tensor<2>, center: Tensor<1>) -> Tensor<2> {
    let x = x - center.unsqueeze_dim(0);
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

impl KnnHead {
    /// Stores `embeddings` (`[examples, dim]`) with their `classes`.
    pub fn new(embeddings: Tensor<2>, classes: Vec<usize>, num_classes: usize, k: usize) -> Self {
        let center = embeddings.clone().mean_dim(0).squeeze_dim(0);
        let memory = normalize(embeddings, center.clone());
        Self {
            memory: Param::from_tensor(memory),
            center: Param::from_tensor(center),
            classes,
            num_classes,
            k: k.max(1),
        }
    }

    /// An empty head of the right shape, for loading a record into.
    pub fn placeholder(
        examples: usize,
        dim: usize,
        classes: Vec<usize>,
        num_classes: usize,
        k: usize,
        device: &Device,
    ) -> Self {
        let zeros =
            |shape: Vec<usize>| TensorData::new(vec![0.0f32; shape.iter().product()], shape);
        Self {
            memory: Param::from_tensor(Tensor::from_data(zeros(vec![examples, dim]), device)),
            center: Param::from_tensor(Tensor::from_data(zeros(vec![dim]), device)),
            classes,
            num_classes,
            k,
        }
    }

    /// Vote shares of each class for each query row (they sum to 1).
    ///
    /// Each of the `k` most similar stored examples votes for its class. A tie between classes
    /// goes to the one whose voters are more similar in total.
    pub async fn probabilities(&self, x: Tensor<2>) -> Result<Vec<Vec<f32>>, DeviceError> {
        let similarity = normalize(x, self.center.val()).matmul(self.memory.val().transpose());
        let rows = read_rows(similarity).await?;
        Ok(rows.iter().map(|row| self.vote(row)).collect())
    }

    fn vote(&self, similarity: &[f32]) -> Vec<f32> {
        let mut order: Vec<usize> = (0..similarity.len()).collect();
        order.sort_by(|&a, &b| similarity[b].total_cmp(&similarity[a]));
        let k = self.k.min(order.len());
        let mut votes = vec![0.0f32; self.num_classes];
        let mut weight = vec![0.0f32; self.num_classes];
        for &i in &order[..k] {
            votes[self.classes[i]] += 1.0;
            weight[self.classes[i]] += similarity[i];
        }
        // Break ties by summed similarity, without changing the reported shares by more than
        // a rounding error.
        let winner = (0..self.num_classes)
            .max_by(|&a, &b| {
                votes[a]
                    .total_cmp(&votes[b])
                    .then(weight[a].total_cmp(&weight[b]))
            })
            .unwrap_or(0);
        votes[winner] += 1e-3;
        let total: f32 = votes.iter().sum();
        votes.iter().map(|v| v / total).collect()
    }
}
