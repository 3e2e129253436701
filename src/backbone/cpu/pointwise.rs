//! 1x1 convolution on NCHW data as one matrix product per batch item, `W[c_out, c_in] ·
//! X[c_in, h·w]`, accumulated onto the bias (and residual) the output buffer is created with,
//! and clamped tile by tile while the tile is in cache. Small full convolutions (the stems) run
//! through it too, on their im2col matrix.

use super::clamp6;

/// Output floats per product tile: the tile's rows stay in cache for the bias and ReLU6.
const TILE_FLOATS: usize = 32 * 1024;

/// `weights · input[b] + bias (+ residual[b])` (then ReLU6) for every batch item `b`, for
/// `input` of `[batch, c_in, spatial]`, `weights` of `[c_out, c_in]` and `residual` of `[batch,
/// c_out, spatial]`: `[batch, c_out, spatial]`.
#[inline(never)] // its own frame in profiles
pub(crate) fn pointwise(
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    spatial: usize,
    relu6: bool,
    residual: Option<&[f32]>,
) -> Vec<f32> {
    let (c_out, c_in) = (bias.len(), weights.len() / bias.len());
    assert_eq!(weights.len(), c_out * c_in);
    let batch = input.len() / (c_in * spatial);
    // The output starts as the bias, plus the residual: one pass, no zeroing first.
    let mut out = Vec::with_capacity(batch * c_out * spatial);
    for b in 0..batch {
        for (o, &bias) in bias.iter().enumerate() {
            match residual {
                Some(r) => {
                    let r = &r[(b * c_out + o) * spatial..][..spatial];
                    out.extend(r.iter().map(|r| bias + r));
                }
                None => out.extend(std::iter::repeat_n(bias, spatial)),
            }
        }
    }
    // Equal tiles of at most TILE_FLOATS / c_out columns (a last tile of a few columns would
    // waste the product's wide kernels).
    let tiles = spatial.div_ceil((TILE_FLOATS / c_out).max(16));
    let tile = spatial.div_ceil(tiles);
    for (x, y) in input
        .chunks_exact(c_in * spatial)
        .zip(out.chunks_exact_mut(c_out * spatial))
    {
        for n0 in (0..spatial).step_by(tile) {
            let n = tile.min(spatial - n0);
            // SAFETY: the `dst` block is `c_out` rows of `n` floats at stride `spatial` from
            // `n0` inside `y`; `lhs` is `weights` (row-major `c_out × c_in`) and `rhs` the
            // `c_in × n` block at stride `spatial` from `n0` inside `x`: all in bounds, and `y`
            // does not overlap the inputs.
            unsafe {
                gemm::gemm(
                    c_out,
                    n,
                    c_in,
                    y.as_mut_ptr().add(n0),
                    1,
                    spatial as isize,
                    true,
                    weights.as_ptr(),
                    1,
                    c_in as isize,
                    x.as_ptr().add(n0),
                    1,
                    spatial as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            if relu6 {
                for row in y.chunks_exact_mut(spatial) {
                    row[n0..n0 + n].iter_mut().for_each(|v| *v = clamp6(*v));
                }
            }
        }
    }
    out
}
