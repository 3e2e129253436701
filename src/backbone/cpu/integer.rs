//! 1x1 convolutions in integers, for weights that are int8 values times a scale per output
//! channel: MobileNetV2's are the TF-Lite file's own int8 values, and the app serves
//! EfficientNet-Lite0's as int8 too. Each pixel's activations are scaled into i16 codes (a step
//! per pixel: its largest magnitude over the channels over at most 32767, fewer codes where a
//! row of weights is so large that the 32-bit sums could overflow), and every pair of input
//! channels is multiplied and summed in one instruction (`i32x4.dot_i16x8_s`: eight multiply-adds, where f32 SIMD128 takes a
//! multiply and an add for four). The sums are exact; rounding the codes is the only error
//! (MobileNetV2's features move by about 2e-4 of their largest value). Run in wasm only (see
//! `INTEGER_PRODUCTS`): natively the f32 product is faster.

use std::mem::MaybeUninit;

use super::lanes::{F32x4, I16x8, I32x4};

/// Output channels per block: four rows of sums held in registers.
const ROWS: usize = 4;
/// Pixels per block: two registers of four sums per row.
const PIXELS: usize = 8;
/// How near an integer `w / scale` must be for a weight to count as int8: dequantized int8
/// weights are within ~3e-5 (f32 rounding), float-trained ones nowhere near.
const INT8_TOLERANCE: f32 = 1e-3;

/// The weights of a 1x1 convolution as int8 values (held in i16) and one scale per output
/// channel.
pub(crate) struct IntWeights {
    c_out: usize,
    c_in: usize,
    /// `[c_out / ROWS][c_in / 2][ROWS][2]` (both rounded up, the padding zero): each step of a
    /// block reads one input pair of its four rows from one place.
    values: Vec<i16>,
    /// `w = value · scale`, per output channel.
    scales: Vec<f32>,
    /// The largest activation code: times the largest row of `|values|` it still fits an i32.
    limit: f32,
}

impl IntWeights {
    /// `weights` (`[c_out, c_in]`, row-major) in integers, if every row is int8 values times
    /// `max |row| / 127` (how TF-Lite and the app's int8 records quantize).
    pub(crate) fn new(weights: &[f32], [c_out, c_in]: [usize; 2]) -> Option<Self> {
        assert_eq!(weights.len(), c_out * c_in);
        let pairs = c_in.div_ceil(2);
        let mut values = vec![0i16; c_out.div_ceil(ROWS) * ROWS * pairs * 2];
        let mut scales = Vec::with_capacity(c_out);
        let mut widest = 1i64;
        for (o, row) in weights.chunks_exact(c_in).enumerate() {
            let scale = row.iter().fold(0f32, |m, w| m.max(w.abs())) / 127.0;
            let mut sum = 0i64;
            for (i, w) in row.iter().enumerate() {
                let q = if scale > 0.0 { w / scale } else { 0.0 };
                let value = q.round();
                let off = (q - value).abs();
                if off.is_nan() || off > INT8_TOLERANCE {
                    return None;
                }
                let at = (((o / ROWS) * pairs + i / 2) * ROWS + o % ROWS) * 2 + i % 2;
                values[at] = value as i16;
                sum += value.abs() as i64;
            }
            widest = widest.max(sum);
            scales.push(scale);
        }
        let limit = (i64::from(i32::MAX) / widest).min(i64::from(i16::MAX)) as f32;
        Some(Self {
            c_out,
            c_in,
            values,
            scales,
            limit,
        })
    }
}

