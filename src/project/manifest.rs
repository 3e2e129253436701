//! `project.json`: the project's name, backbone, classes (in order) with their samples' image
//! files, the training settings, and the model file.

use serde::{Deserialize, Serialize};

use super::ProjectError;
use crate::backbone::BackboneKind;
use crate::head::MAX_CLASSES;

/// The `format` field of every manifest.
pub const FORMAT: &str = "magpie-project";
/// The manifest version this build writes and reads.
pub const VERSION: u32 = 1;

/// Most characters of a project or class name.
const MAX_NAME: usize = 200;

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The project's name.
    pub name: String,
    /// The backbone the samples are embedded with.
    pub backbone: BackboneKind,
    /// Classes in order; a model's class `i` is `classes[i]`.
    pub classes: Vec<ClassEntry>,
    /// Training settings as the app's advanced settings hold them (`head`, `epochs`, `batchSize`, …).
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Path of the trained model record, if there is one.
    #[serde(default)]
    pub model: Option<String>,
}

/// One class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassEntry {
    /// Its name (unique in the project).
    pub name: String,
    /// Its samples, in capture order.
    pub samples: Vec<SampleEntry>,
}

/// One captured sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SampleEntry {
    /// Its id (unique in the project).
    pub id: String,
    /// Path of its image (JPEG or PNG) in the archive, under `images/`.
    pub file: String,
}

impl Manifest {
    /// Every file the manifest names: sample images, then the model.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        let images = self
            .classes
            .iter()
            .flat_map(|c| c.samples.iter().map(|s| s.file.as_str()));
        images.chain(self.model.as_deref())
    }

    /// Checks the fields on their own: format and version, names, uniqueness, file paths.
    pub fn validate(&self) -> Result<(), ProjectError> {
        let bad = |why: String| Err(ProjectError::Manifest(why));
        if self.format != FORMAT {
            return bad(format!("format is {:?}, not {FORMAT:?}", self.format));
        }
        if self.version != VERSION {
            return bad(format!(
                "version {} is not supported (this app reads version {VERSION})",
                self.version
            ));
        }
        check_name("the project name", &self.name)?;
        if self.classes.len() > MAX_CLASSES {
            return bad(format!(
                "{} classes (at most {MAX_CLASSES})",
                self.classes.len()
            ));
        }
        let mut names = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        let mut files = std::collections::HashSet::new();
        for class in &self.classes {
            check_name("a class name", &class.name)?;
            if !names.insert(class.name.as_str()) {
                return bad(format!("class '{}' appears twice", class.name));
            }
            for sample in &class.samples {
                if sample.id.is_empty()
                    || sample.id.len() > MAX_NAME
                    || !ids.insert(sample.id.as_str())
                {
                    return bad(format!(
                        "sample id {:?} is empty, too long or used twice",
                        sample.id
                    ));
                }
                check_path("sample file", &sample.file)?;
                let lower = sample.file.to_ascii_lowercase();
                let image = [".jpg", ".jpeg", ".png"]
                    .iter()
                    .any(|ext| lower.ends_with(ext));
                if !sample.file.starts_with("images/")
                    || !image
                    || !files.insert(sample.file.as_str())
                {
                    return bad(format!(
                        "sample file {:?} is not a unique images/….jpg or .png path",
                        sample.file
                    ));
                }
            }
        }
        if let Some(model) = &self.model {
            check_path("model path", model)?;
            if model.starts_with("images/")
                || !model.ends_with(".bpk")
                || files.contains(model.as_str())
            {
                return bad(format!(
                    "model path {model:?} must be a .bpk file outside images/"
                ));
            }
        }
        Ok(())
    }
}

/// Names are non-empty after trimming, short, and free of control characters.
fn check_name(what: &str, name: &str) -> Result<(), ProjectError> {
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME
        || name.chars().any(char::is_control)
    {
        return Err(ProjectError::Manifest(format!(
            "{what} {name:?} is empty, longer than {MAX_NAME} characters, or has control characters"
        )));
    }
    Ok(())
}

/// File paths are relative archive paths the zip reader accepts: no `..`, `.` or empty parts,
/// no leading `/`, backslash, colon or control characters.
fn check_path(what: &str, path: &str) -> Result<(), ProjectError> {
    super::zip::check_name(path)
        .map_err(|_| ProjectError::Manifest(format!("{what} {path:?} is not a safe relative path")))
}

/// Folder names under `images/` for classes named `names`, in order: letters, digits, space,
/// `_`, `.` and `-` kept (other runs become `_`), no leading dot, at most 60 characters, made
/// unique by appending `-2`, `-3`, ….
pub fn class_folders(names: &[String]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .iter()
        .map(|name| {
            let base = safe_name(name);
            let folder = (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|f| !taken.contains(f))
                .expect("an unused folder name exists");
            taken.insert(folder.clone());
            folder
        })
        .collect()
}

/// `name` reduced to characters safe in a file name.
fn safe_name(name: &str) -> String {
    let mut safe = String::new();
    for c in name.chars() {
        let keep = c.is_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-');
        if keep {
            safe.push(c);
        } else if !safe.ends_with('_') {
            safe.push('_');
        }
    }
    let safe: String = safe
        .trim_start_matches(['.', ' '])
        .trim_end()
        .chars()
        .take(60)
        .collect();
    if safe.is_empty() {
        "untitled".to_string()
    } else {
        safe
    }
}
