#!/usr/bin/python3
"""Hand-made reproducers of the findings of issue #11 (F1-F9), one file
per finding, written to tests/fuzz/regressions/. Each is fed by `make
check` through the fuzz targets' replay driver and by
tests/cli_hostile.sh to `dmbp predict`, which must refuse it with one
clear line and exit 2-7 (never crash, never exit 1).

Run with Debian's /usr/bin/python3 (python3-onnx):
    /usr/bin/python3 tests/fuzz/make_regressions.py
The F6 model (100k nodes, 2.4 MB) is not committed: tests/fuzz/
make_big_model.py writes it at test time."""
import os
import struct
import sys

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions")


def conv_head(x, c_in, classes, prefix="h"):
    """GlobalAveragePool -> Flatten -> Gemm: [N, C, H, W] -> [N, classes]."""
    inits = [
        helper.make_tensor(prefix + "_w", TensorProto.FLOAT, [classes, c_in],
                           [0.01 * (i % 7) for i in range(classes * c_in)]),
        helper.make_tensor(prefix + "_b", TensorProto.FLOAT, [classes],
                           [0.0] * classes),
    ]
    nodes = [
        helper.make_node("GlobalAveragePool", [x], [prefix + "_gap"]),
        helper.make_node("Flatten", [prefix + "_gap"], [prefix + "_flat"]),
        helper.make_node("Gemm", [prefix + "_flat", prefix + "_w",
                                  prefix + "_b"], ["logits"], transB=1),
    ]
    return nodes, inits


def model(nodes, inits, in_shape, out_shape, opset=13, name="g"):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       out_shape)],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="make_regressions.py")
    m.ir_version = 8
    # Images are taken as they are (28x28 Fashion-MNIST samples).
    helper.set_model_props(m, {"dmbp.resize": "0", "dmbp.crop": "0",
                               "dmbp.mean": "0", "dmbp.std": "1"})
    return m


def pads_tensor(name, pads):
    return helper.make_tensor(name, TensorProto.INT64, [len(pads)], pads)


def save(m, fname):
    path = os.path.join(OUT, fname)
    # No checker: several files are invalid on purpose.
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    print(path, os.path.getsize(path), "bytes")


def main():
    os.makedirs(OUT, exist_ok=True)

    # F8: Pad on the batch axis (3 more "images") before a classifier
    # head: the logits get 4 rows for a batch of 1.
    head, inits = conv_head("p", 1, 10)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"])] + head
    inits.append(pads_tensor("pads", [0, 0, 0, 0, 3, 0, 0, 0]))
    save(model(nodes, inits, ["N", 1, 28, 28], ["N", 10]), "f8_pad_batch.onnx")

    # F8: Reshape that folds the batch into the classes: [N, 10] ->
    # [1, -1] gives [1, 10 N].
    head, inits = conv_head("x", 1, 10, prefix="r")
    head[-1].output[0] = "pre"
    nodes = head + [helper.make_node("Reshape", ["pre", "shape"],
                                     ["logits"])]
    inits.append(helper.make_tensor("shape", TensorProto.INT64, [2],
                                    [1, -1]))
    save(model(nodes, inits, ["N", 1, 28, 28], [1, "K"]),
         "f8_reshape_fold.onnx")

    # F8: Concat on axis 0 with a constant image.
    head, inits = conv_head("c", 1, 10)
    inits.append(helper.make_tensor("extra", TensorProto.FLOAT, [2, 1, 28, 28],
                                    [0.5] * 2 * 28 * 28))
    nodes = [helper.make_node("Concat", ["x", "extra"], ["c"], axis=0)] + head
    save(model(nodes, inits, ["N", 1, 28, 28], ["N", 10]),
         "f8_concat_batch.onnx")

    # F9: Pad amounts whose sum wraps around 2^64 (begin 2^63 - 1,
    # end 2^63 - 1 + ... on a 64x64 input).
    head, inits = conv_head("p", 1, 10)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"])] + head
    big = (1 << 63) - 1
    inits.append(pads_tensor("pads", [0, 0, big, big - 2, 0, 0, 3, 5]))
    save(model(nodes, inits, ["N", 1, 28, 28], [1, 10]), "f9_pad_wrap.onnx")

    # F1: Reshape to huge dims whose product wraps.
    head, inits = conv_head("r", 1, 10)
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"])] + head
    inits.append(helper.make_tensor("shape", TensorProto.INT64, [4],
                                    [1 << 32, 1 << 32, 1 << 32, 0]))
    save(model(nodes, inits, ["N", 1, 28, 28], [1, 10]), "f1_reshape_huge.onnx")

    # F1: Flatten of a Pad-inflated tensor: product beyond int64.
    head, inits = conv_head("f", 1, 10)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f0"], axis=1),
             helper.make_node("Reshape", ["f0", "shape"], ["f"])] + head
    inits.append(pads_tensor("pads", [0, 0, 1 << 40, 1 << 40,
                                      0, 0, 1 << 40, 1 << 40]))
    inits.append(helper.make_tensor("shape", TensorProto.INT64, [4],
                                    [1, 1, -1, 1]))
    save(model(nodes, inits, ["N", 1, 28, 28], [1, 10]), "f1_flatten_huge.onnx")

    # F2: huge (but individually in range) Pad on a small input: strides
    # of the padded tensor overflow.
    head, inits = conv_head("p", 1, 10)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"])] + head
    inits.append(pads_tensor("pads", [0, 0, 1 << 30, 1 << 30,
                                      0, 0, 1 << 30, 1 << 30]))
    save(model(nodes, inits, ["N", 1, 28, 28], [1, 10]), "f2_pad_strides.onnx")

    # F3: a small model asking for a 60028x60028 activation (14 GB) per
    # image: refused by the memory budget.
    head, inits = conv_head("p", 1, 10)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"])] + head
    inits.append(pads_tensor("pads", [0, 0, 30000, 30000, 0, 0, 30000, 30000]))
    save(model(nodes, inits, ["N", 1, 28, 28], ["N", 10]), "f3_pad_memory.onnx")

    # F4: 10 bytes of raw data declaring 2^40 floats.
    head, inits = conv_head("x", 1, 10)
    w = TensorProto()
    w.name = "big"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([1 << 20, 1 << 20])
    w.raw_data = b"\0" * 10
    inits.append(w)
    nodes = [helper.make_node("Add", ["x", "big"], ["a"])] + \
        conv_head("a", 1, 10, prefix="q")[0]
    inits += conv_head("a", 1, 10, prefix="q")[1]
    save(model(nodes, inits, ["N", 1, 28, 28], [1, 10]), "f4_raw_short.onnx")

    # F5: an empty tensor (no data at all) feeding a Pad's constant value.
    head, inits = conv_head("p", 1, 10)
    nodes = [helper.make_node("Pad", ["x", "pads", "cval"], ["p"])] + head
    inits.append(pads_tensor("pads", [0, 0, 1, 1, 0, 0, 1, 1]))
    inits.append(helper.make_tensor("cval", TensorProto.FLOAT, [0], []))
    save(model(nodes, inits, ["N", 1, 28, 28], [1, 10]), "f5_empty_tensor.onnx")

    # F7 belongs to image loading (another change). F6 is generated at
    # test time by make_big_model.py (too big to commit).
    return 0


if __name__ == "__main__":
    sys.exit(main())
