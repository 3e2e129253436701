//! A project-side CPU operation for [`super::ConvUnit`] on Burn's `flex` backend: depthwise, 1x1
//! and stem convolutions write their output once, with the bias and ReLU6 applied in the same
//! pass, instead of flex's convolution, bias and activation passes over fresh buffers. It works on
//! flex's own primitive (reached through `Tensor::try_into_primitive`), so tensors stay on the
//! device. Other devices, autodiff (fine-tuning) and other convolutions keep Burn's path.

mod depthwise;
mod im2col;
mod integer;
mod lanes;
mod pointwise;

use std::fmt;
use std::sync::{Arc, Mutex};

use burn::nn::conv::Conv2d;
use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

use super::padding::conv_pads;
use integer::IntWeights;

/// Where one convolution reads and writes: input and output sides, stride and the padding
/// before the first row and column.
pub(crate) struct ConvShape {
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

/// ReLU6 (compiles to min/max, vectorized in loops).
#[inline(always)]
pub(crate) fn clamp6(v: f32) -> f32 {
    v.clamp(0.0, 6.0)
}

/// The kernel that runs a convolution (see [`kernel`]).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Kernel {
    Depthwise3,
    Depthwise5,
    Pointwise,
    /// A small full convolution, through its im2col matrix.
    Im2col,
}

/// The kernel [`conv_unit`] runs `conv` of `x` with, if it has one: on the flex device, outside
/// autodiff, for f32 depthwise (3x3, 5x5), 1x1 and small full (stem) convolutions.
pub(crate) fn kernel(conv: &Conv2d, x: &Tensor<4>) -> Option<Kernel> {
    let device = x.device();
    let f32 = x.dtype() == DType::F32 && conv.weight.val().dtype() == DType::F32;
    if device.is_autodiff() || device != Device::flex() || !f32 {
        return None;
    }
    let [c_out, c_in_group, k, k2] = conv.weight.dims();
    let c_in = x.dims()[1];
    let plain = conv.dilation == [1, 1] && k == k2 && conv.stride[0] == conv.stride[1];
    let depthwise = conv.groups == c_in && c_out == c_in && c_in_group == 1;
    match (plain, depthwise, k) {
        (true, true, 3) => Some(Kernel::Depthwise3),
        (true, true, 5) => Some(Kernel::Depthwise5),
        (true, false, 1) if conv.groups == 1 && conv.stride == [1, 1] => Some(Kernel::Pointwise),
        (true, false, _) if conv.groups == 1 && c_in_group * k * k <= im2col::MAX_PATCH => {
            Some(Kernel::Im2col)
        }
        _ => None,
    }
}

/// Whether 1x1 products on int8 weights run in integers (see `integer`): in wasm, where SIMD128
/// has no fused multiply-add and `i32x4.dot_i16x8_s` does eight multiply-adds an instruction.
/// Natively the gemm crate's f32 kernels (AVX2 and FMA where the CPU has them) beat SSE2's
/// `pmaddwd`: the CLI took 1.8 s for 60 photos' MobileNetV2 features in integers, 1.15 s in f32.
const INTEGER_PRODUCTS: bool = cfg!(target_family = "wasm");

/// `unit` of `x`, then plus `residual`, through `kernel` (as [`kernel`] chose it). A 1x1
/// convolution without ReLU6 adds the residual as it writes its output; in wasm, one whose
/// weights are int8 runs in integers.
pub(crate) fn conv_unit(
    (conv, relu6, integers): (&Conv2d, bool, &IntegerWeights),
    kernel: Kernel,
    x: Tensor<4>,
    residual: Option<Tensor<4>>,
) -> Tensor<4> {
    convolve(
        (conv, relu6, integers),
        kernel,
        x,
        residual,
        INTEGER_PRODUCTS,
    )
}

