//! A session's samples to and from a project file: the classes and samples in order, with each
//! sample's image file; the rows are computed again when a project is opened.

use std::fmt;

use super::Samples;
use crate::augment::AugmentConfig;
use crate::backbone::{BackboneKind, RowKind};
use crate::dataset::{Dataset, Sample};
use crate::project::{ClassFiles, Project, ProjectInfo, SampleFile};

/// A project made for another backbone than the session's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectMismatch {
    /// The project's backbone.
    pub project: BackboneKind,
}

impl fmt::Display for ProjectMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the project uses {}; create a session with that backbone to open it",
            self.project
        )
    }
}

impl std::error::Error for ProjectMismatch {}

impl<F> Samples<F> {
    /// The project of `info` holding these classes and samples, in order, with `files[i]` the
    /// image file of sample `i`.
    pub fn to_project(&self, info: ProjectInfo, files: Vec<SampleFile>) -> Project {
        let mut classes: Vec<ClassFiles> = self
            .dataset
            .labels
            .iter()
            .map(|name| ClassFiles {
                name: name.clone(),
                samples: Vec::new(),
            })
            .collect();
        for (sample, file) in self.dataset.samples.iter().zip(files) {
            classes[sample.class].samples.push(file);
        }
        Project::assemble(info, classes)
    }
}

impl<F> Samples<F> {
    /// The classes and samples of `project` for a session of `backbone`, each sample's frame
    /// made by `frame` from its image file's bytes, with no rows yet: they are to be computed
    /// as `rows`, views with `augment` once training asks for them. Refused for another
    /// backbone's project.
    pub fn from_project<E: From<ProjectMismatch>>(
        project: &Project,
        backbone: BackboneKind,
        augment: AugmentConfig,
        rows: RowKind,
        mut frame: impl FnMut(&[u8]) -> Result<F, E>,
    ) -> Result<Self, E> {
        let manifest = &project.manifest;
        if manifest.backbone != backbone {
            return Err(ProjectMismatch {
                project: manifest.backbone,
            }
            .into());
        }
        let mut dataset = Dataset {
            labels: manifest.classes.iter().map(|c| c.name.clone()).collect(),
            samples: Vec::new(),
        };
        for (class, entry) in manifest.classes.iter().enumerate() {
            for sample in &entry.samples {
                dataset.samples.push(Sample {
                    id: sample.id.clone(),
                    class,
                    image: frame(&project.files[&sample.file])?,
                });
            }
        }
        let mut samples = Samples::new(
            AugmentConfig {
                views: 0,
                ..augment
            },
            rows,
        );
        samples.dataset = dataset;
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Samples<Vec<u8>> {
        let mut samples = Samples::new(AugmentConfig::default(), RowKind::Pooled);
        for name in ["fist", "palm", "empty"] {
            samples.add_new_class(name.into()).unwrap();
        }
        // Captured in turns: the project file groups them by class, in order.
        for (id, class) in [("a", 1), ("b", 0), ("c", 1)] {
            samples.dataset.samples.push(Sample {
                id: id.into(),
                class,
                image: id.as_bytes().to_vec(),
            });
        }
        samples
    }

    fn info() -> ProjectInfo {
        ProjectInfo {
            name: "hands".into(),
            backbone: BackboneKind::MobilenetV2,
            settings: Default::default(),
            model: None,
        }
    }

    #[test]
    fn samples_round_trip_through_a_project_file() {
        let samples = samples();
        let files = samples
            .dataset
            .samples
            .iter()
            .map(|s| SampleFile {
                id: s.id.clone(),
                image: s.image.clone(),
                png: false,
            })
            .collect();
        let bytes = samples.to_project(info(), files).write().unwrap();
        let project = Project::read(&bytes).unwrap();
        let ids: Vec<Vec<&str>> = project
            .manifest
            .classes
            .iter()
            .map(|c| c.samples.iter().map(|s| s.id.as_str()).collect())
            .collect();
        assert_eq!(ids, [vec!["b"], vec!["a", "c"], vec![]]);
        let augment = AugmentConfig::default();
        let opened = Samples::from_project(
            &project,
            BackboneKind::MobilenetV2,
            augment.clone(),
            RowKind::Spatial,
            |bytes| Ok::<_, ProjectMismatch>(bytes.to_vec()),
        )
        .unwrap();
        assert_eq!(opened.dataset.labels, samples.dataset.labels);
        let got: Vec<(&str, usize, &[u8])> = opened
            .dataset
            .samples
            .iter()
            .map(|s| (s.id.as_str(), s.class, s.image.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("b", 0, b"b".as_slice()),
                ("a", 1, b"a".as_slice()),
                ("c", 1, b"c".as_slice())
            ]
        );
        // Nothing embedded yet: the frames first, the views when training asks.
        assert!(opened.cache.is_empty());
        assert_eq!(
            opened.cached_with,
            (
                AugmentConfig {
                    views: 0,
                    ..augment
                },
                RowKind::Spatial
            )
        );
    }

    #[test]
    fn another_backbones_project_is_refused() {
        let project = samples().to_project(info(), Vec::new());
        let refused: ProjectMismatch = Samples::from_project(
            &project,
            BackboneKind::EfficientnetLite0,
            AugmentConfig::default(),
            RowKind::Pooled,
            |bytes| Ok(bytes.to_vec()),
        )
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the project uses mobilenet_v2; create a session with that backbone to open it"
        );
    }
}
