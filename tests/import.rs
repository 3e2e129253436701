//! Archives from elsewhere opened as a project (`magpie::project::import`): Teachable Machine's
//! real training-data zip (class folders with macOS debris), a Teachable Machine project, one
//! class's samples, nested class folders; and hostile archives (unsafe paths, a file that is not
//! the image its name says, an oversized entry, thousands of files that are no images, more
//! images than a project takes) refused with a message, nothing returned.

mod common;

use std::collections::BTreeMap;

use common::sign_digits_dir;
use magpie::backbone::BackboneKind;
use magpie::project::import::{Imported, MAX_IMPORTED_SAMPLES, Source, import, import_files};
use magpie::project::{LIMITS, Project, ProjectError, zip};
use magpie::weights::assets::assets_dir;

/// The first `n` Sign Language Digits photos of `digit`, as their JPEG bytes.
fn jpegs(digit: &str, n: usize) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(sign_digits_dir().join(digit))
        .unwrap_or_else(|e| panic!("{e} (run scripts/weights.sh)"))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .take(n)
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// A zip of `files` (name → bytes).
fn zipped(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    zip::write(&files.iter().cloned().collect())
}

/// Class names and sample counts of an imported project.
fn classes(imported: &Imported) -> Vec<(String, usize)> {
    let manifest = &imported.project.manifest;
    manifest
        .classes
        .iter()
        .map(|c| (c.name.clone(), c.samples.len()))
        .collect()
}

/// Asserts the import of `bytes` is refused with a message containing `word`.
fn refused(bytes: &[u8], word: &str) {
    match import(bytes, "hostile.zip", BackboneKind::default()) {
        Ok(imported) => panic!("imported {:?}, expected a refusal", classes(&imported)),
        Err(error) => assert!(error.to_string().contains(word), "{error}"),
    }
}

#[test]
fn teachable_machines_training_data_opens_as_its_classes_without_the_macos_debris() {
    let path = assets_dir().join("teachable-machine/image-model-data.zip");
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", path.display()));
    // What the archive holds, by folder: the PNGs outside __MACOSX.
    let mut expected: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut debris = 0;
    for (name, data) in zip::read(&bytes, &LIMITS).unwrap() {
        match name.split_once('/') {
            Some((folder, file)) if folder != "__MACOSX" && file.ends_with(".png") => {
                expected.entry(folder.to_string()).or_default().push(data)
            }
            _ => debris += 1,
        }
    }
    let imported = import(&bytes, "image-model-data.zip", BackboneKind::MobilenetV2).unwrap();
    assert_eq!(imported.source, Source::ClassFolders);
    let counts: Vec<(String, usize)> = expected.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    assert_eq!(
        counts.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["Class 1", "Class 2"]
    );
    assert!(counts.iter().all(|c| c.1 >= 10), "{counts:?}");
    assert_eq!(classes(&imported), counts);
    assert_eq!(
        imported.skipped.debris, debris,
        "every .DS_Store and __MACOSX entry skipped"
    );
    assert!(debris >= 3);
    // Every image kept byte for byte, as a PNG sample.
    let project = &imported.project;
    for (class, images) in project.manifest.classes.iter().zip(expected.values()) {
        let mut kept: Vec<&Vec<u8>> = class
            .samples
            .iter()
            .map(|s| &project.files[&s.file])
            .collect();
        let mut wanted: Vec<&Vec<u8>> = images.iter().collect();
        kept.sort();
        wanted.sort();
        assert_eq!(kept, wanted, "{}", class.name);
        assert!(class.samples.iter().all(|s| s.file.ends_with(".png")));
    }
    assert_eq!(project.manifest.name, "image-model-data");
    assert_eq!(project.manifest.backbone, BackboneKind::MobilenetV2);
    // It is a project like any other: it writes and reads back whole.
    assert_eq!(&Project::read(&project.write().unwrap()).unwrap(), project);
}

