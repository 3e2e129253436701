"""Compares the convolution filters of two TF-Lite files, in the order their convolutions run,
with LiteRT reading both.

Usage: filters.py OURS.tflite THEIRS.tflite
Prints JSON: how many convolutions each file has, and how many of ours hold exactly the same
integers (and shape) as theirs at the same place.
"""
import json
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def filters(path):
    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    return [interpreter.get_tensor(op["inputs"][1]) for op in interpreter._get_ops_details()
            if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]


ours, theirs = filters(sys.argv[1]), filters(sys.argv[2])
identical = sum(1 for a, b in zip(ours, theirs) if a.dtype == b.dtype and np.array_equal(a, b))
json.dump({"ours": len(ours), "theirs": len(theirs), "identical": identical}, sys.stdout)
