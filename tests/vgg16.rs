//! VGG16 with generated weights: a checkpoint under torchvision's exact names and shapes is
//! imported through the CLI's code and every tensor checked in place; the network is checked
//! against a naive reference implementation, on CPU and on wgpu (Mesa lavapipe here), and
//! through the `magpie` binary.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use burn::tensor::{Device, Tensor, TensorData};
use common::cpu;
use magpie::backbone::{BackboneKind, BackboneNet, Vgg16};
use magpie::device::{BackendKind, device};
use magpie::import;
use magpie::weights::assets::assets_dir;
use magpie::weights::{PretrainedBackbone, WeightsError, record, torchvision};

/// torchvision's VGG16 convolutions: `features.N`, input and output channels.
const CONVS: [(usize, usize, usize); 13] = [
    (0, 3, 64),
    (2, 64, 64),
    (5, 64, 128),
    (7, 128, 128),
    (10, 128, 256),
    (12, 256, 256),
    (14, 256, 256),
    (17, 256, 512),
    (19, 512, 512),
    (21, 512, 512),
    (24, 512, 512),
    (26, 512, 512),
    (28, 512, 512),
];
/// Stage and position within it of each convolution of [`CONVS`].
const CONV_PLACES: [(usize, usize); 13] = [
    (0, 0),
    (0, 1),
    (1, 0),
    (1, 1),
    (2, 0),
    (2, 1),
    (2, 2),
    (3, 0),
    (3, 1),
    (3, 2),
    (4, 0),
    (4, 1),
    (4, 2),
];
/// torchvision's dense layers: `classifier.N`, inputs and outputs.
const LINEARS: [(usize, usize, usize); 3] = [(0, 25088, 4096), (3, 4096, 4096), (6, 4096, 1000)];

/// One tensor of the generated checkpoint.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    shape: Vec<usize>,
    /// Values are `k / 512 * 2^-exponent`, `k` in -512..512: exact in f16, He-scaled weights.
    exponent: i32,
}

/// Every tensor of torchvision's `vgg16` state dict, in its order.
fn torchvision_keys() -> Vec<Key> {
    let he = |fan_in: usize| (fan_in as f64 / 6.0).sqrt().log2().round() as i32;
    let mut keys = Vec::new();
    for (n, c_in, c_out) in CONVS {
        keys.push(Key {
            name: format!("features.{n}.weight"),
            shape: vec![c_out, c_in, 3, 3],
            exponent: he(c_in * 9),
        });
        keys.push(Key {
            name: format!("features.{n}.bias"),
            shape: vec![c_out],
            exponent: 4,
        });
    }
    for (n, d_in, d_out) in LINEARS {
        keys.push(Key {
            name: format!("classifier.{n}.weight"),
            shape: vec![d_out, d_in],
            exponent: he(d_in),
        });
        keys.push(Key {
            name: format!("classifier.{n}.bias"),
            shape: vec![d_out],
            exponent: 4,
        });
    }
    keys
}

fn key(name: &str) -> Key {
    torchvision_keys()
        .into_iter()
        .find(|k| k.name == name)
        .expect("a VGG16 key")
}

/// SplitMix64 of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Key {
    /// Element `index` (row-major, torch layout) of this tensor.
    fn value(&self, index: usize) -> f32 {
        let seed = self
            .name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(b as u64));
        let k = (mix(seed ^ ((index as u64) << 8)) >> 54) as i32 - 512;
        k as f32 / 512.0 * (-self.exponent as f32).exp2()
    }

    fn values(&self) -> Vec<f32> {
        (0..self.shape.iter().product())
            .map(|i| self.value(i))
            .collect()
    }
}

/// Writes a safetensors header for `keys` (f16) and returns the file, positioned at the data.
fn safetensors_header(path: &Path, keys: &[Key]) -> (std::io::BufWriter<std::fs::File>, u64) {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for key in keys {
        let len = key.shape.iter().product::<usize>() * 2;
        let entry = serde_json::json!({ "dtype": "F16", "shape": key.shape, "data_offsets": [offset, offset + len] });
        header.insert(key.name.clone(), entry);
        offset += len;
    }
    let mut json = serde_json::to_vec(&header).unwrap();
    json.resize(json.len().div_ceil(8) * 8, b' ');
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&(json.len() as u64).to_le_bytes()).unwrap();
    file.write_all(&json).unwrap();
    (file, (8 + json.len() + offset) as u64)
}