#[test]
fn a_teachable_machine_project_opens_with_its_classes_in_order_and_its_settings() {
    let manifest = br#"{"type":"image","version":"2.4.4","appdata":{"trainEpochs":80,"trainBatchSize":32,"trainLearningRate":0.0005}}"#;
    let mut files = vec![("manifest.json".to_string(), manifest.to_vec())];
    for (class, digit, n) in [("Thumbs up", "0", 12), ("Fist", "5", 9)] {
        for (i, jpeg) in jpegs(digit, n).into_iter().enumerate() {
            files.push((format!("{class}-!-{i}.jpg"), jpeg));
        }
    }
    let imported = import(&zipped(&files), "Gestures.tm", BackboneKind::default()).unwrap();
    assert_eq!(imported.source, Source::TeachableMachine);
    assert_eq!(
        classes(&imported),
        [("Fist".to_string(), 9), ("Thumbs up".to_string(), 12)]
    );
    let project = &imported.project;
    assert_eq!(project.manifest.name, "Gestures");
    assert_eq!(project.manifest.settings["epochs"], 80.0);
    assert_eq!(project.manifest.settings["batchSize"], 32.0);
    assert_eq!(project.manifest.settings["learningRate"], 0.0005);
    // Samples in the order Teachable Machine numbered them: 0, 1, 2, … 10, 11.
    let thumbs = &project.manifest.classes[1];
    let firsts: Vec<&Vec<u8>> = thumbs
        .samples
        .iter()
        .map(|s| &project.files[&s.file])
        .collect();
    let wanted = jpegs("0", 12);
    assert_eq!(firsts, wanted.iter().collect::<Vec<_>>());
}

#[test]
fn one_classs_samples_and_nested_class_folders_open() {
    let samples: Vec<(String, Vec<u8>)> = jpegs("3", 7)
        .into_iter()
        .enumerate()
        .map(|(i, jpeg)| (format!("{i}.jpg"), jpeg))
        .collect();
    let imported = import(
        &zipped(&samples),
        "Peace-samples.zip",
        BackboneKind::default(),
    )
    .unwrap();
    assert_eq!(imported.source, Source::Samples);
    assert_eq!(classes(&imported), [("Peace".to_string(), 7)]);

    let mut nested = vec![
        ("dataset/README.txt".to_string(), b"Sign digits".to_vec()),
        ("dataset/labels.csv".to_string(), b"file,label".to_vec()),
        (
            "dataset/train/zero/.hidden.jpg".to_string(),
            b"not even a jpeg".to_vec(),
        ),
        (
            "dataset/train/zero/scan.webp".to_string(),
            b"RIFF....WEBP".to_vec(),
        ),
    ];
    for (split, n) in [("train", 5), ("test", 2)] {
        for (digit, class) in [("0", "zero"), ("1", "one")] {
            for (i, jpeg) in jpegs(digit, n).into_iter().enumerate() {
                nested.push((format!("dataset/{split}/{class}/{split}-{i}.JPG"), jpeg));
            }
        }
    }
    let imported = import(&zipped(&nested), "digits.zip", BackboneKind::default()).unwrap();
    assert_eq!(imported.source, Source::ClassFolders);
    assert_eq!(
        classes(&imported),
        [("one".to_string(), 7), ("zero".to_string(), 7)],
        "train/zero and test/zero are one class"
    );
    assert_eq!(
        (
            imported.skipped.not_images,
            imported.skipped.other_formats,
            imported.skipped.debris
        ),
        (2, 1, 1)
    );
}

#[test]
fn our_own_project_files_open_as_they_are() {
    let samples: Vec<(String, Vec<u8>)> = jpegs("4", 3)
        .into_iter()
        .enumerate()
        .map(|(i, jpeg)| (format!("four/{i}.jpg"), jpeg))
        .collect();
    let project = import(
        &zipped(&samples),
        "fours.zip",
        BackboneKind::EfficientnetLite0,
    )
    .unwrap()
    .project;
    let reopened = import(
        &project.write().unwrap(),
        "anything.zip",
        BackboneKind::MobilenetV2,
    )
    .unwrap();
    assert_eq!(reopened.source, Source::Magpie);
    assert_eq!(
        reopened.project, project,
        "its own backbone and everything else kept"
    );
}

