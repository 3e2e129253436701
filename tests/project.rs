//! The project file (`docs/project-format.md`): real photos and a real trained model survive a
//! write/read round trip byte for byte; zips from other tools (deflated, with directories,
//! extra fields and data descriptors) are read; every kind of bad file is refused with a clear
//! [`ProjectError`], and ~20,000 mutated files never make the reader panic.

mod common;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use common::signs_project::fixtures;
use common::{XorShift, cpu, pretrained};
use magpie::backbone::BackboneKind;
use magpie::classifier;
use magpie::image::RgbaImage;
use magpie::project::{
    self, ClassEntry, FORMAT, LIMITS, MANIFEST, Manifest, Project, ProjectError, SampleEntry,
    VERSION,
};
use pollster::block_on;
use serde_json::{Value, json};

/// The fixture's manifest as JSON, to edit freely.
fn manifest_json(project: &Project) -> Value {
    serde_json::to_value(&project.manifest).unwrap()
}

/// A zip (written by the crate's own writer, which does not validate) of `files` plus
/// `project.json` holding `manifest`.
fn pack(manifest: &Value, files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut files = files.clone();
    files.insert(MANIFEST.to_string(), serde_json::to_vec(manifest).unwrap());
    project::zip::write(&files)
}

/// The fixture with its manifest edited by `edit`, packed.
fn with_manifest(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let project = &fixtures().project;
    let mut manifest = manifest_json(project);
    edit(&mut manifest);
    pack(&manifest, &project.files)
}

fn kind(error: &ProjectError) -> &'static str {
    match error {
        ProjectError::Archive(_) => "Archive",
        ProjectError::TooLarge(_) => "TooLarge",
        ProjectError::Manifest(_) => "Manifest",
        ProjectError::Model(_) => "Model",
        ProjectError::Unrecognized(_) => "Unrecognized",
    }
}

/// Asserts `result` is the error `expected` (variant name) whose message contains `word`.
#[track_caller]
fn refused<T>(result: Result<T, ProjectError>, expected: &str, word: &str) {
    let Err(error) = result else {
        panic!("must be refused (expected {expected}: …{word}…), but was accepted")
    };
    let message = error.to_string();
    assert_eq!(kind(&error), expected, "{message}");
    assert!(
        message.contains(word),
        "{message:?} should mention {word:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A zip writer that behaves like other tools: deflate, extra fields, directory entries, data
// descriptors, an archive comment, and knobs to produce broken archives.

#[derive(Clone)]
struct Entry {
    name: Vec<u8>,
    data: Vec<u8>,
    deflate: bool,
    flags: u16,
    /// Uncompressed size written in the headers (default: the real size).
    size: Option<u32>,
    /// CRC-32 written in the headers (default: the real one).
    crc: Option<u32>,
    /// Compression method written in the headers (default: 8 or 0).
    method: Option<u16>,
    /// Write sizes and CRC in a data descriptor after the data (flag bit 3).
    descriptor: bool,
}

fn entry(name: &str, data: &[u8]) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        data: data.to_vec(),
        deflate: true,
        flags: 1 << 11,
        size: None,
        crc: None,
        method: None,
        descriptor: false,
    }
}

fn le16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn le32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A zip in the style of Info-ZIP / OS archivers: version made by Unix, DOS timestamps,
/// an extended-timestamp extra field (longer in the local header than in the central one), and
/// a trailing archive comment.
fn build_zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let stored = if e.deflate {
            miniz_oxide::deflate::compress_to_vec(&e.data, 9)
        } else {
            e.data.clone()
        };
        let method = e.method.unwrap_or(if e.deflate { 8 } else { 0 });
        let crc = e.crc.unwrap_or_else(|| crc32fast::hash(&e.data));
        let size = e.size.unwrap_or(e.data.len() as u32);
        let flags = e.flags | if e.descriptor { 1 << 3 } else { 0 };
        let local_extra = [
            0x55, 0x54, 9, 0, 3, 0x10, 0x32, 0x54, 0x65, 0x10, 0x32, 0x54, 0x65,
        ];
        let central_extra = [0x55, 0x54, 5, 0, 3, 0x10, 0x32, 0x54, 0x65];
        let offset = out.len() as u32;
        le32(&mut out, 0x0403_4b50);
        le16(&mut out, 20);
        le16(&mut out, flags);
        le16(&mut out, method);
        le16(&mut out, 0x6a4c); // 13:18:24
        le16(&mut out, 0x5a95); // 2025-04-21
        let (local_crc, local_compressed, local_size) = if e.descriptor {
            (0, 0, 0)
        } else {
            (crc, stored.len() as u32, size)
        };
        le32(&mut out, local_crc);
        le32(&mut out, local_compressed);
        le32(&mut out, local_size);
        le16(&mut out, e.name.len() as u16);
        le16(&mut out, local_extra.len() as u16);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&local_extra);
        out.extend_from_slice(&stored);
        if e.descriptor {
            le32(&mut out, 0x0807_4b50);
            le32(&mut out, crc);
            le32(&mut out, stored.len() as u32);
            le32(&mut out, size);
        }
        le32(&mut central, 0x0201_4b50);
        le16(&mut central, 0x031e); // made by: Unix, 3.0
        le16(&mut central, 20);
        le16(&mut central, flags);
        le16(&mut central, method);
        le16(&mut central, 0x6a4c);
        le16(&mut central, 0x5a95);
        le32(&mut central, crc);
        le32(&mut central, stored.len() as u32);
        le32(&mut central, size);
        le16(&mut central, e.name.len() as u16);
        le16(&mut central, central_extra.len() as u16);
        le16(&mut central, 0); // comment
        le16(&mut central, 0); // disk
        le16(&mut central, 0); // internal attributes
        le32(&mut central, 0o100644 << 16); // Unix mode
        le32(&mut central, offset);
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&central_extra);
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let comment = b"written by another tool";
    le32(&mut out, 0x0605_4b50);
    le16(&mut out, 0);
    le16(&mut out, 0);
    le16(&mut out, entries.len() as u16);
    le16(&mut out, entries.len() as u16);
    le32(&mut out, central.len() as u32);
    le32(&mut out, central_offset);
    le16(&mut out, comment.len() as u16);
    out.extend_from_slice(comment);
    out
}

