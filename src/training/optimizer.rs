//! The trainer's optimizer: Adam with Burn's defaults and L2 weight decay. On a GPU device it is
//! Burn's own `Adam`; on the CPU backend each parameter is updated in one pass over host memory
//! instead of Burn's dozen whole-tensor operations per parameter, which took about 90 % of a
//! head-training step on `flex`. Both apply the same update, step for step.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use super::TrainError;
use crate::readback::read;

/// Adam, on the device's tensors or on host memory (see the module docs).
pub enum Adam {
    /// Burn's `Adam`, for GPU devices: the state stays on the device.
    Device(ModuleOptimizer),
    /// [`HostAdam`], for the CPU backend.
    Host(HostAdam),
}

impl Adam {
    /// Adam for training on `device` (a plain device, without autodiff).
    pub fn new(device: &Device, weight_decay: f32) -> Self {
        if *device == Device::flex() {
            Self::Host(HostAdam::new(weight_decay))
        } else {
            let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay));
            Self::Device(AdamConfig::new().with_weight_decay(decay).init())
        }
    }

    /// Takes one step of `learning_rate` on `module` with its `grads`.
    pub async fn step<M: Module>(
        &mut self,
        learning_rate: f64,
        module: M,
        grads: GradientsParams,
    ) -> Result<M, TrainError> {
        match self {
            Self::Device(optimizer) => Ok(optimizer.step(learning_rate, module, grads)),
            Self::Host(optimizer) => optimizer.step(learning_rate, module, grads).await,
        }
    }
}

/// Burn's `AdamConfig` defaults.
const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-5;

/// Adam's running moments of one parameter.
struct Moments {
    first: Vec<f32>,
    second: Vec<f32>,
    time: i32,
}

/// Adam whose moments live in host memory, for parameters on the CPU backend.
pub struct HostAdam {
    weight_decay: f32,
    moments: HashMap<ParamId, Moments>,
}

impl HostAdam {
    /// A fresh optimizer with L2 `weight_decay` (0: none).
    pub fn new(weight_decay: f32) -> Self {
        Self {
            weight_decay,
            moments: HashMap::new(),
        }
    }

    /// Takes one step on every parameter of `module` that has a gradient in `grads`.
    pub async fn step<M: Module>(
        &mut self,
        learning_rate: f64,
        module: M,
        mut grads: GradientsParams,
    ) -> Result<M, TrainError> {
        let mut gather = Gather {
            grads: &mut grads,
            found: Vec::new(),
        };
        module.visit(&mut gather);
        let mut updated = HashMap::new();
        for (id, value, grad) in gather.found {
            let mut values = read(value).await?;
            let grads = read(grad).await?;
            self.update(id, learning_rate as f32, &mut values, &grads);
            updated.insert(id, values);
        }
        Ok(module.map(&mut Replace { updated }))
    }

    /// Burn's Adam update of one parameter's `values`, in place.
    fn update(&mut self, id: ParamId, learning_rate: f32, values: &mut [f32], grads: &[f32]) {
        let n = values.len();
        let moments = self.moments.entry(id).or_insert_with(|| Moments {
            first: vec![0.0; n],
            second: vec![0.0; n],
            time: 0,
        });
        moments.time += 1;
        let correction_2 = (1.0 - BETA_2.powi(moments.time)).sqrt();
        let factor = correction_2 / (1.0 - BETA_1.powi(moments.time));
        let epsilon = EPSILON * correction_2;
        let moments_of = moments.first.iter_mut().zip(moments.second.iter_mut());
        for ((value, &grad), (first, second)) in values.iter_mut().zip(grads).zip(moments_of) {
            let grad = grad + self.weight_decay * *value;
            *first = flush(BETA_1 * *first + (1.0 - BETA_1) * grad);
            *second = flush(BETA_2 * *second + (1.0 - BETA_2) * grad * grad);
            *value -= learning_rate * (*first * factor / (second.sqrt() + epsilon));
        }
    }
}

/// `x`, or 0 where it is subnormal. A unit whose gradient stays 0 (a ReLU that never fires) has
/// its first moment decay by 0.9 a step into subnormal floats within a few hundred steps, and
/// arithmetic on those is one to two orders of magnitude slower on x86 CPUs, in wasm too.
fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}

/// Collects each parameter that has a gradient: its id, its value and its gradient, flattened.
struct Gather<'a> {
    grads: &'a mut GradientsParams,
    found: Vec<(ParamId, Tensor<1>, Tensor<1>)>,
}

impl ModuleVisitor for Gather<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let value = param.val().inner();
            let n = value.shape().num_elements();
            self.found
                .push((param.id, value.reshape([n]), grad.reshape([n])));
        }
    }
}

/// Puts the updated values back, keeping each parameter's id and gradient tracking.
struct Replace {
    updated: HashMap<ParamId, Vec<f32>>,
}

impl ModuleMapper for Replace {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(values) = self.updated.remove(&param.id) else {
            return param;
        };
        param.map(|tensor| {
            let tracked = tensor.is_require_grad();
            let inner = tensor.inner();
            let data = TensorData::new(values, inner.shape());
            let updated = Tensor::from_inner(Tensor::<D>::from_data(data, &inner.device()));
            if tracked {
                updated.require_grad()
            } else {
                updated
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::AdamConfig;

    use super::*;

    /// Gradients of a squared-output loss of `layer` on a fixed batch.
    fn grads(layer: &Linear, device: &Device) -> GradientsParams {
        let values = (0..24).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>();
        let x = Tensor::<2>::from_data(TensorData::new(values, [4, 6]), device);
        let loss = layer.forward(x).powf_scalar(2.0).mean();
        GradientsParams::from_grads(loss.backward(), layer)
    }

    async fn weights(layer: &Linear) -> Vec<f32> {
        read(layer.weight.val().inner().reshape([18]))
            .await
            .unwrap()
    }

    #[test]
    fn host_adam_takes_burns_adam_steps() {
        pollster::block_on(async {
            let device = Device::flex().autodiff();
            let start = LinearConfig::new(6, 3).init(&device);
            let before = weights(&start).await;
            let (mut ours, mut burns) = (start.clone(), start);
            let mut host = HostAdam::new(0.01);
            let decay = WeightDecayConfig::new(0.01);
            let mut reference = AdamConfig::new().with_weight_decay(Some(decay)).init();
            for _ in 0..20 {
                let g = grads(&ours, &device);
                ours = host.step(0.05, ours, g).await.unwrap();
                let g = grads(&burns, &device);
                burns = reference.step(0.05, burns, g);
            }
            let (ours, burns) = (weights(&ours).await, weights(&burns).await);
            let gap = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max)
            };
            assert!(
                gap(&ours, &before) > 0.1,
                "20 steps should move the weights"
            );
            assert!(
                gap(&ours, &burns) < 1e-5,
                "host Adam drifted from Burn's Adam by {}",
                gap(&ours, &burns)
            );
        });
    }
}
