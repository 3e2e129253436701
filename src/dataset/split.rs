//! Per-class splits: a validation hold-out for training, and seeded k-shot train/test splits
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

/// Holds out `fraction` of each class (rounded down, so the first sample of a class always
/// trains), like Teachable Machine's per-class 15 % validation split, at fixed places in each
/// class's order: the sample at place `k` is held out when `⌊(k+1)·fraction⌋ > ⌊k·fraction⌋`
/// (at 15 %, places 6, 13, 19, 26, …). Adding samples to a class moves none of the earlier ones
/// across the split, so a session knows while the user records which samples will validate
/// (and so need no augmented views).
pub fn validation_split(classes: &[usize], fraction: f32) -> Split {
    let fraction = fraction.clamp(0.0, 1.0);
    let held = |count: usize| (count as f32 * fraction) as usize;
    let mut split = Split::default();
    let mut places = vec![0; classes.iter().max().map_or(0, |&c| c + 1)];
    for (index, &class) in classes.iter().enumerate() {
        let place = places[class];
        places[class] += 1;
        if place > 0 && held(place + 1) > held(place) {
            split.test.push(index);
        } else {
            split.train.push(index);
        }
    }
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
    fn validation_splits_are_per_class_and_stable_as_samples_are_added() {
        let classes: Vec<usize> = (0..60).map(|i| i % 2).collect();
        let split = validation_split(&classes, 0.15);
        // 30 a class: places 6, 13, 19 and 26 of each, so samples 12/13, 26/27, 38/39, 52/53.
        assert_eq!(split.test, [12, 13, 26, 27, 38, 39, 52, 53]);
        assert_eq!(split.train.len() + split.test.len(), 60);
        // As many as a rounded-down 15 % of every prefix, and a prefix's split is the whole
        // split's beginning.
        for count in 1..=60 {
            let prefix = validation_split(&classes[..count], 0.15);
            let per_class = |c: usize| classes[..count].iter().filter(|&&k| k == c).count();
            let expected = (0..2)
                .map(|c| (per_class(c) as f32 * 0.15) as usize)
                .sum::<usize>();
            assert_eq!(prefix.test.len(), expected);
            assert!(prefix.test.iter().all(|i| split.test.contains(i)));
        }
        assert_eq!(validation_split(&[0, 1], 0.5).train, vec![0, 1]);
        assert_eq!(
            validation_split(&[0, 0, 0], 0.9).train,
            vec![0],
            "one trains"
        );

        let shots = few_shot_split(&classes, 3, 5, 0);
        assert_eq!((shots.train.len(), shots.test.len()), (6, 10));
        assert!(shots.train.iter().all(|i| !shots.test.contains(i)));
    }
}
