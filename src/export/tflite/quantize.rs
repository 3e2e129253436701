//! Full-integer quantization as TF-Lite's int8 kernels expect it: activations asymmetric per
//! tensor (`real = scale · (q − zero_point)`, the range always holding 0 exactly), weights
//! symmetric per output channel (`max |w| / 127`, which gives back a TF-Lite file's own int8
//! weights), biases int32 at the input's scale times the weight's.

/// Scale and zero point of an int8 (or uint8) tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// Real value of one step.
    pub scale: f32,
    /// The integer that stands for 0.
    pub zero_point: i32,
}

impl Affine {
    /// The int8 parameters covering `[low, high]` (widened to hold 0).
    pub fn of_range(low: f32, high: f32) -> Self {
        let (low, high) = (low.min(0.0), high.max(0.0));
        let scale = ((high - low) / 255.0).max(1e-8);
        let zero_point = (-128.0 - low / scale).round().clamp(-128.0, 127.0) as i32;
        Self { scale, zero_point }
    }

    /// `value` as int8.
    pub fn quantize(self, value: f32) -> i8 {
        (value / self.scale + self.zero_point as f32)
            .round()
            .clamp(-128.0, 127.0) as i8
    }
}

/// Weights quantized per output channel: int8 values and one scale per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelWeights {
    /// In the layout they came in.
    pub values: Vec<i8>,
    /// One per channel.
    pub scales: Vec<f32>,
}

/// `weights`, whose channel `c` holds the positions `channel(i) == c`, per channel.
pub fn per_channel(
    weights: &[f32],
    channels: usize,
    channel: impl Fn(usize) -> usize,
) -> ChannelWeights {
    let mut largest = vec![0f32; channels];
    for (i, w) in weights.iter().enumerate() {
        let c = channel(i);
        largest[c] = largest[c].max(w.abs());
    }
    // An all-zero channel gets any positive scale: its values are 0 whatever it is.
    let scales: Vec<f32> = largest
        .iter()
        .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    let values = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (w / scales[channel(i)]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    ChannelWeights { values, scales }
}

/// Biases as int32 at `input_scale · weight scale` of each channel.
pub fn biases(bias: &[f32], input_scale: f32, scales: &[f32]) -> Vec<i32> {
    bias.iter()
        .zip(scales)
        .map(|(b, s)| {
            (f64::from(*b) / (f64::from(input_scale) * f64::from(*s)))
                .round()
                .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_holds_zero_exactly_and_its_ends() {
        let q = Affine::of_range(0.5, 6.0);
        assert_eq!(q.zero_point, -128);
        assert_eq!(q.quantize(0.0), -128);
        assert_eq!(q.quantize(6.0), 127);
        let q = Affine::of_range(-3.0, 1.0);
        assert_eq!(q.quantize(-3.0), -128);
        assert_eq!(q.quantize(1.0), 127);
        let zero = (0.0 - q.scale * (f32::from(q.quantize(0.0)) - q.zero_point as f32)).abs();
        assert!(zero < 1e-7, "0 comes back as {zero}");
    }

    #[test]
    fn per_channel_weights_give_back_int8_values_times_their_scale() {
        // Two channels of int8 values times a scale, as a TF-Lite file dequantizes them.
        let ints: [i8; 6] = [127, -3, 40, -127, 5, 0];
        let scales = [0.02f32, 0.5];
        let weights: Vec<f32> = ints
            .iter()
            .enumerate()
            .map(|(i, &q)| f32::from(q) * scales[i / 3])
            .collect();
        let quantized = per_channel(&weights, 2, |i| i / 3);
        assert_eq!(quantized.values, ints);
        for (got, want) in quantized.scales.iter().zip(scales) {
            assert!((got - want).abs() < 1e-9);
        }
        assert_eq!(biases(&[1.0, -2.0], 0.5, &quantized.scales), [100, -8]);
    }
}
