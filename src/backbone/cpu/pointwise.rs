//! 1x1 convolution on NCHW data as one matrix product per batch item, `W[c_out, c_in] ·
//! X[c_in, h·w]`, written over the bias and clamped tile by tile while the tile is in cache.

use super::clamp6;

/// Output floats per product tile: the tile's rows stay in cache for the bias and ReLU6.
const TILE_FLOATS: usize = 32 * 1024;

/// `out[b] = weights · input[b] + bias (+ residual[b])` (then ReLU6), for `input` of `[batch,
/// c_in, spatial]`, `weights` of `[c_out, c_in]`, and `residual` and `out` of `[batch, c_out,
/// spatial]`.
#[inline(never)] // its own frame in profiles
pub(crate) fn pointwise(
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    spatial: usize,
    relu6: bool,
    residual: Option<&[f32]>,
    out: &mut [f32],
) {
    let (c_out, c_in) = (bias.len(), weights.len() / bias.len());
    assert_eq!(weights.len(), c_out * c_in);
    assert_eq!(
        input.len() / (c_in * spatial),
        out.len() / (c_out * spatial)
    );
    // Equal tiles of at most TILE_FLOATS / c_out columns (a last tile of a few columns would
    // waste the product's wide kernels).
    let tiles = spatial.div_ceil((TILE_FLOATS / c_out).max(16));
    let tile = spatial.div_ceil(tiles);
    for (b, (x, y)) in input
        .chunks_exact(c_in * spatial)
        .zip(out.chunks_exact_mut(c_out * spatial))
        .enumerate()
    {
        let skip = residual.map(|r| &r[b * c_out * spatial..(b + 1) * c_out * spatial]);
        for n0 in (0..spatial).step_by(tile) {
            let n = tile.min(spatial - n0);
            for (o, row) in y.chunks_exact_mut(spatial).enumerate() {
                let row = &mut row[n0..n0 + n];
                match skip {
                    Some(r) => {
                        let r = &r[o * spatial + n0..o * spatial + n0 + n];
                        row.iter_mut().zip(r).for_each(|(v, r)| *v = bias[o] + r);
                    }
                    None => row.fill(bias[o]),
                }
            }
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
}
