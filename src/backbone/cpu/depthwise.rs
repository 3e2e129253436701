//! Depthwise convolution of NCHW data, four channels at a time: their planes are interleaved
//! into a zero-padded scratch map (`[rows][cols][4]`), so that each output pixel of the four
//! channels is `K × K` four-lane multiply-adds with no edge cases, whatever the plane's width
//! (the small late planes, 7 × 7 and 14 × 14, fill the lanes as well as the large ones). The
//! bias and ReLU6 are applied before the pixel is stored.

use super::ConvShape;
use super::lanes::F32x4;

/// Channels computed together: one 128-bit SIMD register of f32.
const LANES: usize = 4;

/// Depthwise `K`×`K` convolution of `input` (`[batch, channels, h, w]`), channel `c` taking
/// `weights[c * TAPS..][..TAPS]` and `bias[c]` (`TAPS` is `K * K`): `[batch, channels, out_h,
/// out_w]`.
#[inline(never)] // its own frame in profiles
pub(crate) fn depthwise<const K: usize, const TAPS: usize>(
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    shape: &ConvShape,
    relu6: bool,
) -> Vec<f32> {
    assert_eq!(TAPS, K * K);
    let channels = bias.len();
    let s = shape.stride;
    let (plane_in, plane_out) = (shape.in_h * shape.in_w, shape.out_h * shape.out_w);
    // The padded map the output reads: (out - 1) · stride + K rows and columns.
    let rows = (shape.out_h - 1) * s + K;
    let cols = (shape.out_w - 1) * s + K;
    let mut map = vec![F32x4::zero(); rows * cols];
    let mut out = vec![0.0; input.len() / plane_in * plane_out];
    let mut quads = vec![F32x4::zero(); shape.out_w];
    for (x, y) in input
        .chunks_exact(channels * plane_in)
        .zip(out.chunks_exact_mut(channels * plane_out))
    {
        for c0 in (0..channels).step_by(LANES) {
            let lanes = LANES.min(channels - c0);
            interleave(
                &x[c0 * plane_in..(c0 + lanes) * plane_in],
                shape,
                cols,
                &mut map,
            );
            // Lanes past the last channel compute zeros, never stored.
            let channel = |l: usize| (l < lanes).then_some(c0 + l);
            let taps: [F32x4; TAPS] = std::array::from_fn(|j| {
                F32x4::from_array(std::array::from_fn(|l| {
                    channel(l).map_or(0.0, |c| weights[c * TAPS + j])
                }))
            });
            let b = F32x4::from_array(std::array::from_fn(|l| channel(l).map_or(0.0, |c| bias[c])));
            let y = &mut y[c0 * plane_out..(c0 + lanes) * plane_out];
            for oy in 0..shape.out_h {
                let rows: [&[F32x4]; K] =
                    std::array::from_fn(|ky| &map[(oy * s + ky) * cols..][..cols]);
                for (ox, quad) in quads.iter_mut().enumerate() {
                    let mut acc = b;
                    for (ky, row) in rows.iter().enumerate() {
                        for kx in 0..K {
                            // SAFETY: ox · s + kx ≤ (out_w − 1) · s + K − 1 = cols − 1.
                            let v = unsafe { *row.get_unchecked(ox * s + kx) };
                            acc = acc.mul_add(taps[ky * K + kx], v);
                        }
                    }
                    *quad = if relu6 { acc.clamp6() } else { acc };
                }
                deinterleave(&quads, y, plane_out, oy * shape.out_w);
            }
        }
    }
    out
}

/// Writes up to four planes (`[lanes, h, w]`) into the padded map, lane `l` holding plane `l`
/// and the padding staying zero. Lanes past the last plane are zeroed.
fn interleave(planes: &[f32], shape: &ConvShape, cols: usize, map: &mut [F32x4]) {
    let plane = shape.in_h * shape.in_w;
    let zeros = vec![0.0f32; shape.in_w];
    let (pt, pl) = (shape.pad_top, shape.pad_left);
    let rows = map.len() / cols;
    let width = shape.in_w.min(cols.saturating_sub(pl));
    for y in 0..shape.in_h.min(rows.saturating_sub(pt)) {
        let src: [&[f32]; LANES] =
            std::array::from_fn(|l| match planes.get(l * plane..(l + 1) * plane) {
                Some(p) => &p[y * shape.in_w..][..width],
                None => &zeros[..width],
            });
        let row = &mut map[(y + pt) * cols + pl..][..width];
        // Four pixels of four planes at a time: four loads and a transpose.
        let whole = width / LANES * LANES;
        for (x, pixels) in row[..whole].chunks_exact_mut(LANES).enumerate() {
            let at = x * LANES;
            let quads = src.map(|p| F32x4::load(p[at..at + LANES].try_into().unwrap()));
            pixels.copy_from_slice(&F32x4::transpose(quads));
        }
        for (x, v) in row.iter_mut().enumerate().skip(whole) {
            *v = F32x4::from_array([src[0][x], src[1][x], src[2][x], src[3][x]]);
        }
    }
}

/// Writes one output row of interleaved pixels (`quads`, lane `l` for channel `l`) into up to
/// four planes (`planes`, `[lanes, plane]`) from `at` in each.
fn deinterleave(quads: &[F32x4], planes: &mut [f32], plane: usize, at: usize) {
    let lanes = planes.len() / plane;
    let width = quads.len();
    let whole = if lanes == LANES {
        width / LANES * LANES
    } else {
        0
    };
    for (x, pixels) in quads[..whole].chunks_exact(LANES).enumerate() {
        let at = at + x * LANES;
        let values = F32x4::transpose(pixels.try_into().unwrap());
        for (out, v) in planes.chunks_exact_mut(plane).zip(values) {
            v.store((&mut out[at..at + LANES]).try_into().unwrap());
        }
    }
    for (x, quad) in quads.iter().enumerate().skip(whole) {
        for (out, value) in planes.chunks_exact_mut(plane).zip(quad.to_array()) {
            out[at + x] = value;
        }
    }
}
