//! Where the project's files live on a native machine: the upstream artifacts (`$MAGPIE_ASSETS`)
//! and the converted records (`$MAGPIE_WEIGHTS`). Below the importers, so that they, the CLI
//! and the tests all name the same files.

use std::path::{Path, PathBuf};

use crate::backbone::BackboneKind;

/// Where the upstream artifacts live: `$MAGPIE_ASSETS`, else `~/.cache/magpie/assets`
/// (filled by `scripts/weights.sh` from `../shared/assets` or the pinned downloads).
pub fn assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MAGPIE_ASSETS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/magpie/assets")
}

/// Where converted records live: `$MAGPIE_WEIGHTS`, else `www/weights` in this source tree
/// (served with the app).
pub fn weights_dir() -> PathBuf {
    std::env::var_os("MAGPIE_WEIGHTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("www/weights"))
}

/// The upstream artifact of `kind`, relative to [`assets_dir`].
pub fn upstream_file(kind: BackboneKind) -> &'static str {
    match kind {
        BackboneKind::MobilenetV2 => "models/tf2_mobilenet_v2_1.0_224_ptq.tflite",
        BackboneKind::EfficientnetLite0 => "models/efficientnet-lite0-57934424.pth",
        BackboneKind::MobilenetV1025 => "models/tfjs_mobilenet_v1_0.25_224/model.json",
        BackboneKind::Vgg16 => VGG16_FILE,
    }
}

/// torchvision's VGG16 checkpoint, relative to [`assets_dir`]: not fetched by `scripts/weights.sh`
/// (528 MB); the user puts it there (see the README).
pub const VGG16_FILE: &str = "models/vgg16-397923af.pth";

/// The ImageNet labels file, relative to [`assets_dir`] (1001 lines, line 0 = background).
pub const LABELS_FILE: &str = "models/imagenet_labels.txt";