/// [`conv_unit`], its 1x1 products on int8 weights in integers when `integers`.
fn convolve(
    (conv, relu6, unit_integers): (&Conv2d, bool, &IntegerWeights),
    kernel: Kernel,
    x: Tensor<4>,
    residual: Option<Tensor<4>>,
    integers: bool,
) -> Tensor<4> {
    let [batch, _, in_h, in_w] = x.dims();
    let [c_out, c_in_group, k, _] = conv.weight.dims();
    let stride = conv.stride[0];
    let [pad_top, pad_left, pad_bottom, pad_right] =
        conv_pads(&conv.padding, k, stride, [in_h, in_w]);
    let shape = ConvShape {
        in_h,
        in_w,
        out_h: (in_h + pad_top + pad_bottom - k) / stride + 1,
        out_w: (in_w + pad_left + pad_right - k) / stride + 1,
        stride,
        pad_top,
        pad_left,
    };
    let input = primitive(x);
    let weight = primitive(conv.weight.val());
    let integers = match kernel {
        Kernel::Pointwise if integers => unit_integers.of(&weight, [c_out, c_in_group]),
        _ => None,
    };
    let bias = match &conv.bias {
        Some(bias) => primitive(bias.val()).storage::<f32>().to_vec(),
        None => vec![0.0; c_out],
    };
    let (input, weight) = (input.storage::<f32>(), weight.storage::<f32>());
    let fused_residual = kernel == Kernel::Pointwise && !relu6;
    let (residual, after) = match residual {
        Some(r) if fused_residual => (Some(primitive(r)), None),
        other => (None, other),
    };
    let residual = residual.as_ref().map(|r| r.storage::<f32>());
    let out = match kernel {
        Kernel::Depthwise3 => depthwise::depthwise::<3, 9>(input, weight, &bias, &shape, relu6),
        Kernel::Depthwise5 => depthwise::depthwise::<5, 25>(input, weight, &bias, &shape, relu6),
        Kernel::Pointwise => integers
            .and_then(|w| integer::pointwise(input, &w, &bias, in_h * in_w, relu6, residual))
            .unwrap_or_else(|| {
                pointwise::pointwise(input, weight, &bias, in_h * in_w, relu6, residual)
            }),
        Kernel::Im2col => im2col::conv(input, weight, &bias, &shape, k, relu6),
    };
    let data = TensorData::new(out, [batch, c_out, shape.out_h, shape.out_w]);
    let y = Tensor::from_primitive::<Flex>(FlexTensor::from_data(data));
    match after {
        Some(r) => y + r,
        None => y,
    }
}

/// A 1x1 unit's weights in integers, made the first time the unit runs them (in wasm) and kept
/// while its weight tensor stays the same one (`None` inside when they are not int8).
#[derive(Clone, Default)]
pub struct IntegerWeights(Arc<Mutex<Option<Made>>>);

/// What [`IntegerWeights`] keeps: the weight tensor and its integer form.
struct Made {
    /// Held, so that its buffer (the key) is not freed and another tensor's in its place.
    of: FlexTensor,
    integers: Option<Arc<IntWeights>>,
}

impl IntegerWeights {
    /// The integer form of `weight` (`[c_out, c_in, 1, 1]`), if it is int8.
    fn of(&self, weight: &FlexTensor, channels: [usize; 2]) -> Option<Arc<IntWeights>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*kept {
            Some(made) if Arc::ptr_eq(&made.of.data_arc(), &weight.data_arc()) => {
                made.integers.clone()
            }
            _ => {
                let integers = IntWeights::new(weight.storage::<f32>(), channels).map(Arc::new);
                *kept = Some(Made {
                    of: weight.clone(),
                    integers: integers.clone(),
                });
                integers
            }
        }
    }
}

impl fmt::Debug for IntegerWeights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegerWeights")
    }
}

