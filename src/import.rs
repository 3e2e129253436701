//! Native conversion of upstream artifacts into backbones: the first half of `magpie convert`,
//! also used by tests to check each importer against the real files.

use std::path::Path;

use burn::tensor::Device;

use crate::backbone::{Backbone, BackboneKind, BackboneNet, Vgg16Config};
use crate::weights::assets::{LABELS_FILE, assets_dir, upstream_file};
use crate::weights::{self, Precision, PretrainedBackbone, RecordInfo, WeightsError};

/// Version of [`RecordInfo`] written by this build.
pub const RECORD_VERSION: u32 = 1;

/// Class names for `kind` from the 1001-line labels file: the first name of each line, without
/// "background" for the 1000-class models.
pub fn imagenet_labels(text: &str, kind: BackboneKind) -> Result<Vec<String>, WeightsError> {
    let names: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').next().unwrap_or_default().trim().to_string())
        .collect();
    if names.len() != 1001 {
        return Err(WeightsError::Malformed {
            format: "labels",
            message: format!(
                "expected 1001 lines (background + 1000 classes), found {}",
                names.len()
            ),
        });
    }
    let skip = 1001 - kind.num_classes();
    Ok(names[skip..].to_vec())
}

fn read_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Imports the upstream artifact at `path` as a `kind` backbone on `device`.
pub fn import(
    kind: BackboneKind,
    path: &Path,
    labels: Vec<String>,
    device: &Device,
) -> Result<PretrainedBackbone, WeightsError> {
    let (convs, classifier) = match kind {
        BackboneKind::MobilenetV2 => weights::tflite::read(&read_file(path)?)?,
        BackboneKind::EfficientnetLite0 => weights::pytorch::read(path)?,
        BackboneKind::MobilenetV1025 => {
            let dir = path.parent().unwrap_or(Path::new("."));
            weights::tfjs::read(&read_file(path)?, |shard| read_file(&dir.join(shard)))?
        }
        // Matched by name, not in execution order.
        BackboneKind::Vgg16 => {
            let mut net = Vgg16Config::new().init(device);
            weights::torchvision::load_vgg16(&mut net, path, device)?;
            return Ok(pretrained(
                Backbone {
                    kind,
                    net: BackboneNet::Vgg16(net),
                },
                path,
                labels,
            ));
        }
    };
    let mut backbone = Backbone::init(kind, device);
    weights::assign(&mut backbone, convs, classifier, device)?;
    Ok(pretrained(backbone, path, labels))
}

/// `backbone`, imported from `path`, with its description.
fn pretrained(backbone: Backbone, path: &Path, labels: Vec<String>) -> PretrainedBackbone {
    let kind = backbone.kind;
    let source = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let info = RecordInfo {
        version: RECORD_VERSION,
        backbone: kind,
        labels,
        precision: Precision::F32,
        source,
    };
    PretrainedBackbone { backbone, info }
}

/// Imports `kind` from the standard asset location.
pub fn import_from_assets(
    kind: BackboneKind,
    device: &Device,
) -> Result<PretrainedBackbone, WeightsError> {
    let dir = assets_dir();
    let labels_path = dir.join(LABELS_FILE);
    let labels = String::from_utf8_lossy(&read_file(&labels_path)?).into_owned();
    import(
        kind,
        &dir.join(upstream_file(kind)),
        imagenet_labels(&labels, kind)?,
        device,
    )
}