/// `weights · input[b] + bias (+ residual[b])` (then ReLU6) for every batch item `b`, for
/// `input` of `[batch, c_in, spatial]` and `residual` of `[batch, c_out, spatial]`: `[batch,
/// c_out, spatial]`, as [`super::pointwise::pointwise`] but in integers. `None` when an input is
/// not finite (NaN or infinite: codes cannot carry it; the f32 product passes it on).
#[inline(never)] // its own frame in profiles
pub(crate) fn pointwise(
    input: &[f32],
    weights: &IntWeights,
    bias: &[f32],
    spatial: usize,
    relu6: bool,
    residual: Option<&[f32]>,
) -> Option<Vec<f32>> {
    let (c_out, c_in) = (weights.c_out, weights.c_in);
    assert_eq!(bias.len(), c_out);
    let batch = input.len() / (c_in * spatial);
    let tiles = spatial.div_ceil(PIXELS);
    let mut codes = vec![0i16; c_in.div_ceil(2) * tiles * 2 * PIXELS];
    let (mut steps, mut inverse) = (vec![0f32; tiles * PIXELS], vec![0f32; tiles * PIXELS]);
    let mut out = Vec::with_capacity(batch * c_out * spatial);
    let group = weights.values.len() / c_out.div_ceil(ROWS);
    for (b, x) in input.chunks_exact(c_in * spatial).enumerate() {
        if !encode(
            x,
            spatial,
            weights.limit,
            &mut codes,
            &mut steps,
            &mut inverse,
        ) {
            return None;
        }
        let y = &mut out.spare_capacity_mut()[b * c_out * spatial..][..c_out * spatial];
        for (g, w) in weights.values.chunks_exact(group).enumerate() {
            for t in 0..tiles {
                let sums = block(w, &codes, tiles, t);
                let at_step = t * PIXELS;
                for (r, sums) in sums.into_iter().enumerate() {
                    let o = g * ROWS + r;
                    if o == c_out {
                        break;
                    }
                    let at = o * spatial + t * PIXELS;
                    let n = PIXELS.min(spatial - t * PIXELS);
                    let scale = F32x4::splat(weights.scales[o]);
                    let step =
                        |h: usize| F32x4::load(steps[at_step + 4 * h..][..4].try_into().unwrap());
                    let mut v = [0, 1].map(|h| {
                        sums[h]
                            .to_f32()
                            .mul(step(h))
                            .mul(scale)
                            .add(F32x4::splat(bias[o]))
                    });
                    if let Some(r) = residual {
                        let r = pixels(&r[b * c_out * spatial + at..][..n]);
                        v = [0, 1]
                            .map(|h| v[h].add(F32x4::load(r[4 * h..][..4].try_into().unwrap())));
                    }
                    if relu6 {
                        v = v.map(F32x4::clamp6);
                    }
                    write(v, &mut y[at..at + n]);
                }
            }
        }
    }
    // SAFETY: the loops above wrote every output value: each batch item's `c_out` rows, each
    // row's `tiles` tiles, every tile's `n` values.
    unsafe { out.set_len(batch * c_out * spatial) };
    Some(out)
}

/// The sums of one block: the `ROWS` output channels of `w` (one group of the packed values)
/// over the `PIXELS` pixels of tile `t`.
#[inline(always)]
fn block(w: &[i16], codes: &[i16], tiles: usize, t: usize) -> [[I32x4; 2]; ROWS] {
    let mut sums = [[I32x4::zero(); 2]; ROWS];
    let per_pair = tiles * 2 * PIXELS;
    for (x, w) in codes.chunks_exact(per_pair).zip(w.chunks_exact(2 * ROWS)) {
        let x = &x[t * 2 * PIXELS..][..2 * PIXELS];
        let x = [
            I16x8::load(x[..PIXELS].try_into().unwrap()),
            I16x8::load(x[PIXELS..].try_into().unwrap()),
        ];
        let w: &[i16; 2 * ROWS] = w.try_into().unwrap();
        for (r, sums) in sums.iter_mut().enumerate() {
            let pair = I16x8::splat_pair(w[2 * r..2 * r + 2].try_into().unwrap());
            sums[0] = sums[0].dot_add(x[0], pair);
            sums[1] = sums[1].dot_add(x[1], pair);
        }
    }
    sums
}