#[test]
fn hostile_archives_are_refused_with_a_message() {
    let jpeg = jpegs("2", 1).remove(0);
    // Paths that would escape a folder.
    for path in [
        "../evil.jpg",
        "a/../../evil.jpg",
        "/etc/evil.jpg",
        "C:\\evil.jpg",
    ] {
        refused(
            &zipped(&[
                ("ok/1.jpg".into(), jpeg.clone()),
                (path.into(), jpeg.clone()),
            ]),
            "unsafe entry name",
        );
    }
    // A file that is not the image its name says.
    refused(
        &zipped(&[
            ("cats/1.jpg".into(), jpeg.clone()),
            ("cats/2.jpg".into(), b"<html>".to_vec()),
        ]),
        "cats/2.jpg is not a JPEG image",
    );
    refused(
        &zipped(&[("cats/1.png".into(), jpeg.clone())]),
        "cats/1.png is not a PNG image",
    );
    // An entry larger than a project takes.
    refused(
        &zipped(&[("big/1.jpg".into(), vec![0xFF; LIMITS.entry_bytes + 1])]),
        "too large",
    );
    // Images both at the top and in folders: no one layout.
    refused(
        &zipped(&[
            ("1.jpg".into(), jpeg.clone()),
            ("cats/2.jpg".into(), jpeg.clone()),
        ]),
        "not in a class folder",
    );
    // 10,000 tiny files, none an image.
    let tiny: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| (format!("junk/{i}.txt"), vec![b'x']))
        .collect();
    refused(&zipped(&tiny), "holds no JPEG or PNG images");
    // More images than a project takes.
    let many: Vec<(String, Vec<u8>)> = (0..=MAX_IMPORTED_SAMPLES)
        .map(|i| (format!("c{}/{i}.png", i % 3), b"\x89PNG\r\n\x1a\n".to_vec()))
        .collect();
    refused(
        &zipped(&many),
        &format!("a project takes at most {MAX_IMPORTED_SAMPLES}"),
    );
    // Not a zip at all.
    assert!(matches!(
        import(b"hello", "x.zip", BackboneKind::default()),
        Err(ProjectError::Archive(_))
    ));
}

#[test]
fn a_picked_or_dropped_folders_files_open_as_an_archives_do() {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (digit, class) in [("6", "six"), ("9", "nine")] {
        for (i, jpeg) in jpegs(digit, 4).into_iter().enumerate() {
            files.insert(format!("Hands/{class}/{i}.jpg"), jpeg);
        }
    }
    files.insert("Hands/.DS_Store".into(), vec![0; 8]);
    let imported = import_files(files.clone(), "Hands", BackboneKind::default()).unwrap();
    assert_eq!(imported.source, Source::ClassFolders);
    assert_eq!(
        classes(&imported),
        [("nine".to_string(), 4), ("six".to_string(), 4)]
    );
    assert_eq!(imported.project.manifest.name, "Hands");
    // The checks a zip's entries get: safe paths and sizes.
    let mut escaping = files.clone();
    escaping.insert("../outside.jpg".into(), jpegs("6", 1).remove(0));
    let error = import_files(escaping, "Hands", BackboneKind::default()).unwrap_err();
    assert!(error.to_string().contains("unsafe entry name"), "{error}");
    let mut huge = files;
    huge.insert(
        "Hands/six/huge.jpg".into(),
        vec![0xFF; LIMITS.entry_bytes + 1],
    );
    let error = import_files(huge, "Hands", BackboneKind::default()).unwrap_err();
    assert!(matches!(error, ProjectError::TooLarge(_)), "{error}");
}