/// The contiguous flex primitive of a float tensor on the flex device.
fn primitive<const D: usize>(tensor: Tensor<D>) -> FlexTensor {
    let primitive = tensor
        .try_into_primitive::<Flex>()
        .expect("checked: the tensor is on the flex device");
    if primitive.is_contiguous() {
        primitive
    } else {
        primitive.to_contiguous()
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::tensor::activation::relu6;

    use super::*;
    use crate::backbone::{ConvUnit, ConvUnitConfig};

    /// The parts of `unit` the kernels read.
    fn parts(unit: &ConvUnit) -> (&Conv2d, bool, &IntegerWeights) {
        (&unit.conv, unit.relu6, &unit.integers)
    }

    /// The project's kernel and Burn's convolution (then ReLU6, then plus a residual when
    /// `residual`) on the same seeded random input.
    fn both(config: ConvUnitConfig, input: [usize; 4], residual: bool) -> Compared {
        compare(&config.init(&Device::flex()), input, residual)
    }

    /// Values uniform in `[-3, 3)` from a seeded stream: the same on every run.
    fn uniform(shape: [usize; 4], seed: u64) -> Tensor<4> {
        let mut rng = crate::rng::Rng::new(seed);
        let values = (0..shape.iter().product())
            .map(|_| rng.range(-3.0, 3.0))
            .collect();
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    /// Both outputs, and the size their differences are measured against.
    struct Compared {
        ours: Vec<f32>,
        burns: Vec<f32>,
        /// The largest sum of absolute terms (|w|·|x| + |b|, plus |residual|) of any output. An
        /// output's own value can cancel to near zero, so rounding in its terms is measured
        /// against their size.
        scale: f32,
    }

    /// [`both`] for a given unit, its 1x1 products on int8 weights in integers (on every
    /// target: natively only these tests run them).
    fn compare(unit: &ConvUnit, input: [usize; 4], residual: bool) -> Compared {
        let x = uniform(input, 1);
        let kernel = kernel(&unit.conv, &x).expect("a kernel for it");
        let burns = unit.conv.forward(x.clone());
        let burns = if unit.relu6 { relu6(burns) } else { burns };
        let skip = residual.then(|| uniform(burns.dims(), 2));
        let mut terms = unit.conv.clone();
        terms.weight = terms.weight.map(|w| w.abs());
        terms.bias = terms.bias.map(|b| b.map(|b| b.abs()));
        let terms = terms.forward(x.clone().abs());
        let terms = match &skip {
            Some(r) => terms + r.clone().abs(),
            None => terms,
        };
        let ours = convolve(parts(unit), kernel, x, skip.clone(), true);
        let burns = match skip {
            Some(r) => burns + r,
            None => burns,
        };
        assert_eq!(ours.dims(), burns.dims());
        Compared {
            ours: read(ours),
            burns: read(burns),
            scale: read(terms).into_iter().fold(1e-6, f32::max),
        }
    }

    /// A tensor's values.
    fn read(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn assert_close(compared: Compared) {
        assert_within(compared, 1e-5);
    }

    /// Max |ours - Burn's| / the largest sum of absolute terms under `tolerance`.
    fn assert_within(compared: Compared, tolerance: f32) {
        let Compared { ours, burns, scale } = compared;
        let worst = ours
            .iter()
            .zip(&burns)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst / scale < tolerance,
            "max difference {worst} of {scale}"
        );
    }

    /// A 1x1 unit whose weights are int8 values times a scale per output channel, each row's
    /// largest value ±127: how TF-Lite's and the app's int8 records hold them. Scaled by
    /// `1 / sqrt(c_in)`, so that outputs stay in ReLU6's range as a trained network's do.
    fn int8_unit(config: ConvUnitConfig) -> ConvUnit {
        let unit = config.init(&Device::flex());
        let [c_out, c_in, _, _] = unit.conv.weight.dims();
        let values: Vec<f32> = (0..c_out * c_in)
            .map(|i| {
                let (o, j) = (i / c_in, i % c_in);
                let q = if j == o % c_in {
                    127 - 254 * (o % 2) as i32
                } else {
                    ((o * 31 + j * 17) % 255) as i32 - 127
                };
                q as f32 * (1 + o % 5) as f32 / (127.0 * (c_in as f32).sqrt())
            })
            .collect();
        with_weights(unit, values)
    }

    /// `unit` with `values` (`[c_out, c_in]`, row-major) as its 1x1 weights.
    fn with_weights(mut unit: ConvUnit, values: Vec<f32>) -> ConvUnit {
        let [c_out, c_in, _, _] = unit.conv.weight.dims();
        let data = TensorData::new(values, [c_out, c_in, 1, 1]);
        unit.conv.weight = Param::from_tensor(Tensor::from_data(data, &Device::flex()));
        unit
    }

    /// Whether `unit` ran its last 1x1 product in integers.
    fn ran_in_integers(unit: &ConvUnit) -> bool {
        let kept = unit.integers.0.lock().unwrap();
        kept.as_ref().expect("the unit ran").integers.is_some()
    }

    #[test]
    fn depthwise_kernels_equal_burns_convolution() {
        for (k, stride, side) in [
            (3, 1, 9),
            (3, 2, 8),
            (3, 2, 7),
            (5, 1, 6),
            (5, 2, 11),
            (3, 1, 2),
        ] {
            for relu6 in [true, false] {
                // 5 and 8 channels: a partial and a full group of four lanes.
                for channels in [5, 8] {
                    let config = ConvUnitConfig::depthwise(channels, k, stride).with_relu6(relu6);
                    assert_close(both(config, [2, channels, side, side + 3], false));
                }
                let config = ConvUnitConfig::depthwise(3, k, stride).with_relu6(relu6);
                assert_close(both(config, [1, 3, side, side], true));
            }
        }
    }

    #[test]
    fn pointwise_kernel_equals_burns_convolution() {
        // 2000 outputs per channel: several product tiles.
        for (c_in, c_out, side) in [(7, 13, 5), (16, 40, 50), (3, 1, 1)] {
            let config = ConvUnitConfig::new([c_in, c_out], 1);
            assert_close(both(config, [2, c_in, side, side * 4 / 5 + 1], false));
            let config = ConvUnitConfig::new([c_in, c_out], 1);
            assert_close(both(config, [1, c_in, side, side], true));
            // A linear projection takes the residual as it writes its output.
            let config = ConvUnitConfig::new([c_in, c_out], 1).with_relu6(false);
            assert_close(both(config, [2, c_in, side, side], true));
        }
    }

    #[test]
    fn int8_pointwise_runs_in_integers_within_1e4_of_burns_convolution() {
        // Odd channel counts pad a pair, 13, 6 and 7 a block of rows; 25 pixels end in a partial
        // tile.
        let cases = [
            (7, 13, 5),
            (16, 40, 50),
            (3, 1, 1),
            (960, 8, 7),
            (5, 6, 3),
            (9, 7, 4),
        ];
        for (c_in, c_out, side) in cases {
            for relu6 in [true, false] {
                let unit = int8_unit(ConvUnitConfig::new([c_in, c_out], 1).with_relu6(relu6));
                assert_within(compare(&unit, [2, c_in, side, side], !relu6), 1e-4);
                assert!(ran_in_integers(&unit));
            }
        }
        // Float weights keep the f32 product, within 1e-5.
        let unit = ConvUnitConfig::new([16, 40], 1).init(&Device::flex());
        assert_close(compare(&unit, [1, 16, 6, 6], false));
        assert!(!ran_in_integers(&unit));
    }

    #[test]
    fn int8_pointwise_sums_stay_exact_at_the_widest_row() {
        // Rows of 1152 weights of ±127: the codes must be coarser than 32767 for the sums to
        // fit an i32, and every input at its pixel's largest value takes the largest code.
        let (c_in, c_out) = (1152, 2);
        let values = (0..c_in * c_out)
            .map(|i| if i < c_in { 0.127 } else { -0.127 })
            .collect();
        let config = ConvUnitConfig::new([c_in, c_out], 1).with_relu6(false);
        let unit = with_weights(config.init(&Device::flex()), values);
        let x = Tensor::<4>::ones([1, c_in, 3, 3], &Device::flex()) * 2.5;
        let ours = convolve(parts(&unit), Kernel::Pointwise, x.clone(), None, true);
        assert!(ran_in_integers(&unit));
        let burns = read(unit.conv.forward(x));
        // Every term has the same sign: the outputs are the sums of absolute terms.
        let scale = burns.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let ours = read(ours);
        assert_within(Compared { ours, burns, scale }, 1e-5);
    }

    #[test]
    fn int8_pointwise_follows_new_weights_and_leaves_non_finite_inputs_to_f32() {
        let config = ConvUnitConfig::new([12, 8], 1).with_relu6(false);
        let unit = int8_unit(config.clone());
        assert_within(compare(&unit, [1, 12, 5, 5], false), 1e-4);
        // Other int8 weights: made again, not the kept ones.
        let [c_out, c_in] = [8, 12];
        let doubled = (0..c_out * c_in)
            .map(|i| {
                if i % c_in == 0 {
                    0.254
                } else {
                    (i % 7) as f32 * 0.002
                }
            })
            .collect();
        let unit = with_weights(unit, doubled);
        assert_within(compare(&unit, [1, 12, 5, 5], false), 1e-4);
        assert!(ran_in_integers(&unit));
        // A NaN or an infinity reaches the output, as through the f32 product.
        for bad in [f32::NAN, f32::INFINITY] {
            let mut values = vec![0.5f32; 12 * 9];
            values[4 * 9 + 2] = bad; // channel 4, pixel 2
            let x = Tensor::from_data(TensorData::new(values, [1, 12, 3, 3]), &Device::flex());
            let y = read(convolve(parts(&unit), Kernel::Pointwise, x, None, true));
            for (i, v) in y.iter().enumerate() {
                assert_eq!(v.is_finite(), i % 9 != 2, "{bad}: output {i} is {v}");
            }
        }
    }

    #[test]
    fn int8_pointwise_codes_each_batch_item_on_its_own() {
        let unit = int8_unit(ConvUnitConfig::new([24, 16], 1));
        let one = uniform([1, 24, 9, 9], 3);
        // A second item a hundred times larger would coarsen a shared step.
        let both = Tensor::cat(vec![one.clone(), one.clone() * 100.0], 0);
        let run = |x: Tensor<4>| read(convolve(parts(&unit), Kernel::Pointwise, x, None, true));
        let (alone, together) = (run(one), run(both));
        assert!(ran_in_integers(&unit));
        assert_eq!(alone, together[..alone.len()]);
    }

    #[test]
    fn stem_kernel_equals_burns_convolution() {
        for (stride, side) in [(2, 8), (2, 7), (1, 6)] {
            for relu6 in [true, false] {
                let config = ConvUnitConfig::new([3, 6], 3)
                    .with_stride(stride)
                    .with_relu6(relu6);
                assert_close(both(config, [2, 3, side, side + 1], false));
            }
        }
    }

    #[test]
    fn other_devices_and_convolutions_keep_burns_path() {
        let device = Device::flex();
        let x = Tensor::<4>::zeros([1, 3, 8, 8], &device);
        let wide = ConvUnitConfig::new([3, 8], 5).init(&device);
        assert_eq!(
            kernel(&wide.conv, &x),
            None,
            "75 taps per output: more than a stem's"
        );
        let pointwise = ConvUnitConfig::new([3, 8], 1).init(&device);
        assert_eq!(kernel(&pointwise.conv, &x), Some(Kernel::Pointwise));
        let pointwise = ConvUnitConfig::new([3, 8], 1).init(&device.clone().autodiff());
        let x = Tensor::<4>::zeros([1, 3, 8, 8], &device.autodiff());
        assert_eq!(kernel(&pointwise.conv, &x), None);
    }
}
