//! The project file: one zip holding a `project.json` manifest, every captured sample as an
//! image under `images/<class>/`, and the trained model (`model.bpk`). Format documented in
//! `docs/project-format.md`, schema in `docs/project.schema.json`. Reading validates every
//! part before anything is returned, so a bad file never half-replaces a project.

mod assemble;
pub mod import;
mod manifest;
pub mod zip;

pub use assemble::{ClassFiles, MODEL, ProjectInfo, SampleFile};
pub use manifest::{ClassEntry, FORMAT, Manifest, SampleEntry, VERSION, class_folders};

use std::collections::BTreeMap;
use std::fmt;

/// Name of the manifest entry.
pub const MANIFEST: &str = "project.json";

/// What a project file may hold: 100,000 entries, 32 MB per entry, 2 GB in all.
pub const LIMITS: zip::Limits = zip::Limits {
    entries: 100_000,
    entry_bytes: 32 << 20,
    total_bytes: 2 << 30,
};

/// A project read from (or to be written to) a file: the manifest and the files it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Classes, samples and settings.
    pub manifest: Manifest,
    /// Sample images and the model, by path in the archive.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Why a project file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectError {
    /// The zip container is damaged or uses something unsupported.
    Archive(String),
    /// The file is larger than [`LIMITS`] allow.
    TooLarge(String),
    /// `project.json` is missing, malformed or inconsistent with the files.
    Manifest(String),
    /// The model file does not fit the project.
    Model(String),
    /// An archive from elsewhere is none of the layouts an import reads (see [`import`]).
    Unrecognized(String),
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Archive(why) => write!(f, "not a readable project file: {why}"),
            Self::TooLarge(why) => write!(f, "the project file is too large: {why}"),
            Self::Manifest(why) => write!(f, "project.json is invalid: {why}"),
            Self::Model(why) => write!(f, "the project's model is invalid: {why}"),
            Self::Unrecognized(why) => write!(f, "cannot open it as a project: {why}"),
        }
    }
}

impl std::error::Error for ProjectError {}

impl Project {
    /// Reads and validates a project file.
    pub fn read(bytes: &[u8]) -> Result<Self, ProjectError> {
        let mut files = zip::read(bytes, &LIMITS)?;
        let json = files
            .remove(MANIFEST)
            .ok_or_else(|| ProjectError::Manifest(format!("there is no {MANIFEST}")))?;
        let manifest: Manifest =
            serde_json::from_slice(&json).map_err(|e| ProjectError::Manifest(e.to_string()))?;
        let project = Self { manifest, files };
        project.validate()?;
        Ok(project)
    }

    /// Validates and writes the project file.
    pub fn write(&self) -> Result<Vec<u8>, ProjectError> {
        self.validate()?;
        let mut files = self.files.clone();
        let json = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| ProjectError::Manifest(e.to_string()))?;
        files.insert(MANIFEST.to_string(), json);
        check_limits(&files)?;
        Ok(zip::write(&files))
    }

    /// Checks the manifest, that every file it names is present (and nothing else), and that
    /// the model fits the classes and backbone.
    pub fn validate(&self) -> Result<(), ProjectError> {
        self.manifest.validate()?;
        let named: Vec<&str> = self.manifest.files().collect();
        for name in &named {
            if !self.files.contains_key(*name) {
                return Err(ProjectError::Manifest(format!(
                    "{name} is listed but missing from the file"
                )));
            }
        }
        if let Some(extra) = self.files.keys().find(|k| !named.contains(&k.as_str())) {
            return Err(ProjectError::Manifest(format!(
                "{extra} is in the file but not listed"
            )));
        }
        if let Some(model) = &self.manifest.model {
            let info = crate::classifier::info(&self.files[model])
                .map_err(|e| ProjectError::Model(e.to_string()))?;
            let labels: Vec<&str> = self
                .manifest
                .classes
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            if info.labels != labels {
                return Err(ProjectError::Model(format!(
                    "it has classes {:?}, the project {:?}",
                    info.labels, labels
                )));
            }
            if info.backbone != self.manifest.backbone {
                return Err(ProjectError::Model(format!(
                    "it needs {}, the project uses {}",
                    info.backbone, self.manifest.backbone
                )));
            }
        }
        Ok(())
    }
}

/// Refuses to write what [`Project::read`] would refuse as too large, so a written file can
/// always be read back (the zip has no zip64: fewer than 65,535 entries).
fn check_limits(files: &BTreeMap<String, Vec<u8>>) -> Result<(), ProjectError> {
    let entries = LIMITS.entries.min(0xFFFE);
    if files.len() > entries {
        return Err(ProjectError::TooLarge(format!(
            "{} entries (at most {entries})",
            files.len()
        )));
    }
    if let Some((name, data)) = files
        .iter()
        .find(|(_, data)| data.len() > LIMITS.entry_bytes)
    {
        return Err(ProjectError::TooLarge(format!(
            "{name} is {} bytes (at most {})",
            data.len(),
            LIMITS.entry_bytes
        )));
    }
    let total: usize = files.values().map(Vec::len).sum();
    if total > LIMITS.total_bytes {
        return Err(ProjectError::TooLarge(format!(
            "{total} bytes in all (at most {})",
            LIMITS.total_bytes
        )));
    }
    Ok(())
}
