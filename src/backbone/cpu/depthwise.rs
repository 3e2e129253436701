//! Depthwise convolution on NCHW planes with the bias and ReLU6 applied as each output row is
//! finished, so the output is written once: no separate bias or activation pass.

use super::{ConvShape, clamp6};

/// Depthwise `K`×`K` convolution of every plane of `input` (`[planes, h, w]`, one plane per
/// batch item and channel) into `out` (`[planes, out_h, out_w]`), channel `plane % channels`
/// taking `weights[c * K * K..][..K * K]` and `bias[c]`.
pub(crate) fn depthwise<const K: usize>(
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    shape: &ConvShape,
    relu6: bool,
    out: &mut [f32],
) {
    let channels = bias.len();
    let (plane_in, plane_out) = (shape.in_h * shape.in_w, shape.out_h * shape.out_w);
    for (p, out_plane) in out.chunks_exact_mut(plane_out).enumerate() {
        let c = p % channels;
        let taps = &weights[c * K * K..(c + 1) * K * K];
        let in_plane = &input[p * plane_in..(p + 1) * plane_in];
        for (oy, row) in out_plane.chunks_exact_mut(shape.out_w).enumerate() {
            row.fill(bias[c]);
            for ky in 0..K {
                let iy = (oy * shape.stride + ky).wrapping_sub(shape.pad_top);
                if iy < shape.in_h {
                    let in_row = &in_plane[iy * shape.in_w..(iy + 1) * shape.in_w];
                    let row_taps: &[f32; K] = taps[ky * K..(ky + 1) * K].try_into().unwrap();
                    accumulate_row(row, in_row, row_taps, shape);
                }
            }
            if relu6 {
                row.iter_mut().for_each(|v| *v = clamp6(*v));
            }
        }
    }
}

/// `row[ox] += Σ_k taps[k] · in_row[ox·stride + k − pad_left]`, skipping taps off the row.
fn accumulate_row<const K: usize>(
    row: &mut [f32],
    in_row: &[f32],
    taps: &[f32; K],
    shape: &ConvShape,
) {
    let (s, pad, w) = (shape.stride, shape.pad_left, shape.in_w);
    // Outputs whose K taps all fall on the row: ox·s ≥ pad and ox·s + K − 1 − pad < w.
    let lo = pad.div_ceil(s).min(row.len());
    let hi = if w + pad >= K {
        ((w + pad - K) / s + 1).clamp(lo, row.len())
    } else {
        lo
    };
    let edge = |ox: usize, acc: &mut f32| {
        for (k, tap) in taps.iter().enumerate() {
            let ix = (ox * s + k).wrapping_sub(pad);
            if ix < w {
                *acc += tap * in_row[ix];
            }
        }
    };
    for ox in (0..lo).chain(hi..row.len()) {
        edge(ox, &mut row[ox]);
    }
    let n = hi - lo;
    if n == 0 {
        return;
    }
    let start = lo * s - pad;
    if s == 1 {
        let src: [&[f32]; K] = std::array::from_fn(|k| &in_row[start + k..start + k + n]);
        for (i, o) in row[lo..hi].iter_mut().enumerate() {
            let mut acc = *o;
            for k in 0..K {
                acc += taps[k] * src[k][i];
            }
            *o = acc;
        }
    } else {
        let src = &in_row[start..start + (n - 1) * s + K];
        for (i, o) in row[lo..hi].iter_mut().enumerate() {
            let window = &src[i * s..i * s + K];
            let mut acc = *o;
            for k in 0..K {
                acc += taps[k] * window[k];
            }
            *o = acc;
        }
    }
}
