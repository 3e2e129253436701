//! Each pretrained backbone classifies real photos correctly, on the CPU backend and on wgpu
//! (Mesa lavapipe here), and both backends compute the same features.

mod common;

use common::{cpu, expected, photo, pretrained};
use magpie::backbone::{BackboneKind, RowKind, SPATIAL_CUT};
use magpie::device::{BackendKind, device};
use magpie::image::RgbaImage;
use magpie::weights::{Precision, record};

/// Photos MobileNetV1 0.25 (about 50 % ImageNet top-1) gets wrong at top-1 with faithful weights:
/// an independent NumPy implementation of the same TF.js model, with PIL's resize, also answers
/// "bow tie" for grace_hopper.bmp and "mosque" for rocket.jpg. For these, top-5 must hold an
/// acceptable label.
const V1_HARD: [&str; 3] = ["grace_hopper.bmp", "rocket.jpg", "dragonfly.bmp"];

fn classifies_every_expected_photo(kind: BackboneKind) {
    let device = cpu();
    let model = pretrained(kind, &device);
    let rows = expected();
    let images: Vec<_> = rows.iter().map(|(file, _)| photo(file)).collect();
    let views: Vec<_> = images.iter().map(|i| i.view()).collect();
    let results =
        pollster::block_on(model.classify(&views, 5, &device)).expect("classification runs");
    let mut wrong = Vec::new();
    for ((file, acceptable), top) in rows.iter().zip(&results) {
        let best = &top[0];
        println!("{kind}\t{file}\t{}\t{:.3}", best.label, best.probability);
        let hard = kind == BackboneKind::MobilenetV1025 && V1_HARD.contains(&file.as_str());
        let considered = if hard { &top[..] } else { &top[..1] };
        if !considered.iter().any(|p| acceptable.contains(&p.label)) {
            wrong.push(format!(
                "{file}: got '{}' ({:.3}), expected one of {acceptable:?}",
                best.label, best.probability
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{kind} misclassified:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn mobilenet_v2_classifies_every_expected_photo() {
    classifies_every_expected_photo(BackboneKind::MobilenetV2);
}

#[test]
fn efficientnet_lite0_classifies_every_expected_photo() {
    classifies_every_expected_photo(BackboneKind::EfficientnetLite0);
}

#[test]
fn mobilenet_v1_025_classifies_every_expected_photo() {
    classifies_every_expected_photo(BackboneKind::MobilenetV1025);
}

/// max |a - b| / max |a| over all values.
fn relative_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    let max_abs = a.iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
    let max_diff = a
        .iter()
        .flatten()
        .zip(b.iter().flatten())
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    max_diff / max_abs
}

#[test]
fn wgpu_features_equal_cpu_features_for_every_backbone() {
    let gpu = pollster::block_on(device(BackendKind::Wgpu))
        .expect("a Vulkan adapter (Mesa lavapipe) is installed");
    let images = [photo("chelsea.png"), photo("coffee.png")];
    let views: Vec<_> = images.iter().map(|i| i.view()).collect();
    // VGG16's weights are the user's to bring: tests/vgg16.rs checks it with generated ones.
    for kind in BackboneKind::ALL
        .into_iter()
        .filter(|k| *k != BackboneKind::Vgg16)
    {
        let on_cpu = pretrained(kind, &cpu());
        let cpu_features = pollster::block_on(on_cpu.embed(&views, &cpu())).unwrap();
        let on_gpu = pretrained(kind, &gpu);
        let gpu_features = pollster::block_on(on_gpu.embed(&views, &gpu)).unwrap();
        assert_eq!(gpu_features.len(), 2);
        assert_eq!(gpu_features[0].len(), kind.feature_dim());
        let diff = relative_difference(&cpu_features, &gpu_features);
        println!("{kind}: max |wgpu - cpu| / max |cpu| = {diff:.2e}");
        assert!(
            diff < 1e-3,
            "{kind}: wgpu and cpu features differ by {diff}"
        );
        let top = pollster::block_on(on_gpu.classify(&views, 1, &gpu)).unwrap();
        assert!(
            ["Egyptian cat", "tabby", "tiger cat"].contains(&top[0][0].label.as_str()),
            "{kind} on wgpu: {:?}",
            top[0]
        );
        assert!(
            ["espresso", "cup"].contains(&top[1][0].label.as_str()),
            "{kind} on wgpu: {:?}",
            top[1]
        );
    }
}

/// The central `size` x `size` pixels of `image` (no resampling: the reference takes the same).
fn central_window(image: &RgbaImage, size: usize) -> RgbaImage {
    let (left, top) = ((image.width - size) / 2, (image.height - size) / 2);
    let pixels = (top..top + size)
        .flat_map(|y| {
            let start = (y * image.width + left) * 4;
            image.pixels[start..start + size * 4].iter().copied()
        })
        .collect();
    RgbaImage {
        width: size,
        height: size,
        pixels,
    }
}

/// EfficientNet-Lite0 computes what its upstream model code (PyPI `efficientnet-lite-pytorch`
/// 0.1.0, TF `SAME` padding) computes on the same weights and pixels:
/// `tests/fixtures/efficientnet_lite0_reference.json`, written by
/// `scripts/reference/efficientnet_lite0.sh`.
#[test]
fn efficientnet_lite0_features_equal_the_upstream_model_code() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/efficientnet_lite0_reference.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let device = cpu();
    let kind = BackboneKind::EfficientnetLite0;
    let model = pretrained(kind, &device);
    for reference in fixture["photos"].as_array().unwrap() {
        let file = reference["file"].as_str().unwrap();
        let window = central_window(&photo(file), kind.input_size());
        let ours = pollster::block_on(model.embed(&[window.view()], &device)).unwrap();
        let theirs: Vec<f32> = reference["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let diff = relative_difference(&[theirs], &ours);
        println!("{file}: max |ours - upstream| / max |upstream| = {diff:.2e}");
        assert!(
            diff < 1e-3,
            "{file}: features differ from upstream by {diff}"
        );
        let top = pollster::block_on(model.classify(&[window.view()], 5, &device)).unwrap();
        let ours_top5: Vec<u64> = top[0].iter().map(|p| p.index as u64).collect();
        let theirs_top5: Vec<u64> = reference["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ours_top5[0], theirs_top5[0], "{file}: top-1 differs");
    }
}

#[test]
fn f16_records_keep_the_predictions_and_halve_the_size() {
    let device = cpu();
    let kind = BackboneKind::MobilenetV1025;
    let mut model = pretrained(kind, &device);
    let f32_bytes = record::save(&model.backbone, &model.info).unwrap();
    model.info.precision = Precision::F16;
    let f16_bytes = record::save(&model.backbone, &model.info).unwrap();
    assert!(
        f16_bytes.len() * 10 < f32_bytes.len() * 6,
        "{} vs {} bytes",
        f16_bytes.len(),
        f32_bytes.len()
    );
    let half = record::load(f16_bytes, &device).unwrap();
    assert_eq!(half.info.precision, Precision::F16);
    let images = [photo("chelsea.png"), photo("coffee.png")];
    let views: Vec<_> = images.iter().map(|i| i.view()).collect();
    let a = pollster::block_on(model.embed(&views, &device)).unwrap();
    let b = pollster::block_on(half.embed(&views, &device)).unwrap();
    let diff = relative_difference(&a, &b);
    assert!(diff < 2e-2, "f16 features differ by {diff}");
}

#[test]
fn int8_records_keep_the_predictions_at_a_quarter_of_the_size() {
    let device = cpu();
    let images = [photo("chelsea.png"), photo("coffee.png")];
    let views: Vec<_> = images.iter().map(|i| i.view()).collect();
    // MobileNetV2's weights are the TF-Lite file's own int8 values: stored back as int8 they
    // are exact. EfficientNet-Lite0 was trained in float and moves a little (MobileNetV1 0.25,
    // with its thin layers, moves too much: it is served in f16).
    for (kind, tolerance) in [
        (BackboneKind::MobilenetV2, 1e-6),
        (BackboneKind::EfficientnetLite0, 0.1),
    ] {
        let mut model = pretrained(kind, &device);
        let f32_bytes = record::save(&model.backbone, &model.info).unwrap();
        model.info.precision = Precision::Int8;
        let bytes = record::save(&model.backbone, &model.info).unwrap();
        assert!(
            bytes.len() * 10 < f32_bytes.len() * 3,
            "{kind}: {} vs {} bytes",
            bytes.len(),
            f32_bytes.len()
        );
        let quantized = record::load(bytes.clone(), &device).unwrap();
        assert_eq!(quantized.info.precision, Precision::Int8);
        let diff = relative_difference(
            &pollster::block_on(model.embed(&views, &device)).unwrap(),
            &pollster::block_on(quantized.embed(&views, &device)).unwrap(),
        );
        println!(
            "{kind}: int8 record, {} bytes, features differ by {diff:.2e}",
            bytes.len()
        );
        assert!(diff < tolerance, "{kind}: int8 features differ by {diff}");
        let top = pollster::block_on(quantized.classify(&views, 1, &device)).unwrap();
        assert!(
            ["Egyptian cat", "tabby", "tiger cat"].contains(&top[0][0].label.as_str()),
            "{kind}: {:?}",
            top[0]
        );
        assert!(
            ["espresso", "cup"].contains(&top[1][0].label.as_str()),
            "{kind}: {:?}",
            top[1]
        );
        // Damaged scales are refused with a message, not loaded as garbage.
        let mut damaged = bytes.clone();
        let key = damaged
            .windows(13)
            .position(|w| w == b"magpie.scales")
            .expect("the scales are in the metadata");
        let at = key
            + damaged[key..]
                .windows(3)
                .position(|w| w == b"],\"")
                .expect("a scales list ends in the metadata");
        damaged[at] = b'}';
        let error = record::load(damaged, &device).unwrap_err().to_string();
        assert!(error.contains("int8 scales"), "{error}");
    }
}

#[test]
fn spatial_rows_hold_the_pooled_embedding_then_the_cut_activations() {
    let device = cpu();
    let images = [photo("chelsea.png"), photo("coffee.png")];
    let views: Vec<_> = images.iter().map(|i| i.view()).collect();
    for kind in [BackboneKind::MobilenetV2, BackboneKind::EfficientnetLite0] {
        let model = pretrained(kind, &device);
        let batch = || magpie::image::preprocess(&views, kind, &device);
        let (rows, shape) = model.backbone.rows(batch(), RowKind::Spatial);
        let [c, h, w] = kind.spatial_shape().unwrap();
        let dim = kind.feature_dim();
        assert_eq!(shape, [dim + c * h * w]);
        let rows = rows.into_data().try_to_vec::<f32>().unwrap();
        let pooled = model
            .backbone
            .features(batch())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let map = model.backbone.prefix(batch(), SPATIAL_CUT);
        assert_eq!(map.dims(), [2, c, h, w]);
        let map = map.into_data().try_to_vec::<f32>().unwrap();
        for i in 0..2 {
            let row = &rows[i * shape[0]..(i + 1) * shape[0]];
            assert_eq!(
                &row[..dim],
                &pooled[i * dim..(i + 1) * dim],
                "{kind}: the pooled part"
            );
            assert_eq!(
                &row[dim..],
                &map[i * c * h * w..(i + 1) * c * h * w],
                "{kind}: the map part"
            );
        }
    }
    // Backbones without a spatial map give pooled rows.
    assert_eq!(
        RowKind::of(
            BackboneKind::MobilenetV1025,
            magpie::backbone::Features::Spatial,
            0
        ),
        RowKind::Pooled
    );
}
