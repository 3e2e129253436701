//! A project-side CPU operation for [`super::ConvUnit`] on Burn's `flex` backend: depthwise, 1x1
//! and stem convolutions write their output once, with the bias and ReLU6 applied in the same
//! pass, instead of flex's convolution, bias and activation passes over fresh buffers. It works on
//! flex's own primitive (reached through `Tensor::try_into_primitive`), so tensors stay on the
//! device. Other devices, autodiff (fine-tuning) and other convolutions keep Burn's path.

mod depthwise;
mod im2col;
mod lanes;
mod pointwise;

use burn::nn::conv::Conv2d;
use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

use super::blocks::conv_pads;

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

/// The kernel that runs `conv`, if the project has one for it.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kernel {
    Depthwise3,
    Depthwise5,
    Pointwise,
    /// A small full convolution, through its im2col matrix.
    Im2col,
}

/// Whether [`conv_unit`] runs `conv` on `x`: on the flex device, outside autodiff, for f32
/// depthwise (3x3, 5x5), 1x1 and small full (stem) convolutions.
pub(crate) fn covers(conv: &Conv2d, x: &Tensor<4>) -> bool {
    kernel(conv, x).is_some()
}

fn kernel(conv: &Conv2d, x: &Tensor<4>) -> Option<Kernel> {
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

/// `conv` of `x` (then ReLU6 when `relu6`, then plus `residual`) through the project's kernels,
/// where [`covers`] says they run it. A 1x1 convolution without ReLU6 adds the residual as it
/// writes its output.
pub(crate) fn conv_unit(
    x: Tensor<4>,
    conv: &Conv2d,
    relu6: bool,
    residual: Option<Tensor<4>>,
) -> Tensor<4> {
    let kernel = kernel(conv, &x).expect("a convolution `covers` accepts");
    let [batch, _, in_h, in_w] = x.dims();
    let [c_out, _, k, _] = conv.weight.dims();
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
        Kernel::Pointwise => {
            pointwise::pointwise(input, weight, &bias, in_h * in_w, relu6, residual)
        }
        Kernel::Im2col => im2col::conv(input, weight, &bias, &shape, k, relu6),
    };
    let data = TensorData::new(out, [batch, c_out, shape.out_h, shape.out_w]);
    let y = Tensor::from_primitive::<Flex>(FlexTensor::from_data(data));
    match after {
        Some(r) => y + r,
        None => y,
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
    use burn::tensor::Distribution;
    use burn::tensor::activation::relu6;

    use super::*;
    use crate::backbone::ConvUnitConfig;

    /// The project's kernel and Burn's convolution (then ReLU6, then plus a residual when
    /// `residual`) on the same random input.
    fn both(config: ConvUnitConfig, input: [usize; 4], residual: bool) -> (Vec<f32>, Vec<f32>) {
        let device = Device::flex();
        let unit = config.init(&device);
        let random =
            |shape: [usize; 4]| Tensor::random(shape, Distribution::Uniform(-3.0, 3.0), &device);
        let x = random(input);
        assert!(covers(&unit.conv, &x));
        let burns = unit.conv.forward(x.clone());
        let burns = if unit.relu6 { relu6(burns) } else { burns };
        let skip = residual.then(|| random(burns.dims()));
        let ours = conv_unit(x, &unit.conv, unit.relu6, skip.clone());
        let burns = match skip {
            Some(r) => burns + r,
            None => burns,
        };
        assert_eq!(ours.dims(), burns.dims());
        let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        (read(ours), read(burns))
    }

    fn assert_close((ours, burns): (Vec<f32>, Vec<f32>)) {
        let scale = burns.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        let worst = ours
            .iter()
            .zip(&burns)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst / scale < 1e-5, "max difference {worst} of {scale}");
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
        assert!(
            !covers(&wide.conv, &x),
            "75 taps per output: more than a stem's"
        );
        let pointwise = ConvUnitConfig::new([3, 8], 1).init(&device);
        assert!(covers(&pointwise.conv, &x));
        let pointwise = ConvUnitConfig::new([3, 8], 1).init(&device.clone().autodiff());
        let x = Tensor::<4>::zeros([1, 3, 8, 8], &device.autodiff());
        assert!(!covers(&pointwise.conv, &x));
    }
}
