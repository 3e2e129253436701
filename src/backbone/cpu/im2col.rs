//! Small full convolutions (the stems: 3 input channels, 3x3) as their im2col matrix, `[c_in ·
//! K · K, out_h · out_w]` per batch item, times the weights through the 1x1 kernel: one product
//! with the bias and ReLU6 fused, where flex would run its generic convolution and a separate
//! activation pass.

use super::ConvShape;
use super::pointwise::pointwise;

/// The largest `c_in · K · K` taken this way: the im2col matrix is that many times the output
/// plane, fine for a stem, too big for a wide layer.
pub(crate) const MAX_PATCH: usize = 64;

/// Full `k`×`k` convolution of `input` (`[batch, c_in, h, w]`) with `weights` (`[c_out, c_in, k,
/// k]`) and `bias`, then ReLU6 when `relu6`: `[batch, c_out, out_h, out_w]`.
pub(crate) fn conv(
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    shape: &ConvShape,
    k: usize,
    relu6: bool,
) -> Vec<f32> {
    let patch = weights.len() / bias.len();
    let c_in = patch / (k * k);
    let (plane_in, spatial) = (shape.in_h * shape.in_w, shape.out_h * shape.out_w);
    let s = shape.stride;
    let mut cols = Vec::with_capacity(input.len() / plane_in / c_in * patch * spatial);
    for plane in input.chunks_exact(plane_in) {
        for ky in 0..k {
            for kx in 0..k {
                for oy in 0..shape.out_h {
                    let iy = (oy * s + ky).wrapping_sub(shape.pad_top);
                    let row = plane.get(iy * shape.in_w..(iy + 1) * shape.in_w);
                    cols.extend((0..shape.out_w).map(|ox| {
                        let ix = (ox * s + kx).wrapping_sub(shape.pad_left);
                        row.and_then(|row| row.get(ix)).copied().unwrap_or(0.0)
                    }));
                }
            }
        }
    }
    pointwise(&cols, weights, bias, spatial, relu6, None)
}
