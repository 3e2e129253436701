//! Archives from elsewhere opened as a project: a Teachable Machine project (`.tm`, its "Download
//! project": `manifest.json` and flat `<Class>-!-<n>.jpg` images), a zip of one class's samples
//! (Teachable Machine's "Download samples", images at the top), or any zip laid out
//! `<class>/<image>` at any depth (Kaggle-style datasets; `train/cat` and `test/cat` are one
//! class). macOS debris (`__MACOSX/`, `.DS_Store`, `._*`) and files that are not images are
//! skipped and counted; JPEG and PNG images become samples (other image formats are skipped and
//! counted). The result goes through the same validation as a project file, and nothing is
//! returned unless the whole archive is read: a refusal changes nothing.

use std::collections::BTreeMap;

use super::{ClassFiles, LIMITS, MANIFEST, Project, ProjectError, ProjectInfo, SampleFile, zip};
use crate::backbone::BackboneKind;

/// Most samples one import brings in (the number a session holds within its memory budget).
pub const MAX_IMPORTED_SAMPLES: usize = 20_000;
/// Teachable Machine's manifest, at the top of its project files.
const TM_MANIFEST: &str = "manifest.json";
/// What separates the class from the number in a Teachable Machine project's image names.
const TM_SEPARATOR: &str = "-!-";
/// Extensions of images in formats a project does not keep.
const OTHER_IMAGES: [&str; 6] = ["webp", "gif", "bmp", "tif", "tiff", "heic"];

/// What an archive was (serialized as the JS API names it: `"teachableMachine"`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// A magpie project file.
    Magpie,
    /// A Teachable Machine project (`.tm`).
    TeachableMachine,
    /// One class's images at the top of the archive.
    Samples,
    /// One folder of images per class.
    ClassFolders,
}

/// An archive opened as a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The project, validated.
    pub project: Project,
    /// What the archive was.
    pub source: Source,
    /// Files passed over: not images, macOS debris, images in other formats.
    pub skipped: Skipped,
}

/// Counts of the files an import passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// macOS debris and hidden files.
    pub debris: usize,
    /// Files that are not images (by their extension).
    pub not_images: usize,
    /// Images in a format other than JPEG or PNG.
    pub other_formats: usize,
}

/// Opens `bytes`, an archive named `file_name`, as a project on `backbone` (a magpie project
/// keeps its own); refuses it, naming why, when it is none of the layouts this reads or holds
/// something unsafe.
pub fn import(
    bytes: &[u8],
    file_name: &str,
    backbone: BackboneKind,
) -> Result<Imported, ProjectError> {
    import_files(zip::read(bytes, &LIMITS)?, file_name, backbone)
}