/// Scales `x` (`[c_in, spatial]`) into i16 codes, `codes` being `[c_in / 2 rounded
/// up][tiles][PIXELS][2]`: each pixel's two channels of a pair side by side (zeros past the last
/// channel and pixel). Each pixel gets its own step, from its largest magnitude over the
/// channels (its sums involve no other pixel); `steps` receives them, `[tiles · PIXELS]`, and
/// `inverse` (as long) the codes per unit, after holding the maxima. Returns whether every value
/// of `x` is finite (the codes are meaningless otherwise).
fn encode(
    x: &[f32],
    spatial: usize,
    limit: f32,
    codes: &mut [i16],
    steps: &mut [f32],
    inverse: &mut [f32],
) -> bool {
    let tiles = spatial.div_ceil(PIXELS);
    inverse.fill(0.0);
    let mut finite = true;
    for channel in x.chunks_exact(spatial) {
        finite &= max_abs(channel, &mut inverse[..spatial]);
    }
    if !finite {
        return false;
    }
    // Codes per unit of each pixel (0 for a pixel of zeros, or of values so small, under
    // ~1e-34, that the inverse overflows: they stay zero).
    for (inv, step) in inverse.iter_mut().zip(steps.iter_mut()) {
        let max = *inv;
        (*inv, *step) = match limit / max {
            i if max > 0.0 && i.is_finite() => (i, max / limit),
            _ => (0.0, 0.0),
        };
    }
    let full = spatial / PIXELS;
    let mut channels = x.chunks_exact(spatial);
    for out in codes.chunks_exact_mut(tiles * 2 * PIXELS) {
        let (a, b) = (channels.next(), channels.next());
        for ((t, out), inv) in out
            .chunks_exact_mut(2 * PIXELS)
            .enumerate()
            .zip(inverse.chunks_exact(PIXELS))
        {
            let code = |v: &[f32; PIXELS]| {
                let half = |h: usize| {
                    let v = F32x4::load(v[4 * h..][..4].try_into().unwrap());
                    v.mul(F32x4::load(inv[4 * h..][..4].try_into().unwrap()))
                        .round()
                };
                I16x8::narrow(half(0), half(1))
            };
            let at = t * PIXELS;
            let [a, b] = [a, b].map(|c| match c {
                None => I16x8::zero(),
                Some(c) if t < full => code(c[at..at + PIXELS].try_into().unwrap()),
                Some(c) => code(&pixels(&c[at..])),
            });
            let [lo, hi] = I16x8::zip(a, b);
            lo.store((&mut out[..PIXELS]).try_into().unwrap());
            hi.store((&mut out[PIXELS..]).try_into().unwrap());
        }
    }
    true
}

/// `max[i] = max(max[i], |x[i]|)`; returns whether every `x[i]` is finite.
fn max_abs(x: &[f32], max: &mut [f32]) -> bool {
    let mut quads = x.chunks_exact(4);
    let mut maxes = max.chunks_exact_mut(4);
    // `v · 0` is 0 for finite `v` and NaN otherwise, and NaN stays in a sum.
    let mut check = F32x4::zero();
    for (v, m) in (&mut quads).zip(&mut maxes) {
        let (m, v): (&mut [f32; 4], _) =
            (m.try_into().unwrap(), F32x4::load(v.try_into().unwrap()));
        F32x4::load(m).max_abs(v).store(m);
        check = check.add(v.mul(F32x4::zero()));
    }
    for (v, m) in quads.remainder().iter().zip(maxes.into_remainder()) {
        *m = m.max(v.abs());
        check = check.add(F32x4::splat(v * 0.0));
    }
    check.to_array().iter().all(|c| *c == 0.0)
}

/// Up to `PIXELS` values, zeros after them.
fn pixels(values: &[f32]) -> [f32; PIXELS] {
    std::array::from_fn(|i| values.get(i).copied().unwrap_or(0.0))
}

/// Writes the first `dst.len()` (at most `PIXELS`) lanes of `v`.
fn write(v: [F32x4; 2], dst: &mut [MaybeUninit<f32>]) {
    if dst.len() == PIXELS {
        let (lo, hi) = dst.split_at_mut(4);
        v[0].write(lo.try_into().unwrap());
        v[1].write(hi.try_into().unwrap());
        return;
    }
    let [lo, hi] = v.map(F32x4::to_array);
    for (d, v) in dst.iter_mut().zip(lo.into_iter().chain(hi)) {
        d.write(v);
    }
}