/// The fixture's files and manifest as entries of `build_zip`.
fn fixture_entries() -> Vec<Entry> {
    let project = &fixtures().project;
    let mut entries = vec![entry(
        MANIFEST,
        &serde_json::to_vec(&manifest_json(project)).unwrap(),
    )];
    entries.extend(project.files.iter().map(|(name, data)| entry(name, data)));
    entries
}

/// Offset of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

// ---------------------------------------------------------------------------------------------
// Round trips.

#[test]
fn round_trip_keeps_photos_model_and_manifest_and_writes_the_same_bytes() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let fixtures = fixtures();
    for project in [&fixtures.project, &fixtures.small] {
        let bytes = project.write().unwrap();
        let read = Project::read(&bytes).unwrap();
        assert_eq!(&read, project);
        assert_eq!(
            project.write().unwrap(),
            bytes,
            "writing twice gives the same bytes"
        );
        assert_eq!(
            read.write().unwrap(),
            bytes,
            "a file read back writes the same bytes"
        );
        // Every sample is the photo's exact JPEG bytes, and the model still loads and classifies.
        for class in &read.manifest.classes {
            for sample in &class.samples {
                let jpeg = &read.files[&sample.file];
                assert_eq!(jpeg, &project.files[&sample.file]);
                RgbaImage::decode(jpeg).unwrap();
            }
        }
        let record = read.files["model.bpk"].clone();
        let loaded = classifier::load(record, &model.backbone, &cpu()).unwrap();
        let labels: Vec<&str> = read
            .manifest
            .classes
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(loaded.info.labels, labels);
        // 1-NN recognises its own stored photos.
        let first = read.files[&read.manifest.classes[1].samples[0].file].as_slice();
        let image = RgbaImage::decode(first).unwrap();
        let probabilities =
            block_on(loaded.probabilities(&model.backbone, &[image.view()], &cpu())).unwrap();
        let best = probabilities[0]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(best, 1, "{probabilities:?}");
    }
    // The manifest is pretty JSON with camelCase fields, readable by other tools.
    let bytes = fixtures.project.write().unwrap();
    let entries = fixtures.project.files.len() + 1;
    assert_eq!(project::zip::read(&bytes, &LIMITS).unwrap().len(), entries);
    let json = &project::zip::read(&bytes, &LIMITS).unwrap()[MANIFEST];
    assert!(
        json.starts_with(b"{\n  \"format\": \"magpie-project\",\n  \"version\": 1,\n"),
        "{}",
        String::from_utf8_lossy(json)
    );
    let manifest: Value = serde_json::from_slice(json).unwrap();
    assert_eq!(manifest["format"], "magpie-project");
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["backbone"], "mobilenet_v1_025");
    assert_eq!(
        manifest["classes"][2]["samples"][1]["file"],
        "images/two/two-1.jpg"
    );
    assert_eq!(manifest["model"], "model.bpk");
}

#[test]
fn a_project_without_model_or_settings_round_trips() {
    let mut project = fixtures().project.clone();
    project.files.remove("model.bpk");
    project.manifest.model = None;
    project.manifest.settings.clear();
    let bytes = project.write().unwrap();
    assert_eq!(Project::read(&bytes).unwrap(), project);
    // `settings` and `model` may be left out of the manifest; no classes at all is a valid
    // (empty) project.
    let mut manifest = manifest_json(&project);
    manifest.as_object_mut().unwrap().remove("settings");
    manifest.as_object_mut().unwrap().remove("model");
    assert_eq!(
        Project::read(&pack(&manifest, &project.files)).unwrap(),
        project
    );
    let empty = json!({ "format": "magpie-project", "version": 1, "name": "empty", "backbone": "mobilenet_v2", "classes": [] });
    let read = Project::read(&pack(&empty, &BTreeMap::new())).unwrap();
    assert!(read.manifest.classes.is_empty() && read.files.is_empty());
}

