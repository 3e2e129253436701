//! Corrupt weight files, in every format, give a typed error with a clear message, never a panic.

mod common;

use std::path::{Path, PathBuf};

use common::cpu;
use magpie::backbone::{Backbone, BackboneKind};
use magpie::import;
use magpie::weights::assets::{assets_dir, upstream_file};
use magpie::weights::{self, Dense, WeightsError, pytorch, record, tfjs, tflite};

fn upstream(kind: BackboneKind) -> PathBuf {
    assets_dir().join(upstream_file(kind))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/weights.sh)", path.display()))
}

/// Writes `bytes` to a fresh temporary file named `name`.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("magpie-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn labels(kind: BackboneKind) -> Vec<String> {
    (0..kind.num_classes())
        .map(|i| format!("class {i}"))
        .collect()
}

fn import_error(kind: BackboneKind, path: &Path) -> WeightsError {
    import::import(kind, path, labels(kind), &cpu()).expect_err("a corrupt file must not import")
}

// --- TF-Lite ---------------------------------------------------------------------------------

#[test]
fn truncated_tflite_files_are_rejected() {
    let file = read(&upstream(BackboneKind::MobilenetV2));
    for cut in [0, 3, 100, file.len() / 2, file.len() * 9 / 10] {
        let err = tflite::read(&file[..cut])
            .err()
            .unwrap_or_else(|| panic!("cut at {cut} was accepted"));
        assert!(
            matches!(
                err,
                WeightsError::Truncated { .. }
                    | WeightsError::BadMagic { .. }
                    | WeightsError::MissingTensor { .. }
                    | WeightsError::Malformed { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn tflite_without_its_identifier_is_not_a_tflite_file() {
    let mut file = read(&upstream(BackboneKind::MobilenetV2));
    file[4..8].copy_from_slice(b"PK\x03\x04");
    let err = tflite::read(&file).unwrap_err();
    assert!(matches!(err, WeightsError::BadMagic { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "not a TF-Lite file: expected the identifier 'TFL3' at byte 4"
    );
}

#[test]
fn tflite_with_a_transposed_kernel_is_a_shape_mismatch() {
    let mut file = read(&upstream(BackboneKind::MobilenetV2));
    // The stem kernel's shape vector [32, 3, 3, 3] (length-prefixed i32s) becomes [3, 3, 3, 32].
    let encode = |dims: [i32; 4]| -> Vec<u8> {
        [4].iter()
            .chain(&dims)
            .flat_map(|d: &i32| d.to_le_bytes())
            .collect()
    };
    let from = encode([32, 3, 3, 3]);
    let at = file
        .windows(from.len())
        .position(|w| w == from)
        .expect("the stem kernel's shape is in the file");
    file[at..at + from.len()].copy_from_slice(&encode([3, 3, 3, 32]));
    let err = import_error(
        BackboneKind::MobilenetV2,
        &temp_file("transposed.tflite", &file),
    );
    // Its 32 per-channel scales no longer fit dimension 0: rejected before the architecture check.
    assert!(matches!(err, WeightsError::Malformed { .. }), "{err}");
    assert!(
        err.to_string().contains("'MobileNetV2/Conv2d_0_0/")
            && err.to_string().contains("[3, 3, 3, 32]"),
        "{err}"
    );
}

#[test]
fn a_damaged_tflite_table_is_named() {
    let mut file = read(&upstream(BackboneKind::MobilenetV2));
    // The root table's offset now points past the end of the file (aligned, as offsets are).
    file[..4].copy_from_slice(&0xFFFF_FFFCu32.to_le_bytes());
    let err = tflite::read(&file).unwrap_err();
    assert!(matches!(err, WeightsError::Truncated { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "truncated TF-Lite file: it ends inside the model"
    );
    // The `buffers` field of the root table now points past the end of the file.
    let mut file = read(&upstream(BackboneKind::MobilenetV2));
    let root = u32::from_le_bytes(file[..4].try_into().unwrap()) as usize;
    let vtable = root - i32::from_le_bytes(file[root..root + 4].try_into().unwrap()) as usize;
    // Model.buffers is field 4: its vtable slot is at byte 4 + 2 * 4.
    let slot = u16::from_le_bytes(file[vtable + 12..vtable + 14].try_into().unwrap()) as usize;
    let at = root + slot;
    file[at..at + 4].copy_from_slice(&(i32::MAX as u32 & !3).to_le_bytes());
    let err = tflite::read(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "truncated TF-Lite file: it ends inside model.buffers"
    );
}

#[test]
fn fuzzed_tflite_files_never_panic() {
    let cases = common::fuzz_cases(300);
    let base = read(&upstream(BackboneKind::MobilenetV2));
    // Tables, vtables and small vectors sit outside the large weight buffers: aim most damage
    // at the ends of the file, where they are.
    let near_ends = 1 << 16;
    let mut rng = common::XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut refused, mut crashes) = (0usize, Vec::new());
    for case in 0..cases {
        let mut file = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = match rng.below(3) {
                0 => rng.below(near_ends),
                1 => file.len() - 4 - rng.below(near_ends),
                _ => rng.below(file.len() - 4),
            } & !3;
            let value = rng.interesting(file.len());
            file[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        match std::panic::catch_unwind(|| tflite::read(&file)) {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => refused += 1,
            Err(_) => crashes.push(case),
        }
    }
    eprintln!(
        "tflite fuzz: {cases} inputs tried, {} crashes, {refused} refused",
        crashes.len()
    );
    assert!(crashes.is_empty(), "panics on cases {crashes:?}");
    assert!(
        refused > cases / 10,
        "the mutations reach the checks: {refused} refused"
    );
}

#[test]
fn tflite_layers_do_not_fit_another_architecture() {
    let (convs, classifier) = tflite::read(&read(&upstream(BackboneKind::MobilenetV2))).unwrap();
    let mut v1 = Backbone::init(BackboneKind::MobilenetV1025, &cpu());
    let err = weights::assign(&mut v1, convs, classifier, &cpu()).unwrap_err();
    assert_eq!(err.to_string(), "expected 27 convolutions, found 52");
}

// --- PyTorch ---------------------------------------------------------------------------------

#[test]
fn truncated_or_foreign_pth_files_are_rejected() {
    let file = read(&upstream(BackboneKind::EfficientnetLite0));
    for (name, bytes) in [
        ("half.pth", &file[..file.len() / 2]),
        ("head.pth", &file[..64]),
        ("garbage.pth", &b"this is not a checkpoint"[..]),
    ] {
        let err = import_error(BackboneKind::EfficientnetLite0, &temp_file(name, bytes));
        assert!(
            matches!(
                err,
                WeightsError::Malformed { .. } | WeightsError::Truncated { .. }
            ),
            "{name}: {err}"
        );
    }
}

#[test]
fn pth_missing_a_tensor_names_it() {
    let mut tensors = pytorch::tensors(&upstream(BackboneKind::EfficientnetLite0)).unwrap();
    tensors
        .remove("_blocks.3._bn1.running_var")
        .expect("the checkpoint has this tensor");
    let err = pytorch::layers(&tensors).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing tensor '_blocks.3._bn1.running_var'"
    );
}

#[test]
fn pth_with_a_wrong_kernel_size_is_a_shape_mismatch() {
    let path = upstream(BackboneKind::EfficientnetLite0);
    let mut tensors = pytorch::tensors(&path).unwrap();
    let name = "_blocks.5._depthwise_conv.weight";
    // A 5x5 kernel where the architecture has 3x3.
    tensors.insert(
        name.into(),
        Dense::new(name, vec![240, 1, 5, 5], vec![0.1; 240 * 25]).unwrap(),
    );
    let (convs, classifier) = pytorch::layers(&tensors).unwrap();
    let mut net = Backbone::init(BackboneKind::EfficientnetLite0, &cpu());
    let err = weights::assign(&mut net, convs, classifier, &cpu()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("shape mismatch for '{name}': expected [240, 1, 3, 3], found [240, 1, 5, 5]")
    );
}

// --- TF.js layers ----------------------------------------------------------------------------

fn tfjs_read(model_json: &[u8], truncate_shards: bool) -> Result<(), WeightsError> {
    let dir = upstream(BackboneKind::MobilenetV1025)
        .parent()
        .unwrap()
        .to_path_buf();
    tfjs::read(model_json, |name| {
        let bytes = read(&dir.join(name));
        Ok(if truncate_shards {
            bytes[..bytes.len() / 2].to_vec()
        } else {
            bytes
        })
    })
    .map(|_| ())
}

fn model_json() -> serde_json::Value {
    serde_json::from_slice(&read(&upstream(BackboneKind::MobilenetV1025))).unwrap()
}

/// The manifest entry of weight `name`.
fn manifest_entry<'a>(model: &'a mut serde_json::Value, name: &str) -> &'a mut serde_json::Value {
    model["weightsManifest"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .flat_map(|g| g["weights"].as_array_mut().unwrap().iter_mut())
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("{name} is in the manifest"))
}

#[test]
fn tfjs_with_truncated_shards_is_rejected() {
    let err = tfjs_read(&read(&upstream(BackboneKind::MobilenetV1025)), true).unwrap_err();
    assert!(matches!(err, WeightsError::Truncated { .. }), "{err}");
}

#[test]
fn tfjs_model_json_that_is_not_json_is_rejected() {
    let err = tfjs_read(b"\x89PNG not json", false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("malformed TF.js layers file: model.json:"),
        "{err}"
    );
}

#[test]
fn tfjs_missing_a_weight_names_it() {
    let mut model = model_json();
    for group in model["weightsManifest"].as_array_mut().unwrap() {
        group["weights"]
            .as_array_mut()
            .unwrap()
            .retain(|w| w["name"] != "conv_pw_5_bn/moving_variance");
    }
    let err = tfjs_read(&serde_json::to_vec(&model).unwrap(), false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing tensor 'conv_pw_5_bn/moving_variance'"
    );
}

#[test]
fn tfjs_with_a_reshaped_kernel_is_a_shape_mismatch() {
    let mut model = model_json();
    // [1, 1, 16, 32] -> [1, 1, 32, 16]: as many values, wrong layout.
    manifest_entry(&mut model, "conv_pw_2/kernel")["shape"] = serde_json::json!([1, 1, 32, 16]);
    let path = upstream(BackboneKind::MobilenetV1025);
    let dir = path.parent().unwrap();
    // The kernel now has 16 outputs where its BatchNorm has 32: caught while folding.
    let err = tfjs::read(&serde_json::to_vec(&model).unwrap(), |name| {
        Ok(read(&dir.join(name)))
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch for 'conv_pw_2_bn/gamma': expected [16], found [32]"
    );
}

#[test]
fn tfjs_weight_paths_cannot_leave_the_model_folder() {
    let mut model = model_json();
    model["weightsManifest"][0]["paths"][0] = "../../../etc/passwd".into();
    let err = tfjs_read(&serde_json::to_vec(&model).unwrap(), false).unwrap_err();
    assert!(err.to_string().contains("leaves the model folder"), "{err}");
}

// --- Burnpack records ------------------------------------------------------------------------

fn small_record() -> Vec<u8> {
    let model = common::pretrained(BackboneKind::MobilenetV1025, &cpu());
    record::save(&model.backbone, &model.info).unwrap()
}

#[test]
fn truncated_or_foreign_records_are_rejected() {
    let bytes = small_record();
    for (what, corrupt) in [
        ("empty", Vec::new()),
        ("header only", bytes[..16].to_vec()),
        ("half", bytes[..bytes.len() / 2].to_vec()),
        ("tflite", read(&upstream(BackboneKind::MobilenetV2))),
    ] {
        let err = record::load(corrupt, &cpu()).expect_err(what);
        assert!(matches!(err, WeightsError::Record(_)), "{what}: {err}");
    }
}

#[test]
fn a_record_claiming_another_backbone_does_not_load() {
    let model = common::pretrained(BackboneKind::MobilenetV1025, &cpu());
    let mut info = model.info.clone();
    info.backbone = BackboneKind::EfficientnetLite0;
    let bytes = record::save(&model.backbone, &info).unwrap();
    let err = record::load(bytes, &cpu()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid weight record: the record does not fit efficientnet_lite0"),
        "{err}"
    );
}

#[test]
fn a_record_with_nan_or_infinite_weights_is_rejected_naming_the_tensor() {
    let bytes = small_record();
    let reader = burn::store::burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(
        bytes.clone(),
    ))
    .unwrap();
    let tensors = reader.into_tensors().unwrap();
    for (value, tensor) in [
        (f32::NAN, &tensors[0]),
        (f32::NEG_INFINITY, &tensors[tensors.len() / 2]),
    ] {
        // The tensor's first values, found in the file, and the first of them replaced.
        let data = tensor.to_bytes().unwrap();
        let mut poisoned = bytes.clone();
        let at = poisoned
            .windows(16)
            .position(|w| w == &data[..16])
            .expect("tensor data in the file");
        poisoned[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let err = record::load(poisoned, &cpu()).unwrap_err();
        assert!(
            matches!(&err, WeightsError::NonFinite { name } if *name == tensor.name),
            "{err}"
        );
    }
}