/// Opens `files` (path → bytes, as an archive or a dropped folder holds them, `/`-separated) as
/// [`import`] opens an archive's; `name` names the project.
pub fn import_files(
    mut files: BTreeMap<String, Vec<u8>>,
    name: &str,
    backbone: BackboneKind,
) -> Result<Imported, ProjectError> {
    // What the zip reader checks of an archive, for files that came another way.
    if files.len() > LIMITS.entries {
        return Err(ProjectError::TooLarge(format!(
            "{} files (at most {})",
            files.len(),
            LIMITS.entries
        )));
    }
    let mut total = 0usize;
    for (path, data) in &files {
        zip::check_name(path)?;
        if data.len() > LIMITS.entry_bytes {
            return Err(ProjectError::TooLarge(format!(
                "{path} is {} bytes (at most {})",
                data.len(),
                LIMITS.entry_bytes
            )));
        }
        total = total.saturating_add(data.len());
    }
    if total > LIMITS.total_bytes {
        return Err(ProjectError::TooLarge(format!(
            "more than {} bytes",
            LIMITS.total_bytes
        )));
    }
    if let Some(json) = files.remove(MANIFEST) {
        let manifest =
            serde_json::from_slice(&json).map_err(|e| ProjectError::Manifest(e.to_string()))?;
        let project = Project { manifest, files };
        project.validate()?;
        return Ok(Imported {
            project,
            source: Source::Magpie,
            skipped: Skipped::default(),
        });
    }
    let mut skipped = Skipped::default();
    let mut images = Vec::new();
    let mut tm_manifest = None;
    for (path, data) in files {
        let base = path.rsplit('/').next().unwrap_or(&path);
        if path == TM_MANIFEST {
            tm_manifest = Some(data);
        } else if path.starts_with("__MACOSX/") || base.starts_with('.') {
            skipped.debris += 1;
        } else {
            match extension(base).as_deref() {
                Some("jpg" | "jpeg") => images.push(checked(path, data, false)?),
                Some("png") => images.push(checked(path, data, true)?),
                Some(other) if OTHER_IMAGES.contains(&other) => skipped.other_formats += 1,
                _ => skipped.not_images += 1,
            }
        }
    }
    if images.is_empty() {
        return Err(refused("it holds no JPEG or PNG images"));
    }
    if images.len() > MAX_IMPORTED_SAMPLES {
        return Err(refused(&format!(
            "it holds {} images; a project takes at most {MAX_IMPORTED_SAMPLES}",
            images.len()
        )));
    }
    let stem = stem(name);
    let tm = images
        .iter()
        .all(|i| !i.path.contains('/') && i.path.contains(TM_SEPARATOR));
    let (source, classes, settings) = if tm {
        let settings = tm_manifest.as_deref().map(tm_settings).unwrap_or_default();
        (Source::TeachableMachine, tm_classes(images), settings)
    } else if images.iter().all(|i| !i.path.contains('/')) {
        let name = stem
            .trim_end_matches("-samples")
            .trim_end_matches("_samples");
        let classes = BTreeMap::from([(name.to_string(), images)]);
        (Source::Samples, classes, serde_json::Map::new())
    } else {
        (
            Source::ClassFolders,
            folder_classes(images)?,
            serde_json::Map::new(),
        )
    };
    let mut next = 0usize;
    let classes = classes
        .into_iter()
        .map(|(name, mut images)| {
            images.sort_by_cached_key(|image| natural(&image.path));
            let samples = images
                .into_iter()
                .map(|image| {
                    next += 1;
                    SampleFile {
                        id: format!("imported-{next:05}"),
                        image: image.data,
                        png: image.png,
                    }
                })
                .collect();
            ClassFiles { name, samples }
        })
        .collect();
    let info = ProjectInfo {
        name: if stem.trim().is_empty() {
            "Imported".into()
        } else {
            stem.to_string()
        },
        backbone,
        settings,
        model: None,
    };
    let project = Project::assemble(info, classes);
    project.validate()?;
    Ok(Imported {
        project,
        source,
        skipped,
    })
}

/// An image of the archive.
struct Image {
    path: String,
    data: Vec<u8>,
    png: bool,
}

/// `data` as an image, if its bytes are the format its name says.
fn checked(path: String, data: Vec<u8>, png: bool) -> Result<Image, ProjectError> {
    let right = if png {
        data.starts_with(b"\x89PNG\r\n\x1a\n")
    } else {
        data.starts_with(&[0xFF, 0xD8, 0xFF])
    };
    if !right {
        let format = if png { "PNG" } else { "JPEG" };
        return Err(refused(&format!("{path} is not a {format} image")));
    }
    Ok(Image { path, data, png })
}

/// A Teachable Machine project's classes: the part of each image's name before `-!-`.
fn tm_classes(images: Vec<Image>) -> BTreeMap<String, Vec<Image>> {
    let mut classes: BTreeMap<String, Vec<Image>> = BTreeMap::new();
    for image in images {
        let class = image
            .path
            .split(TM_SEPARATOR)
            .next()
            .unwrap_or_default()
            .to_string();
        classes.entry(class).or_default().push(image);
    }
    classes
}