#[test]
fn a_deflated_zip_from_another_tool_is_read() {
    let project = &fixtures().project;
    let mut entries = fixture_entries();
    // Directory entries are skipped; one entry stored, one with a data descriptor.
    entries.insert(
        1,
        Entry {
            deflate: false,
            ..entry("images/", b"")
        },
    );
    entries.insert(
        2,
        Entry {
            deflate: false,
            ..entry("images/zero/", b"")
        },
    );
    entries[3].deflate = false;
    entries[4].descriptor = true;
    let bytes = build_zip(&entries);
    let compressed: usize = entries.iter().filter(|e| e.deflate).count();
    assert!(compressed >= 5);
    let read = Project::read(&bytes).unwrap();
    assert_eq!(&read, project);
    // The manifest may be compact, with fields in any order.
    let manifest = manifest_json(project);
    let mut reordered = serde_json::Map::new();
    for key in [
        "classes", "model", "backbone", "settings", "name", "version", "format",
    ] {
        reordered.insert(key.to_string(), manifest[key].clone());
    }
    entries[0] = entry(
        MANIFEST,
        serde_json::to_string(&Value::Object(reordered))
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(&Project::read(&build_zip(&entries)).unwrap(), project);
    // Writing it again gives the canonical (stored) file.
    assert_eq!(read.write().unwrap(), project.write().unwrap());
}

// ---------------------------------------------------------------------------------------------
// Refusals.

#[test]
fn not_a_zip_is_refused() {
    let jpeg = fixtures().project.files.values().next().unwrap();
    let inputs: [&[u8]; 6] = [
        b"",
        b"PK",
        b"hello, world",
        jpeg,
        &fixtures().project.files["model.bpk"],
        &[0u8; 100],
    ];
    for bytes in inputs {
        refused(Project::read(bytes), "Archive", "not a zip");
    }
}

#[test]
fn every_truncation_is_refused_without_panic() {
    let bytes = fixtures().small.write().unwrap();
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
    let mut archive = 0;
    for len in 0..bytes.len() {
        let result = catch_unwind(|| Project::read(&bytes[..len]));
        let result = result.unwrap_or_else(|_| panic!("reading the first {len} bytes panicked"));
        let error = result.expect_err("a truncated file must be refused");
        archive += usize::from(kind(&error) == "Archive");
    }
    assert_eq!(archive, bytes.len(), "every cut is an archive error");
    // Cutting off the end of the central directory, with the end record kept, is refused too.
    let end = bytes.len() - 22;
    let mut cut = bytes[..end - 10].to_vec();
    cut.extend_from_slice(&bytes[end..]);
    refused(Project::read(&cut), "Archive", "outside the file");
}

#[test]
fn wrong_format_version_or_fields_are_refused() {
    refused(
        Project::read(&with_manifest(|m| m["format"] = json!("zip-project"))),
        "Manifest",
        "format",
    );
    refused(
        Project::read(&with_manifest(|m| m["version"] = json!(2))),
        "Manifest",
        "version 2 is not supported",
    );
    refused(
        Project::read(&with_manifest(|m| m["version"] = json!(0))),
        "Manifest",
        "version 0",
    );
    refused(
        Project::read(&with_manifest(|m| m["version"] = json!("1"))),
        "Manifest",
        "invalid type",
    );
    refused(
        Project::read(&with_manifest(|m| m["backbone"] = json!("resnet50"))),
        "Manifest",
        "unknown variant",
    );
    refused(
        Project::read(&with_manifest(|m| m["extra"] = json!(true))),
        "Manifest",
        "unknown field `extra`",
    );
    refused(
        Project::read(&with_manifest(|m| m["classes"][0]["color"] = json!("red"))),
        "Manifest",
        "unknown field `color`",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][0]["samples"][0]["label"] = json!(1)
        })),
        "Manifest",
        "unknown field `label`",
    );
    let without_name = with_manifest(|m| {
        m.as_object_mut().unwrap().remove("name");
    });
    refused(
        Project::read(&without_name),
        "Manifest",
        "missing field `name`",
    );
    refused(
        Project::read(&with_manifest(|m| m["settings"] = json!([1]))),
        "Manifest",
        "invalid type",
    );
    refused(
        Project::read(&with_manifest(|m| m["name"] = json!("  "))),
        "Manifest",
        "project name",
    );
    refused(
        Project::read(&with_manifest(|m| m["name"] = json!("x".repeat(201)))),
        "Manifest",
        "longer than 200",
    );
}

