//! The `magpie` binary's contract: `predict` prints `<path>\t<label>\t<probability>` per image,
//! and exits non-zero with a one-line error on a bad image or bad weights.

use std::process::Command;

use magpie::import::assets_dir;

fn magpie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_magpie"))
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
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0][0].ends_with("chelsea.png") && ["tabby", "tiger cat", "Egyptian cat"].contains(&lines[0][1]), "{stdout}");
    assert!(lines[1][0].ends_with("coffee.png") && ["espresso", "cup"].contains(&lines[1][1]), "{stdout}");
    let p: f32 = lines[1][2].parse().unwrap();
    assert!(p > 0.0 && p <= 1.0, "{stdout}");
}

fn assert_one_line_failure(out: std::process::Output, mentions: &str) {
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("magpie: ") && stderr.contains(mentions), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn predict_fails_with_one_line_on_a_bad_image() {
    let bad = std::env::temp_dir().join(format!("magpie-cli-{}.png", std::process::id()));
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n truncated").unwrap();
    let out = magpie().args(["predict", "--backbone", "mobilenet_v1_025"]).arg(&bad).output().unwrap();
    assert_one_line_failure(out, "bad image");
}

#[test]
fn predict_fails_with_one_line_on_bad_weights() {
    let bad = std::env::temp_dir().join(format!("magpie-cli-{}.bpk", std::process::id()));
    std::fs::write(&bad, b"not a burnpack record").unwrap();
    let image = assets_dir().join("images/chelsea.png");
    let out = magpie().args(["predict", "--backbone", "mobilenet_v2", "--weights"]).arg(&bad).arg(image).output().unwrap();
    assert_one_line_failure(out, "bad weights");
}