/// A temporary file of this test process, in a folder every run reuses (so the large
/// checkpoint is not left behind once per run).
fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("magpie-vgg16-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", std::process::id()))
}

/// The generated checkpoint: every torchvision key with its generated values, in f16 (277 MB).
fn checkpoint() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let part = temp_path("vgg16.safetensors");
        let keys = torchvision_keys();
        let (mut file, _) = safetensors_header(&part, &keys);
        for key in &keys {
            let bytes: Vec<u8> = key
                .values()
                .into_iter()
                .flat_map(|v| half::f16::from_f32(v).to_le_bytes())
                .collect();
            file.write_all(&bytes).unwrap();
        }
        file.flush().unwrap();
        // One shared name, replaced atomically: concurrent runs each read a whole file.
        let path = part.with_file_name("vgg16.safetensors");
        std::fs::rename(&part, &path).unwrap();
        path
    })
}

fn labels() -> Vec<String> {
    (0..1000).map(|i| format!("class {i}")).collect()
}

/// The generated checkpoint, imported on the CPU as `magpie convert` does.
fn imported() -> &'static PretrainedBackbone {
    static MODEL: OnceLock<PretrainedBackbone> = OnceLock::new();
    MODEL.get_or_init(|| {
        import::import(BackboneKind::Vgg16, checkpoint(), labels(), &cpu())
            .expect("the generated checkpoint imports")
    })
}

