//! Where a convolution's padding goes, for the project's own CPU kernels and the ONNX export,
//! which must pad exactly as Burn's [`Conv2d`](burn::nn::conv::Conv2d) does.

use burn::nn::PaddingConfig2d;

/// Top, left, bottom and right padding of a convolution over `[height, width]`, as Burn's
/// [`Conv2d`] pads it (`Same`: TensorFlow's way, the odd row and column at the bottom and right).
pub(crate) fn conv_pads(
    padding: &PaddingConfig2d,
    kernel: usize,
    stride: usize,
    [height, width]: [usize; 2],
) -> [usize; 4] {
    let same = |side: usize| {
        let total = ((side.div_ceil(stride) - 1) * stride + kernel).saturating_sub(side);
        (total / 2, total - total / 2)
    };
    match padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [*top, *left, *bottom, *right],
        PaddingConfig2d::Same => {
            let ((top, bottom), (left, right)) = (same(height), same(width));
            [top, left, bottom, right]
        }
    }
}