#[test]
fn duplicate_classes_and_sample_ids_are_refused() {
    refused(
        Project::read(&with_manifest(|m| m["classes"][1]["name"] = json!("zero"))),
        "Manifest",
        "class 'zero' appears twice",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][2]["samples"][0]["id"] = json!("one-1")
        })),
        "Manifest",
        "used twice",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][0]["samples"][1]["id"] = json!("zero-0")
        })),
        "Manifest",
        "used twice",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][0]["samples"][0]["id"] = json!("")
        })),
        "Manifest",
        "empty",
    );
    // Two samples naming one file.
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][0]["samples"][1]["file"] = json!("images/zero/zero-0.jpg")
        })),
        "Manifest",
        "unique",
    );
    // Duplicate class names are refused on writing too.
    let mut project = fixtures().project.clone();
    project.manifest.classes[2].name = "one".into();
    refused(project.write(), "Manifest", "appears twice");
}

#[test]
fn control_characters_in_names_are_refused() {
    for name in [
        "tab\there",
        "new\nline",
        "bell\u{7}",
        "nul\u{0}",
        "del\u{7f}",
        "c1\u{85}",
    ] {
        refused(
            Project::read(&with_manifest(|m| m["classes"][1]["name"] = json!(name))),
            "Manifest",
            "control characters",
        );
        refused(
            Project::read(&with_manifest(|m| m["name"] = json!(name))),
            "Manifest",
            "control characters",
        );
    }
    refused(
        Project::read(&with_manifest(|m| m["classes"][1]["name"] = json!(" "))),
        "Manifest",
        "a class name",
    );
}

#[test]
fn unsafe_zip_entry_names_are_refused() {
    let names = [
        "../x.jpg",
        "/abs.jpg",
        "images/../../x.jpg",
        "images\\zero\\x.jpg",
        "..\\x.jpg",
        "C:/x.jpg",
        "images//x.jpg",
        "./x.jpg",
        "images/x\n.jpg",
    ];
    for name in names {
        let mut entries = fixture_entries();
        entries.push(entry(name, b"evil"));
        refused(
            Project::read(&build_zip(&entries)),
            "Archive",
            "unsafe entry name",
        );
        // Also through the crate's own writer, and as the only entry.
        let mut files = fixtures().project.files.clone();
        files.insert(name.to_string(), b"evil".to_vec());
        refused(
            Project::read(&pack(&manifest_json(&fixtures().project), &files)),
            "Archive",
            "unsafe entry name",
        );
        refused(
            Project::read(&build_zip(&[entry(name, b"evil")])),
            "Archive",
            "unsafe entry name",
        );
    }
}

#[test]
fn unsafe_manifest_paths_are_refused_on_reading_and_writing() {
    let names = [
        "../x.jpg",
        "/abs.jpg",
        "images/../../x.jpg",
        "images/zero/../../../x.jpg",
        "images\\zero\\x.jpg",
        "images/./x.jpg",
        "images/zero//x.jpg",
    ];
    for name in names {
        let project = &fixtures().project;
        let mut manifest = manifest_json(project);
        let old = manifest["classes"][0]["samples"][0]["file"]
            .as_str()
            .unwrap()
            .to_string();
        manifest["classes"][0]["samples"][0]["file"] = json!(name);
        let mut files = project.files.clone();
        files.remove(&old);
        refused(
            Project::read(&pack(&manifest, &files)),
            "Manifest",
            "is not a safe relative path",
        );
        // A project holding that path must not be written (it could not be read back).
        let mut unsafe_project = project.clone();
        let data = unsafe_project.files.remove(&old).unwrap();
        unsafe_project.files.insert(name.to_string(), data);
        unsafe_project.manifest.classes[0].samples[0].file = name.to_string();
        refused(unsafe_project.write(), "Manifest", "safe");
    }
    for model in [
        "../model.bpk",
        "/model.bpk",
        "models/../../model.bpk",
        "models\\model.bpk",
    ] {
        let mut project = fixtures().project.clone();
        let data = project.files.remove("model.bpk").unwrap();
        project.files.insert(model.to_string(), data);
        project.manifest.model = Some(model.to_string());
        refused(project.write(), "Manifest", "model path");
        refused(
            Project::read(&pack(&manifest_json(&project), &fixtures().project.files)),
            "Manifest",
            "model path",
        );
    }
    // Samples live under images/ as .jpg/.jpeg/.png; the model is a .bpk outside images/.
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][0]["samples"][0]["file"] = json!("zero-0.jpg")
        })),
        "Manifest",
        "images/",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"][0]["samples"][0]["file"] = json!("images/zero/zero-0.gif")
        })),
        "Manifest",
        "images/",
    );
    refused(
        Project::read(&with_manifest(|m| m["model"] = json!("images/model.bpk"))),
        "Manifest",
        "outside images/",
    );
    refused(
        Project::read(&with_manifest(|m| m["model"] = json!("model.onnx"))),
        "Manifest",
        ".bpk",
    );
}

