//! Seeded per-class splits: a validation hold-out for training, and k-shot train/test splits
//! for the few-shot benchmark.

use crate::rng::Rng;

/// Sample indices on each side of a split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Indices to train on.
    pub train: Vec<usize>,
    /// Indices held out (validation or test).
    pub test: Vec<usize>,
}

/// Indices of each class (`classes[i]` is sample `i`'s class), shuffled with `rng`.
fn shuffled_by_class(classes: &[usize], rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut by_class = vec![Vec::new(); classes.iter().max().map_or(0, |&c| c + 1)];
    for (index, &class) in classes.iter().enumerate() {
        by_class[class].push(index);
    }
    for members in &mut by_class {
        rng.shuffle(members);
    }
    by_class
}

/// Holds out `fraction` of each class (rounded down, always leaving one to train on), like
/// Teachable Machine's per-class 15 % validation split.
pub fn validation_split(classes: &[usize], fraction: f32, seed: u64) -> Split {
    let mut split = Split::default();
    for members in shuffled_by_class(classes, &mut Rng::new(seed)) {
        let held = ((members.len() as f32 * fraction.clamp(0.0, 1.0)) as usize)
            .min(members.len().saturating_sub(1));
        split.test.extend_from_slice(&members[..held]);
        split.train.extend_from_slice(&members[held..]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    split
}

/// `shots` samples of each class to train on and up to `max_test` of the rest to test on.
pub fn few_shot_split(classes: &[usize], shots: usize, max_test: usize, seed: u64) -> Split {
    let mut split = Split::default();
    for members in shuffled_by_class(classes, &mut Rng::new(seed)) {
        let shots = shots.min(members.len());
        split.train.extend_from_slice(&members[..shots]);
        split.test.extend(members[shots..].iter().take(max_test));
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_per_class_and_seeded() {
        let classes: Vec<usize> = (0..40).map(|i| i % 2).collect();
        let split = validation_split(&classes, 0.15, 1);
        assert_eq!(split.test.len(), 6);
        assert_eq!(split.test.iter().filter(|&&i| classes[i] == 0).count(), 3);
        assert_eq!(split, validation_split(&classes, 0.15, 1));
        assert_ne!(split, validation_split(&classes, 0.15, 2));
        let one_each = validation_split(&[0, 1], 0.5, 0);
        assert_eq!(one_each.train, vec![0, 1]);

        let shots = few_shot_split(&classes, 3, 5, 0);
        assert_eq!((shots.train.len(), shots.test.len()), (6, 10));
        assert!(shots.train.iter().all(|i| !shots.test.contains(i)));
    }
}