fn vgg(model: &PretrainedBackbone) -> &Vgg16 {
    match &model.backbone.net {
        BackboneNet::Vgg16(net) => net,
        _ => panic!("not a VGG16"),
    }
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn every_torchvision_tensor_lands_in_its_place() {
    let net = vgg(imported());
    // The importer's own list of names and shapes is torchvision's.
    let listed: Vec<(String, Vec<usize>)> = torchvision_keys()
        .into_iter()
        .map(|k| (k.name, k.shape))
        .collect();
    assert_eq!(torchvision::vgg16_parameters(net), listed);
    for ((n, _, _), (stage, position)) in CONVS.iter().zip(CONV_PLACES) {
        let conv = &net.stages[stage].convs[position];
        // Same layout [out, in, kh, kw] in both frameworks.
        assert_eq!(
            values(conv.weight.val()),
            key(&format!("features.{n}.weight")).values(),
            "features.{n}.weight"
        );
        let bias = conv.bias.as_ref().expect("convolutions have a bias").val();
        assert_eq!(
            values(bias),
            key(&format!("features.{n}.bias")).values(),
            "features.{n}.bias"
        );
    }
    for ((n, d_in, d_out), linear) in LINEARS.iter().zip(&net.classifier) {
        let torch = key(&format!("classifier.{n}.weight"));
        // Burn's weight[i][o] is torch's weight[o][i]; the rows are cut into blocks of at most 128 MiB.
        let mut i = 0;
        for block in &linear.blocks {
            let [rows, cols] = block.weight.dims();
            assert!(
                cols == *d_out && rows * cols * 4 <= 128 << 20,
                "classifier.{n}: block [{rows}, {cols}]"
            );
            let burn = values(block.weight.val());
            for r in 0..rows {
                for o in 0..*d_out {
                    let (b, t) = (burn[r * d_out + o], torch.value(o * d_in + i + r));
                    assert!(
                        b == t,
                        "classifier.{n}.weight[{o}][{}] = {t}, but Burn's [{}][{o}] = {b}",
                        i + r,
                        i + r
                    );
                }
            }
            i += rows;
        }
        assert_eq!(i, *d_in, "classifier.{n}: the blocks cover every input");
        let bias = linear.blocks[0]
            .bias
            .as_ref()
            .expect("dense layers have a bias")
            .val();
        assert_eq!(
            values(bias),
            key(&format!("classifier.{n}.bias")).values(),
            "classifier.{n}.bias"
        );
        assert!(
            linear.blocks[1..].iter().all(|b| b.bias.is_none()),
            "one bias per layer"
        );
    }
    // The first dense weight (392 MiB) is cut in four blocks of 6272 inputs (128 channels x 7 x 7).
    assert_eq!(
        net.classifier[0]
            .blocks
            .iter()
            .map(|b| b.weight.dims())
            .collect::<Vec<_>>(),
        [[6272, 4096]; 4]
    );
    // Spot checks independent of the loops: torch's [o][i] is Burn's [i][o] (block 3 holds inputs 18816..).
    let last = values(
        net.classifier[2].blocks[0]
            .weight
            .val()
            .slice([4095..4096, 999..1000]),
    );
    assert_eq!(last, [key("classifier.6.weight").value(999 * 4096 + 4095)]);
    let fc1 = values(net.classifier[0].blocks[3].weight.val().slice([1..2, 5..6]));
    assert_eq!(fc1, [key("classifier.0.weight").value(5 * 25088 + 18817)]);
}

/// Imports a checkpoint whose header lists `keys`, its data (all zero, a sparse file) cut short
/// by `missing` bytes.
fn import_header_only(name: &str, keys: &[Key], missing: u64) -> WeightsError {
    let path = temp_path(name);
    let (file, len) = safetensors_header(&path, keys);
    file.into_inner().unwrap().set_len(len - missing).unwrap();
    let result = import::import(BackboneKind::Vgg16, &path, labels(), &cpu());
    std::fs::remove_file(&path).unwrap();
    result.expect_err("the checkpoint must be refused")
}

#[test]
fn a_missing_tensor_is_named() {
    let mut keys = torchvision_keys();
    keys.retain(|k| k.name != "classifier.3.bias");
    let err = import_header_only("missing.safetensors", &keys, 0);
    assert!(
        matches!(&err, WeightsError::MissingTensor { name } if name == "classifier.3.bias"),
        "{err}"
    );
    assert_eq!(err.to_string(), "missing tensor 'classifier.3.bias'");
}

#[test]
fn a_transposed_dense_weight_or_a_wrong_kernel_is_named() {
    let mut keys = torchvision_keys();
    keys.iter_mut()
        .find(|k| k.name == "classifier.0.weight")
        .unwrap()
        .shape = vec![25088, 4096];
    let err = import_header_only("transposed.safetensors", &keys, 0);
    assert_eq!(
        err.to_string(),
        "shape mismatch for 'classifier.0.weight': expected [4096, 25088], found [25088, 4096]"
    );
    assert!(matches!(err, WeightsError::ShapeMismatch { .. }));

    let mut keys = torchvision_keys();
    keys.iter_mut()
        .find(|k| k.name == "features.17.weight")
        .unwrap()
        .shape = vec![512, 256, 5, 5];
    let err = import_header_only("kernel.safetensors", &keys, 0);
    assert_eq!(
        err.to_string(),
        "shape mismatch for 'features.17.weight': expected [512, 256, 3, 3], found [512, 256, 5, 5]"
    );
}

#[test]
fn a_truncated_checkpoint_is_refused() {
    let err = import_header_only("truncated.safetensors", &torchvision_keys(), 1000);
    assert!(matches!(err, WeightsError::Truncated { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "truncated safetensors file: it ends inside the tensor data its header lists"
    );
}

// --- Forward pass ----------------------------------------------------------------------------

/// A deterministic batch of normalized-looking images.
fn images(batch: usize, size: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = (0..batch * 3 * size * size)
        .map(|i| ((mix(i as u64 + 7) >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0)
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, 3, size, size]), device)
}

/// A naive VGG16 on one `[3, size, size]` image with the generated weights (torch layout):
/// the 512 pooled features, the 25,088 flattened ones and the 1000 logits.
fn reference(image: &[f32], size: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (mut x, mut side, mut channels) = (image.to_vec(), size, 3);
    for (i, (n, c_in, c_out)) in CONVS.iter().enumerate() {
        assert_eq!(channels, *c_in);
        let weight = key(&format!("features.{n}.weight")).values();
        let bias = key(&format!("features.{n}.bias")).values();
        let mut y = vec![0f32; c_out * side * side];
        for o in 0..*c_out {
            let out = &mut y[o * side * side..(o + 1) * side * side];
            out.fill(bias[o]);
            for c in 0..*c_in {
                let plane = &x[c * side * side..(c + 1) * side * side];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let w = weight[((o * c_in + c) * 3 + ky) * 3 + kx];
                        for row in 0..side {
                            let Some(src) = (row + ky).checked_sub(1).filter(|r| *r < side) else {
                                continue;
                            };
                            for col in 0..side {
                                if let Some(s) = (col + kx).checked_sub(1).filter(|s| *s < side) {
                                    out[row * side + col] += w * plane[src * side + s];
                                }
                            }
                        }
                    }
                }
            }
        }
        y.iter_mut().for_each(|v| *v = v.max(0.0));
        (x, channels) = (y, *c_out);
        // A 2x2 max pool closes each stage (after features 2, 7, 14, 21, 28).
        if CONV_PLACES.get(i + 1).is_none_or(|next| next.1 == 0) {
            let half = side / 2;
            x = (0..channels * half * half)
                .map(|j| {
                    let (c, r, s) = (j / (half * half), j / half % half, j % half);
                    let at = |dr: usize, ds: usize| {
                        x[c * side * side + (2 * r + dr) * side + 2 * s + ds]
                    };
                    at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1))
                })
                .collect();
            side = half;
        }
    }
    let pooled: Vec<f32> = (0..channels)
        .map(|c| {
            x[c * side * side..(c + 1) * side * side]
                .iter()
                .sum::<f32>()
                / (side * side) as f32
        })
        .collect();
    // torch's AdaptiveAvgPool2d((7, 7)): cell i averages rows floor(i*n/7)..ceil((i+1)*n/7).
    let bins: Vec<(usize, usize)> = (0..7)
        .map(|i| (i * side / 7, ((i + 1) * side).div_ceil(7)))
        .collect();
    let mut flat = Vec::with_capacity(channels * 49);
    for c in 0..channels {
        for &(r0, r1) in &bins {
            for &(s0, s1) in &bins {
                let cells = (r0..r1).flat_map(|r| (s0..s1).map(move |s| (r, s)));
                let sum: f32 = cells.map(|(r, s)| x[c * side * side + r * side + s]).sum();
                flat.push(sum / ((r1 - r0) * (s1 - s0)) as f32);
            }
        }
    }
    let mut h = flat.clone();
    for (j, (n, d_in, d_out)) in LINEARS.iter().enumerate() {
        let weight = key(&format!("classifier.{n}.weight"));
        let bias = key(&format!("classifier.{n}.bias")).values();
        h = (0..*d_out)
            .map(|o| {
                let v = bias[o]
                    + (0..*d_in)
                        .map(|i| weight.value(o * d_in + i) * h[i])
                        .sum::<f32>();
                if j + 1 < LINEARS.len() { v.max(0.0) } else { v }
            })
            .collect();
    }
    (pooled, flat, h)
}