#[test]
fn missing_and_unlisted_files_are_refused() {
    let project = &fixtures().project;
    let manifest = manifest_json(project);
    let mut files = project.files.clone();
    files.remove("images/one/one-1.jpg");
    refused(
        Project::read(&pack(&manifest, &files)),
        "Manifest",
        "images/one/one-1.jpg is listed but missing",
    );
    let mut files = project.files.clone();
    files.remove("model.bpk");
    refused(
        Project::read(&pack(&manifest, &files)),
        "Manifest",
        "model.bpk is listed but missing",
    );
    let mut files = project.files.clone();
    files.insert(
        "images/one/stray.jpg".into(),
        project.files["images/one/one-1.jpg"].clone(),
    );
    refused(
        Project::read(&pack(&manifest, &files)),
        "Manifest",
        "images/one/stray.jpg is in the file but not listed",
    );
    let mut files = project.files.clone();
    files.insert("notes.txt".into(), b"hello".to_vec());
    refused(
        Project::read(&pack(&manifest, &files)),
        "Manifest",
        "not listed",
    );
    // No project.json at all.
    refused(
        Project::read(&project::zip::write(&project.files)),
        "Manifest",
        "there is no project.json",
    );
    // The same checks apply before writing.
    let mut extra = project.clone();
    extra.files.insert("images/x.jpg".into(), vec![1]);
    refused(extra.write(), "Manifest", "not listed");
    let mut missing = project.clone();
    missing.files.remove("images/zero/zero-0.jpg");
    refused(missing.write(), "Manifest", "missing");
}

#[test]
fn zip_bombs_and_oversized_entries_are_refused() {
    // 4 MiB of zeros deflates to a few KiB; the header claims 1,000 bytes.
    let zeros = vec![0u8; 4 << 20];
    let mut entries = fixture_entries();
    entries.push(Entry {
        size: Some(1000),
        ..entry("images/bomb.jpg", &zeros)
    });
    refused(
        Project::read(&build_zip(&entries)),
        "Archive",
        "larger than its header says",
    );
    // Also when the declared size is the one the CRC belongs to, but smaller than the data.
    let head = &zeros[..1000];
    entries.last_mut().unwrap().crc = Some(crc32fast::hash(head));
    refused(
        Project::read(&build_zip(&entries)),
        "Archive",
        "larger than its header says",
    );
    // A declared size over the per-entry limit is refused before anything is inflated.
    let mut entries = fixture_entries();
    entries.push(Entry {
        size: Some(LIMITS.entry_bytes as u32 + 1),
        ..entry("images/huge.jpg", b"tiny")
    });
    refused(
        Project::read(&build_zip(&entries)),
        "TooLarge",
        &format!("at most {}", LIMITS.entry_bytes),
    );
    let mut entries = fixture_entries();
    entries.push(Entry {
        size: Some(u32::MAX),
        ..entry("images/huge.jpg", b"tiny")
    });
    refused(
        Project::read(&build_zip(&entries)),
        "TooLarge",
        "images/huge.jpg",
    );
    // Inflating to less than declared is damage too.
    let mut entries = fixture_entries();
    entries[1].size = Some(entries[1].data.len() as u32 + 10);
    refused(Project::read(&build_zip(&entries)), "Archive", "checksum");
    // A stored entry whose sizes disagree.
    let mut entries = fixture_entries();
    entries[1].deflate = false;
    entries[1].size = Some(5);
    refused(
        Project::read(&build_zip(&entries)),
        "Archive",
        "stored size disagrees",
    );
    // 0xFFFF entries means zip64, which is not supported.
    let mut bytes = fixtures().small.write().unwrap();
    let end = bytes.len() - 22;
    bytes[end + 8..end + 12].copy_from_slice(&[0xFF; 4]);
    refused(Project::read(&bytes), "Archive", "zip64");
    // The writer refuses what the reader would refuse.
    let mut big = fixtures().small.clone();
    big.files.insert(
        "images/zero/zero-0.jpg".into(),
        vec![0; LIMITS.entry_bytes + 1],
    );
    refused(big.write(), "TooLarge", "images/zero/zero-0.jpg");
}

#[test]
fn entries_sharing_bytes_are_refused() {
    // Two central records pointing at one local entry: a small file that inflates twice.
    let data = vec![7u8; 4096];
    let bytes = build_zip(&[entry("images/a.jpg", &data), entry("images/b.jpg", &data)]);
    let second = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == 0x0201_4b50u32.to_le_bytes())
        .nth(1)
        .unwrap()
        .0;
    let mut patched = bytes.clone();
    patched[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
    refused(Project::read(&patched), "Archive", "overlaps");
}

