//! Class-balanced mini-batch order: classes take turns, so a class with few examples is seen
//! as often as one with many.

use crate::rng::Rng;

/// Yields positions into the training rows, class by class in rotation, each class cycling
/// through its own reshuffled rows.
#[derive(Debug)]
pub struct BalancedSampler {
    by_class: Vec<Vec<usize>>,
    cursors: Vec<usize>,
    rng: Rng,
}

impl BalancedSampler {
    /// A sampler over rows whose classes are `classes` (position `i` has class `classes[i]`).
    pub fn new(classes: &[usize], seed: u64) -> Self {
        let mut by_class = vec![Vec::new(); classes.iter().max().map_or(0, |&c| c + 1)];
        for (position, &class) in classes.iter().enumerate() {
            by_class[class].push(position);
        }
        by_class.retain(|rows| !rows.is_empty());
        let mut rng = Rng::new(seed);
        for rows in &mut by_class {
            rng.shuffle(rows);
        }
        Self {
            cursors: vec![0; by_class.len()],
            by_class,
            rng,
        }
    }

    /// The order of one epoch of `len` draws.
    pub fn epoch(&mut self, len: usize) -> Vec<usize> {
        let mut turns: Vec<usize> = (0..self.by_class.len()).collect();
        let mut order = Vec::with_capacity(len);
        while order.len() < len {
            self.rng.shuffle(&mut turns);
            for &class in &turns {
                if order.len() == len {
                    break;
                }
                let rows = &mut self.by_class[class];
                if self.cursors[class] == rows.len() {
                    self.rng.shuffle(rows);
                    self.cursors[class] = 0;
                }
                order.push(rows[self.cursors[class]]);
                self.cursors[class] += 1;
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minority_classes_are_drawn_as_often() {
        let classes = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
        let order = BalancedSampler::new(&classes, 0).epoch(10);
        assert_eq!(order.iter().filter(|&&i| classes[i] == 1).count(), 5);
    }
}