/// max |a - b| / max |a|.
fn relative_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let max_abs = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let max_diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    max_diff / max_abs
}

/// Features, flattened features and logits of `net` for `images`.
fn outputs(net: &Vgg16, images: Tensor<4>) -> [Vec<f32>; 3] {
    let mut flat_net = net.clone();
    flat_net.flatten = true;
    [
        values(net.features(images.clone())),
        values(flat_net.features(images.clone())),
        values(net.forward(images)),
    ]
}

#[test]
fn cpu_forward_matches_a_naive_reference() {
    // 64 px: pool5 is 2x2, so the 7x7 adaptive pooling of the flatten and the classifier averages.
    let (size, device) = (64, cpu());
    let batch = images(2, size, &device);
    let first = values(batch.clone().narrow(0, 0, 1));
    let [features, flat, logits] = outputs(vgg(imported()), batch);
    assert_eq!(
        (features.len(), flat.len(), logits.len()),
        (2 * 512, 2 * 25088, 2 * 1000)
    );
    let (want_features, want_flat, want_logits) = reference(&first, size);
    for (what, got, want) in [
        ("features", &features[..512], &want_features),
        ("flatten", &flat[..25088], &want_flat),
        ("logits", &logits[..1000], &want_logits),
    ] {
        let diff = relative_difference(want, got);
        println!("cpu {what} vs reference: {diff:.2e}");
        assert!(diff < 1e-4, "{what} differ from the reference by {diff}");
    }
    assert!(
        want_logits.iter().any(|v| v.abs() > 1e-3),
        "degenerate logits: the test would prove nothing"
    );
}