#[test]
fn damaged_entries_are_refused() {
    // Flip one byte inside a stored photo: the CRC no longer matches.
    let project = &fixtures().project;
    let mut bytes = project.write().unwrap();
    let photo = &project.files["images/one/one-0.jpg"];
    let at = find(&bytes, photo) + photo.len() / 2;
    bytes[at] ^= 0x01;
    refused(
        Project::read(&bytes),
        "Archive",
        "images/one/one-0.jpg: checksum mismatch",
    );
    // A wrong CRC on a deflated entry.
    let mut entries = fixture_entries();
    entries[2].crc = Some(crc32fast::hash(&entries[2].data) ^ 1);
    refused(
        Project::read(&build_zip(&entries)),
        "Archive",
        "checksum mismatch",
    );
    // Damaged deflate data.
    let mut bytes = build_zip(&fixture_entries());
    let compressed = miniz_oxide::deflate::compress_to_vec(&project.files["model.bpk"], 9);
    let at = find(&bytes, &compressed[..64]);
    bytes[at..at + 16].fill(0xFF);
    refused(Project::read(&bytes), "Archive", "model.bpk");
    // Unsupported compression and encryption.
    let mut entries = fixture_entries();
    entries[1].method = Some(12);
    refused(
        Project::read(&build_zip(&entries)),
        "Archive",
        "compression method 12",
    );
    let mut entries = fixture_entries();
    entries[1].flags |= 1;
    refused(Project::read(&build_zip(&entries)), "Archive", "encrypted");
    // The same entry twice.
    let mut entries = fixture_entries();
    entries.push(entries[1].clone());
    refused(
        Project::read(&build_zip(&entries)),
        "Archive",
        "appears twice",
    );
    // A central directory pointing past the file, and a local header that is not one.
    let mut bytes = project.write().unwrap();
    let end = bytes.len() - 22;
    bytes[end + 16..end + 20].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
    refused(Project::read(&bytes), "Archive", "outside the file");
    let mut bytes = project.write().unwrap();
    bytes[0] = b'X';
    refused(Project::read(&bytes), "Archive", "damaged entry header");
    // Split archives.
    let mut bytes = project.write().unwrap();
    let end = bytes.len() - 22;
    bytes[end + 4] = 1;
    refused(Project::read(&bytes), "Archive", "split");
}

#[test]
fn non_utf8_names_and_bad_manifests_are_refused() {
    let mut entries = fixture_entries();
    entries.push(Entry {
        name: b"images/caf\xe9.jpg".to_vec(),
        ..entry("", b"x")
    });
    refused(Project::read(&build_zip(&entries)), "Archive", "not UTF-8");
    // project.json that is not UTF-8, not JSON, or not an object.
    let project = &fixtures().project;
    let good = serde_json::to_vec(&manifest_json(project)).unwrap();
    let mut latin1 = good.clone();
    let at = find(&latin1, "✋".as_bytes());
    latin1.splice(at..at + 3, [0xE9]);
    let bad_manifests: [(&[u8], &str); 6] = [
        (latin1.as_slice(), "invalid unicode"),
        (b"\xff\xfe{\x00}\x00", "expected value"),
        (b"", "EOF"),
        (&good[..good.len() - 1], "EOF"),
        (b"\"text\"", "invalid type"),
        (b"{\"format\": \"magpie-project\",}", "trailing comma"),
    ];
    for (json, word) in bad_manifests {
        let mut files = project.files.clone();
        files.insert(MANIFEST.into(), json.to_vec());
        refused(
            Project::read(&project::zip::write(&files)),
            "Manifest",
            word,
        );
    }
    // Duplicate keys.
    let mut files = project.files.clone();
    let duplicated = format!(
        "{{\"version\":1,{}",
        std::str::from_utf8(&good[1..]).unwrap()
    );
    files.insert(MANIFEST.into(), duplicated.into_bytes());
    refused(
        Project::read(&project::zip::write(&files)),
        "Manifest",
        "duplicate field `version`",
    );
}

