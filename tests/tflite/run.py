"""Runs an exported magpie classifier with LiteRT's stock interpreter (PyPI `ai-edge-litert`) on
photos, preprocessing them as the file's own metadata says.

Usage: run.py MODEL.tflite IMAGES.rgb [RESOLVER]
IMAGES holds, per image, its width and height (little-endian u32) then its RGB bytes, row-major.
RESOLVER is LiteRT's op resolver: AUTO (the default: builtin kernels with the XNNPACK delegate) or
BUILTIN_WITHOUT_DEFAULT_DELEGATES (builtin kernels alone). Prints JSON: the labels, each image's
probabilities, and the input and output types and the operators the file uses.
"""
import json
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def metadata(model_bytes):
    """The file's `magpie` metadata entry, read through TF-Lite's own generated schema."""
    model = schema.Model.GetRootAs(model_bytes, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode() == "magpie":
            return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    raise SystemExit("no magpie metadata")


def operators(model_bytes):
    model = schema.Model.GetRootAs(model_bytes, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    return sorted({names[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes}
                  | {"CUSTOM" for c in codes if c.CustomCode()})


def images(path):
    data = open(path, "rb").read()
    at = 0
    while at < len(data):
        width, height = np.frombuffer(data, "<u4", 2, at)
        at += 8
        pixels = np.frombuffer(data, np.uint8, width * height * 3, at).reshape(height, width, 3)
        at += width * height * 3
        yield pixels.astype(np.float32)


def taps(start, extent, limit, size):
    """Bilinear source rows (or columns) with half-pixel centres, clamped to the crop."""
    first, last = float(start), float(min(start + extent, limit) - 1)
    s = np.clip(start + (np.arange(size) + 0.5) * extent / size - 0.5, first, last)
    lo = np.floor(s).astype(int)
    return lo, np.minimum(lo + 1, int(last)), (s - lo).astype(np.float32)


def centre_square(pixels, size):
    """The largest centred square, resized bilinearly with half-pixel centres (no antialiasing),
    as the metadata's `pixels` says."""
    height, width, _ = pixels.shape
    side = min(width, height)
    y_lo, y_hi, wy = taps((height - side) // 2, side, height, size)
    x_lo, x_hi, wx = taps((width - side) // 2, side, width, size)
    wx, wy = wx[None, :, None], wy[:, None, None]
    top = pixels[y_lo][:, x_lo] * (1 - wx) + pixels[y_lo][:, x_hi] * wx
    bottom = pixels[y_hi][:, x_lo] * (1 - wx) + pixels[y_hi][:, x_hi] * wx
    return top * (1 - wy) + bottom * wy


def main():
    model_path, images_path = sys.argv[1], sys.argv[2]
    resolver = getattr(OpResolverType, sys.argv[3] if len(sys.argv) > 3 else "AUTO")
    model_bytes = open(model_path, "rb").read()
    meta = metadata(model_bytes)
    interpreter = Interpreter(model_content=model_bytes, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    spec = meta["input"]
    assert inp["name"] == spec["name"] and list(inp["shape"]) == spec["shape"], (inp, spec)
    assert np.dtype(inp["dtype"]).name == spec["dtype"], (inp["dtype"], spec["dtype"])
    size = spec["shape"][1]
    mean, std = np.array(spec["mean"], np.float32), np.array(spec["std"], np.float32)
    results = []
    for pixels in images(images_path):
        x = (centre_square(pixels, size) - mean) / std
        if inp["dtype"] != np.float32:
            scale, zero_point = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale + zero_point), info.min, info.max)
        interpreter.set_tensor(inp["index"], x[None].astype(inp["dtype"]))
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])[0]
        if out["dtype"] != np.float32:
            scale, zero_point = out["quantization"]
            y = (y.astype(np.float32) - zero_point) * scale
        results.append(y.tolist())
    json.dump({
        "labels": meta["labels"],
        "probabilities": results,
        "input": np.dtype(inp["dtype"]).name,
        "output": np.dtype(out["dtype"]).name,
        "operators": operators(model_bytes),
    }, sys.stdout)


main()
