"""LiteRT's own latency on an exported int8 file against Google's int8 MobileNetV2 file (a
benchmark, not a test): the stock interpreter (PyPI `ai-edge-litert`) with XNNPACK and with the
builtin kernels alone, one thread, on one image. Rounds interleave (ours, theirs, ours, …); each
round is the median of RUNS invokes; prints the median of rounds, their spread and the ratio.

Usage: tflite-latency.py OURS.tflite THEIRS.tflite [rounds=5] [runs=50]
"""
import statistics
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def interpreter(path, resolver):
    it = Interpreter(model_path=path, num_threads=1, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    (inp,) = it.get_input_details()
    pixels = np.random.default_rng(0).integers(0, 256, inp["shape"], dtype=np.uint8)
    it.set_tensor(inp["index"], pixels.astype(inp["dtype"]))
    for _ in range(5):
        it.invoke()
    return it


def round_ms(it, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        it.invoke()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    ours, theirs = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    print(f"| interpreter | ours (ms) | upstream int8 MobileNetV2 (ms) | ours / upstream |")
    print(f"|---|---|---|---|")
    for name, resolver in [("XNNPACK, 1 thread", OpResolverType.AUTO),
                           ("builtin kernels, 1 thread", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)]:
        a, b = interpreter(ours, resolver), interpreter(theirs, resolver)
        measured = {"ours": [], "theirs": []}
        for _ in range(rounds):
            measured["ours"].append(round_ms(a, runs))
            measured["theirs"].append(round_ms(b, runs))
        cell = lambda v: f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"
        ratio = [x / y for x, y in zip(measured["ours"], measured["theirs"])]
        print(f"| {name} | {cell(measured['ours'])} | {cell(measured['theirs'])} | {statistics.median(ratio):.2f} ({min(ratio):.2f}–{max(ratio):.2f}) |")


main()
