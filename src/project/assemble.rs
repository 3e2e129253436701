//! The one layout of a project file, whoever writes it (the page's project, a session's
//! `saveProject`): each class's samples as `images/<class folder>/NNNN.<jpg|png>`, numbered from
//! 1 in order, and the model as `model.bpk`.

use super::{ClassEntry, FORMAT, Manifest, Project, SampleEntry, VERSION, class_folders};
use crate::backbone::BackboneKind;

/// Name of the model entry.
pub const MODEL: &str = "model.bpk";

/// A class to write: its name and its samples, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassFiles {
    /// The class's name.
    pub name: String,
    /// Its samples.
    pub samples: Vec<SampleFile>,
}

/// A sample to write: its id and its image file.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleFile {
    /// The sample's id.
    pub id: String,
    /// The image file's bytes.
    pub image: Vec<u8>,
    /// Whether the image is a PNG (else a JPEG).
    pub png: bool,
}

/// What a project holds besides its classes.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectInfo {
    /// The project's name.
    pub name: String,
    /// The backbone its samples are embedded with.
    pub backbone: BackboneKind,
    /// Settings kept with it (an app's training settings).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The trained model's record, if it is to be kept.
    pub model: Option<Vec<u8>>,
}

impl Project {
    /// The project of `info` and `classes`, laid out as every project file is.
    pub fn assemble(info: ProjectInfo, classes: Vec<ClassFiles>) -> Self {
        let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
        let folders = class_folders(&names);
        let mut files = std::collections::BTreeMap::new();
        let mut entries = Vec::with_capacity(classes.len());
        for (class, folder) in classes.into_iter().zip(&folders) {
            let mut samples = Vec::with_capacity(class.samples.len());
            for (n, sample) in class.samples.into_iter().enumerate() {
                let extension = if sample.png { "png" } else { "jpg" };
                let file = format!("images/{folder}/{:04}.{extension}", n + 1);
                files.insert(file.clone(), sample.image);
                samples.push(SampleEntry {
                    id: sample.id,
                    file,
                });
            }
            entries.push(ClassEntry {
                name: class.name,
                samples,
            });
        }
        let model = info.model.map(|bytes| {
            files.insert(MODEL.to_string(), bytes);
            MODEL.to_string()
        });
        Self {
            manifest: Manifest {
                format: FORMAT.into(),
                version: VERSION,
                name: info.name,
                backbone: info.backbone,
                classes: entries,
                settings: info.settings,
                model,
            },
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, png: bool) -> SampleFile {
        SampleFile {
            id: id.into(),
            image: id.as_bytes().to_vec(),
            png,
        }
    }

    #[test]
    fn samples_are_numbered_per_class_under_safe_unique_folders() {
        let classes = vec![
            ClassFiles {
                name: "a/b".into(),
                samples: vec![sample("s1", false), sample("s2", true)],
            },
            ClassFiles {
                name: "a_b".into(),
                samples: vec![sample("s3", false)],
            },
            ClassFiles {
                name: "empty".into(),
                samples: Vec::new(),
            },
        ];
        let info = ProjectInfo {
            name: "p".into(),
            backbone: BackboneKind::MobilenetV2,
            settings: Default::default(),
            model: None,
        };
        let project = Project::assemble(info, classes);
        let folders = class_folders(&["a/b".into(), "a_b".into(), "empty".into()]);
        let files: Vec<(&str, &str)> = project
            .manifest
            .classes
            .iter()
            .flat_map(|c| c.samples.iter().map(|s| (s.id.as_str(), s.file.as_str())))
            .collect();
        let expected = [
            ("s1", format!("images/{}/0001.jpg", folders[0])),
            ("s2", format!("images/{}/0002.png", folders[0])),
            ("s3", format!("images/{}/0001.jpg", folders[1])),
        ];
        assert_eq!(files.len(), 3);
        for ((id, file), (want_id, want_file)) in files.iter().zip(&expected) {
            assert_eq!((*id, *file), (*want_id, want_file.as_str()));
            assert_eq!(project.files[*file], id.as_bytes());
        }
        assert_ne!(folders[0], folders[1], "two classes never share a folder");
        assert_eq!(project.manifest.model, None);
        assert_eq!(project.manifest.classes[2].samples, Vec::new());
        assert_eq!(project.files.len(), 3);
    }
}
