//! "Not sure": a prediction whose top class stays below the model's threshold names no class.
//! The threshold is calibrated when the model is trained, on the held-out samples it got right.

/// Share of the held-out samples named right whose confidence stays above the threshold.
const KEPT: f32 = 0.95;

/// How far below those confidences the threshold sits, so that new photos of a class, a little
/// less alike than the held-out ones, still name it.
const MARGIN: f32 = 0.1;

/// The highest calibrated threshold.
const CEILING: f32 = 0.9;

/// The threshold of a model of `classes` classes with nothing held out to calibrate it on:
/// halfway between chance and certainty.
pub fn default_threshold(classes: usize) -> f32 {
    (1.0 + 1.0 / classes.max(1) as f32) / 2.0
}

/// The threshold calibrated on `confidences`, the top-class probabilities of the held-out
/// samples the model named right: [`MARGIN`] below the confidence that [`KEPT`] of them reach,
/// no lower than [`default_threshold`] and no higher than [`CEILING`] (the default when there
/// is nothing to calibrate on).
pub fn calibrated_threshold(confidences: &[f32], classes: usize) -> f32 {
    let floor = default_threshold(classes);
    let mut sorted: Vec<f32> = confidences
        .iter()
        .copied()
        .filter(|c| c.is_finite())
        .collect();
    if sorted.is_empty() {
        return floor;
    }
    sorted.sort_by(f32::total_cmp);
    let reached = sorted[((1.0 - KEPT) * sorted.len() as f32) as usize];
    (reached - MARGIN).clamp(floor, CEILING.max(floor))
}

/// Whether a prediction whose top class has `probability` is "not sure" under `threshold`.
pub fn is_unsure(probability: f32, threshold: f32) -> bool {
    probability < threshold
}

/// Whether `threshold` is one a model can hold (a probability).
pub fn valid_threshold(threshold: f32) -> bool {
    (0.0..=1.0).contains(&threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_halfway_between_chance_and_certainty() {
        assert_eq!(default_threshold(2), 0.75);
        assert_eq!(default_threshold(4), 0.625);
        assert!((default_threshold(10) - 0.55).abs() < 1e-6);
    }

    #[test]
    fn calibration_sits_a_margin_below_what_held_out_samples_reach() {
        // Three classes: the floor is 2/3. The lowest of a few confident answers, less the margin.
        let confident = [0.99, 0.97, 0.95, 0.98];
        assert!((calibrated_threshold(&confident, 3) - 0.85).abs() < 1e-6);
        // Very confident answers: the ceiling.
        assert_eq!(calibrated_threshold(&[1.0; 5], 3), CEILING);
        // Unsure answers: never below the uncalibrated default.
        assert_eq!(calibrated_threshold(&[0.5, 0.6], 3), default_threshold(3));
        // Nothing held out, or nothing right: the default.
        assert_eq!(calibrated_threshold(&[], 4), default_threshold(4));
        assert_eq!(calibrated_threshold(&[f32::NAN], 4), default_threshold(4));
    }

    #[test]
    fn one_odd_answer_among_many_does_not_set_the_threshold() {
        // 40 answers: the lowest 5 % (two) fall under it, the third sets it.
        let mut confidences = vec![0.98; 38];
        confidences.extend([0.4, 0.5]);
        assert!((calibrated_threshold(&confidences, 2) - 0.88).abs() < 1e-6);
    }

    #[test]
    fn below_the_threshold_is_not_sure() {
        assert!(is_unsure(0.6, 0.75));
        assert!(!is_unsure(0.75, 0.75));
        assert!(
            !is_unsure(0.1, 0.0),
            "a threshold of 0 always names a class"
        );
        assert!(valid_threshold(0.0) && valid_threshold(1.0));
        assert!(!valid_threshold(1.5) && !valid_threshold(f32::NAN));
    }
}
