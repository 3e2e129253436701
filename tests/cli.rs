//! The `magpie` binary's contract: `predict` prints `<path>\t<label>\t<probability>` per image,
//! and exits non-zero with a one-line error on a bad image or bad weights.

mod common;

use std::process::Command;

use magpie::image::RgbaImage;
use magpie::weights::assets::assets_dir;

fn magpie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_magpie"))
}

/// Asserts a run of `magpie` succeeded, showing its errors if not.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn predict_prints_one_tab_separated_line_per_image() {
    let images = assets_dir().join("images");
    let out = magpie()
        .args(["predict", "--backbone", "mobilenet_v1_025"])
        .arg(images.join("chelsea.png"))
        .arg(images.join("coffee.png"))
        .output()
        .unwrap();
    succeeded(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0][0].ends_with("chelsea.png")
            && ["tabby", "tiger cat", "Egyptian cat"].contains(&lines[0][1]),
        "{stdout}"
    );
    assert!(
        lines[1][0].ends_with("coffee.png") && ["espresso", "cup"].contains(&lines[1][1]),
        "{stdout}"
    );
    let p: f32 = lines[1][2].parse().unwrap();
    assert!(p > 0.0 && p <= 1.0, "{stdout}");
}

fn assert_one_line_failure(out: std::process::Output, mentions: &str) {
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("magpie: ") && stderr.contains(mentions),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn predict_fails_with_one_line_on_a_bad_image() {
    let bad = std::env::temp_dir().join(format!("magpie-cli-{}.png", std::process::id()));
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n truncated").unwrap();
    let out = magpie()
        .args(["predict", "--backbone", "mobilenet_v1_025"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_one_line_failure(out, "bad image");
}

#[test]
fn predict_fails_with_one_line_on_bad_weights() {
    let bad = std::env::temp_dir().join(format!("magpie-cli-{}.bpk", std::process::id()));
    std::fs::write(&bad, b"not a burnpack record").unwrap();
    let image = assets_dir().join("images/chelsea.png");
    let out = magpie()
        .args(["predict", "--backbone", "mobilenet_v2", "--weights"])
        .arg(&bad)
        .arg(image)
        .output()
        .unwrap();
    assert_one_line_failure(out, "bad weights");
}

/// A folder of `classes` x `per_class` Sign Language Digits photos (symlinks), like a user's.
fn digits_folder(name: &str, classes: &[&str], per_class: usize) -> std::path::PathBuf {
    let source = assets_dir().join("datasets/sign-language-digits/Dataset");
    let dir = std::env::temp_dir().join(format!("magpie-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for class in classes {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(source.join(class))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files.iter().take(per_class) {
            std::os::unix::fs::symlink(file, dir.join(class).join(file.file_name().unwrap()))
                .unwrap();
        }
    }
    dir
}

#[test]
fn train_eval_and_predict_with_a_trained_model() {
    let data = digits_folder("train", &["0", "5", "9"], 12);
    let model = data.join("model.bpk");
    let out = magpie()
        .args([
            "train",
            "--backbone",
            "mobilenet_v1_025",
            "--epochs",
            "20",
            "--augment",
            "1",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("epoch   1  loss"), "{stderr}");
    // 12 per class, 15 % held out: 1 per class.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("validation (3 images)"), "{stdout}");

    let out = magpie()
        .args(["eval", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    succeeded(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let accuracy: f32 = stdout
        .lines()
        .last()
        .unwrap()
        .strip_prefix("accuracy=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        accuracy > 0.8,
        "accuracy on its own training photos: {stdout}"
    );

    let photo = std::fs::read_dir(data.join("5"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = magpie()
        .args(["predict", "--model"])
        .arg(&model)
        .arg(&photo)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = stdout.trim().split('\t').collect();
    assert_eq!(fields.len(), 3, "{stdout}");
    assert!(["0", "5", "9"].contains(&fields[1]), "{stdout}");
    export_runs_as_predict_does(&model, &photo, &fields);
    tflite_export_runs_as_predict_does(&model, &data, &photo, &fields);

    // One class is not a classification problem: one line, exit status 2.
    let one = digits_folder("one", &["3"], 3);
    let out = magpie()
        .args(["train", "--data"])
        .arg(&one)
        .arg("--out")
        .arg(one.join("m.bpk"))
        .output()
        .unwrap();
    assert_one_line_failure(out, "only one class ('3')");
    // A model file that is not one.
    let out = magpie()
        .args(["predict", "--model"])
        .arg(&photo)
        .arg(&photo)
        .output()
        .unwrap();
    assert_one_line_failure(out, "not a magpie model file");
    std::fs::remove_dir_all(data).unwrap();
    std::fs::remove_dir_all(one).unwrap();
}

/// `magpie export --format tflite` writes a TF-Lite file (and, for a `.zip`, the file with
/// `labels.txt`) that LiteRT runs with the top class `magpie predict` printed (`predicted`), in
/// f32 and in int8 calibrated on `data`; int8 without `--calibration`, and a truncated model,
/// fail in one line and leave no file.
fn tflite_export_runs_as_predict_does(
    model: &std::path::Path,
    data: &std::path::Path,
    photo: &std::path::Path,
    predicted: &[&str],
) {
    let dir = model.parent().unwrap();
    let image = RgbaImage::decode(&std::fs::read(photo).unwrap()).unwrap();
    for (precision, file, calibration) in [
        ("f32", "model.tflite", None),
        ("int8", "model.int8.zip", Some(data)),
    ] {
        let target = dir.join(file);
        succeeded(&export_tflite(model, precision, calibration, &target));
        let tflite = if file.ends_with(".zip") {
            let files = magpie::project::zip::read(
                &std::fs::read(&target).unwrap(),
                &magpie::project::LIMITS,
            )
            .unwrap();
            let names: Vec<&str> = files.keys().map(String::as_str).collect();
            assert_eq!(names, ["labels.txt", "model.tflite"]);
            assert_eq!(
                String::from_utf8(files["labels.txt"].clone()).unwrap(),
                "0 0\n1 5\n2 9\n"
            );
            let unzipped = dir.join("unzipped.tflite");
            std::fs::write(&unzipped, &files["model.tflite"]).unwrap();
            unzipped
        } else {
            target
        };
        let run = common::litert(&tflite, std::slice::from_ref(&image), "AUTO");
        let probabilities = &run.probabilities[0];
        let best = (0..probabilities.len())
            .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
            .unwrap();
        assert_eq!(run.labels[best], predicted[1], "{precision}");
        let printed: f32 = predicted[2].parse().unwrap();
        let bound = if precision == "f32" { 1e-3 } else { 0.1 };
        assert!(
            (probabilities[best] - printed).abs() < bound,
            "{precision}: LiteRT {probabilities:?}, predict {predicted:?}"
        );
    }
    let truncated = dir.join("truncated-for-tflite.bpk");
    let bytes = std::fs::read(model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    for (bad, calibration, says) in [
        (truncated.as_path(), Some(data), "truncated-for-tflite.bpk"),
        (model, None, "give --calibration DIR"),
    ] {
        let target = dir.join("bad.tflite");
        assert_one_line_failure(export_tflite(bad, "int8", calibration, &target), says);
        assert!(!target.exists(), "no file after a failed export");
        let partial = dir.join(".bad.tflite.partial");
        assert!(!partial.exists(), "no partial file after a failed export");
    }
}

/// `magpie export --format tflite` of `model` in `precision` (calibrated on `calibration`) to
/// `target`.
fn export_tflite(
    model: &std::path::Path,
    precision: &str,
    calibration: Option<&std::path::Path>,
    target: &std::path::Path,
) -> std::process::Output {
    let mut command = magpie();
    command
        .args([
            "export",
            "--format",
            "tflite",
            "--precision",
            precision,
            "--model",
        ])
        .arg(model)
        .arg("--out")
        .arg(target);
    if let Some(data) = calibration {
        command.arg("--calibration").arg(data);
    }
    command.output().unwrap()
}

/// `magpie export` writes an ONNX file whose top class and probability for `photo`, run by
/// onnxruntime, are what `magpie predict` printed (`predicted`); a corrupt or missing model
/// gives a one-line error and leaves no file.
fn export_runs_as_predict_does(
    model: &std::path::Path,
    photo: &std::path::Path,
    predicted: &[&str],
) {
    let onnx = model.with_extension("onnx");
    let out = magpie()
        .args(["export", "--format", "onnx", "--model"])
        .arg(model)
        .arg("--out")
        .arg(&onnx)
        .output()
        .unwrap();
    succeeded(&out);
    let image = RgbaImage::decode(&std::fs::read(photo).unwrap()).unwrap();
    let run = common::onnxruntime(&onnx, &[image], 224);
    let probabilities = &run.probabilities[0];
    let best = (0..probabilities.len())
        .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
        .unwrap();
    assert_eq!(run.labels[best], predicted[1]);
    let printed: f32 = predicted[2].parse().unwrap();
    assert!(
        (probabilities[best] - printed).abs() < 1e-4,
        "onnxruntime {probabilities:?}, predict {predicted:?}"
    );

    let dir = model.parent().unwrap();
    let truncated = dir.join("truncated.bpk");
    let bytes = std::fs::read(model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    for (bad, says) in [
        (truncated, "truncated.bpk"),
        (dir.join("none.bpk"), "cannot read model"),
    ] {
        let target = dir.join("bad.onnx");
        let out = magpie()
            .args(["export", "--model"])
            .arg(&bad)
            .arg("--out")
            .arg(&target)
            .output()
            .unwrap();
        assert_one_line_failure(out, says);
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("onnx"))
            .collect();
        assert_eq!(left, ["model.onnx"], "nothing but the good export");
    }
}
