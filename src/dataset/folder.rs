//! Loading a dataset from a folder with one subfolder of images per class.

use std::path::Path;

use super::{Dataset, DatasetError, Sample};
use crate::image::RgbaImage;

const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// Reads `dir/<class>/<image>` (PNG, JPEG, BMP); classes and files in name order, other files
/// ignored. An unreadable or corrupt image is an error naming the file.
pub fn load_folder(dir: &Path) -> Result<Dataset, DatasetError> {
    let read_dir = |dir: &Path| -> Result<Vec<std::path::PathBuf>, DatasetError> {
        let mut paths = std::fs::read_dir(dir)
            .map_err(|e| DatasetError::Read(format!("cannot read folder {}: {e}", dir.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect::<Vec<_>>();
        paths.sort();
        Ok(paths)
    };
    let mut dataset = Dataset::default();
    for class_dir in read_dir(dir)?.into_iter().filter(|p| p.is_dir()) {
        let class = dataset.labels.len();
        dataset.labels.push(
            class_dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
        for path in read_dir(&class_dir)? {
            let extension = path
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if !IMAGE_EXTENSIONS.contains(&extension.as_str()) {
                continue;
            }
            let bytes = std::fs::read(&path)
                .map_err(|e| DatasetError::Read(format!("{}: {e}", path.display())))?;
            let image = RgbaImage::decode(&bytes)
                .map_err(|e| DatasetError::Read(format!("{}: {e}", path.display())))?;
            dataset.samples.push(Sample {
                id: path.display().to_string(),
                class,
                image,
            });
        }
    }
    Ok(dataset)
}
