//! Labelled examples: the frames a user captured (or a folder of images), one class each, and
//! the seeded splits training and evaluation use.

#[cfg(not(target_family = "wasm"))]
mod folder;
mod split;

#[cfg(not(target_family = "wasm"))]
pub use folder::load_folder;
pub use split::{Split, few_shot_split, validation_split};

use std::fmt;

use crate::image::RgbaImage;

/// One labelled example; its frame is raw pixels, or another form of them (the web session
/// keeps image files).
#[derive(Debug, Clone)]
pub struct Sample<F = RgbaImage> {
    /// Stable identifier (a file path, or an id the app assigned), reported by evaluations.
    pub id: String,
    /// Index into [`Dataset::labels`].
    pub class: usize,
    /// The frame.
    pub image: F,
}

/// Classes and their examples.
#[derive(Debug, Clone)]
pub struct Dataset<F = RgbaImage> {
    /// Class names, in class-index order.
    pub labels: Vec<String>,
    /// Every example.
    pub samples: Vec<Sample<F>>,
}

impl<F> Default for Dataset<F> {
    fn default() -> Self {
        Self {
            labels: Vec::new(),
            samples: Vec::new(),
        }
    }
}

/// Why a dataset cannot be trained on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetError {
    /// There are no classes at all.
    NoClasses,
    /// Only one class: there is nothing to tell apart.
    OneClass(String),
    /// A class has no examples.
    EmptyClass(String),
    /// A sample names a class that does not exist.
    UnknownClass {
        /// The sample.
        id: String,
        /// Its class index.
        class: usize,
    },
    /// A file or folder could not be read or decoded.
    Read(String),
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoClasses => write!(
                f,
                "there are no classes: add at least two, each with examples"
            ),
            Self::OneClass(name) => {
                write!(
                    f,
                    "only one class ('{name}'): add at least one more class to tell it apart from"
                )
            }
            Self::EmptyClass(name) => write!(
                f,
                "class '{name}' has no examples: capture some or remove the class"
            ),
            Self::UnknownClass { id, class } => write!(
                f,
                "sample '{id}' has class index {class}, which does not exist"
            ),
            Self::Read(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DatasetError {}

impl<F> Dataset<F> {
    /// Examples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for sample in &self.samples {
            if let Some(count) = counts.get_mut(sample.class) {
                *count += 1;
            }
        }
        counts
    }

    /// The class of every sample, in order.
    pub fn classes(&self) -> Vec<usize> {
        self.samples.iter().map(|s| s.class).collect()
    }

    /// Edits classes and samples at once: `labels` become the classes, and `map[sample]` is each
    /// sample's new class index, or `None` to drop it (kept samples stay in order).
    pub fn remap(&mut self, labels: Vec<String>, map: &[Option<usize>]) {
        let samples = std::mem::take(&mut self.samples);
        self.samples = samples
            .into_iter()
            .zip(map)
            .filter_map(|(sample, class)| class.map(|class| Sample { class, ..sample }))
            .collect();
        self.labels = labels;
    }

    /// Checks there are at least two classes, each with at least one example.
    pub fn validate(&self) -> Result<(), DatasetError> {
        match self.labels.len() {
            0 => return Err(DatasetError::NoClasses),
            1 => return Err(DatasetError::OneClass(self.labels[0].clone())),
            _ => {}
        }
        if let Some(sample) = self.samples.iter().find(|s| s.class >= self.labels.len()) {
            return Err(DatasetError::UnknownClass {
                id: sample.id.clone(),
                class: sample.class,
            });
        }
        match self.class_counts().iter().position(|&n| n == 0) {
            Some(empty) => Err(DatasetError::EmptyClass(self.labels[empty].clone())),
            None => Ok(()),
        }
    }
}

/// New indices of the samples a [`Dataset::remap`] keeps (`None` for dropped ones).
pub fn renumber(map: &[Option<usize>]) -> Vec<Option<usize>> {
    let mut next = 0;
    map.iter()
        .map(|class| {
            class.map(|_| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(class: usize) -> Sample {
        Sample {
            id: format!("s{class}"),
            class,
            image: RgbaImage {
                width: 1,
                height: 1,
                pixels: vec![0; 4],
            },
        }
    }

    #[test]
    fn degenerate_datasets_are_explained() {
        let labels = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            Dataset::<RgbaImage>::default().validate(),
            Err(DatasetError::NoClasses)
        );
        let one = Dataset {
            labels: labels(&["fist"]),
            samples: vec![sample(0)],
        };
        assert_eq!(one.validate(), Err(DatasetError::OneClass("fist".into())));
        let empty = Dataset {
            labels: labels(&["fist", "palm"]),
            samples: vec![sample(0)],
        };
        assert_eq!(
            empty.validate(),
            Err(DatasetError::EmptyClass("palm".into()))
        );
        let ok = Dataset {
            labels: labels(&["fist", "palm"]),
            samples: vec![sample(0), sample(1)],
        };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn remap_drops_and_relabels_in_order() {
        let mut dataset = Dataset {
            labels: vec!["a".into(), "b".into()],
            samples: vec![sample(0), sample(1), sample(0)],
        };
        dataset.samples[2].id = "third".into();
        let map = [None, Some(0), Some(1)];
        dataset.remap(vec!["b".into(), "a".into()], &map);
        assert_eq!(dataset.labels, ["b", "a"]);
        let kept: Vec<(&str, usize)> = dataset
            .samples
            .iter()
            .map(|s| (s.id.as_str(), s.class))
            .collect();
        assert_eq!(kept, [("s1", 0), ("third", 1)]);
        assert_eq!(renumber(&map), [None, Some(0), Some(1)]);
    }
}