#[test]
fn a_model_that_does_not_fit_the_project_is_refused() {
    // Other class names, order or count than the model's labels.
    refused(
        Project::read(&with_manifest(|m| m["classes"][1]["name"] = json!("uno"))),
        "Model",
        "it has classes [\"zero\", \"one\", \"two\"]",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["classes"].as_array_mut().unwrap().swap(0, 1)
        })),
        "Model",
        "the project [\"one\", \"zero\", \"two\"]",
    );
    let project = &fixtures().project;
    let mut manifest = manifest_json(project);
    manifest["classes"].as_array_mut().unwrap().pop();
    let mut files = project.files.clone();
    files.retain(|name, _| !name.starts_with("images/two/"));
    refused(
        Project::read(&pack(&manifest, &files)),
        "Model",
        "the project [\"zero\", \"one\"]",
    );
    // A model for another backbone.
    refused(
        Project::read(&with_manifest(|m| m["backbone"] = json!("mobilenet_v2"))),
        "Model",
        "it needs mobilenet_v1_025, the project uses mobilenet_v2",
    );
    refused(
        Project::read(&with_manifest(|m| {
            m["backbone"] = json!("efficientnet_lite0")
        })),
        "Model",
        "mobilenet_v1_025",
    );
    // The small project's model in the big project.
    let mut files = project.files.clone();
    files.insert(
        "model.bpk".into(),
        fixtures().small.files["model.bpk"].clone(),
    );
    refused(
        Project::read(&pack(&manifest_json(project), &files)),
        "Model",
        "it has classes [\"zero\", \"one\"]",
    );
    // Not a model at all, a truncated one, and a Burnpack without the description.
    let record = &project.files["model.bpk"];
    for (bytes, word) in [
        (b"not a model".to_vec(), "not a magpie model file"),
        (
            record[..record.len() / 2].to_vec(),
            "not a magpie model file",
        ),
    ] {
        let mut files = project.files.clone();
        files.insert("model.bpk".into(), bytes);
        refused(
            Project::read(&pack(&manifest_json(project), &files)),
            "Model",
            word,
        );
    }
    let mut bytes = record.clone();
    let at = find(&bytes, b"magpie-classifier");
    bytes[at] = b'M';
    let mut files = project.files.clone();
    files.insert("model.bpk".into(), bytes);
    refused(
        Project::read(&pack(&manifest_json(project), &files)),
        "Model",
        "no magpie classifier description",
    );
    // The same checks before writing.
    let mut project = project.clone();
    project.manifest.backbone = BackboneKind::MobilenetV2;
    refused(project.write(), "Model", "it needs mobilenet_v1_025");
}

#[test]
fn an_assembled_project_writes_and_reads_back_whole() {
    let fixture = &fixtures().project;
    let classes = fixture
        .manifest
        .classes
        .iter()
        .map(|class| project::ClassFiles {
            name: class.name.clone(),
            samples: class
                .samples
                .iter()
                .map(|s| project::SampleFile {
                    id: s.id.clone(),
                    image: fixture.files[&s.file].clone(),
                    png: false,
                })
                .collect(),
        })
        .collect();
    let info = project::ProjectInfo {
        name: fixture.manifest.name.clone(),
        backbone: fixture.manifest.backbone,
        settings: fixture.manifest.settings.clone(),
        model: Some(fixture.files["model.bpk"].clone()),
    };
    let assembled = Project::assemble(info, classes);
    let read = Project::read(&assembled.write().unwrap()).unwrap();
    assert_eq!(read, assembled);
    assert_eq!(read.manifest.model.as_deref(), Some(project::MODEL));
    assert_eq!(read.files[project::MODEL], fixture.files["model.bpk"]);
    for (ours, theirs) in read.manifest.classes.iter().zip(&fixture.manifest.classes) {
        assert_eq!(ours.name, theirs.name);
        for (a, b) in ours.samples.iter().zip(&theirs.samples) {
            assert_eq!(a.id, b.id);
            assert_eq!(read.files[&a.file], fixture.files[&b.file]);
        }
    }
    assert_eq!(
        read.manifest.classes[0].samples[1].file,
        "images/zero/0002.jpg"
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzzing.

/// One mutation of `base`.
fn mutate(rng: &mut XorShift, base: &[u8], small: &Project) -> Vec<u8> {
    let mut bytes = base.to_vec();
    match rng.below(9) {
        // Flip a few bits.
        0 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
        }
        // Overwrite a few bytes.
        1 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.byte();
            }
        }
        // Truncate, keeping the start or the end.
        2 => {
            let cut = rng.below(bytes.len());
            if rng.below(2) == 0 {
                bytes.truncate(cut)
            } else {
                bytes.drain(..cut).for_each(drop)
            }
        }
        // Insert or delete a run of bytes.
        3 => {
            let at = rng.below(bytes.len() + 1);
            let n = 1 + rng.below(64);
            let run = rng.bytes(n);
            bytes.splice(at..at, run);
        }
        4 => {
            let at = rng.below(bytes.len());
            let n = (1 + rng.below(256)).min(bytes.len() - at);
            bytes.drain(at..at + n);
        }
        // Random bytes, sometimes dressed as a zip.
        5 => {
            let n = rng.below(4096);
            bytes = rng.bytes(n);
            if rng.below(2) == 0 {
                bytes.splice(0..0, *b"PK\x03\x04");
                bytes.extend_from_slice(b"PK\x05\x06");
                let tail = rng.bytes(18);
                bytes.extend_from_slice(&tail);
            }
        }
        // Overwrite a 16- or 32-bit field of the central directory or end record with an edge
        // value (sizes, offsets, counts, name lengths).
        6 => {
            let region = bytes.len() - rng.below(bytes.len().min(400)) - 1;
            let value = rng.interesting(bytes.len());
            let width = if rng.below(2) == 0 { 2 } else { 4 };
            let at = region.min(bytes.len() - width);
            bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        // Damage one entry's content (the manifest or the model most often) and re-zip it with
        // correct checksums, so the JSON and Burnpack parsers see the damage.
        _ => {
            let mut files = small.files.clone();
            files.insert(
                MANIFEST.into(),
                serde_json::to_vec_pretty(&small.manifest).unwrap(),
            );
            let names: Vec<String> = files.keys().cloned().collect();
            let name = match rng.below(4) {
                0 | 1 => MANIFEST.to_string(),
                2 => "model.bpk".to_string(),
                _ => names[rng.below(names.len())].clone(),
            };
            let data = files.get_mut(&name).unwrap();
            match rng.below(4) {
                0 => data.truncate(rng.below(data.len() + 1)),
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(data.len());
                        data[at] = rng.byte();
                    }
                }
                2 => {
                    // Burnpack header and metadata, and JSON structure, live near the start.
                    let at = rng.below(data.len().min(600));
                    let width = 1 + rng.below(4);
                    let value = rng.interesting(data.len()).to_le_bytes();
                    let n = width.min(data.len() - at);
                    data[at..at + n].copy_from_slice(&value[..n]);
                }
                _ => {
                    let at = rng.below(data.len() + 1);
                    let inserts: [&[u8]; 10] = [
                        b"\"", b"{", b"}", b"[", b"]", b",", b"\\u0000", b"\xff", b"null", b"1e999",
                    ];
                    let insert = inserts[rng.below(inserts.len())];
                    data.splice(at..at, insert.iter().copied());
                }
            }
            bytes = project::zip::write(&files);
        }
    }
    bytes
}

