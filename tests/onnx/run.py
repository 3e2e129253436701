"""Runs an exported magpie classifier with onnxruntime (CPU) on raw pixels.

Usage: run.py MODEL.onnx PIXELS.f32
PIXELS holds [n, 3, size, size] little-endian f32 RGB values 0..=255, as the export's input
documents. Prints JSON: the labels from the file's metadata and each image's probabilities.
"""
import json
import sys

import numpy as np
import onnxruntime as ort

model, pixels = sys.argv[1], sys.argv[2]
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
meta = session.get_modelmeta().custom_metadata_map
size = json.loads(meta["magpie:preprocessing"])["inputSize"]
assert meta["magpie:input"].startswith(f"float32 [batch, 3, {size}, {size}] (NCHW), RGB pixels 0..=255")
images = np.fromfile(pixels, dtype="<f4").reshape(-1, 3, size, size)
(probabilities,) = session.run(["probabilities"], {"image": images})
json.dump(
    {"labels": json.loads(meta["magpie:labels"]), "probabilities": probabilities.tolist()},
    sys.stdout,
)
