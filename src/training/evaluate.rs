//! Evaluation of a classifier on labelled samples: accuracy, per-class accuracy and a confusion
//! matrix whose every cell lists the samples in it, so a UI can show the mistakes.

use serde::{Deserialize, Serialize};

/// How a classifier did on a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// Samples evaluated.
    pub count: usize,
    /// Fraction predicted correctly.
    pub accuracy: f32,
    /// Accuracy of each true class (`None` for a class without samples).
    pub per_class: Vec<Option<f32>>,
    /// `confusion[truth][predicted]`: how many samples of class `truth` got `predicted`.
    pub confusion: Vec<Vec<usize>>,
    /// `cells[truth][predicted]`: the ids of those samples.
    pub cells: Vec<Vec<Vec<String>>>,
}

impl Evaluation {
    /// Tallies `(truth, predicted, sample id)` outcomes over `num_classes` classes.
    pub fn new<'a>(
        outcomes: impl IntoIterator<Item = (usize, usize, &'a str)>,
        num_classes: usize,
    ) -> Self {
        let mut cells = vec![vec![Vec::new(); num_classes]; num_classes];
        for (truth, predicted, id) in outcomes {
            cells[truth][predicted].push(id.to_string());
        }
        let confusion: Vec<Vec<usize>> = cells
            .iter()
            .map(|row| row.iter().map(Vec::len).collect())
            .collect();
        let count: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..num_classes).map(|c| confusion[c][c]).sum();
        let per_class = confusion
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let total: usize = row.iter().sum();
                (total > 0).then(|| row[c] as f32 / total as f32)
            })
            .collect();
        Self {
            count,
            accuracy: if count == 0 {
                0.0
            } else {
                correct as f32 / count as f32
            },
            per_class,
            confusion,
            cells,
        }
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_cells_name_the_samples() {
        let outcomes = [(0, 0, "a"), (0, 1, "b"), (1, 1, "c"), (1, 1, "d")];
        let evaluation = Evaluation::new(outcomes, 3);
        assert_eq!(evaluation.accuracy, 0.75);
        assert_eq!(evaluation.per_class, vec![Some(0.5), Some(1.0), None]);
        assert_eq!(evaluation.confusion[0], vec![1, 1, 0]);
        assert_eq!(evaluation.cells[0][1], vec!["b".to_string()]);
    }
}