#[test]
fn fuzzed_project_files_never_panic() {
    let cases = common::fuzz_cases(20_000);
    let small = &fixtures().small;
    let base = small.write().unwrap();
    let started = Instant::now();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut crashes) = (0usize, Vec::new());
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for case in 0..cases {
        let input = mutate(&mut rng, &base, small);
        let outcome = catch_unwind(AssertUnwindSafe(|| match Project::read(&input) {
            Ok(project) => {
                // Whatever is accepted is a valid project: it writes, and reads back the same.
                let written = project.write().expect("an accepted project writes");
                assert_eq!(Project::read(&written).expect("and reads back"), project);
                Ok(())
            }
            Err(error) => Err(kind(&error)),
        }));
        match outcome {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(kind)) => *kinds.entry(kind).or_default() += 1,
            Err(_) => crashes.push((case, input.len())),
        }
    }
    eprintln!(
        "fuzz: {cases} inputs tried, {} crashes, {accepted} accepted, refused {kinds:?}, in {:.1} s",
        crashes.len(),
        started.elapsed().as_secs_f32()
    );
    assert!(crashes.is_empty(), "panics on (case, length): {crashes:?}");
    // The mutations reach every layer: zip, manifest and model checks all refuse something.
    for layer in ["Archive", "Manifest", "Model"] {
        assert!(
            kinds.get(layer).copied().unwrap_or(0) > 100,
            "{layer} errors: {kinds:?}"
        );
    }
}

#[test]
fn class_folders_are_safe_unique_paths_a_project_accepts() {
    let names: Vec<String> = [
        "fist",
        "a/b",
        "../up",
        "a/b",
        "  .hidden",
        "ünïcode 手",
        "<b>x</b>",
        "",
    ]
    .map(String::from)
    .to_vec();
    let folders = project::class_folders(&names);
    assert_eq!(folders[0], "fist");
    assert_eq!(folders[1], "a_b");
    assert_eq!(folders[3], "a_b-2", "a taken folder gets a suffix");
    assert_eq!(folders[5], "ünïcode 手", "letters of any script are kept");
    assert_eq!(folders[7], "untitled");
    let unique: std::collections::HashSet<_> = folders.iter().collect();
    assert_eq!(unique.len(), names.len());
    // Every folder makes a path the project reader accepts.
    let classes = names
        .iter()
        .zip(&folders)
        .enumerate()
        .map(|(i, (name, folder))| ClassEntry {
            name: if name.is_empty() {
                format!("class {i}")
            } else {
                name.clone()
            },
            samples: vec![SampleEntry {
                id: format!("s{i}"),
                file: format!("images/{folder}/0001.jpg"),
            }],
        });
    let mut classes: Vec<ClassEntry> = classes.collect();
    classes[3].name = "a/b again".into();
    let files = classes
        .iter()
        .map(|c| (c.samples[0].file.clone(), vec![0xff, 0xd8, 0xff]))
        .collect();
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        name: "folders".into(),
        backbone: BackboneKind::MobilenetV1025,
        classes,
        settings: Default::default(),
        model: None,
    };
    let written = Project { manifest, files }.write().expect("written");
    Project::read(&written).expect("read back");
}