/// Classes by the folder each image is in (the last one of its path).
fn folder_classes(images: Vec<Image>) -> Result<BTreeMap<String, Vec<Image>>, ProjectError> {
    let mut classes: BTreeMap<String, Vec<Image>> = BTreeMap::new();
    for image in images {
        let Some((folders, _)) = image.path.rsplit_once('/') else {
            return Err(refused(&format!(
                "{} is not in a class folder, while other images are (lay it out as <class>/<image>)",
                image.path
            )));
        };
        let class = folders.rsplit('/').next().unwrap_or(folders).to_string();
        classes.entry(class).or_default().push(image);
    }
    Ok(classes)
}

/// The training settings a Teachable Machine manifest keeps, under the app's names (the app
/// cleans them: unknown or out-of-range values become defaults).
fn tm_settings(manifest: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    let Ok(serde_json::Value::Object(manifest)) = serde_json::from_slice(manifest) else {
        return serde_json::Map::new();
    };
    let appdata = manifest.get("appdata").and_then(|a| a.as_object());
    [
        ("trainEpochs", "epochs"),
        ("trainBatchSize", "batchSize"),
        ("trainLearningRate", "learningRate"),
    ]
    .into_iter()
    .filter_map(|(theirs, ours)| {
        let value = appdata?.get(theirs)?.as_f64()?;
        Some((ours.to_string(), serde_json::json!(value)))
    })
    .collect()
}

/// A file name's extension, lower-cased.
fn extension(name: &str) -> Option<String> {
    let (_, extension) = name.rsplit_once('.')?;
    Some(extension.to_ascii_lowercase())
}

/// A file name without its folder and extension.
fn stem(file_name: &str) -> &str {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    base.rsplit_once('.').map_or(base, |(stem, _)| stem)
}

/// A sort key that orders numbers by value ("9.png" before "10.png").
fn natural(path: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut digits = c.to_string();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            key.push((
                std::mem::take(&mut text),
                digits.parse().unwrap_or(u64::MAX),
            ));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

/// The refusal of an archive that is none of the layouts this reads.
fn refused(why: &str) -> ProjectError {
    ProjectError::Unrecognized(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_skipped_counts_take_the_js_apis_names() {
        let source = serde_json::to_value(Source::TeachableMachine).unwrap();
        assert_eq!(source, "teachableMachine");
        let skipped = Skipped {
            debris: 1,
            not_images: 2,
            other_formats: 3,
        };
        let expected = serde_json::json!({ "debris": 1, "notImages": 2, "otherFormats": 3 });
        assert_eq!(serde_json::to_value(skipped).unwrap(), expected);
    }

    #[test]
    fn numbers_sort_by_value() {
        let mut names = vec!["a/10.png", "a/9.png", "a/1.png", "b/0.png"];
        names.sort_by_key(|n| natural(n));
        assert_eq!(names, ["a/1.png", "a/9.png", "a/10.png", "b/0.png"]);
    }

    #[test]
    fn stems_drop_folders_and_extensions() {
        assert_eq!(stem("C:\\Users\\me\\Gestures.tm"), "Gestures");
        assert_eq!(stem("thumbs-samples.zip"), "thumbs-samples");
        assert_eq!(stem("noext"), "noext");
    }

    #[test]
    fn teachable_machine_settings_take_the_apps_names() {
        let manifest = br#"{"type":"image","version":"2.4.4","appdata":{"trainEpochs":50,"trainBatchSize":16,"trainLearningRate":0.001}}"#;
        let settings = tm_settings(manifest);
        assert_eq!(settings["epochs"], 50.0);
        assert_eq!(settings["batchSize"], 16.0);
        assert_eq!(settings["learningRate"], 0.001);
        assert!(tm_settings(b"not json").is_empty());
    }
}
