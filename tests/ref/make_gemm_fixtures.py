#!/usr/bin/python3
"""Fixtures for the fully connected layers' two code paths (src/ops/gemm.c):
oneDNN's matmul for several rows, its inner product for one row (one
lane). Two small models with a dynamic batch axis, each a Flatten and two
fully connected layers with a Relu between, in the forms torch does not
export but ONNX allows:

    fc_gemm_forms_op13  Gemm(alpha=0.5, beta=0.35, transB=0, C [10]),
                        Relu, Gemm(transB=1, C [1, 6])
    fc_matmul_op13      MatMul, Add (bias [10]), Relu, MatMul
    fc_square_op13      Gemm 48 -> 16, Relu, Gemm 16 -> 16 (square: its
                        weights read as B and as B^T have the same
                        shape, which a bf16 plan's weight cache once
                        confused), Relu, Gemm 16 -> 6, all transB=1

The expected logits are numpy's (float64 algebra, rounded to float32),
independent of both libdmbp and oneDNN. tests/test_forward compares the
whole batch (matmul) and each image alone (inner product) with them;
tests/test_reverse checks the reverse passes at two lanes and at one;
tests/test_bf16 compares fc_square_op13's bf16 gradient with float32's.

Run from anywhere (paths are relative to this file):

    /usr/bin/python3 tests/ref/make_gemm_fixtures.py

writes tests/ref/data/<name>.{onnx,input.npy,logits.npy} and adds the
cases to forward_cases.txt.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
IN_SHAPE = (3, 3, 4, 4)      # batch 3: the matmul; alone: the inner product
FLAT = 3 * 4 * 4
HIDDEN, CLASSES = 10, 6
SQUARE = 16                  # fc_square_op13's hidden width
ALPHA, BETA = 0.5, 0.35
OPSET = 13


def const(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def save(name, nodes, inits, x, logits):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", 3, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       ["batch", CLASSES])],
        inits)
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    np.save(os.path.join(OUT, name + ".input.npy"), x.astype(np.float32))
    np.save(os.path.join(OUT, name + ".logits.npy"),
            logits.astype(np.float32))
    print("%s: max|logit| %.3g" % (name, float(np.abs(logits).max())))


def main():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(IN_SHAPE).astype(np.float32)
    flat = x.reshape(IN_SHAPE[0], FLAT).astype(np.float64)
    b1 = (rng.standard_normal((FLAT, HIDDEN)) / np.sqrt(FLAT)).astype(np.float32)
    c1 = rng.standard_normal(HIDDEN).astype(np.float32)
    b2 = (rng.standard_normal((CLASSES, HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32)
    c2 = rng.standard_normal((1, CLASSES)).astype(np.float32)

    # Gemm: Y = alpha * A B' + beta * C, B' = B or B^T (ONNX's definition).
    h = np.maximum(ALPHA * flat @ b1.astype(np.float64)
                   + BETA * c1.astype(np.float64), 0)
    y = h @ b2.astype(np.float64).T + c2.astype(np.float64)
    save("fc_gemm_forms_op13", [
        helper.make_node("Flatten", ["input"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "b1", "c1"], ["g1"], alpha=ALPHA,
                         beta=BETA, transB=0),
        helper.make_node("Relu", ["g1"], ["r"]),
        helper.make_node("Gemm", ["r", "b2", "c2"], ["logits"], transB=1),
    ], [const("b1", b1), const("c1", c1), const("b2", b2), const("c2", c2)],
        x, y)

    m2 = np.ascontiguousarray(b2.T)            # MatMul's B is [K, N]
    h = np.maximum(flat @ b1.astype(np.float64) + c1.astype(np.float64), 0)
    y = h @ m2.astype(np.float64)
    save("fc_matmul_op13", [
        helper.make_node("Flatten", ["input"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "b1"], ["m1"]),
        helper.make_node("Add", ["m1", "c1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["r"]),
        helper.make_node("MatMul", ["r", "m2"], ["logits"]),
    ], [const("b1", b1), const("c1", c1), const("m2", m2)], x, y)

    sq1 = (rng.standard_normal((SQUARE, FLAT)) / np.sqrt(FLAT)).astype(np.float32)
    sq2 = (rng.standard_normal((SQUARE, SQUARE)) / np.sqrt(SQUARE)).astype(np.float32)
    sq3 = (rng.standard_normal((CLASSES, SQUARE)) / np.sqrt(SQUARE)).astype(np.float32)
    bs = [rng.standard_normal(k).astype(np.float32) * 0.1
          for k in (SQUARE, SQUARE, CLASSES)]
    h = np.maximum(flat @ sq1.astype(np.float64).T + bs[0], 0)
    h = np.maximum(h @ sq2.astype(np.float64).T + bs[1], 0)
    y = h @ sq3.astype(np.float64).T + bs[2]
    save("fc_square_op13", [
        helper.make_node("Flatten", ["input"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w1", "b1"], ["g1"], transB=1),
        helper.make_node("Relu", ["g1"], ["r1"]),
        helper.make_node("Gemm", ["r1", "w2", "b2"], ["g2"], transB=1),
        helper.make_node("Relu", ["g2"], ["r2"]),
        helper.make_node("Gemm", ["r2", "w3", "b3"], ["logits"], transB=1),
    ], [const("w1", sq1), const("b1", bs[0]), const("w2", sq2),
        const("b2", bs[1]), const("w3", sq3), const("b3", bs[2])], x, y)

    lst = os.path.join(OUT, "forward_cases.txt")
    with open(lst) as f:
        listed = [l.strip() for l in f if l.strip()]
    for name in ("fc_gemm_forms_op13", "fc_matmul_op13", "fc_square_op13"):
        if name not in listed:
            listed.append(name)
    with open(lst, "w") as f:
        f.write("\n".join(listed) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