#[test]
fn shapes_at_224_px_and_the_flatten_is_channel_major() {
    let device = cpu();
    let net = vgg(imported());
    let batch = images(1, 224, &device);
    let base = net.base(batch.clone());
    assert_eq!(base.dims(), [1, 512, 7, 7]);
    let [features, flat, logits] = outputs(net, batch);
    assert_eq!(
        (features.len(), flat.len(), logits.len()),
        (512, 25088, 1000)
    );
    let grid = values(base);
    // At 224 px the 7x7 adaptive pooling is the identity: the flatten is pool5 itself.
    assert!(relative_difference(&grid, &flat) < 1e-6);
    let means: Vec<f32> = grid
        .chunks(49)
        .map(|c| c.iter().sum::<f32>() / 49.0)
        .collect();
    assert!(relative_difference(&means, &features) < 1e-5);
}

#[test]
fn wgpu_agrees_with_cpu() {
    let gpu = pollster::block_on(device(BackendKind::Wgpu))
        .expect("a Vulkan adapter (Mesa lavapipe) is installed");
    let model = imported();
    let bytes = record::save(&model.backbone, &model.info).unwrap();
    let on_gpu = record::load(bytes, &gpu).expect("the record loads on wgpu");
    let size = 64;
    let on_cpu = outputs(vgg(model), images(2, size, &cpu()));
    let on_wgpu = outputs(vgg(&on_gpu), images(2, size, &gpu));
    for ((what, a), b) in ["features", "flatten", "logits"]
        .iter()
        .zip(&on_cpu)
        .zip(&on_wgpu)
    {
        let diff = relative_difference(a, b);
        println!("{what}: max |wgpu - cpu| / max |cpu| = {diff:.2e}");
        assert!(diff < 1e-3, "{what}: wgpu and cpu differ by {diff}");
    }
}

// --- The binary ------------------------------------------------------------------------------

#[test]
fn cli_converts_to_a_lossless_f16_record_then_predicts_and_runs_fewshot_with_it() {
    let magpie = || Command::new(env!("CARGO_BIN_EXE_magpie"));
    let labels_path = temp_path("labels.txt");
    std::fs::write(
        &labels_path,
        format!("background\n{}\n", labels().join("\n")),
    )
    .unwrap();
    let record_path = temp_path("vgg16.f16.bpk");
    let out = magpie()
        .args(["convert", "--backbone", "vgg16", "--f16", "--input"])
        .arg(checkpoint())
        .arg("--labels")
        .arg(&labels_path)
        .arg("--out")
        .arg(&record_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&record_path).unwrap().len();
    assert!(
        (276_000_000..277_500_000).contains(&size),
        "f16 record of {size} bytes"
    );

    let photo = assets_dir().join("images/chelsea.png");
    let out = magpie()
        .args(["predict", "--backbone", "vgg16", "--weights"])
        .arg(&record_path)
        .arg(&photo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = stdout.trim_end().split('\t').collect();
    // The generated weights are exact in f16: the binary answers as the imported model does.
    let image = common::photo("chelsea.png");
    let top = pollster::block_on(imported().classify(&[image.view()], 1, &cpu())).unwrap();
    assert_eq!(fields[1], top[0][0].label, "{stdout}");
    let p: f32 = fields[2].parse().unwrap();
    assert!(
        (p - top[0][0].probability).abs() < 1e-5,
        "{stdout} vs {:?}",
        top[0][0]
    );

    // A two-class few-shot run on the record: one photo per class trains, one tests.
    let data = temp_path("fewshot");
    for (class, photos) in [
        ("cat", ["chelsea.png", "cat.bmp"]),
        ("bird", ["bird.bmp", "owl.jpg"]),
    ] {
        std::fs::create_dir_all(data.join(class)).unwrap();
        for name in photos {
            std::fs::copy(
                assets_dir().join("images").join(name),
                data.join(class).join(name),
            )
            .unwrap();
        }
    }
    let out = magpie()
        .args([
            "fewshot",
            "--backbone",
            "vgg16",
            "--shots",
            "1",
            "--seeds",
            "1",
            "--augment",
            "0",
            "--head",
            "knn",
            "--weights",
        ])
        .arg(&record_path)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("# backbone=vgg16 head=knn features=pooled shots=1")
            && stdout.contains("mean_accuracy="),
        "{stdout}"
    );
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::remove_file(&record_path).unwrap();
    std::fs::remove_file(&labels_path).unwrap();
}
